//! The M.S vs M.R comparison, the research question of docs/DESIGN.md.
//!
//! For each scenario the baseline is a profile of its M.S runs, built in the baseline view
//! (default `thread`), and every run is scored against its scenario's baseline in every scored
//! view. Which M.S runs build the baseline a given M.S run is scored against is the `Holdout`:
//!
//! - `LeaveOneOut` (default): each M.S run against the profile of the scenario's other M.S runs,
//!   so every M.S repetition has an honest held-out score; M.R runs against all M.S runs. A
//!   scenario with a single M.S run falls back to resubstitution for it (flagged).
//! - `Split { share }`: a seeded training share builds the baseline, the rest is held out.
//! - `Resubstitution`: every M.S run against the profile it helped build (what the original study
//!   compared against; flagged in every output).
//!
//! Beside the means: a bootstrap 95% interval for each (`tidy`), and per scenario, view and
//! metric a permutation test of M.S vs M.R with Cliff's delta (`Contrast`, from `stats`); and
//! per run the mechanism measures of `mechanism` (switch rates, concurrency), with the
//! correlation of interleaved-view mismatch and thread-switch rate over all runs.
//!
//! Three streaming passes: run labels, baseline profiles, scores (the switch counter rides along
//! the last one). Memory: the profiles (with leave-one-out, one per M.S run), one distinct-window
//! set of the trace being scored, and the per-trace result rows.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    path::Path,
};

use crate::{
    dataset::{Dataset, RowConsumer, RunMeta, ScanStats, Selection},
    error::AnalysisError,
    intern::Interner,
    matrix::{MismatchMatrix, fmt_opt, mismatch_matrix},
    mechanism::{self, RunMechanism, SwitchCounter},
    metrics::{ScoreConfig, TraceMetrics},
    ngram::DEFAULT_K,
    profile::{Profile, ProfileBuilder},
    scorer::Scorer,
    stats,
    tidy::{self, SummaryRow, label},
    view::{SequenceStats, View, check_k},
};

/// Options of a comparison.
#[derive(Clone, Debug)]
pub struct CompareConfig {
    /// Dataset inputs: files, folders or globs.
    pub inputs: Vec<String>,
    /// Runs taken into account at all.
    pub selection: Selection,
    /// Window length.
    pub k: usize,
    /// View the baselines are built in.
    pub baseline_view: View,
    /// Views the traces are scored in.
    pub views: Vec<View>,
    /// Mode whose runs build the baselines (`ms`).
    pub baseline_mode: String,
    /// Which baseline-mode runs build the baseline each run is scored against.
    pub holdout: Holdout,
    /// Seed of the training split, the bootstrap resamples and the permutations.
    pub seed: u64,
    /// Per-trace scoring options.
    pub score: ScoreConfig,
}

impl Default for CompareConfig {
    fn default() -> Self {
        Self {
            inputs: Vec::new(),
            selection: Selection::all(),
            k: DEFAULT_K,
            baseline_view: View::Thread,
            views: View::ALL.to_vec(),
            baseline_mode: "ms".into(),
            holdout: Holdout::LeaveOneOut,
            seed: 0,
            score: ScoreConfig::default(),
        }
    }
}

/// Which baseline-mode runs build the baseline a run is scored against (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "scheme")]
pub enum Holdout {
    /// Each baseline-mode run against the others of its scenario.
    LeaveOneOut,
    /// A seeded training share (in (0, 1)) builds the baseline; the rest is scored.
    Split {
        /// The training share.
        share: f64,
    },
    /// Every run against the profile of all baseline-mode runs, its own included.
    Resubstitution,
}

impl Holdout {
    /// The scheme a training share asks for: 1 means resubstitution.
    pub fn from_share(share: f64) -> Self {
        if share >= 1.0 {
            Self::Resubstitution
        } else {
            Self::Split { share }
        }
    }

    /// The training share of the split (1 for the other schemes, which train on all runs).
    pub fn train_share(self) -> f64 {
        match self {
            Self::Split { share } => share,
            _ => 1.0,
        }
    }
}

impl std::fmt::Display for Holdout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LeaveOneOut => f.write_str("leave-one-run-out"),
            Self::Split { share } => write!(f, "training share {share}"),
            Self::Resubstitution => f.write_str("resubstitution"),
        }
    }
}

