//! The LID-DS framework's per-window score and its counting of alarms (docs/DESIGN.md,
//! "Metrics"), as pure state machines fed one recording at a time.
//!
//! Definitions, following the framework's `Stide` decision engine, `IDS.determine_threshold` and
//! `PerformanceMeasurement` (github.com/LID-DS/LID-DS, `algorithms/`):
//! - **score** of a window: the unknown windows (not in the baseline) among the last `frame`
//!   windows of the recording, divided by `frame` (also while fewer than `frame` were seen);
//!   the frame restarts with each recording.
//! - **alarm**: a window whose score is above the threshold (strictly).
//! - a window of an exploit recording is **after the exploit** when its last call's time is at
//!   or after the exploit's start; an alarm there is a true alarm, an alarm before it (or any
//!   alarm in a normal recording) a **false alarm**.
//! - an exploit recording is **detected** when at least one window after the exploit alarms.
//! - **consecutive false alarms**: a run of false alarms not interrupted by a window that is
//!   not one (nor by the recording's end) counts once, separately for normal and exploit
//!   recordings.

/// The stide score of the LID-DS framework over one recording's windows.
#[derive(Clone, Debug)]
pub struct StideFrame {
    ring: Vec<bool>,
    at: usize,
    unknown: usize,
}

impl StideFrame {
    /// A frame of `frame` windows (at least 1).
    pub fn new(frame: usize) -> Self {
        Self {
            ring: vec![false; frame.max(1)],
            at: 0,
            unknown: 0,
        }
    }

    /// Forgets the windows seen: a new recording starts.
    pub fn reset(&mut self) {
        self.ring.fill(false);
        self.at = 0;
        self.unknown = 0;
    }

    /// Adds the next window (`unknown`: not in the baseline); returns its score.
    #[inline]
    pub fn push(&mut self, unknown: bool) -> f64 {
        let slot = &mut self.ring[self.at];
        self.unknown = self.unknown - usize::from(*slot) + usize::from(unknown);
        *slot = unknown;
        self.at = (self.at + 1) % self.ring.len();
        self.unknown as f64 / self.ring.len() as f64
    }
}

/// What the counting saw, over all recordings it was given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AlarmCounts {
    /// Normal recordings.
    pub normal_recordings: usize,
    /// Recordings with an exploit.
    pub exploit_recordings: usize,
    /// Exploit recordings with at least one alarm after the exploit started.
    pub detected_exploits: usize,
    /// Windows of the normal recordings.
    pub normal_windows: u64,
    /// Windows of the exploit recordings before the exploit started.
    pub windows_before_exploit: u64,
    /// Windows of the exploit recordings after the exploit started.
    pub windows_after_exploit: u64,
    /// Alarms in normal recordings (false alarms).
    pub false_alarm_windows_normal: u64,
    /// Alarms in exploit recordings before the exploit started (false alarms).
    pub false_alarm_windows_exploits: u64,
    /// Alarms after the exploit started (true alarms).
    pub alarms_after_exploit: u64,
    /// Runs of consecutive false alarms in normal recordings, each counted once.
    pub consecutive_false_alarms_normal: u64,
    /// Runs of consecutive false alarms before the exploit in exploit recordings.
    pub consecutive_false_alarms_exploits: u64,
}

impl AlarmCounts {
    /// Every false-alarm window.
    pub fn false_alarm_windows(&self) -> u64 {
        self.false_alarm_windows_normal + self.false_alarm_windows_exploits
    }

    /// Every run of consecutive false alarms.
    pub fn consecutive_false_alarms(&self) -> u64 {
        self.consecutive_false_alarms_normal + self.consecutive_false_alarms_exploits
    }

    /// Detected exploit recordings over exploit recordings.
    pub fn detection_rate(&self) -> Option<f64> {
        ratio(
            self.detected_exploits as u64,
            self.exploit_recordings as u64,
        )
    }

    /// False-alarm windows over the windows that could be one (normal windows and windows
    /// before an exploit). The framework counts these; the rate is ours.
    pub fn false_alarm_rate(&self) -> Option<f64> {
        ratio(
            self.false_alarm_windows(),
            self.normal_windows + self.windows_before_exploit,
        )
    }

    /// The framework's precision with consecutive false alarms: detected exploits over detected
    /// exploits plus runs of consecutive false alarms.
    pub fn precision_cfa(&self) -> Option<f64> {
        let d = self.detected_exploits as u64;
        ratio(d, d + self.consecutive_false_alarms())
    }

    /// The harmonic mean of `precision_cfa` and `detection_rate`.
    pub fn f1_cfa(&self) -> Option<f64> {
        let (p, r) = (self.precision_cfa()?, self.detection_rate()?);
        Some(if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        })
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Counts alarms at one threshold, recording by recording.
#[derive(Clone, Debug)]
pub struct AlarmCounter {
    threshold: f64,
    counts: AlarmCounts,
    exploit: bool,
    detected: bool,
    false_run: bool,
}

impl AlarmCounter {
    /// Alarms above `threshold`.
    pub fn new(threshold: f64) -> Self {
        Self {
            threshold,
            counts: AlarmCounts::default(),
            exploit: false,
            detected: false,
            false_run: false,
        }
    }

    /// The threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// A recording starts; `exploit`: it has one.
    pub fn begin_recording(&mut self, exploit: bool) {
        self.end_recording();
        self.exploit = exploit;
        self.detected = false;
        if exploit {
            self.counts.exploit_recordings += 1;
        } else {
            self.counts.normal_recordings += 1;
        }
    }

