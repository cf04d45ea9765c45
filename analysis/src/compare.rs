//! The M.S vs M.R comparison, the research question of docs/DESIGN.md.
//!
//! For each scenario the baseline is a profile of its M.S runs (all of them, or a seeded
//! training share with the rest held out), built in the baseline view (default `thread`). Then
//! the held-out M.S runs and the runs of every other mode (M.R) are scored against their
//! scenario's baseline in every scored view. With a training share of 1 no M.S run is held out,
//! so the M.S runs are scored against the profile they built (resubstitution: flagged in every
//! output, and exactly what the original study compared against).
//!
//! Three streaming passes: run labels, baseline profiles, scores. Memory: the profiles, one
//! distinct-window set of the trace being scored, and the per-trace result rows.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    path::Path,
};

use crate::{
    dataset::{Dataset, RunMeta, ScanStats, Selection},
    error::AnalysisError,
    intern::Interner,
    matrix::{MismatchMatrix, fmt_opt, mismatch_matrix},
    metrics::{ScoreConfig, TraceMetrics},
    ngram::DEFAULT_K,
    profile::{Profile, ProfileBuilder},
    scorer::Scorer,
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
    /// Share of each scenario's baseline-mode runs used for training, in (0, 1].
    pub train_share: f64,
    /// Seed of the training split.
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
            train_share: 1.0,
            seed: 0,
            score: ScoreConfig::default(),
        }
    }
}

/// One scenario's baseline.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BaselineInfo {
    /// The scenario.
    pub scenario: String,
    /// Runs the profile was built from.
    pub training_runs: Vec<String>,
    /// Baseline-mode runs held out and scored.
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
    /// Training share.
    pub train_share: f64,
    /// Split seed.
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
    if !(cfg.train_share > 0.0 && cfg.train_share <= 1.0) {
        return Err(AnalysisError::Config {
            option: "train share",
            message: format!("{} is outside (0, 1]", cfg.train_share),
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

/// Runs the comparison (see the module docs).
pub fn run(cfg: &CompareConfig) -> Result<CompareResult, AnalysisError> {
    check(cfg)?;
    let dataset = Dataset::open(&cfg.inputs)?;
    let runs: Vec<RunMeta> = dataset
        .runs()?
        .into_iter()
        .filter(|r| cfg.selection.matches(r))
        .collect();
    let mut by_scenario: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &runs {
        if r.mode.as_deref() == Some(cfg.baseline_mode.as_str()) {
            by_scenario
                .entry(label(&r.scenario))
                .or_default()
                .push(r.run_id.clone());
        }
    }
    if by_scenario.is_empty() {
        return Err(AnalysisError::Empty(format!(
            "no run of mode `{}` in {} to build a baseline from",
            cfg.baseline_mode,
            cfg.inputs.join(", ")
        )));
    }
    let mut training: HashSet<String> = HashSet::new();
    let mut splits = BTreeMap::new();
    for (scenario, ids) in by_scenario {
        let (train, held) = split_runs(ids, cfg.train_share, cfg.seed);
        training.extend(train.iter().cloned());
        splits.insert(scenario, (train, held));
    }

    let mut interner = crate::intern::for_k(cfg.k);
    let training_ref = &training;
    let mut builder = ProfileBuilder::new(
        cfg.baseline_view,
        cfg.k,
        Box::new(move |r: &RunMeta| training_ref.contains(&r.run_id).then(|| label(&r.scenario))),
    )?;
    dataset.scan(&cfg.selection, &mut interner, &mut builder)?;
    let profiles = builder.into_profiles();

    let resubstitution = cfg.train_share >= 1.0;
    let mut runs_without_baseline = Vec::new();
    let scenarios: BTreeSet<&String> = profiles.keys().collect();
    for r in &runs {
        if !scenarios.contains(&label(&r.scenario)) {
            runs_without_baseline.push(r.run_id.clone());
        }
    }
    let profiles_ref = &profiles;
    let mut scorer = Scorer::new(
        &cfg.views,
        cfg.k,
        cfg.score.clone(),
        Box::new(move |r: &RunMeta| {
            if !resubstitution && training_ref.contains(&r.run_id) {
                return None;
            }
            let s = label(&r.scenario);
            profiles_ref.get(&s).map(|p| (s, p))
        }),
    )?;
    let scan = dataset.scan(&cfg.selection, &mut interner, &mut scorer)?;
    let traces = scorer.into_results();
    let summary = tidy::summarize(&traces, |id| training.contains(id));
    let baselines = splits
        .into_iter()
        .map(|(scenario, (train, held))| {
            let p = profiles.get(&scenario);
            BaselineInfo {
                distinct_windows: p.map_or(0, |p| p.distinct() as u64),
                total_windows: p.map_or(0, |p| p.total_windows()),
                sequences: p.map(|p| p.sequences).unwrap_or_default(),
                scenario,
                training_runs: train,
                held_out_runs: held,
            }
        })
        .collect();
    Ok(CompareResult {
        k: cfg.k,
        baseline_view: cfg.baseline_view,
        views: cfg.views.clone(),
        train_share: cfg.train_share,
        seed: cfg.seed,
        frame: cfg.score.frame,
        ms_scored_on_training_runs: resubstitution,
        baselines,
        runs_without_baseline,
        traces,
        summary,
        matrix: mismatch_matrix(&profiles),
        scan,
        profiles,
        interner,
        dataset: Some(dataset),
    })
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
            "# M.S vs M.R comparison\n\nk = {}, baseline view = {}, locality frame = {}, training share = {} (seed {}){}\n\n",
            self.k,
            self.baseline_view,
            self.frame,
            self.train_share,
            self.seed,
            if self.ms_scored_on_training_runs {
                "; M.S runs are scored against the baseline they built (resubstitution)"
            } else {
                "; M.S rows are held-out runs"
            }
        );
        s.push_str("## Coverage and mismatch (mean, min to max, n traces)\n\n");
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
                            "{} ({} to {})",
                            fmt_opt(r.mean),
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
    use super::*;

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
