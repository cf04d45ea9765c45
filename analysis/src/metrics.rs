//! Per-trace metrics against a baseline profile, as docs/DESIGN.md defines them.
//!
//! For a trace T (one run, in one view) with window multiset W(T), distinct windows U(T), and a
//! baseline profile B:
//! - coverage = |{w in W(T) : w in B}| / |W(T)|
//! - mismatch = |U(T) \ U(B)| / |U(T)|
//! - locality frame count: the most unknown windows among any `frame` consecutive windows of T,
//!   windows taken in the order they complete (the `seq` of their last call); in the thread and
//!   process views that order interleaves the sequences, which is also the order the
//!   mismatch-over-time plot draws
//! - Jaccard distance = 1 - |U(T) ∩ U(B)| / |U(T) ∪ U(B)|
//! - normalised minimum Hamming distance of each unknown window to B (divided by k): reported as
//!   its maximum (Hofmeyr's anomaly signal) and its mean over the unknown windows.
//!
//! Ratios whose denominator is zero (a trace with no window) are `None`, never a made-up 0 or 1.
//! The hot path per window is one lookup in B and one insert into U(T); the Hamming search runs
//! once per distinct unknown window at the end of a trace.

use crate::{
    dataset::RunMeta,
    error::AnalysisError,
    hamming::{HammingIndex, spread_order},
    ngram::{KeyLayout, KeySet, WindowKey},
    profile::Profile,
    sketch::HyperLogLog,
    view::{SequenceStats, View},
};

/// Default locality frame, in windows (Hofmeyr, Forrest and Somayaji 1998 use 20).
pub const DEFAULT_FRAME: usize = 20;
/// Largest supported locality frame (the frame is a 128-bit mask).
pub const MAX_FRAME: usize = 128;

/// Default `ScoreConfig::max_exact_unknown`: 2 million keys, about 70 MiB of hash set.
pub const DEFAULT_MAX_EXACT_UNKNOWN: usize = 2_000_000;

/// Default `ScoreConfig::hamming_budget`: about a tenth of a second per trace.
pub const DEFAULT_HAMMING_BUDGET: u64 = 50_000_000;

/// Options of per-trace scoring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreConfig {
    /// Locality frame length in windows (1..=128).
    pub frame: usize,
    /// Compute the Hamming distances (cost: distinct unknown windows x profile size).
    pub hamming: bool,
    /// Most window comparisons the Hamming search may spend on one trace; past it, an evenly
    /// spaced sample of the unknown windows is measured (`TraceMetrics::hamming_windows_measured`
    /// says how many), so `hamming_max` is then a lower bound and `hamming_mean` an estimate.
    pub hamming_budget: u64,
    /// Most distinct unknown windows of one trace kept (exactly) in memory; beyond, they are
    /// counted by a HyperLogLog sketch (0.8 % standard error on that part) and the trace's
    /// `distinct_windows_exact` is false. Bounds memory for huge traces of new behaviour.
    pub max_exact_unknown: usize,
    /// Record the per-window known/unknown sequence of this run (for the mismatch-over-time plot).
    pub timeline_run: Option<String>,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            frame: DEFAULT_FRAME,
            hamming: true,
            hamming_budget: DEFAULT_HAMMING_BUDGET,
            max_exact_unknown: DEFAULT_MAX_EXACT_UNKNOWN,
            timeline_run: None,
        }
    }
}

impl ScoreConfig {
    /// Checks the options.
    pub fn check(&self) -> Result<(), AnalysisError> {
        if (1..=MAX_FRAME).contains(&self.frame) {
            Ok(())
        } else {
            Err(AnalysisError::Config {
                option: "frame (locality frame length)",
                message: format!("{} is outside 1..={MAX_FRAME}", self.frame),
            })
        }
    }
}