/// M.S against M.R in one scenario, view and metric: the test a reviewer asks for.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Contrast {
    /// Scenario.
    pub scenario: String,
    /// View scored.
    pub view: View,
    /// Metric.
    pub metric: String,
    /// The baseline mode (`ms`).
    pub baseline_mode: String,
    /// The other mode (`mr`).
    pub mode: String,
    /// Traces of the baseline mode (held out, unless `resubstitution`).
    pub n_baseline: u64,
    /// Traces of the other mode.
    pub n_mode: u64,
    /// Mean of the other mode minus mean of the baseline mode.
    pub difference: f64,
    /// Two-sided permutation test of equal means.
    pub p_value: f64,
    /// Cliff's delta of the other mode against the baseline mode.
    pub cliffs_delta: f64,
    /// Whether the baseline-mode traces were scored against their own baseline.
    pub resubstitution: bool,
}

/// The usual reading of |Cliff's delta| (Romano et al. 2006).
pub fn effect_size(delta: f64) -> &'static str {
    match delta.abs() {
        d if d < 0.147 => "negligible",
        d if d < 0.33 => "small",
        d if d < 0.474 => "medium",
        _ => "large",
    }
}

impl Contrast {
    /// The cells of a table row: scenario, view, metric, n M.S, n M.R, difference, p, delta.
    pub fn cells(&self) -> [String; 8] {
        [
            self.scenario.clone(),
            self.view.to_string(),
            self.metric.clone(),
            format!(
                "{}{}",
                self.n_baseline,
                if self.resubstitution {
                    " (training)"
                } else {
                    ""
                }
            ),
            self.n_mode.to_string(),
            format!("{:+.3}", self.difference),
            format!("{:.4}", self.p_value),
            format!(
                "{:+.2} ({})",
                self.cliffs_delta,
                effect_size(self.cliffs_delta)
            ),
        ]
    }
}

/// Metrics that get a `Contrast`.
pub const CONTRAST_METRICS: [&str; 3] = ["coverage", "mismatch", "locality_frame_count"];

/// Correlation of interleaved-view mismatch with thread-switch rate over all scored runs.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SwitchCorrelation {
    /// Runs with both values.
    pub runs: u64,
    /// Pearson's r.
    pub pearson_r: Option<f64>,
    /// Fitted line: mismatch = slope * switch rate + intercept.
    pub slope: Option<f64>,
    /// Its intercept.
    pub intercept: Option<f64>,
}

/// One scenario's baseline.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BaselineInfo {
    /// The scenario.
    pub scenario: String,
    /// Runs the profile was built from.
    pub training_runs: Vec<String>,
    /// Baseline-mode runs held out and scored (with leave-one-out: every one, each against a
    /// profile of the others).
    pub held_out_runs: Vec<String>,
    /// Profile size.
    pub distinct_windows: u64,
    /// Windows counted into it.
    pub total_windows: u64,
    /// Its sequences (short ones included).
    pub sequences: SequenceStats,
}

/// Everything a comparison produced.
#[derive(Debug, serde::Serialize)]
pub struct CompareResult {
    /// Window length.
    pub k: usize,
    /// View of the baselines.
    pub baseline_view: View,
    /// Views scored.
    pub views: Vec<View>,
    /// How the baseline-mode runs were held out.
    pub holdout: Holdout,
    /// Training share (1 unless `holdout` is a split).
    pub train_share: f64,
    /// Seed of the split, the intervals and the tests.
    pub seed: u64,
    /// Locality frame.
    pub frame: usize,
    /// Whether baseline-mode traces were scored against their own baseline (share 1).
    pub ms_scored_on_training_runs: bool,
    /// Baselines by scenario.
    pub baselines: Vec<BaselineInfo>,
    /// Runs not scored because their scenario has no baseline-mode run.
    pub runs_without_baseline: Vec<String>,
    /// Per trace and view.
    pub traces: Vec<TraceMetrics>,
    /// Per scenario x mode x view x metric.
    pub summary: Vec<SummaryRow>,
    /// M.S vs M.R per scenario, view and metric.
    pub contrasts: Vec<Contrast>,
    /// How interleaved each run was.
    pub mechanisms: Vec<RunMechanism>,
    /// Interleaved mismatch against thread-switch rate.
    pub switch_correlation: SwitchCorrelation,
    /// Cross-scenario mismatch of the baselines.
    pub matrix: MismatchMatrix,
    /// What the scoring pass read.
    pub scan: ScanStats,
    /// The baseline profiles (for plots and timelines).
    #[serde(skip)]
    pub profiles: BTreeMap<String, Profile>,
    /// The interner the profiles' keys refer to.
    #[serde(skip)]
    pub interner: Interner,
    /// The dataset files.
    #[serde(skip)]
    pub dataset: Option<Dataset>,
}

