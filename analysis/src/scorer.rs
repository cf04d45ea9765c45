//! The scoring pass: a `RowConsumer` that windows every selected run in several views and
//! scores it against the baseline chosen for it, producing one `TraceMetrics` per run and view.

use crate::{
    dataset::{RowChunk, RowConsumer, RunMeta},
    error::AnalysisError,
    hamming::{HammingIndex, SearchStats},
    metrics::{ScoreConfig, TraceContext, TraceMetrics, WindowScorer, trace_metrics},
    ngram::KeyMap,
    profile::Profile,
    view::{View, Windower},
};

/// Chooses the baseline of a run: its name and profile, or `None` to skip the run.
pub type BaselineFn<'p> = Box<dyn Fn(&RunMeta) -> Option<(String, &'p Profile)> + 'p>;

/// A `RowConsumer` scoring every run in several views, each run against the baseline that
/// `baseline_for` picks for it; all baselines must have the scorer's k.
pub struct Scorer<'p> {
    k: usize,
    config: ScoreConfig,
    views: Vec<(Windower, WindowScorer)>,
    baseline_for: BaselineFn<'p>,
    current: Option<(RunMeta, String, &'p Profile)>,
    /// One Hamming index per baseline (by address), built when its first trace ends.
    indexes: KeyMap<usize, HammingIndex>,
    results: Vec<TraceMetrics>,
}

impl<'p> Scorer<'p> {
    /// Scores length-`k` windows in each of `views`.
    pub fn new(
        views: &[View],
        k: usize,
        config: ScoreConfig,
        baseline_for: BaselineFn<'p>,
    ) -> Result<Self, AnalysisError> {
        config.check()?;
        let views = views
            .iter()
            .map(|v| {
                Ok((
                    Windower::new(*v, k)?,
                    WindowScorer::with_exact_limit(config.frame, config.max_exact_unknown),
                ))
            })
            .collect::<Result<Vec<_>, AnalysisError>>()?;
        Ok(Self {
            k,
            config,
            views,
            baseline_for,
            current: None,
            indexes: KeyMap::default(),
            results: Vec::new(),
        })
    }

    /// The metrics of every scored run and view, in scan order.
    pub fn into_results(self) -> Vec<TraceMetrics> {
        self.results
    }

    /// The metrics scored so far, leaving the scorer (and its Hamming indexes) ready for more
    /// scans.
    pub fn take_results(&mut self) -> Vec<TraceMetrics> {
        std::mem::take(&mut self.results)
    }

    /// What the Hamming searches of every baseline have done.
    pub fn hamming_stats(&self) -> SearchStats {
        self.indexes
            .values()
            .map(HammingIndex::stats)
            .fold(SearchStats::default(), |a, b| a.add(&b))
    }
}

impl RowConsumer for Scorer<'_> {
    fn begin_run(&mut self, run: &RunMeta) -> Result<(), AnalysisError> {
        self.current = None;
        if let Some((name, profile)) = (self.baseline_for)(run) {
            if profile.k != self.k {
                return Err(AnalysisError::Config {
                    option: "k (window length)",
                    message: format!(
                        "baseline `{name}` has k = {}, the scoring uses k = {}",
                        profile.k, self.k
                    ),
                });
            }
            if self.config.timeline_run.as_deref() == Some(run.run_id.as_str()) {
                for (_, s) in &mut self.views {
                    s.record_timeline();
                }
            }
            for (_, s) in &mut self.views {
                s.begin_trace(profile);
            }
            self.current = Some((run.clone(), name, profile));
        }
        Ok(())
    }

    fn rows(&mut self, chunk: &RowChunk<'_>) {
        let Some((_, _, profile)) = &self.current else {
            return;
        };
        let profile: &Profile = profile;
        for (windower, scorer) in &mut self.views {
            windower.feed(chunk, |key| scorer.window(profile, key));
        }
    }

    fn end_run(&mut self) -> Result<(), AnalysisError> {
        let Some((run, name, profile)) = self.current.take() else {
            return Ok(());
        };
        let index = if self.config.hamming {
            let id = profile as *const Profile as usize;
            Some(
                &*self
                    .indexes
                    .entry(id)
                    .or_insert_with(|| HammingIndex::new(profile)),
            )
        } else {
            None
        };
        for (windower, scorer) in &mut self.views {
            let seqs = windower.finish_run();
            let counts = scorer.finish();
            let ctx = TraceContext {
                run: &run,
                view: windower.view(),
                baseline: &name,
                profile,
                profile_keys: None,
                hamming_index: index,
                frame: self.config.frame,
                hamming_budget: self.config.hamming_budget,
            };
            self.results.push(trace_metrics(&ctx, &seqs, counts));
        }
        Ok(())
    }
}