/// The metrics of one trace in one view against one baseline.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TraceMetrics {
    /// The run scored.
    pub run_id: String,
    /// Its source.
    pub source: String,
    /// Its scenario.
    pub scenario: Option<String>,
    /// Its mode.
    pub mode: Option<String>,
    /// The view the trace was windowed in.
    pub view: View,
    /// Name of the baseline profile (a scenario, or a profile file).
    pub baseline: String,
    /// The view the baseline was built in.
    pub baseline_view: View,
    /// Window length.
    pub k: usize,
    /// Locality frame length.
    pub frame: usize,
    /// Trace length: calls in the run.
    pub calls: u64,
    /// Sequences of the run in `view`.
    pub sequences: u64,
    /// Sequences shorter than k (no window).
    pub short_sequences: u64,
    /// Calls in those.
    pub short_sequence_calls: u64,
    /// |W(T)|.
    pub windows: u64,
    /// |U(T)|.
    pub distinct_windows: u64,
    /// Windows of T found in B.
    pub known_windows: u64,
    /// |U(T) \ U(B)|.
    pub unknown_distinct_windows: u64,
    /// Whether `distinct_windows` and `unknown_distinct_windows` are exact (false: the trace
    /// had more distinct unknown windows than `ScoreConfig::max_exact_unknown`; the excess is
    /// a HyperLogLog estimate, and so are mismatch and Jaccard distance).
    pub distinct_windows_exact: bool,
    /// |U(B)|: the profile size.
    pub profile_distinct_windows: u64,
    /// known_windows / windows.
    pub coverage: Option<f64>,
    /// unknown_distinct_windows / distinct_windows.
    pub mismatch: Option<f64>,
    /// Most unknown windows in any `frame` consecutive windows.
    pub locality_frame_count: u32,
    /// 1 - |U(T) ∩ U(B)| / |U(T) ∪ U(B)|.
    pub jaccard_distance: Option<f64>,
    /// Largest normalised minimum Hamming distance of an unknown window to B (0 if none unknown).
    pub hamming_max: Option<f64>,
    /// Mean normalised minimum Hamming distance over the unknown windows.
    pub hamming_mean: Option<f64>,
    /// Unknown windows whose Hamming distance was measured: all of them, or a sample when the
    /// search would exceed `ScoreConfig::hamming_budget`.
    pub hamming_windows_measured: u64,
    /// Per window in completion order: `true` if unknown to B (only for `timeline_run`).
    #[serde(skip)]
    pub timeline: Option<Vec<bool>>,
}

/// The names of the metrics a `TraceMetrics` reports as numbers, in report order.
pub const METRIC_NAMES: [&str; 11] = [
    "coverage",
    "mismatch",
    "locality_frame_count",
    "jaccard_distance",
    "hamming_max",
    "hamming_mean",
    "calls",
    "windows",
    "distinct_windows",
    "unknown_distinct_windows",
    "profile_distinct_windows",
];

impl TraceMetrics {
    /// The value of metric `name` (one of `METRIC_NAMES`), `None` if undefined for this trace.
    pub fn metric(&self, name: &str) -> Option<f64> {
        match name {
            "coverage" => self.coverage,
            "mismatch" => self.mismatch,
            "locality_frame_count" => Some(f64::from(self.locality_frame_count)),
            "jaccard_distance" => self.jaccard_distance,
            "hamming_max" => self.hamming_max,
            "hamming_mean" => self.hamming_mean,
            "calls" => Some(self.calls as f64),
            "windows" => Some(self.windows as f64),
            "distinct_windows" => Some(self.distinct_windows as f64),
            "unknown_distinct_windows" => Some(self.unknown_distinct_windows as f64),
            "profile_distinct_windows" => Some(self.profile_distinct_windows as f64),
            _ => None,
        }
    }
}

/// Counts of one trace's windows against a profile; reusable across traces.
///
/// Memory: a bitmap with one bit per profile window (which known windows the trace used), and
/// the set of the trace's distinct unknown windows, which exact mismatch needs by definition.
/// A known window costs one hash lookup; only unknown windows touch the set.
#[derive(Debug)]
pub struct WindowScorer {
    frame_mask: u128,
    frame_bits: u128,
    locality_frame_count: u32,
    windows: u64,
    known: u64,
    known_seen: Vec<u64>,
    /// Words of `known_seen` set in the current trace, so the next trace clears only those.
    known_touched: Vec<u32>,
    known_distinct: u64,
    unknown: KeySet<WindowKey>,
    max_exact_unknown: usize,
    sketch: HyperLogLog,
    sketch_used: bool,
    overflowed: bool,
    timeline: Option<Vec<bool>>,
}