/// A small deterministic generator (splitmix64) for the training split.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Splits `runs` (sorted first, so the split depends only on the ids and the seed) into a
/// training share (at least one run) and the rest.
pub fn split_runs(mut runs: Vec<String>, share: f64, seed: u64) -> (Vec<String>, Vec<String>) {
    runs.sort();
    let mut rng = SplitMix64::new(seed);
    for i in (1..runs.len()).rev() {
        runs.swap(i, rng.below(i + 1));
    }
    let n = ((runs.len() as f64 * share).round() as usize).clamp(1.min(runs.len()), runs.len());
    let held_out = runs.split_off(n);
    let (mut train, mut held) = (runs, held_out);
    train.sort();
    held.sort();
    (train, held)
}

fn check(cfg: &CompareConfig) -> Result<(), AnalysisError> {
    check_k(cfg.k)?;
    cfg.score.check()?;
    if let Holdout::Split { share } = cfg.holdout
        && !(share > 0.0 && share < 1.0)
    {
        return Err(AnalysisError::Config {
            option: "train share",
            message: format!("{share} is outside (0, 1]"),
        });
    }
    if cfg.views.is_empty() {
        return Err(AnalysisError::Config {
            option: "views",
            message: "no view to score".into(),
        });
    }
    Ok(())
}

/// The baselines of a comparison: per scenario the profile of all its training runs, and with
/// leave-one-out one profile per baseline-mode run built without it.
struct Baselines {
    full: BTreeMap<String, Profile>,
    without: BTreeMap<String, Profile>,
    /// Runs scored against the profile they are part of.
    resubstituted: HashSet<String>,
    /// Training runs that are not scored (a split's training share).
    unscored: HashSet<String>,
    infos: Vec<BaselineInfo>,
}

/// Baseline-mode runs by scenario.
fn baseline_runs(runs: &[RunMeta], mode: &str) -> BTreeMap<String, Vec<String>> {
    let mut by_scenario: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in runs {
        if r.mode.as_deref() == Some(mode) {
            by_scenario
                .entry(label(&r.scenario))
                .or_default()
                .push(r.run_id.clone());
        }
    }
    by_scenario
}

/// Builds the baselines in one pass: a profile per training run, merged per scenario (and, with
/// leave-one-out, per held-out run from the others').
fn build_baselines(
    cfg: &CompareConfig,
    dataset: &Dataset,
    by_scenario: BTreeMap<String, Vec<String>>,
    interner: &mut Interner,
) -> Result<Baselines, AnalysisError> {
    let mut splits = BTreeMap::new();
    let mut training: HashSet<String> = HashSet::new();
    for (scenario, ids) in by_scenario {
        let (train, held) = match cfg.holdout {
            Holdout::Split { share } => split_runs(ids, share, cfg.seed),
            Holdout::LeaveOneOut | Holdout::Resubstitution => {
                let mut ids = ids;
                ids.sort();
                (ids, Vec::new())
            }
        };
        training.extend(train.iter().cloned());
        splits.insert(scenario, (train, held));
    }
    let training_ref = &training;
    let mut builder = ProfileBuilder::new(
        cfg.baseline_view,
        cfg.k,
        Box::new(move |r: &RunMeta| training_ref.contains(&r.run_id).then(|| r.run_id.clone())),
    )?;
    dataset.scan(&cfg.selection, interner, &mut builder)?;
    let per_run = builder.into_profiles();
    let mut b = Baselines {
        full: BTreeMap::new(),
        without: BTreeMap::new(),
        resubstituted: HashSet::new(),
        unscored: HashSet::new(),
        infos: Vec::new(),
    };
    for (scenario, (train, mut held)) in splits {
        let mut full = Profile::new(cfg.k, cfg.baseline_view)?;
        for id in &train {
            if let Some(p) = per_run.get(id) {
                full.merge(p);
            }
        }
        match cfg.holdout {
            Holdout::Split { .. } => b.unscored.extend(train.iter().cloned()),
            Holdout::Resubstitution => b.resubstituted.extend(train.iter().cloned()),
            Holdout::LeaveOneOut if train.len() < 2 => {
                b.resubstituted.extend(train.iter().cloned())
            }
            Holdout::LeaveOneOut => {
                for id in &train {
                    let mut p = Profile::new(cfg.k, cfg.baseline_view)?;
                    for other in train.iter().filter(|o| *o != id) {
                        if let Some(q) = per_run.get(other) {
                            p.merge(q);
                        }
                    }
                    b.without.insert(id.clone(), p);
                }
                held = train.clone();
            }
        }
        if !full.runs.is_empty() {
            b.infos.push(BaselineInfo {
                distinct_windows: full.distinct() as u64,
                total_windows: full.total_windows(),
                sequences: full.sequences,
                scenario: scenario.clone(),
                training_runs: train,
                held_out_runs: held,
            });
            b.full.insert(scenario, full);
        }
    }
    Ok(b)
}

