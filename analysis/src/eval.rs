//! Scoring traces against one baseline profile, and the labelled evaluation (the classic stide
//! experiment): normal and anomalous traces scored against a baseline of normal behaviour,
//! with the ROC AUC of each metric.

use std::path::PathBuf;

use crate::{
    dataset::{Dataset, RunMeta, Selection},
    error::AnalysisError,
    intern::Interner,
    metrics::{ScoreConfig, TraceMetrics},
    ngram::DEFAULT_K,
    profile::{Profile, build_profile},
    roc::roc_auc,
    scorer::Scorer,
    view::View,
};

/// Where the baseline comes from.
#[derive(Clone, Debug)]
pub enum BaselineSource {
    /// A profile saved by `Profile::save`.
    ProfileFile(PathBuf),
    /// Built now from these inputs and runs, in `view` with window length `k`.
    Train {
        /// Files, folders or globs.
        inputs: Vec<String>,
        /// Runs used.
        selection: Selection,
        /// View of the profile.
        view: View,
        /// Window length.
        k: usize,
    },
}

/// Loads or builds the baseline; returns it, its name, and the interner its keys refer to.
pub fn load_baseline(
    source: &BaselineSource,
) -> Result<(Profile, String, Interner), AnalysisError> {
    match source {
        BaselineSource::ProfileFile(path) => {
            // The file's k is not known before reading it: read with the widest id space, then
            // re-check against the layout of its k.
            let mut wide = Interner::new();
            let profile = Profile::load(path, &mut wide)?;
            let mut interner = crate::intern::for_k(profile.k);
            for n in wide.names() {
                interner.intern(n)?;
            }
            Ok((profile, path.display().to_string(), interner))
        }
        BaselineSource::Train {
            inputs,
            selection,
            view,
            k,
        } => {
            let dataset = Dataset::open(inputs)?;
            let mut interner = crate::intern::for_k(*k);
            let (profile, _) = build_profile(&dataset, selection, *view, *k, &mut interner)?;
            if profile.runs.is_empty() {
                return Err(AnalysisError::Empty(format!(
                    "no run selected to train a baseline from {}",
                    inputs.join(", ")
                )));
            }
            Ok((
                profile,
                format!("trained on {}", inputs.join(", ")),
                interner,
            ))
        }
    }
}

/// Scores every selected run of `inputs` in each of `views` against `profile`.
pub fn score_traces(
    inputs: &[String],
    selection: &Selection,
    profile: &Profile,
    baseline_name: &str,
    views: &[View],
    config: &ScoreConfig,
    interner: &mut Interner,
) -> Result<Vec<TraceMetrics>, AnalysisError> {
    let dataset = Dataset::open(inputs)?;
    let name = baseline_name.to_string();
    let mut scorer = Scorer::new(
        views,
        profile.k,
        config.clone(),
        Box::new(move |_: &RunMeta| Some((name.clone(), profile))),
    )?;
    dataset.scan(selection, interner, &mut scorer)?;
    Ok(scorer.into_results())
}

/// Options of a labelled evaluation.
#[derive(Clone, Debug)]
pub struct EvalConfig {
    /// The baseline of normal behaviour.
    pub baseline: BaselineSource,
    /// Normal traces (not those the baseline was trained on, for an honest figure).
    pub normal: Vec<String>,
    /// Anomalous traces.
    pub anomalous: Vec<String>,
    /// Runs of `normal` used.
    pub normal_selection: Selection,
    /// Runs of `anomalous` used.
    pub anomalous_selection: Selection,
    /// View the traces are scored in.
    pub view: View,
    /// Scoring options.
    pub score: ScoreConfig,
}

impl EvalConfig {
    /// Defaults: thread view, k = 6 when training.
    pub fn new(baseline: BaselineSource, normal: Vec<String>, anomalous: Vec<String>) -> Self {
        Self {
            baseline,
            normal,
            anomalous,
            normal_selection: Selection::all(),
            anomalous_selection: Selection::all(),
            view: View::Thread,
            score: ScoreConfig::default(),
        }
    }
}