/// The raw counts `WindowScorer::finish` returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowCounts {
    /// |W(T)|.
    pub windows: u64,
    /// Windows found in B.
    pub known_windows: u64,
    /// |U(T)|.
    pub distinct_windows: u64,
    /// U(T) \ U(B), in no particular order (all of it, or the first `max_exact_unknown`).
    pub unknown_distinct: Vec<WindowKey>,
    /// Estimated distinct unknown windows beyond `unknown_distinct` (0 when exact): the sketch's
    /// estimate of all of them minus those kept.
    pub unknown_distinct_estimated_beyond: u64,
    /// Whether the distinct counts are exact.
    pub exact: bool,
    /// Locality frame count.
    pub locality_frame_count: u32,
    /// Per-window unknown flags, if recorded.
    pub timeline: Option<Vec<bool>>,
}

impl WindowScorer {
    /// A scorer with a locality frame of `frame` windows (1..=128) keeping every distinct
    /// unknown window exactly.
    pub fn new(frame: usize) -> Self {
        Self::with_exact_limit(frame, usize::MAX)
    }

    /// A scorer keeping at most `max_exact_unknown` distinct unknown windows in memory and
    /// estimating the rest (see `ScoreConfig::max_exact_unknown`).
    pub fn with_exact_limit(frame: usize, max_exact_unknown: usize) -> Self {
        let frame_mask = if frame >= 128 {
            u128::MAX
        } else {
            (1u128 << frame) - 1
        };
        Self {
            frame_mask,
            frame_bits: 0,
            locality_frame_count: 0,
            windows: 0,
            known: 0,
            known_seen: Vec::new(),
            known_touched: Vec::new(),
            known_distinct: 0,
            unknown: KeySet::default(),
            max_exact_unknown,
            sketch: HyperLogLog::new(),
            sketch_used: false,
            overflowed: false,
            timeline: None,
        }
    }

    /// Starts a trace scored against `profile`; call before its first window. Clears only the
    /// bitmap words the last trace set: thousands of short traces against a large profile pay
    /// for their own windows, not for the profile size.
    pub fn begin_trace(&mut self, profile: &Profile) {
        let words = profile.distinct().div_ceil(64);
        if self.known_seen.len() == words {
            for w in self.known_touched.drain(..) {
                self.known_seen[w as usize] = 0;
            }
        } else {
            self.known_touched.clear();
            self.known_seen.clear();
            self.known_seen.resize(words, 0);
        }
    }

    /// Starts recording per-window flags for the current trace.
    pub fn record_timeline(&mut self) {
        self.timeline = Some(Vec::new());
    }

    /// Scores one window of the trace.
    #[inline]
    pub fn window(&mut self, profile: &Profile, key: WindowKey) {
        self.windows += 1;
        let unknown = match profile.index_of(key) {
            Some(i) => {
                self.known += 1;
                let (word, bit) = ((i >> 6) as usize, 1u64 << (i & 63));
                let seen = &mut self.known_seen[word];
                if *seen & bit == 0 {
                    if *seen == 0 {
                        self.known_touched.push(word as u32);
                    }
                    *seen |= bit;
                    self.known_distinct += 1;
                }
                false
            }
            None => {
                // Once the exact set is full and a new key proves the count inexact, the sketch
                // takes over: it is seeded with the kept keys (a sketch of a set does not depend
                // on insertion order or repeats, so this equals inserting every unknown window
                // from the start) and the set is no longer probed. A trace that never overflows
                // never touches the sketch.
                if self.overflowed {
                    self.sketch.insert(key);
                } else if self.unknown.len() < self.max_exact_unknown {
                    self.unknown.insert(key);
                } else if !self.unknown.contains(&key) {
                    self.overflowed = true;
                    self.sketch_used = true;
                    for k in &self.unknown {
                        self.sketch.insert(*k);
                    }
                    self.sketch.insert(key);
                }
                true
            }
        };
        self.frame_bits = ((self.frame_bits << 1) | u128::from(unknown)) & self.frame_mask;
        // Only an unknown window can raise the count of unknown windows in the frame.
        if unknown {
            self.locality_frame_count = self.locality_frame_count.max(self.frame_bits.count_ones());
        }
        if let Some(t) = &mut self.timeline {
            t.push(unknown);
        }
    }