/// Feeds both consumers every run (the scorer and the switch counter share the scoring pass).
struct Both<'a, 'b>(&'a mut dyn RowConsumer, &'b mut dyn RowConsumer);

impl RowConsumer for Both<'_, '_> {
    fn begin_run(&mut self, run: &RunMeta) -> Result<(), AnalysisError> {
        self.0.begin_run(run)?;
        self.1.begin_run(run)
    }

    fn rows(&mut self, chunk: &crate::dataset::RowChunk<'_>) {
        self.0.rows(chunk);
        self.1.rows(chunk);
    }

    fn end_run(&mut self) -> Result<(), AnalysisError> {
        self.0.end_run()?;
        self.1.end_run()
    }
}

/// Runs the comparison (see the module docs).
pub fn run(cfg: &CompareConfig) -> Result<CompareResult, AnalysisError> {
    check(cfg)?;
    let dataset = Dataset::open(&cfg.inputs)?;
    let runs: Vec<RunMeta> = dataset
        .runs()?
        .into_iter()
        .filter(|r| cfg.selection.matches(r))
        .collect();
    let by_scenario = baseline_runs(&runs, &cfg.baseline_mode);
    if by_scenario.is_empty() {
        return Err(AnalysisError::Empty(format!(
            "no run of mode `{}` in {} to build a baseline from",
            cfg.baseline_mode,
            cfg.inputs.join(", ")
        )));
    }
    let mut interner = crate::intern::for_k(cfg.k);
    let baselines = build_baselines(cfg, &dataset, by_scenario, &mut interner)?;
    let runs_without_baseline = runs
        .iter()
        .filter(|r| !baselines.full.contains_key(&label(&r.scenario)))
        .map(|r| r.run_id.clone())
        .collect();
    let b = &baselines;
    let mut scorer = Scorer::new(
        &cfg.views,
        cfg.k,
        cfg.score.clone(),
        Box::new(move |r: &RunMeta| {
            if b.unscored.contains(&r.run_id) {
                return None;
            }
            let s = label(&r.scenario);
            let profile = b.without.get(&r.run_id).or_else(|| b.full.get(&s))?;
            Some((s, profile))
        }),
    )?;
    let mut switches = SwitchCounter::default();
    let scan = dataset.scan(
        &cfg.selection,
        &mut interner,
        &mut Both(&mut scorer, &mut switches),
    )?;
    let traces = scorer.into_results();
    let mut mechanisms = switches.into_results();
    mechanism::add_concurrency(&mut mechanisms, dataset.files());
    let summary = tidy::summarize(&traces, |id| b.resubstituted.contains(id), cfg.seed);
    let contrasts = contrasts(&traces, cfg, |id| b.resubstituted.contains(id));
    let switch_correlation = switch_correlation(&traces, &mechanisms);
    let Baselines {
        full: profiles,
        infos,
        resubstituted,
        ..
    } = baselines;
    Ok(CompareResult {
        k: cfg.k,
        baseline_view: cfg.baseline_view,
        views: cfg.views.clone(),
        holdout: cfg.holdout,
        train_share: cfg.holdout.train_share(),
        seed: cfg.seed,
        frame: cfg.score.frame,
        ms_scored_on_training_runs: !resubstituted.is_empty(),
        baselines: infos,
        runs_without_baseline,
        traces,
        summary,
        contrasts,
        mechanisms,
        switch_correlation,
        matrix: mismatch_matrix(&profiles),
        scan,
        profiles,
        interner,
        dataset: Some(dataset),
    })
}

