//! Scoring traces against one baseline profile, and the labelled evaluation (the classic stide
//! experiment): normal and anomalous traces scored against a baseline of normal behaviour, with
//! the tables host-based intrusion detection papers report for each metric: ROC AUC, the ROC
//! curve, the detection rate at fixed false-alarm rates (1 %, 5 %, 10 %) and at the threshold
//! with zero false alarms on the normal traces, and the same per attack family (the family is
//! the scenario `attack:<family>`; thresholds are those chosen on all normal traces).
//!
//! Each distinct input list is opened once (its footers decoded once), and one scorer serves the
//! normal and the anomalous traces, so both share the baseline's Hamming index.
//!
//! When the anomalous runs carry exploit start times (a LID-DS import's `runs` table), the
//! LID-DS framework's measures are added (`lidds`): thresholds from the validation split of
//! the normal inputs, then the same reads of the normal and anomalous runs feed both scorers.

use std::{collections::HashSet, path::PathBuf};

use crate::{
    dataset::{Dataset, RowConsumer, RunMeta, Selection, select::Field},
    error::AnalysisError,
    hamming::SearchStats,
    intern::Interner,
    lidds::{self, Both, LiddsMeasures, LiddsScorer, Phase},
    metrics::{ScoreConfig, TraceMetrics},
    ngram::DEFAULT_K,
    profile::{Profile, build_profile},
    roc::{OperatingPoint, RocPoint, operating_point, rate_above, roc_auc, roc_curve},
    scorer::Scorer,
    view::View,
};

/// Datasets opened so far, by input list, so an evaluation whose training, normal and anomalous
/// traces come from the same folder reads its footers once.
#[derive(Default)]
struct Datasets {
    open: Vec<(Vec<String>, Dataset)>,
}

impl Datasets {
    fn get(&mut self, inputs: &[String]) -> Result<&Dataset, AnalysisError> {
        let i = match self.open.iter().position(|(k, _)| k.as_slice() == inputs) {
            Some(i) => i,
            None => {
                self.open.push((inputs.to_vec(), Dataset::open(inputs)?));
                self.open.len() - 1
            }
        };
        Ok(&self.open[i].1)
    }
}

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
    load_baseline_from(source, &mut Datasets::default())
}

fn load_baseline_from(
    source: &BaselineSource,
    datasets: &mut Datasets,
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
            let dataset = datasets.get(inputs)?;
            let mut interner = crate::intern::for_k(*k);
            let (profile, _) = build_profile(dataset, selection, *view, *k, &mut interner)?;
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
    /// Runs of `normal` that may set the LID-DS threshold, beyond their split label.
    pub validation_selection: Selection,
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
            validation_selection: Selection::all(),
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

/// The false-alarm rates the detection tables report.
pub const FALSE_ALARM_RATES: [f64; 3] = [0.01, 0.05, 0.10];

/// Detection rates of one metric's anomaly score at the reported false-alarm rates.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MetricDetection {
    /// Metric name.
    pub metric: &'static str,
    /// The anomaly score thresholded.
    pub anomaly_score: &'static str,
    /// At each of `FALSE_ALARM_RATES`.
    pub at_false_alarm_rates: Vec<OperatingPoint>,
    /// At the threshold with zero false alarms on the normal traces.
    pub at_zero_false_alarms: OperatingPoint,
}

/// One attack family's figures for one metric, at the thresholds chosen on all normal traces.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FamilyDetection {
    /// The family: the scenario after `attack:` (the whole scenario otherwise; `-` if none).
    pub family: String,
    /// Metric name.
    pub metric: &'static str,
    /// Its traces with a defined score.
    pub traces: usize,
    /// ROC AUC of the family's traces against all normal traces.
    pub auc: Option<f64>,
    /// Detection rate at each of `FALSE_ALARM_RATES`.
    pub detection_rates: Vec<f64>,
    /// Detection rate at the zero-false-alarm threshold.
    pub zero_false_alarm_detection_rate: f64,
}