    /// Returns the trace's counts and resets for the next trace (keeping allocations).
    pub fn finish(&mut self) -> WindowCounts {
        let unknown_distinct: Vec<WindowKey> = self.unknown.drain().collect();
        let exact = !self.overflowed;
        let beyond = if exact {
            0
        } else {
            let kept = unknown_distinct.len() as u64;
            (self.sketch.estimate().round() as u64).max(kept + 1) - kept
        };
        if self.sketch_used {
            self.sketch.clear();
            self.sketch_used = false;
        }
        self.overflowed = false;
        let counts = WindowCounts {
            windows: self.windows,
            known_windows: self.known,
            distinct_windows: self.known_distinct + unknown_distinct.len() as u64 + beyond,
            unknown_distinct,
            unknown_distinct_estimated_beyond: beyond,
            exact,
            locality_frame_count: self.locality_frame_count,
            timeline: self.timeline.take(),
        };
        self.windows = 0;
        self.known = 0;
        self.known_distinct = 0;
        self.frame_bits = 0;
        self.locality_frame_count = 0;
        counts
    }
}

/// Minimum Hamming distance from `key` to any of `profile_keys` (`None` if there are none).
pub fn min_hamming(layout: &KeyLayout, key: WindowKey, profile_keys: &[WindowKey]) -> Option<u32> {
    let mut best: Option<u32> = None;
    for &p in profile_keys {
        let d = layout.hamming(key, p);
        if best.is_none_or(|b| d < b) {
            best = Some(d);
            // An unknown window differs from every profile window in at least one position.
            if d <= 1 {
                break;
            }
        }
    }
    best
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// What a trace was scored against and how: the context `trace_metrics` needs besides counts.
#[derive(Clone, Copy, Debug)]
pub struct TraceContext<'a> {
    /// The run.
    pub run: &'a RunMeta,
    /// The view the trace was windowed in.
    pub view: View,
    /// Name of the baseline.
    pub baseline: &'a str,
    /// The baseline.
    pub profile: &'a Profile,
    /// The baseline's distinct keys, sorted: the Hamming distances by comparing every unknown
    /// window with every one of them (used when `hamming_index` is `None`).
    pub profile_keys: Option<&'a [WindowKey]>,
    /// The baseline's Hamming index: exact distances without the full comparison.
    pub hamming_index: Option<&'a HammingIndex>,
    /// Locality frame.
    pub frame: usize,
    /// Most window comparisons for the Hamming search (see `ScoreConfig::hamming_budget`).
    pub hamming_budget: u64,
}

/// Evenly spaced sample of at most `max` of `keys` (all of them if they fit), sorted first so
/// the sample does not depend on hash order.
fn hamming_sample(keys: &[WindowKey], max: usize) -> Vec<WindowKey> {
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    if sorted.len() <= max {
        return sorted;
    }
    let max = max.max(1);
    (0..max).map(|i| sorted[i * sorted.len() / max]).collect()
}