/// M.S vs every other mode, per scenario, view and metric in `CONTRAST_METRICS`.
fn contrasts(
    traces: &[TraceMetrics],
    cfg: &CompareConfig,
    resubstituted: impl Fn(&str) -> bool,
) -> Vec<Contrast> {
    // (scenario, view, metric, mode) -> values, and whether any baseline value is resubstituted.
    let mut groups: BTreeMap<(String, View, &str, String), Vec<f64>> = BTreeMap::new();
    let mut resub: HashSet<(String, View)> = HashSet::new();
    for t in traces {
        let mode = label(&t.mode);
        if mode == cfg.baseline_mode && resubstituted(&t.run_id) {
            resub.insert((label(&t.scenario), t.view));
        }
        for metric in CONTRAST_METRICS {
            if let Some(v) = t.metric(metric) {
                groups
                    .entry((label(&t.scenario), t.view, metric, mode.clone()))
                    .or_default()
                    .push(v);
            }
        }
    }
    let mut out = Vec::new();
    for ((scenario, view, metric, mode), values) in &groups {
        if *mode == cfg.baseline_mode {
            continue;
        }
        let key = (scenario.clone(), *view, *metric, cfg.baseline_mode.clone());
        let Some(base) = groups.get(&key) else {
            continue;
        };
        let view_name = view.to_string();
        let seed = stats::seed_for(cfg.seed, &[scenario, &view_name, metric, mode]);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (Some(p_value), Some(cliffs_delta)) = (
            stats::permutation_test(base, values, seed),
            stats::cliffs_delta(values, base),
        ) else {
            continue;
        };
        out.push(Contrast {
            scenario: scenario.clone(),
            view: *view,
            metric: metric.to_string(),
            baseline_mode: cfg.baseline_mode.clone(),
            mode: mode.clone(),
            n_baseline: base.len() as u64,
            n_mode: values.len() as u64,
            difference: mean(values) - mean(base),
            p_value,
            cliffs_delta,
            resubstitution: resub.contains(&(scenario.clone(), *view)),
        });
    }
    out
}

/// Pearson's r and the fitted line of interleaved-view mismatch on thread-switch rate.
fn switch_correlation(traces: &[TraceMetrics], mechanisms: &[RunMechanism]) -> SwitchCorrelation {
    let rate: std::collections::HashMap<&str, f64> = mechanisms
        .iter()
        .filter_map(|m| Some((m.run_id.as_str(), m.thread_switch_rate?)))
        .collect();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for t in traces.iter().filter(|t| t.view == View::Interleaved) {
        if let (Some(r), Some(m)) = (rate.get(t.run_id.as_str()), t.mismatch) {
            x.push(*r);
            y.push(m);
        }
    }
    let fit = stats::least_squares(&x, &y);
    SwitchCorrelation {
        runs: x.len() as u64,
        pearson_r: stats::pearson(&x, &y),
        slope: fit.map(|f| f.0),
        intercept: fit.map(|f| f.1),
    }
}

/// Coverage and mismatch of one scenario and mode in one view: a line of a summary table.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SummaryLine {
    /// Scenario.
    pub scenario: String,
    /// Mode.
    pub mode: String,
    /// View scored.
    pub view: View,
    /// Mean coverage.
    pub coverage_mean: Option<f64>,
    /// Mean mismatch.
    pub mismatch_mean: Option<f64>,
    /// Mean locality frame count.
    pub locality_frame_count_mean: Option<f64>,
    /// Bootstrap 95% interval of the mean coverage.
    pub coverage_ci: Option<(f64, f64)>,
    /// Bootstrap 95% interval of the mean mismatch.
    pub mismatch_ci: Option<(f64, f64)>,
    /// Traces.
    pub traces: u64,
    /// Whether these traces built the baseline (resubstitution).
    pub resubstitution: bool,
}

