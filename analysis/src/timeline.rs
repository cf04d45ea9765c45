//! Mismatch over time for one trace: every window's known/unknown flag against the trace's
//! scenario baseline, and the locality frame count along it (the picture an analyst uses to
//! find where behaviour broke).

use crate::{
    compare::CompareResult,
    dataset::{RunMeta, Selection, select::Field},
    error::AnalysisError,
    metrics::{ScoreConfig, TraceMetrics},
    scorer::Scorer,
    tidy::label,
    view::View,
};

/// The per-window unknown flags of one trace against its scenario's baseline.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Timeline {
    /// The run.
    pub run_id: String,
    /// Its scenario (the baseline used).
    pub scenario: String,
    /// Its mode.
    pub mode: String,
    /// The view windowed in.
    pub view: View,
    /// View of the baseline.
    pub baseline_view: View,
    /// Locality frame.
    pub frame: usize,
    /// Per window in completion order: unknown to the baseline.
    pub unknown: Vec<bool>,
    /// The trace's metrics.
    pub metrics: TraceMetrics,
}

impl Timeline {
    /// Unknown windows among the last `frame` windows, at each window.
    pub fn frame_counts(&self) -> Vec<u32> {
        let mut counts = Vec::with_capacity(self.unknown.len());
        let mut c = 0u32;
        for (i, u) in self.unknown.iter().enumerate() {
            c += u32::from(*u);
            if i >= self.frame {
                c -= u32::from(self.unknown[i - self.frame]);
            }
            counts.push(c);
        }
        counts
    }
}

impl CompareResult {
    /// Re-scores `run_id` in `view` against its scenario's baseline, keeping every window's flag.
    pub fn timeline(&mut self, run_id: &str, view: View) -> Result<Timeline, AnalysisError> {
        let dataset = self
            .dataset
            .clone()
            .ok_or_else(|| AnalysisError::Empty("the comparison has no dataset".into()))?;
        let profiles = &self.profiles;
        let config = ScoreConfig {
            frame: self.frame,
            hamming: false,
            timeline_run: Some(run_id.to_string()),
            ..ScoreConfig::default()
        };
        let mut scorer = Scorer::new(
            &[view],
            self.k,
            config,
            Box::new(move |r: &RunMeta| {
                let s = label(&r.scenario);
                profiles.get(&s).map(|p| (s, p))
            }),
        )?;
        let selection = Selection::all().with(Field::RunId, &[run_id.to_string()]);
        dataset.scan(&selection, &mut self.interner, &mut scorer)?;
        let mut metrics = scorer.into_results().into_iter().next().ok_or_else(|| {
            AnalysisError::Empty(format!(
                "run `{run_id}` not found or its scenario has no baseline"
            ))
        })?;
        Ok(Timeline {
            run_id: run_id.to_string(),
            scenario: label(&metrics.scenario),
            mode: label(&metrics.mode),
            view,
            baseline_view: self.baseline_view,
            frame: self.frame,
            unknown: metrics.timeline.take().unwrap_or_default(),
            metrics,
        })
    }

    /// The scored trace with the highest locality frame count in `view` (ties: first), a good
    /// default for the mismatch-over-time picture.
    pub fn most_anomalous_trace(&self, view: View) -> Option<&TraceMetrics> {
        let mut best: Option<&TraceMetrics> = None;
        for t in self
            .traces
            .iter()
            .filter(|t| t.view == view && t.windows > 0)
        {
            let score = |t: &TraceMetrics| (t.locality_frame_count, t.mismatch.unwrap_or(0.0));
            if best.is_none_or(|b| score(t) > score(b)) {
                best = Some(t);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{profile::Profile, view::SequenceStats};

    #[test]
    fn frame_counts_slide() {
        let t = Timeline {
            run_id: "r".into(),
            scenario: "s".into(),
            mode: "mr".into(),
            view: View::Interleaved,
            baseline_view: View::Thread,
            frame: 2,
            unknown: vec![true, true, false, true, false, false],
            metrics: crate::metrics::trace_metrics(
                &crate::metrics::TraceContext {
                    run: &RunMeta::default(),
                    view: View::Interleaved,
                    baseline: "s",
                    profile: &Profile::new(1, View::Thread).unwrap(),
                    profile_keys: None,
                    hamming_index: None,
                    frame: 2,
                    hamming_budget: 0,
                },
                &SequenceStats::default(),
                Default::default(),
            ),
        };
        assert_eq!(t.frame_counts(), vec![1, 2, 1, 1, 1, 0]);
    }

    #[test]
    fn frame_counts_agree_with_the_locality_frame_count() {
        use crate::{
            compare::{CompareConfig, run},
            synth::{ExperimentSpec, write_experiment},
        };
        let dir = tempfile::tempdir().unwrap();
        write_experiment(
            dir.path(),
            &ExperimentSpec {
                reps: 2,
                ..Default::default()
            },
        )
        .unwrap();
        let cfg = CompareConfig {
            inputs: vec![dir.path().display().to_string()],
            ..Default::default()
        };
        let mut r = run(&cfg).unwrap();
        let ids: Vec<String> = r.traces.iter().map(|t| t.run_id.clone()).collect();
        for id in ids {
            for view in View::ALL {
                let t = r.timeline(&id, view).unwrap();
                let max = t.frame_counts().into_iter().max().unwrap_or(0);
                assert_eq!(max, t.metrics.locality_frame_count, "{id} {view}");
                assert_eq!(t.unknown.len() as u64, t.metrics.windows, "{id} {view}");
            }
        }
    }
}