/// One metric's ROC curve (plotted, not part of the JSON).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricCurve {
    /// Metric name.
    pub metric: &'static str,
    /// The anomaly score ranked.
    pub anomaly_score: &'static str,
    /// Its AUC.
    pub auc: Option<f64>,
    /// The curve.
    pub points: Vec<RocPoint>,
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
    /// Detection rates per metric at fixed false-alarm rates and at zero false alarms.
    pub detection: Vec<MetricDetection>,
    /// Per attack family and metric.
    pub families: Vec<FamilyDetection>,
    /// Traces whose Hamming search stopped at `ScoreConfig::hamming_budget`, measuring a sample
    /// of their unknown windows (their `hamming_max` is a lower bound, `hamming_mean` an
    /// estimate).
    pub hamming_sampled_traces: usize,
    /// What the Hamming searches did.
    pub hamming_search: SearchStats,
    /// The LID-DS framework's measures, when the anomalous runs carry exploit start times.
    pub lidds: Option<LiddsMeasures>,
    /// Why the LID-DS measures are missing although exploit start times are present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lidds_note: Option<String>,
    /// ROC curves per metric.
    #[serde(skip)]
    pub curves: Vec<MetricCurve>,
    /// Every trace.
    pub traces: Vec<LabelledTrace>,
}

/// How a metric becomes an anomaly score (higher = more anomalous).
struct Ranked {
    metric: &'static str,
    anomaly_score: &'static str,
    score: fn(f64) -> f64,
}

/// Metrics ranked by the evaluation.
const RANKED: [Ranked; 6] = [
    Ranked {
        metric: "coverage",
        anomaly_score: "1 - coverage",
        score: |v| 1.0 - v,
    },
    Ranked {
        metric: "mismatch",
        anomaly_score: "mismatch",
        score: |v| v,
    },
    Ranked {
        metric: "locality_frame_count",
        anomaly_score: "locality_frame_count",
        score: |v| v,
    },
    Ranked {
        metric: "jaccard_distance",
        anomaly_score: "jaccard_distance",
        score: |v| v,
    },
    Ranked {
        metric: "hamming_max",
        anomaly_score: "hamming_max",
        score: |v| v,
    },
    Ranked {
        metric: "hamming_mean",
        anomaly_score: "hamming_mean",
        score: |v| v,
    },
];

/// The anomaly scores of `r` for the traces labelled `label` (and accepted by `keep`).
fn scores(
    traces: &[LabelledTrace],
    r: &Ranked,
    label: &str,
    keep: impl Fn(&LabelledTrace) -> bool,
) -> Vec<f64> {
    traces
        .iter()
        .filter(|t| t.label == label && keep(t))
        .filter_map(|t| t.metrics.metric(r.metric))
        .map(r.score)
        .collect()
}

/// AUC of each ranked metric over labelled traces.
pub fn auc_per_metric(traces: &[LabelledTrace]) -> Vec<MetricAuc> {
    RANKED
        .iter()
        .map(|r| {
            let n = scores(traces, r, "normal", |_| true);
            let a = scores(traces, r, "anomalous", |_| true);
            MetricAuc {
                metric: r.metric,
                anomaly_score: r.anomaly_score,
                auc: roc_auc(&n, &a),
                normal_traces: n.len(),
                anomalous_traces: a.len(),
            }
        })
        .collect()
}

/// Detection rates of each ranked metric at `FALSE_ALARM_RATES` and at zero false alarms.
pub fn detection_per_metric(traces: &[LabelledTrace]) -> Vec<MetricDetection> {
    RANKED
        .iter()
        .map(|r| {
            let n = scores(traces, r, "normal", |_| true);
            let a = scores(traces, r, "anomalous", |_| true);
            MetricDetection {
                metric: r.metric,
                anomaly_score: r.anomaly_score,
                at_false_alarm_rates: FALSE_ALARM_RATES
                    .iter()
                    .map(|f| operating_point(&n, &a, *f))
                    .collect(),
                at_zero_false_alarms: operating_point(&n, &a, 0.0),
            }
        })
        .collect()
}