impl CompareResult {
    /// One line per scenario, mode and view with mean coverage and mismatch, in report order.
    pub fn summary_lines(&self) -> Vec<SummaryLine> {
        let (scenarios, modes, views) = self.axes();
        let mut lines = Vec::new();
        for sc in &scenarios {
            for m in &modes {
                for v in &views {
                    let get = |metric| tidy::find(&self.summary, sc, m, *v, metric);
                    let Some(c) = get("coverage") else { continue };
                    lines.push(SummaryLine {
                        scenario: sc.clone(),
                        mode: m.clone(),
                        view: *v,
                        coverage_mean: c.mean,
                        mismatch_mean: get("mismatch").and_then(|r| r.mean),
                        locality_frame_count_mean: get("locality_frame_count").and_then(|r| r.mean),
                        coverage_ci: c.ci_lo.zip(c.ci_hi),
                        mismatch_ci: get("mismatch").and_then(|r| r.ci_lo.zip(r.ci_hi)),
                        traces: c.n.max(get("mismatch").map_or(0, |r| r.n)),
                        resubstitution: c.resubstitution,
                    });
                }
            }
        }
        lines
    }

    /// Scenarios, modes and views present in the summary, in order.
    pub fn axes(&self) -> (Vec<String>, Vec<String>, Vec<View>) {
        let mut s = BTreeSet::new();
        let mut m = BTreeSet::new();
        for r in &self.summary {
            s.insert(r.scenario.clone());
            m.insert(r.mode.clone());
        }
        let mut modes: Vec<String> = m.into_iter().collect();
        // M.S first, then M.R, then anything else alphabetically.
        modes.sort_by_key(|m| {
            (
                !matches!(m.as_str(), "ms"),
                !matches!(m.as_str(), "mr"),
                m.clone(),
            )
        });
        (s.into_iter().collect(), modes, self.views.clone())
    }

    /// Markdown summary: coverage and mismatch per scenario and mode in each view, the
    /// baselines, and the cross-scenario matrix.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "# M.S vs M.R comparison\n\nk = {}, baseline view = {}, locality frame = {}, M.S scoring: {} (seed {}){}\n\n",
            self.k,
            self.baseline_view,
            self.frame,
            self.holdout,
            self.seed,
            if self.ms_scored_on_training_runs {
                "; some M.S runs are scored against the baseline they built (resubstitution)"
            } else {
                "; M.S rows are held-out runs"
            }
        );
        s.push_str("## Coverage and mismatch (mean [bootstrap 95% CI], min to max, n traces)\n\n");
        s.push_str("| scenario | mode | view | coverage | mismatch | locality frame count | n |\n");
        s.push_str("|---|---|---|---:|---:|---:|---:|\n");
        let (scenarios, modes, views) = self.axes();
        for sc in &scenarios {
            for m in &modes {
                for v in &views {
                    let get = |metric| tidy::find(&self.summary, sc, m, *v, metric);
                    let (Some(c), Some(mm)) = (get("coverage"), get("mismatch")) else {
                        continue;
                    };
                    let lfc = get("locality_frame_count");
                    let cell = |r: &SummaryRow| {
                        format!(
                            "{} [{}, {}] ({} to {})",
                            fmt_opt(r.mean),
                            fmt_opt(r.ci_lo),
                            fmt_opt(r.ci_hi),
                            fmt_opt(r.min),
                            fmt_opt(r.max)
                        )
                    };
                    s.push_str(&format!(
                        "| {sc} | {m} | {v} | {} | {} | {} | {} |\n",
                        cell(c),
                        cell(mm),
                        lfc.map_or("-".into(), |r| format!("{:.1}", r.mean.unwrap_or(0.0))),
                        c.n
                    ));
                }
            }
        }
        s.push_str(&self.contrasts_markdown());
        s.push_str("\n## Baselines\n\n| scenario | training runs | held-out runs | distinct windows | windows | sequences | sequences shorter than k |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for b in &self.baselines {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                b.scenario,
                b.training_runs.len(),
                b.held_out_runs.len(),
                b.distinct_windows,
                b.total_windows,
                b.sequences.sequences,
                b.sequences.short_sequences
            ));
        }
        s.push_str(&format!(
            "\n## Cross-scenario mismatch ({} view; row scored against column)\n\n",
            self.matrix.view
        ));
        s.push_str(&self.matrix.markdown());
        if !self.runs_without_baseline.is_empty() {
            s.push_str(&format!(
                "\nRuns not scored (their scenario has no baseline run): {}\n",
                self.runs_without_baseline.join(", ")
            ));
        }
        s
    }

    /// M.S vs M.R tests as a markdown table.
    pub fn contrasts_markdown(&self) -> String {
        let mut s = String::from(
            "\n## M.S vs M.R (permutation test of equal means, Cliff's delta of M.R against M.S)\n\n| scenario | view | metric | n M.S | n M.R | M.R - M.S | p | delta |\n|---|---|---|---:|---:|---:|---:|---:|\n",
        );
        for c in &self.contrasts {
            s.push_str(&format!("| {} |\n", c.cells().join(" | ")));
        }
        s
    }

    /// Writes `summary.parquet`, `summary.csv`, `summary.md`, `traces.csv` and `compare.json`
    /// into `dir` (created if missing). Returns the files written.
    pub fn write_tables(&self, dir: &Path) -> Result<Vec<std::path::PathBuf>, AnalysisError> {
        std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io("creating", dir, e))?;
        let write = |name: &str, text: String| -> Result<std::path::PathBuf, AnalysisError> {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| AnalysisError::io("writing", &p, e))?;
            Ok(p)
        };
        let parquet = dir.join("summary.parquet");
        tidy::write_parquet(&self.summary, &parquet)?;
        let json = serde_json::to_string_pretty(self).map_err(|source| AnalysisError::Json {
            path: dir.join("compare.json"),
            source,
        })?;
        Ok(vec![
            parquet,
            write("summary.csv", tidy::to_csv(&self.summary))?,
            write("summary.md", self.markdown())?,
            write("traces.csv", tidy::traces_csv(&self.traces))?,
            write("compare.json", json)?,
        ])
    }
}

