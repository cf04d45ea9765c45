//! The LID-DS scoring pass: a `RowConsumer` that windows each recording in every variant
//! (thread-aware and plain), scores each window with the framework's stide frame, and either
//! keeps the highest score (validation: the threshold) or counts alarms (test recordings).

use std::collections::{HashMap, HashSet};

use super::{
    labels::ExploitCut,
    measure::{AlarmCounter, StideFrame},
};
use crate::{
    dataset::{RowChunk, RowConsumer, RunMeta},
    error::AnalysisError,
    profile::Profile,
    view::{View, Windower},
};

/// What the recordings of the current scan are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Validation recordings: their highest score is the threshold.
    Validation,
    /// Normal test recordings (those of the validation split are skipped).
    Normal,
    /// Exploit recordings.
    Exploit,
}

/// One variant's windowing, baseline and counts.
pub struct Variant<'p> {
    windower: Windower,
    profile: &'p Profile,
    frame: StideFrame,
    max_validation_score: f64,
    validation_windows: u64,
    counter: AlarmCounter,
}

impl<'p> Variant<'p> {
    /// Windows of length `profile.k` in `view`, scored against `profile` over `frame` windows.
    pub fn new(view: View, profile: &'p Profile, frame: usize) -> Result<Self, AnalysisError> {
        Ok(Self {
            windower: Windower::new(view, profile.k)?,
            profile,
            frame: StideFrame::new(frame),
            max_validation_score: 0.0,
            validation_windows: 0,
            counter: AlarmCounter::new(0.0),
        })
    }

    /// The view its windows are formed in.
    pub fn view(&self) -> View {
        self.windower.view()
    }

    /// Its baseline.
    pub fn profile(&self) -> &'p Profile {
        self.profile
    }

    /// The threshold: the highest validation score (0 before any, as the framework starts).
    pub fn threshold(&self) -> f64 {
        self.max_validation_score
    }

    /// Windows of the validation recordings.
    pub fn validation_windows(&self) -> u64 {
        self.validation_windows
    }

    /// The alarm counts of the test recordings.
    pub fn counter(&self) -> &AlarmCounter {
        &self.counter
    }
}

/// The scoring pass over validation, then normal, then exploit recordings (`set_phase`).
pub struct LiddsScorer<'p> {
    variants: Vec<Variant<'p>>,
    phase: Phase,
    /// Runs of the validation split, skipped when scored as normal test recordings.
    validation_runs: &'p HashSet<String>,
    cuts: &'p HashMap<String, ExploitCut>,
    active: bool,
    cut: Option<&'p ExploitCut>,
    validation_recordings: usize,
}

impl<'p> LiddsScorer<'p> {
    /// Scores `variants`; `cuts` places the exploit of each exploit recording (one without a
    /// cut has every window after its exploit).
    pub fn new(
        variants: Vec<Variant<'p>>,
        validation_runs: &'p HashSet<String>,
        cuts: &'p HashMap<String, ExploitCut>,
    ) -> Self {
        Self {
            variants,
            phase: Phase::Validation,
            validation_runs,
            cuts,
            active: false,
            cut: None,
            validation_recordings: 0,
        }
    }

    /// The recordings of the next scan are of `phase`. Leaving validation fixes the thresholds.
    pub fn set_phase(&mut self, phase: Phase) {
        if self.phase == Phase::Validation && phase != Phase::Validation {
            for v in &mut self.variants {
                v.counter = AlarmCounter::new(v.max_validation_score);
            }
        }
        self.phase = phase;
    }

    /// Validation recordings scored.
    pub fn validation_recordings(&self) -> usize {
        self.validation_recordings
    }

    /// The variants, with their thresholds and counts.
    pub fn variants(&self) -> &[Variant<'p>] {
        &self.variants
    }
}

impl RowConsumer for LiddsScorer<'_> {
    fn begin_run(&mut self, run: &RunMeta) -> Result<(), AnalysisError> {
        self.active = !(self.phase == Phase::Normal && self.validation_runs.contains(&run.run_id));
        if !self.active {
            return Ok(());
        }
        self.cut = self.cuts.get(&run.run_id);
        if self.phase == Phase::Validation {
            self.validation_recordings += 1;
        }
        for v in &mut self.variants {
            v.frame.reset();
            if self.phase != Phase::Validation {
                v.counter.begin_recording(self.phase == Phase::Exploit);
            }
        }
        Ok(())
    }

    fn rows(&mut self, chunk: &RowChunk<'_>) {
        if !self.active {
            return;
        }
        let (phase, cut, seq) = (self.phase, self.cut, chunk.seq);
        for v in &mut self.variants {
            let Variant {
                windower,
                profile,
                frame,
                max_validation_score,
                validation_windows,
                counter,
            } = v;
            windower.feed_indexed(chunk, |i, key| {
                let score = frame.push(!profile.contains(key));
                match phase {
                    Phase::Validation => {
                        *validation_windows += 1;
                        *max_validation_score = max_validation_score.max(score);
                    }
                    Phase::Normal => counter.window(score, false),
                    Phase::Exploit => counter.window(score, cut.is_none_or(|c| c.is_after(seq[i]))),
                }
            });
        }
    }

    fn end_run(&mut self) -> Result<(), AnalysisError> {
        for v in &mut self.variants {
            v.windower.finish_run();
            v.counter.end_recording();
        }
        self.active = false;
        Ok(())
    }
}

/// Feeds the same rows to two consumers, so one read serves both.
pub struct Both<'a>(pub &'a mut dyn RowConsumer, pub &'a mut dyn RowConsumer);

impl RowConsumer for Both<'_> {
    fn begin_run(&mut self, run: &RunMeta) -> Result<(), AnalysisError> {
        self.0.begin_run(run)?;
        self.1.begin_run(run)
    }

    fn rows(&mut self, chunk: &RowChunk<'_>) {
        self.0.rows(chunk);
        self.1.rows(chunk);
    }

    fn end_run(&mut self) -> Result<(), AnalysisError> {
        self.0.end_run()?;
        self.1.end_run()
    }
}