    /// The next window of the recording with its `score`; `after_exploit` is ignored in a
    /// normal recording.
    #[inline]
    pub fn window(&mut self, score: f64, after_exploit: bool) {
        let alarm = score > self.threshold;
        let c = &mut self.counts;
        let false_alarm = if !self.exploit {
            c.normal_windows += 1;
            c.false_alarm_windows_normal += u64::from(alarm);
            alarm
        } else if after_exploit {
            c.windows_after_exploit += 1;
            if alarm {
                c.alarms_after_exploit += 1;
                if !self.detected {
                    self.detected = true;
                    c.detected_exploits += 1;
                }
            }
            false
        } else {
            c.windows_before_exploit += 1;
            c.false_alarm_windows_exploits += u64::from(alarm);
            alarm
        };
        if false_alarm && !self.false_run {
            self.false_run = true;
            if self.exploit {
                c.consecutive_false_alarms_exploits += 1;
            } else {
                c.consecutive_false_alarms_normal += 1;
            }
        } else if !false_alarm {
            self.false_run = false;
        }
    }

    /// The recording ends (also done by the next `begin_recording`): a run of false alarms
    /// ends with it.
    pub fn end_recording(&mut self) {
        self.false_run = false;
    }

    /// The counts so far.
    pub fn counts(&self) -> AlarmCounts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stide_frame_by_hand() {
        let mut f = StideFrame::new(3);
        // Unknown, known, unknown, unknown, known: counts in the last 3 are 1, 1, 2, 2, 2.
        let s: Vec<f64> = [true, false, true, true, false]
            .into_iter()
            .map(|u| f.push(u))
            .collect();
        assert_eq!(s, [1.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0]);
        f.reset();
        assert_eq!(f.push(false), 0.0);
        let mut one = StideFrame::new(1);
        assert_eq!((one.push(true), one.push(false)), (1.0, 0.0));
    }

    /// Feeds recordings (`true`: with an exploit) of (score, after the exploit) windows.
    fn count(threshold: f64, recordings: &[(bool, &[(f64, bool)])]) -> AlarmCounts {
        let mut c = AlarmCounter::new(threshold);
        for (exploit, windows) in recordings {
            c.begin_recording(*exploit);
            for &(s, after) in *windows {
                c.window(s, after);
            }
        }
        c.end_recording();
        c.counts()
    }

    #[test]
    fn a_small_labelled_set_by_hand() {
        // Threshold 0.5: alarms are scores above it (0.5 itself is no alarm).
        let normal_a: &[(f64, bool)] = &[(0.6, false), (0.7, false), (0.2, false), (0.9, false)];
        let normal_b: &[(f64, bool)] = &[(0.5, false), (0.1, false)];
        // An alarm run at the end of one recording and one at the start of the next: two runs.
        let normal_c: &[(f64, bool)] = &[(0.1, false), (0.8, false)];
        let normal_d: &[(f64, bool)] = &[(0.8, false), (0.1, false)];
        let exploit_a: &[(f64, bool)] = &[
            (0.9, false), // false alarm, run 1
            (0.9, false), // same run
            (0.3, false),
            (0.6, false), // run 2, ended by the true alarm that follows
            (0.7, true),  // detected
            (0.8, true),
            (0.2, true),
        ];
        let exploit_b: &[(f64, bool)] = &[(0.9, true), (0.4, false)]; // detected only at its start
        let exploit_c: &[(f64, bool)] = &[(0.1, false), (0.5, true), (0.2, true)]; // missed
        let c = count(
            0.5,
            &[
                (false, normal_a),
                (false, normal_c),
                (false, normal_d),
                (true, exploit_a),
                (false, normal_b),
                (true, exploit_b),
                (true, exploit_c),
            ],
        );
        assert_eq!(
            c,
            AlarmCounts {
                normal_recordings: 4,
                exploit_recordings: 3,
                detected_exploits: 2,
                normal_windows: 4 + 2 + 2 + 2,
                windows_before_exploit: 4 + 1 + 1,
                windows_after_exploit: 3 + 1 + 2,
                // normal_a: 0.6 0.7 0.9; normal_c and normal_d: 0.8 each.
                false_alarm_windows_normal: 5,
                // exploit_a: 0.9 0.9 0.6.
                false_alarm_windows_exploits: 3,
                // exploit_a: 0.7 0.8; exploit_b: 0.9.
                alarms_after_exploit: 3,
                // normal_a: (0.6 0.7) and (0.9); normal_c's last and normal_d's first (runs end with
                // their recording).
                consecutive_false_alarms_normal: 4,
                consecutive_false_alarms_exploits: 2,
            }
        );
        assert_eq!(c.false_alarm_windows(), 8);
        assert_eq!(c.consecutive_false_alarms(), 6);
        assert_eq!(c.detection_rate(), Some(2.0 / 3.0));
        assert_eq!(c.false_alarm_rate(), Some(8.0 / 16.0));
        assert_eq!(c.precision_cfa(), Some(2.0 / 8.0));
        let (p, r) = (0.25, 2.0 / 3.0);
        assert!((c.f1_cfa().unwrap() - 2.0 * p * r / (p + r)).abs() < 1e-12);
    }

    #[test]
    fn nothing_to_count_gives_no_rates() {
        let c = count(0.0, &[]);
        assert_eq!(
            (c.detection_rate(), c.false_alarm_rate(), c.precision_cfa()),
            (None, None, None)
        );
        // A zero threshold alarms on any unknown window, as the framework's does.
        let c = count(0.0, &[(false, &[(0.0, false), (0.05, false)])]);
        assert_eq!(c.false_alarm_windows_normal, 1);
    }
}