/// Turns counts into metrics.
pub fn trace_metrics(
    ctx: &TraceContext<'_>,
    sequences: &SequenceStats,
    counts: WindowCounts,
) -> TraceMetrics {
    let TraceContext {
        run,
        view,
        baseline,
        profile,
        profile_keys,
        hamming_index,
        frame,
        hamming_budget,
    } = *ctx;
    let unknown = counts.unknown_distinct.len() as u64 + counts.unknown_distinct_estimated_beyond;
    let b = profile.distinct() as u64;
    let intersection = counts.distinct_windows - unknown;
    let union = b + unknown;
    let k = profile.k;
    let layout = KeyLayout::new(k);
    let mut distances: Vec<u32> = Vec::new();
    let mut measured = false;
    if let Some(index) = hamming_index.filter(|i| !i.keys().is_empty()) {
        // Every unknown window, in an order whose prefixes are even samples, until the budget
        // is spent (at least one window; with the index the budget is rarely reached).
        measured = true;
        let unknown = &counts.unknown_distinct;
        // A search costs at most a scan and the candidates of k levels of at most half the
        // profile each: when even that cannot reach the budget, every window is measured and
        // their order does not matter; otherwise they are sorted first, so the sample the
        // budget leaves depends only on the trace.
        let worst = (unknown.len() as u64)
            .saturating_mul(index.keys().len() as u64)
            .saturating_mul(k as u64 / 2 + 1);
        let sorted: Vec<WindowKey>;
        let keys: &[WindowKey] = if worst <= hamming_budget {
            unknown
        } else {
            let mut s = unknown.clone();
            s.sort_unstable();
            sorted = s;
            &sorted
        };
        let mut spent = 0u64;
        for i in spread_order(keys.len()) {
            if spent >= hamming_budget && !distances.is_empty() {
                break;
            }
            // Unknown by construction: not in the profile.
            if let Some((d, cost)) = index.nearest_unknown(keys[i]) {
                spent += cost;
                distances.push(d);
            }
        }
    } else if let Some(keys) = profile_keys.filter(|k| !k.is_empty()) {
        measured = true;
        let max_windows = (hamming_budget / keys.len() as u64).max(1);
        let sample = hamming_sample(
            &counts.unknown_distinct,
            usize::try_from(max_windows).unwrap_or(usize::MAX),
        );
        distances = sample
            .iter()
            .filter_map(|w| min_hamming(&layout, *w, keys))
            .collect();
    }
    let hamming_windows_measured = distances.len() as u64;
    let (hamming_max, hamming_mean) = if measured {
        let max = distances.iter().max().map_or(0, |d| *d);
        let mean = (!distances.is_empty()).then(|| {
            distances.iter().map(|d| f64::from(*d)).sum::<f64>() / distances.len() as f64 / k as f64
        });
        (
            (counts.distinct_windows > 0).then(|| f64::from(max) / k as f64),
            mean,
        )
    } else {
        (None, None)
    };
    TraceMetrics {
        run_id: run.run_id.clone(),
        source: run.source.clone(),
        scenario: run.scenario.clone(),
        mode: run.mode.clone(),
        view,
        baseline: baseline.to_string(),
        baseline_view: profile.view,
        k,
        frame,
        calls: sequences.calls,
        sequences: sequences.sequences,
        short_sequences: sequences.short_sequences,
        short_sequence_calls: sequences.short_sequence_calls,
        windows: counts.windows,
        distinct_windows: counts.distinct_windows,
        known_windows: counts.known_windows,
        unknown_distinct_windows: unknown,
        distinct_windows_exact: counts.exact,
        profile_distinct_windows: b,
        coverage: ratio(counts.known_windows, counts.windows),
        mismatch: ratio(unknown, counts.distinct_windows),
        locality_frame_count: counts.locality_frame_count,
        jaccard_distance: ratio(intersection, union).map(|j| 1.0 - j),
        hamming_max,
        hamming_mean,
        hamming_windows_measured,
        timeline: counts.timeline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ngram::pack;

    fn profile_of(k: usize, windows: &[&[u16]]) -> Profile {
        let mut p = Profile::new(k, View::Thread).unwrap();
        for w in windows {
            p.add(pack(w), 1);
        }
        p
    }

    fn score(profile: &Profile, trace: &[&[u16]], frame: usize) -> TraceMetrics {
        let mut s = WindowScorer::new(frame);
        s.begin_trace(profile);
        s.record_timeline();
        for w in trace {
            s.window(profile, pack(w));
        }
        let seqs = SequenceStats {
            sequences: 1,
            calls: trace.len() as u64 + profile.k as u64 - 1,
            ..Default::default()
        };
        let keys = profile.sorted_keys();
        let run = RunMeta::default();
        let ctx = TraceContext {
            run: &run,
            view: View::Thread,
            baseline: "b",
            profile,
            profile_keys: Some(&keys),
            hamming_index: None,
            frame,
            hamming_budget: DEFAULT_HAMMING_BUDGET,
        };
        trace_metrics(&ctx, &seqs, s.finish())
    }

    #[test]
    fn hand_computed_metrics() {
        // B = {abc, bcd, cde}; T = abc bcd bcx abc xyz xyz  (a=1 b=2 c=3 d=4 e=5 x=8 y=9 z=10)
        let b = profile_of(3, &[&[1, 2, 3], &[2, 3, 4], &[3, 4, 5]]);
        let t: [&[u16]; 6] = [
            &[1, 2, 3],
            &[2, 3, 4],
            &[2, 3, 8],
            &[1, 2, 3],
            &[8, 9, 10],
            &[8, 9, 10],
        ];
        let m = score(&b, &t, 3);
        assert_eq!((m.windows, m.known_windows), (6, 3));
        assert_eq!(m.coverage, Some(0.5));
        // U(T) = {abc, bcd, bcx, xyz}: 2 unknown of 4 distinct.
        assert_eq!((m.distinct_windows, m.unknown_distinct_windows), (4, 2));
        assert_eq!(m.mismatch, Some(0.5));
        // Unknown flags 0 0 1 0 1 1: frame 3 holds at most two.
        assert_eq!(m.locality_frame_count, 2);
        assert_eq!(
            m.timeline.as_deref(),
            Some(&[false, false, true, false, true, true][..])
        );
        // |U(T) ∩ U(B)| = 2, |U(T) ∪ U(B)| = 5.
        assert!((m.jaccard_distance.unwrap() - 0.6).abs() < 1e-12);
        // bcx is 1 from bcd; xyz is 3 from every window of B: max 3/3, mean (1/3 + 1)/2.
        assert_eq!(m.hamming_max, Some(1.0));
        assert!((m.hamming_mean.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.profile_distinct_windows, 3);
    }

    #[test]
    fn locality_frame_slides() {
        let b = profile_of(1, &[&[1]]);
        // Unknown flags 0 1 1 0 1 0 0 0 1 1 1.
        let t: Vec<&[u16]> = [1u16, 2, 2, 1, 2, 1, 1, 1, 2, 2, 2]
            .iter()
            .map(|x| if *x == 1 { &[1u16][..] } else { &[2u16][..] })
            .collect();
        assert_eq!(score(&b, &t, 1).locality_frame_count, 1);
        assert_eq!(score(&b, &t, 3).locality_frame_count, 3);
        assert_eq!(score(&b, &t, 5).locality_frame_count, 3);
        assert_eq!(score(&b, &t, 6).locality_frame_count, 3);
        assert_eq!(score(&b, &t, 8).locality_frame_count, 4);
        assert_eq!(score(&b, &t, 128).locality_frame_count, 6);
    }

    #[test]
    fn empty_trace_has_undefined_ratios() {
        let b = profile_of(2, &[&[1, 2]]);
        let m = score(&b, &[], 20);
        assert_eq!(
            (m.coverage, m.mismatch, m.hamming_max, m.hamming_mean),
            (None, None, None, None)
        );
        assert_eq!(m.jaccard_distance, Some(1.0));
    }

    #[test]
    fn known_trace_scores_perfectly() {
        let b = profile_of(2, &[&[1, 2], &[2, 1]]);
        let m = score(&b, &[&[1, 2], &[2, 1], &[1, 2]], 20);
        assert_eq!(
            (m.coverage, m.mismatch, m.locality_frame_count),
            (Some(1.0), Some(0.0), 0)
        );
        assert_eq!(
            (m.jaccard_distance, m.hamming_max, m.hamming_mean),
            (Some(0.0), Some(0.0), None)
        );
    }

    #[test]
    fn hamming_search_respects_its_budget() {
        let b = profile_of(3, &[&[1, 2, 3], &[2, 3, 4], &[3, 4, 5]]);
        let t: [&[u16]; 4] = [&[1, 2, 9], &[8, 8, 8], &[7, 7, 7], &[6, 6, 6]];
        let mut s = WindowScorer::new(20);
        s.begin_trace(&b);
        for w in t {
            s.window(&b, pack(w));
        }
        let keys = b.sorted_keys();
        let run = RunMeta::default();
        let ctx = TraceContext {
            run: &run,
            view: View::Thread,
            baseline: "b",
            profile: &b,
            profile_keys: Some(&keys),
            hamming_index: None,
            frame: 20,
            // 6 comparisons: 2 of the 4 unknown windows against 3 profile windows.
            hamming_budget: 6,
        };
        let m = trace_metrics(&ctx, &SequenceStats::default(), s.finish());
        assert_eq!(
            (m.unknown_distinct_windows, m.hamming_windows_measured),
            (4, 2)
        );
        let full = TraceContext {
            hamming_budget: DEFAULT_HAMMING_BUDGET,
            ..ctx
        };
        let mut s = WindowScorer::new(20);
        s.begin_trace(&b);
        for w in t {
            s.window(&b, pack(w));
        }
        let m = trace_metrics(&full, &SequenceStats::default(), s.finish());
        assert_eq!(m.hamming_windows_measured, 4);
        // 1 2 9 is one from 1 2 3; the others three from everything.
        assert_eq!(m.hamming_max, Some(1.0));
        assert!((m.hamming_mean.unwrap() - (1.0 + 3.0 * 3.0) / 4.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn index_gives_the_brute_force_distances_and_its_budget_samples() {
        let b = profile_of(3, &[&[1, 2, 3], &[2, 3, 4], &[3, 4, 5]]);
        let t: [&[u16]; 5] = [&[1, 2, 9], &[8, 8, 8], &[7, 4, 5], &[6, 6, 6], &[1, 2, 3]];
        let keys = b.sorted_keys();
        let index = HammingIndex::new(&b);
        let run = RunMeta::default();
        let metrics = |keys: Option<&[WindowKey]>, index: Option<&HammingIndex>, budget| {
            let mut s = WindowScorer::new(20);
            s.begin_trace(&b);
            for w in t {
                s.window(&b, pack(w));
            }
            let ctx = TraceContext {
                run: &run,
                view: View::Thread,
                baseline: "b",
                profile: &b,
                profile_keys: keys,
                hamming_index: index,
                frame: 20,
                hamming_budget: budget,
            };
            trace_metrics(&ctx, &SequenceStats::default(), s.finish())
        };
        let brute = metrics(Some(&keys), None, DEFAULT_HAMMING_BUDGET);
        let indexed = metrics(None, Some(&index), DEFAULT_HAMMING_BUDGET);
        // 1 2 9 and 7 4 5 are one from B, 8 8 8 and 6 6 6 three: max 1, mean (1+1+3+3)/4/3.
        assert_eq!(indexed.hamming_windows_measured, 4);
        assert_eq!(
            (indexed.hamming_max, indexed.hamming_mean),
            (brute.hamming_max, brute.hamming_mean)
        );
        assert!((indexed.hamming_mean.unwrap() - 8.0 / 12.0).abs() < 1e-12);
        // A budget of one comparison: the first window of the spread order only.
        let fresh = HammingIndex::new(&b);
        let cut = metrics(None, Some(&fresh), 1);
        assert_eq!(
            (cut.unknown_distinct_windows, cut.hamming_windows_measured),
            (4, 1)
        );
    }

    #[test]
    fn a_reused_scorer_forgets_the_last_trace() {
        let b = profile_of(2, &[&[1, 2], &[2, 1], &[2, 3], &[3, 4]]);
        let a: [&[u16]; 4] = [&[1, 2], &[2, 1], &[1, 2], &[9, 9]];
        let t: [&[u16]; 3] = [&[2, 3], &[1, 2], &[8, 8]];
        let score = |s: &mut WindowScorer, trace: &[&[u16]]| {
            s.begin_trace(&b);
            for w in trace {
                s.window(&b, pack(w));
            }
            s.finish()
        };
        let mut reused = WindowScorer::new(20);
        score(&mut reused, &a);
        let second = score(&mut reused, &t);
        let fresh = score(&mut WindowScorer::new(20), &t);
        assert_eq!(second, fresh);
        assert_eq!((fresh.distinct_windows, fresh.known_windows), (3, 2));
    }

    #[test]
    fn distinct_counts_beyond_the_exact_limit_are_estimated() {
        let b = profile_of(2, &[&[0, 0]]);
        let layout = crate::ngram::KeyLayout::new(2);
        let run = |limit: usize| {
            let mut s = WindowScorer::with_exact_limit(20, limit);
            s.begin_trace(&b);
            // 30,000 distinct unknown windows, each twice, and the known one.
            for i in 0..60_000u32 {
                let j = i % 30_000;
                s.window(&b, layout.pack(&[1 + (j / 200) as u16, (j % 200) as u16]));
            }
            s.window(&b, layout.pack(&[0, 0]));
            s.finish()
        };
        let exact = run(usize::MAX);
        assert!(exact.exact);
        assert_eq!(
            (exact.unknown_distinct.len(), exact.distinct_windows),
            (30_000, 30_001)
        );
        let capped = run(1_000);
        assert!(!capped.exact);
        assert_eq!(capped.unknown_distinct.len(), 1_000);
        let estimated =
            capped.unknown_distinct.len() as f64 + capped.unknown_distinct_estimated_beyond as f64;
        assert!(
            (estimated - 30_000.0).abs() / 30_000.0 < 0.03,
            "{estimated}"
        );
        assert_eq!((capped.windows, capped.known_windows), (60_001, 1));
    }

    #[test]
    fn frame_is_checked() {
        let c = ScoreConfig {
            frame: 0,
            ..Default::default()
        };
        assert!(c.check().is_err());
        assert!(ScoreConfig::default().check().is_ok());
    }
}