#[cfg(test)]
mod tests {
    use tracer_dataset::{ProcessRow, ProcessSink, RunInfo, SyscallRow, SyscallSink, layout};

    use super::*;

    /// Writes run `id` of scenario `s` into dataset `dir`: `threads` is (tid, names) per thread,
    /// interleaved call by call when `interleave`, one after the other otherwise; `lifetimes` are
    /// the command processes' (start, exit) in ns (pids 100, 101, ... children of pid 1).
    fn write(
        dir: &Path,
        id: &str,
        mode: &str,
        threads: &[(i32, &str)],
        interleave: bool,
        lifetimes: &[(i64, i64)],
    ) {
        let run = RunInfo {
            run_id: id.into(),
            source: "test".into(),
            scenario: Some("s".into()),
            mode: Some(mode.into()),
        };
        let (sys, procs) = layout::run_paths(dir, id);
        std::fs::create_dir_all(sys.parent().expect("dir")).expect("mkdir");
        std::fs::create_dir_all(procs.parent().expect("dir")).expect("mkdir");
        let seqs: Vec<Vec<(i32, &str)>> = threads
            .iter()
            .map(|(tid, names)| names.split(' ').map(|n| (*tid, n)).collect())
            .collect();
        let mut calls = Vec::new();
        if interleave {
            for i in 0..seqs.iter().map(Vec::len).max().unwrap_or(0) {
                calls.extend(seqs.iter().filter_map(|s| s.get(i).copied()));
            }
        } else {
            calls = seqs.concat();
        }
        let mut sink = SyscallSink::create(&sys, run.clone(), &[]).expect("sink");
        for (seq, (tid, name)) in calls.into_iter().enumerate() {
            sink.push(&SyscallRow {
                seq: seq as u64,
                pid: tid,
                tid,
                syscall: name,
                ..SyscallRow::default()
            })
            .expect("push");
        }
        sink.close().expect("close");
        let mut p = ProcessSink::create(&procs, run, &[]).expect("procs");
        for (i, (start, exit)) in lifetimes.iter().enumerate() {
            p.push(ProcessRow {
                pid: 100 + i as i32,
                ppid: Some(1),
                start_ns: Some(*start),
                exit_ns: Some(*exit),
                ..ProcessRow::default()
            });
        }
        p.close().expect("close");
    }