/// The attack family of a scenario: after `attack:`, else the scenario, else `-`.
pub fn family_of(scenario: Option<&str>) -> String {
    match scenario {
        Some(s) => s.strip_prefix("attack:").unwrap_or(s).to_string(),
        None => "-".to_string(),
    }
}

/// Each ranked metric per attack family (families sorted by name), with the thresholds of
/// `detection` (chosen on all normal traces).
pub fn families(traces: &[LabelledTrace], detection: &[MetricDetection]) -> Vec<FamilyDetection> {
    let mut names: Vec<String> = traces
        .iter()
        .filter(|t| t.label == "anomalous")
        .map(|t| family_of(t.metrics.scenario.as_deref()))
        .collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for (r, d) in RANKED.iter().zip(detection) {
        let n = scores(traces, r, "normal", |_| true);
        for family in &names {
            let a = scores(traces, r, "anomalous", |t| {
                family_of(t.metrics.scenario.as_deref()) == *family
            });
            out.push(FamilyDetection {
                family: family.clone(),
                metric: r.metric,
                traces: a.len(),
                auc: roc_auc(&n, &a),
                detection_rates: d
                    .at_false_alarm_rates
                    .iter()
                    .map(|p| rate_above(&a, p.alarm_above))
                    .collect(),
                zero_false_alarm_detection_rate: rate_above(&a, d.at_zero_false_alarms.alarm_above),
            });
        }
    }
    out
}

/// The ROC curve of each ranked metric.
pub fn curves(traces: &[LabelledTrace]) -> Vec<MetricCurve> {
    RANKED
        .iter()
        .map(|r| {
            let n = scores(traces, r, "normal", |_| true);
            let a = scores(traces, r, "anomalous", |_| true);
            MetricCurve {
                metric: r.metric,
                anomaly_score: r.anomaly_score,
                auc: roc_auc(&n, &a),
                points: roc_curve(&n, &a),
            }
        })
        .collect()
}