/// One scored trace with its label.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LabelledTrace {
    /// `normal` or `anomalous`.
    pub label: &'static str,
    /// Its metrics.
    #[serde(flatten)]
    pub metrics: TraceMetrics,
}

/// The ROC AUC of one metric.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MetricAuc {
    /// Metric name.
    pub metric: &'static str,
    /// The anomaly score ranked (higher = more anomalous), e.g. `1 - coverage`.
    pub anomaly_score: &'static str,
    /// AUC in [0, 1]; 0.5 is chance. `None` if a side has no defined score.
    pub auc: Option<f64>,
    /// Normal traces with a defined score.
    pub normal_traces: usize,
    /// Anomalous traces with a defined score.
    pub anomalous_traces: usize,
}

/// Result of a labelled evaluation.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EvalResult {
    /// Baseline name.
    pub baseline: String,
    /// Window length.
    pub k: usize,
    /// View of the baseline.
    pub baseline_view: View,
    /// View of the traces.
    pub view: View,
    /// Profile size.
    pub profile_distinct_windows: u64,
    /// Runs in the profile.
    pub profile_runs: usize,
    /// AUC per metric.
    pub auc: Vec<MetricAuc>,
    /// Every trace.
    pub traces: Vec<LabelledTrace>,
}

/// Metrics ranked by the evaluation: (name, anomaly score description, sign).
const RANKED: [(&str, &str, f64); 6] = [
    ("coverage", "1 - coverage", -1.0),
    ("mismatch", "mismatch", 1.0),
    ("locality_frame_count", "locality_frame_count", 1.0),
    ("jaccard_distance", "jaccard_distance", 1.0),
    ("hamming_max", "hamming_max", 1.0),
    ("hamming_mean", "hamming_mean", 1.0),
];

/// AUC of each ranked metric over labelled traces.
pub fn auc_per_metric(traces: &[LabelledTrace]) -> Vec<MetricAuc> {
    RANKED
        .iter()
        .map(|(metric, desc, sign)| {
            let side = |label: &str| -> Vec<f64> {
                traces
                    .iter()
                    .filter(|t| t.label == label)
                    .filter_map(|t| t.metrics.metric(metric))
                    .map(|v| sign * v)
                    .collect()
            };
            let (n, a) = (side("normal"), side("anomalous"));
            MetricAuc {
                metric,
                anomaly_score: desc,
                auc: roc_auc(&n, &a),
                normal_traces: n.len(),
                anomalous_traces: a.len(),
            }
        })
        .collect()
}

/// Runs the evaluation.
pub fn run(cfg: &EvalConfig) -> Result<EvalResult, AnalysisError> {
    let (profile, name, mut interner) = load_baseline(&cfg.baseline)?;
    let mut traces = Vec::new();
    for (label, inputs, selection) in [
        ("normal", &cfg.normal, &cfg.normal_selection),
        ("anomalous", &cfg.anomalous, &cfg.anomalous_selection),
    ] {
        let scored = score_traces(
            inputs,
            selection,
            &profile,
            &name,
            &[cfg.view],
            &cfg.score,
            &mut interner,
        )?;
        if scored.is_empty() {
            return Err(AnalysisError::Empty(format!(
                "no {label} trace selected in {}",
                inputs.join(", ")
            )));
        }
        traces.extend(
            scored
                .into_iter()
                .map(|metrics| LabelledTrace { label, metrics }),
        );
    }
    Ok(EvalResult {
        baseline: name,
        k: profile.k,
        baseline_view: profile.view,
        view: cfg.view,
        profile_distinct_windows: profile.distinct() as u64,
        profile_runs: profile.runs.len(),
        auc: auc_per_metric(&traces),
        traces,
    })
}

/// The default window length when training (re-exported for the CLI's help).
pub const DEFAULT_TRAIN_K: usize = DEFAULT_K;