    /// Two different M.S runs (`a b c a b c` and `x y z x y z`, k = 3) and an M.R run holding both
    /// threads interleaved. Leave-one-out scores each M.S run against the other one only: in the
    /// thread view none of its windows is known (coverage 0, mismatch 1), where resubstitution
    /// gives coverage 1; the M.R run's threads are both in the full baseline (coverage 1).
    #[test]
    fn leave_one_out_by_hand() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (abc, xyz) = ((1, "a b c a b c"), (2, "x y z x y z"));
        write(dir.path(), "s-ms-0", "ms", &[abc], false, &[(0, 10)]);
        write(dir.path(), "s-ms-1", "ms", &[xyz], false, &[(20, 30)]);
        write(
            dir.path(),
            "s-mr-0",
            "mr",
            &[abc, xyz],
            true,
            &[(0, 10), (0, 20)],
        );
        let cfg = |holdout| CompareConfig {
            inputs: vec![dir.path().display().to_string()],
            k: 3,
            holdout,
            ..CompareConfig::default()
        };
        let get = |r: &CompareResult, id: &str, view: View| {
            r.traces
                .iter()
                .find(|t| t.run_id == id && t.view == view)
                .cloned()
                .unwrap_or_else(|| panic!("no trace {id} {view}"))
        };
        let loo = run(&cfg(Holdout::LeaveOneOut)).expect("loo");
        for id in ["s-ms-0", "s-ms-1"] {
            let t = get(&loo, id, View::Thread);
            assert_eq!((t.coverage, t.mismatch), (Some(0.0), Some(1.0)), "{id}");
            assert_eq!(
                t.profile_distinct_windows, 3,
                "{id}: the other run's windows only"
            );
        }
        let mr = get(&loo, "s-mr-0", View::Thread);
        assert_eq!((mr.coverage, mr.profile_distinct_windows), (Some(1.0), 6));
        assert!(!loo.ms_scored_on_training_runs);
        assert_eq!(loo.baselines[0].held_out_runs.len(), 2);
        let line = loo
            .summary_lines()
            .into_iter()
            .find(|l| l.mode == "ms" && l.view == View::Thread)
            .expect("ms line");
        assert!(!line.resubstitution);

        let resub = run(&cfg(Holdout::Resubstitution)).expect("resub");
        let t = get(&resub, "s-ms-0", View::Thread);
        assert_eq!((t.coverage, t.profile_distinct_windows), (Some(1.0), 6));
        assert!(resub.ms_scored_on_training_runs);

        // Contrasts: thread-view coverage, M.S (0, 0) vs M.R (1): difference 1, delta 1, and
        // with 3 values the exact test has C(3,1) = 3 relabellings, of which 1 is as extreme.
        let c = loo
            .contrasts
            .iter()
            .find(|c| c.view == View::Thread && c.metric == "coverage")
            .expect("contrast");
        assert_eq!((c.n_baseline, c.n_mode), (2, 1));
        assert!((c.difference - 1.0).abs() < 1e-12 && (c.cliffs_delta - 1.0).abs() < 1e-12);
        assert!((c.p_value - 1.0 / 3.0).abs() < 1e-12, "{}", c.p_value);

        // Mechanism: the M.S runs never switch threads; the M.R run alternates on every call.
        let m = |id: &str| {
            loo.mechanisms
                .iter()
                .find(|m| m.run_id == id)
                .cloned()
                .expect("mechanism")
        };
        assert_eq!(m("s-ms-0").thread_switch_rate, Some(0.0));
        assert_eq!(m("s-mr-0").thread_switch_rate, Some(1.0));
        // Commands [0,10) and [0,20): busy 20, alive-time 30, two alive for 10.
        let mr = m("s-mr-0");
        assert_eq!((mr.commands, mr.concurrency_max), (2, Some(2)));
        assert_eq!(
            (mr.concurrency_mean, mr.overlap_share),
            (Some(1.5), Some(0.5))
        );
        assert_eq!(m("s-ms-1").concurrency_mean, Some(1.0));
        assert_eq!(loo.switch_correlation.runs, 3);
    }

    #[test]
    fn split_is_seeded_and_complete() {
        let runs: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
        let (a, b) = split_runs(runs.clone(), 0.7, 1);
        assert_eq!((a.len(), b.len()), (7, 3));
        let mut all: Vec<String> = a.iter().chain(&b).cloned().collect();
        all.sort();
        let mut sorted = runs.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        assert_eq!(split_runs(runs.clone(), 0.7, 1), (a.clone(), b.clone()));
        let mut reversed = runs.clone();
        reversed.reverse();
        assert_eq!(split_runs(reversed, 0.7, 1), (a.clone(), b));
        assert_ne!(split_runs(runs.clone(), 0.7, 2).0, a);
        assert_eq!(split_runs(runs.clone(), 0.01, 1).0.len(), 1);
        assert_eq!(split_runs(runs, 1.0, 1).1.len(), 0);
    }
}