/// Runs the evaluation.
pub fn run(cfg: &EvalConfig) -> Result<EvalResult, AnalysisError> {
    let mut datasets = Datasets::default();
    let (profile, name, mut interner) = load_baseline_from(&cfg.baseline, &mut datasets)?;
    let baseline_name = name.clone();
    let mut scorer = Scorer::new(
        &[cfg.view],
        profile.k,
        cfg.score.clone(),
        Box::new(|_: &RunMeta| Some((baseline_name.clone(), &profile))),
    )?;
    // The LID-DS measures: exploit recordings with start times, the validation split, and the
    // variants' baselines (each trained in its own view, as the framework trains the n-grams it
    // detects with; a profile file serves both).
    let starts = lidds::exploit_starts(datasets.get(&cfg.anomalous)?, &cfg.anomalous_selection)?;
    let mut lidds_note = None;
    let validation: HashSet<String> = if starts.is_empty() {
        HashSet::new()
    } else {
        lidds::validation_runs(datasets.get(&cfg.normal)?, &cfg.validation_selection)?
    };
    let on = !starts.is_empty() && !validation.is_empty();
    if !starts.is_empty() && validation.is_empty() {
        lidds_note = Some(format!(
            "no LID-DS measures: no run of {} has split `validation` in its runs table (the threshold is the highest validation score)",
            cfg.normal.join(", ")
        ));
    }
    let cuts = if on {
        lidds::exploit_cuts(datasets.get(&cfg.anomalous)?, &starts)?
    } else {
        Default::default()
    };
    let mut own = Vec::new();
    if on
        && let BaselineSource::Train {
            inputs,
            selection,
            view,
            k,
        } = &cfg.baseline
    {
        for (_, v) in lidds::VARIANTS.iter().filter(|(_, v)| v != view) {
            let (p, _) = build_profile(datasets.get(inputs)?, selection, *v, *k, &mut interner)?;
            own.push(p);
        }
    }
    let mut lidds_scorer = if on {
        let variants = lidds::VARIANTS
            .iter()
            .map(|(_, v)| {
                let p = own.iter().find(|p| p.view == *v).unwrap_or(&profile);
                lidds::Variant::new(*v, p, cfg.score.frame)
            })
            .collect::<Result<Vec<_>, AnalysisError>>()?;
        let mut l = LiddsScorer::new(variants, &validation, &cuts);
        let ids: Vec<String> = validation.iter().cloned().collect();
        let selection = cfg.validation_selection.clone().with(Field::RunId, &ids);
        datasets
            .get(&cfg.normal)?
            .scan(&selection, &mut interner, &mut l)?;
        Some(l)
    } else {
        None
    };
    let mut traces = Vec::new();
    for (label, inputs, selection, phase) in [
        ("normal", &cfg.normal, &cfg.normal_selection, Phase::Normal),
        (
            "anomalous",
            &cfg.anomalous,
            &cfg.anomalous_selection,
            Phase::Exploit,
        ),
    ] {
        let mut both;
        let consumer: &mut dyn RowConsumer = match lidds_scorer.as_mut() {
            Some(l) => {
                l.set_phase(phase);
                both = Both(&mut scorer, l);
                &mut both
            }
            None => &mut scorer,
        };
        datasets
            .get(inputs)?
            .scan(selection, &mut interner, consumer)?;
        let scored = scorer.take_results();
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
    let hamming_search = scorer.hamming_stats();
    drop(scorer);
    let lidds = lidds_scorer.map(|l| LiddsMeasures::of(&l, cfg.score.frame, starts.len()));
    let detection = detection_per_metric(&traces);
    Ok(EvalResult {
        baseline: name,
        k: profile.k,
        baseline_view: profile.view,
        view: cfg.view,
        profile_distinct_windows: profile.distinct() as u64,
        profile_runs: profile.runs.len(),
        auc: auc_per_metric(&traces),
        families: families(&traces, &detection),
        detection,
        hamming_sampled_traces: traces
            .iter()
            .filter(|t| {
                t.metrics.hamming_max.is_some()
                    && t.metrics.hamming_windows_measured < t.metrics.unknown_distinct_windows
            })
            .count(),
        hamming_search,
        lidds,
        lidds_note,
        curves: curves(&traces),
        traces,
    })
}

/// The default window length when training (re-exported for the CLI's help).
pub const DEFAULT_TRAIN_K: usize = DEFAULT_K;

#[cfg(test)]
mod tests {
    use super::*;

    /// A labelled trace whose only defined metric is `coverage`.
    fn trace(label: &'static str, scenario: &str, coverage: f64) -> LabelledTrace {
        LabelledTrace {
            label,
            metrics: TraceMetrics {
                run_id: String::new(),
                source: String::new(),
                scenario: Some(scenario.to_string()),
                mode: None,
                view: View::Thread,
                baseline: String::new(),
                baseline_view: View::Thread,
                k: 3,
                frame: 20,
                calls: 10,
                sequences: 1,
                short_sequences: 0,
                short_sequence_calls: 0,
                windows: 8,
                distinct_windows: 8,
                known_windows: 0,
                unknown_distinct_windows: 0,
                distinct_windows_exact: true,
                profile_distinct_windows: 1,
                coverage: Some(coverage),
                mismatch: None,
                locality_frame_count: 0,
                jaccard_distance: None,
                hamming_max: None,
                hamming_mean: None,
                hamming_windows_measured: 0,
                timeline: None,
            },
        }
    }

    /// Ten normal traces (coverage 1.0, 0.95, ..., 0.55: anomaly scores 0 .. 0.45) and two
    /// families: hydra (scores 0.9, 0.5, 0.42) and shell (scores 0.44, 0.1).
    fn labelled() -> Vec<LabelledTrace> {
        let mut t: Vec<LabelledTrace> = (0..10)
            .map(|i| trace("normal", "validation", 1.0 - f64::from(i) * 0.05))
            .collect();
        for c in [0.1, 0.5, 0.58] {
            t.push(trace("anomalous", "attack:hydra", c));
        }
        for c in [0.56, 0.9] {
            t.push(trace("anomalous", "attack:shell", c));
        }
        t
    }

    #[test]
    fn detection_rates_by_hand() {
        let t = labelled();
        let d = &detection_per_metric(&t)[0];
        assert_eq!(d.anomaly_score, "1 - coverage");
        // Zero false alarms: above the largest normal score 0.45 -> 0.9 and 0.5 of 5 anomalous.
        let zero = d.at_zero_false_alarms;
        assert!((zero.alarm_above.unwrap() - 0.45).abs() < 1e-9);
        assert_eq!((zero.false_alarm_rate, zero.detection_rate), (0.0, 0.4));
        // 1 % and 5 % of 10 normal traces allow none: the same; 10 % allows one (above 0.40):
        // 0.9, 0.5, 0.42, 0.44 -> 4 of 5.
        assert_eq!(d.at_false_alarm_rates[0].detection_rate, 0.4);
        assert_eq!(d.at_false_alarm_rates[1].detection_rate, 0.4);
        let ten = d.at_false_alarm_rates[2];
        assert_eq!((ten.false_alarm_rate, ten.detection_rate), (0.1, 0.8));
    }

    #[test]
    fn families_by_hand() {
        let t = labelled();
        let d = detection_per_metric(&t);
        let all = families(&t, &d);
        let f: Vec<&FamilyDetection> = all.iter().filter(|f| f.metric == "coverage").collect();
        assert_eq!(f.len(), 2);
        let (hydra, shell) = (f[0], f[1]);
        assert_eq!((hydra.family.as_str(), hydra.traces), ("hydra", 3));
        // hydra scores 0.9, 0.5, 0.42 against normal 0 .. 0.45 (10): 0.9 and 0.5 beat all 10,
        // 0.42 beats 9 (0 .. 0.40): (10 + 10 + 9) / 30.
        assert!((hydra.auc.unwrap() - 29.0 / 30.0).abs() < 1e-12);
        // Zero false alarms (above 0.45): 2 of 3; 10 % (above 0.40): 3 of 3.
        assert!((hydra.zero_false_alarm_detection_rate - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(hydra.detection_rates[2], 1.0);
        // shell scores 0.44 (beats 9 of 10) and 0.1 (beats 0.05 and 0, ties 0.10: 2.5):
        // (9 + 2.5) / 20; nothing above 0.45; at 10 % 0.44 only.
        assert_eq!(shell.family, "shell");
        assert!((shell.auc.unwrap() - 11.5 / 20.0).abs() < 1e-12);
        assert_eq!(
            (
                shell.zero_false_alarm_detection_rate,
                shell.detection_rates[2]
            ),
            (0.0, 0.5)
        );
        assert_eq!(family_of(Some("validation")), "validation");
        assert_eq!(family_of(None), "-");
    }

    #[test]
    fn curve_ends_at_one_one_and_matches_the_auc() {
        let c = &curves(&labelled())[0];
        let last = c.points.last().expect("points");
        assert_eq!((last.false_alarm_rate, last.detection_rate), (1.0, 1.0));
        let area: f64 = c
            .points
            .windows(2)
            .map(|w| {
                (w[1].false_alarm_rate - w[0].false_alarm_rate)
                    * (w[0].detection_rate + w[1].detection_rate)
                    / 2.0
            })
            .sum();
        assert!((area - c.auc.unwrap()).abs() < 1e-12);
    }
}
