//! The LID-DS framework's measures of a labelled evaluation (docs/DESIGN.md, "Metrics"): the
//! detection rate over exploit recordings, false alarms counted as the framework counts them
//! (consecutive false alarms once per run, and plain false-alarm windows) and the false-alarm
//! rate, at the threshold set to the highest score over the validation split's windows; for
//! the thread-aware variant (windows per thread) beside the plain one (windows over the
//! recording's whole stream).
//!
//! `eval::run` computes them when its anomalous runs carry exploit start times (the `runs` table
//! of a LID-DS import): `measure` holds the definitions, `labels` the runs table and the exploit
//! cuts, `scorer` the pass over the rows.

pub mod labels;
pub mod measure;
pub mod scorer;

use std::collections::{HashMap, HashSet};

use tracer_dataset::schema::value;

pub use labels::{ExploitCut, exploit_cuts, run_labels};
pub use measure::{AlarmCounter, AlarmCounts, StideFrame};
pub use scorer::{Both, LiddsScorer, Phase, Variant};

use crate::{
    dataset::{Dataset, Selection},
    error::AnalysisError,
    view::View,
};

/// The variants, by the view their windows are formed in: thread-aware (the framework's
/// `thread_aware` n-grams: per tid) and plain (its n-grams over the recording's stream: this
/// project's `interleaved` view).
pub const VARIANTS: [(&str, View); 2] =
    [("thread-aware", View::Thread), ("plain", View::Interleaved)];

/// The anomaly score the measures threshold.
pub const SCORE: &str = "stide: unknown windows among the recording's last FRAME windows / FRAME";

/// One variant's measures.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct VariantMeasures {
    /// `thread-aware` or `plain`.
    pub variant: &'static str,
    /// The view its windows are formed in.
    pub view: View,
    /// The view of its baseline (the variant's own when trained here).
    pub baseline_view: View,
    /// Distinct windows of its baseline.
    pub profile_distinct_windows: u64,
    /// Alarm above this score: the highest over the validation windows (0 if none).
    pub threshold: f64,
    /// Windows of the validation recordings.
    pub validation_windows: u64,
    /// The counts.
    #[serde(flatten)]
    pub counts: AlarmCounts,
    /// Detected exploit recordings over exploit recordings.
    pub detection_rate: Option<f64>,
    /// Every false-alarm window (normal recordings and before the exploit).
    pub false_alarm_windows: u64,
    /// Every run of consecutive false alarms.
    pub consecutive_false_alarms: u64,
    /// False-alarm windows over normal windows and windows before the exploit.
    pub false_alarm_rate: Option<f64>,
    /// Detected exploits over detected exploits plus consecutive false alarms.
    pub precision_cfa: Option<f64>,
    /// Harmonic mean of `precision_cfa` and `detection_rate`.
    pub f1_cfa: Option<f64>,
}

/// The LID-DS measures of an evaluation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LiddsMeasures {
    /// The anomaly score thresholded (`SCORE`).
    pub score: &'static str,
    /// Its frame, in windows (`--frame`).
    pub frame: usize,
    /// Window length.
    pub k: usize,
    /// Recordings of the validation split that set the threshold.
    pub validation_recordings: usize,
    /// Exploit recordings with an exploit start time (the others are exploit from their
    /// first call).
    pub exploit_start_times: usize,
    /// Per variant.
    pub variants: Vec<VariantMeasures>,
}

impl LiddsMeasures {
    /// The measures of a finished scoring pass.
    pub fn of(scorer: &LiddsScorer<'_>, frame: usize, exploit_start_times: usize) -> Self {
        let variants = scorer
            .variants()
            .iter()
            .map(|v| {
                let c = v.counter().counts();
                VariantMeasures {
                    variant: VARIANTS
                        .iter()
                        .find(|(_, view)| *view == v.view())
                        .map_or("other", |(n, _)| n),
                    view: v.view(),
                    baseline_view: v.profile().view,
                    profile_distinct_windows: v.profile().distinct() as u64,
                    threshold: v.threshold(),
                    validation_windows: v.validation_windows(),
                    counts: c,
                    detection_rate: c.detection_rate(),
                    false_alarm_windows: c.false_alarm_windows(),
                    consecutive_false_alarms: c.consecutive_false_alarms(),
                    false_alarm_rate: c.false_alarm_rate(),
                    precision_cfa: c.precision_cfa(),
                    f1_cfa: c.f1_cfa(),
                }
            })
            .collect();
        Self {
            score: SCORE,
            frame,
            k: scorer.variants().first().map_or(0, |v| v.profile().k),
            validation_recordings: scorer.validation_recordings(),
            exploit_start_times,
            variants,
        }
    }
}

/// The exploit start of every selected run of `dataset` that has one in its `runs` table.
pub fn exploit_starts(
    dataset: &Dataset,
    selection: &Selection,
) -> Result<HashMap<String, i64>, AnalysisError> {
    let labels = run_labels(dataset)?;
    if labels.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(dataset
        .runs()?
        .into_iter()
        .filter(|r| selection.matches(r))
        .filter_map(|r| Some((r.run_id.clone(), labels.get(&r.run_id)?.exploit_start_ns?)))
        .collect())
}

/// The selected runs of `dataset` whose `runs` table puts them in the validation split.
pub fn validation_runs(
    dataset: &Dataset,
    selection: &Selection,
) -> Result<HashSet<String>, AnalysisError> {
    let labels = run_labels(dataset)?;
    Ok(dataset
        .runs()?
        .into_iter()
        .filter(|r| selection.matches(r))
        .filter(|r| {
            labels
                .get(&r.run_id)
                .is_some_and(|l| l.split.as_deref() == Some(value::VALIDATION))
        })
        .map(|r| r.run_id)
        .collect())
}
