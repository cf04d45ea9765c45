//! The `report` folder: the comparison's tables, every plot (PNG and SVG) and an `index.html`
//! that shows them, so one command turns a dataset into something to read and share.

use std::path::{Path, PathBuf};

mod sections;

use crate::{
    compare::{self, CompareConfig, CompareResult, SummaryLine},
    dataset::{Dataset, Selection},
    error::AnalysisError,
    matrix::fmt_opt,
    plot,
    view::View,
};

/// Options of a report.
#[derive(Clone, Debug)]
pub struct ReportConfig {
    /// Comparison options; `inputs` is replaced by the dataset given to `write_report`.
    pub compare: CompareConfig,
    /// The run of the mismatch-over-time plot (default: the scored trace with the highest
    /// locality frame count in `timeline_view`).
    pub timeline_run: Option<String>,
    /// View of the mismatch-over-time plot.
    pub timeline_view: View,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            compare: CompareConfig::default(),
            timeline_run: None,
            timeline_view: View::Interleaved,
        }
    }
}

/// What `write_report` wrote, with enough to print a summary table.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ReportSummary {
    /// The report folder.
    pub out_dir: PathBuf,
    /// Its index page.
    pub index_html: PathBuf,
    /// Every file written.
    pub files: Vec<PathBuf>,
    /// Coverage and mismatch per scenario, mode and view.
    pub lines: Vec<SummaryLine>,
    /// Whether M.S traces were scored against the baseline they built.
    pub ms_scored_on_training_runs: bool,
    /// The run drawn over time, if any trace had windows.
    pub timeline_run: Option<String>,
    /// Window length.
    pub k: usize,
    /// Baseline view.
    pub baseline_view: View,
}

/// A plain-text table of summary lines (for terminals).
pub fn lines_table(lines: &[SummaryLine]) -> String {
    let mut s = format!(
        "{:<16} {:<6} {:<12} {:>9} {:>15} {:>9} {:>15} {:>6} {:>7}\n",
        "scenario", "mode", "view", "coverage", "95% CI", "mismatch", "95% CI", "lfc", "traces"
    );
    let ci = |c: Option<(f64, f64)>| c.map_or("-".into(), |(a, b)| format!("[{a:.3}, {b:.3}]"));
    for l in lines {
        s.push_str(&format!(
            "{:<16} {:<6} {:<12} {:>9} {:>15} {:>9} {:>15} {:>6} {:>7}{}\n",
            l.scenario,
            l.mode,
            l.view.to_string(),
            fmt_opt(l.coverage_mean),
            ci(l.coverage_ci),
            fmt_opt(l.mismatch_mean),
            ci(l.mismatch_ci),
            l.locality_frame_count_mean
                .map_or("-".into(), |v| format!("{v:.1}")),
            l.traces,
            if l.resubstitution {
                "  (training runs)"
            } else {
                ""
            }
        ));
    }
    s
}

impl ReportSummary {
    /// The summary as a plain-text table.
    pub fn table(&self) -> String {
        lines_table(&self.lines)
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

fn html(
    result: &CompareResult,
    dataset: &Path,
    timeline: Option<&crate::timeline::Timeline>,
) -> String {
    let mut h = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>syscall-tracer analysis report</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1500px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#eee}td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}.note{color:#555}</style></head><body>\n",
    );
    h.push_str(&format!(
        "<h1>M.S vs M.R: behaviour profiles of {}</h1>\n<p class=\"note\">k = {}, baselines built from each scenario's M.S runs in the <b>{}</b> view, locality frame = {} windows, M.S scoring: <b>{}</b>, seed {} (bootstrap intervals and permutation tests). {}</p>\n",
        esc(&dataset.display().to_string()),
        result.k,
        result.baseline_view,
        result.frame,
        result.holdout,
        result.seed,
        if result.ms_scored_on_training_runs {
            "Some M.S traces are scored against the baseline they built (resubstitution): their thread-view figures are 1 and 0 by construction; the M.S interleaved view and every M.R figure are informative."
        } else {
            "Every M.S trace is scored against a baseline built without it; M.R traces against all M.S runs."
        }
    ));
    h.push_str(&sections::study(result));
    h.push_str("<h2>Coverage and mismatch</h2>\n<p class=\"note\">Means with their bootstrap 95% confidence intervals.</p>\n<table id=\"summary\"><tr><th>scenario</th><th>mode</th><th>view</th><th>coverage (mean)</th><th>coverage 95% CI</th><th>mismatch (mean)</th><th>mismatch 95% CI</th><th>locality frame count (mean)</th><th>traces</th></tr>\n");
    let ci = |c: Option<(f64, f64)>| c.map_or("-".into(), |(a, b)| format!("{a:.3} to {b:.3}"));
    for l in result.summary_lines() {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>\n",
            esc(&l.scenario),
            esc(&l.mode),
            l.view,
            fmt_opt(l.coverage_mean),
            ci(l.coverage_ci),
            fmt_opt(l.mismatch_mean),
            ci(l.mismatch_ci),
            l.locality_frame_count_mean.map_or("-".into(), |v| format!("{v:.1}")),
            l.traces,
            if l.resubstitution { " (training)" } else { "" }
        ));
    }
    h.push_str("</table>\n<p>Full table (mean, min, max, n of every metric): <a href=\"summary.csv\">summary.csv</a>, <a href=\"summary.parquet\">summary.parquet</a>, <a href=\"summary.md\">summary.md</a>; per trace: <a href=\"traces.csv\">traces.csv</a>; everything: <a href=\"compare.json\">compare.json</a>.</p>\n");
    h.push_str(&sections::contrasts(result));
    h.push_str(&sections::mechanism(result));
    h.push_str(&sections::sweep(result));
    h.push_str("<h2>Coverage</h2>\n<img src=\"coverage.png\" alt=\"coverage per scenario and mode\"> <a href=\"coverage.svg\">SVG</a>\n");
    h.push_str("<h2>Behavioural mismatch</h2>\n<img src=\"mismatch.png\" alt=\"mismatch per scenario and mode\"> <a href=\"mismatch.svg\">SVG</a>\n");
    h.push_str(&format!(
        "<h2>Cross-scenario mismatch</h2>\n<p class=\"note\">Each cell: share of the row scenario's distinct windows that the column scenario's baseline profile lacks ({} view).</p>\n<img src=\"matrix.png\" alt=\"cross-scenario mismatch heatmap\"> <a href=\"matrix.svg\">SVG</a>\n<table><tr><th>scored \\ baseline</th>",
        result.matrix.view
    ));
    for c in &result.matrix.scenarios {
        h.push_str(&format!("<th>{}</th>", esc(c)));
    }
    h.push_str("</tr>\n");
    for (i, r) in result.matrix.scenarios.iter().enumerate() {
        h.push_str(&format!("<tr><td>{}</td>", esc(r)));
        for v in &result.matrix.mismatch[i] {
            h.push_str(&format!("<td>{}</td>", fmt_opt(*v)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
    if let Some(t) = timeline {
        h.push_str(&format!(
            "<h2>Mismatch over time: run {}</h2>\n<p class=\"note\">{} view against the {} baseline of scenario {}; red ticks mark windows the baseline does not know, the line counts them over the last {} windows.</p>\n<img src=\"timeline.png\" alt=\"mismatch over time\"> <a href=\"timeline.svg\">SVG</a>\n",
            esc(&t.run_id),
            t.view,
            t.baseline_view,
            esc(&t.scenario),
            t.frame
        ));
    }
    h.push_str("<h2>Baselines</h2>\n<table><tr><th>scenario</th><th>training runs</th><th>held-out runs</th><th>distinct windows</th><th>windows</th><th>sequences</th><th>sequences shorter than k</th></tr>\n");
    for b in &result.baselines {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&b.scenario),
            b.training_runs.len(),
            b.held_out_runs.len(),
            b.distinct_windows,
            b.total_windows,
            b.sequences.sequences,
            b.sequences.short_sequences
        ));
    }
    h.push_str(&format!(
        "</table>\n<p class=\"note\">Rows read: {} in {} files.</p>\n</body></html>\n",
        result.scan.rows_read, result.scan.files
    ));
    h
}

/// Compares the dataset's M.S and M.R runs and writes tables, plots and `index.html` into
/// `out_dir` (created if missing).
pub fn write_report(
    dataset: &Path,
    out_dir: &Path,
    cfg: &ReportConfig,
) -> Result<ReportSummary, AnalysisError> {
    let mut compare_cfg = cfg.compare.clone();
    compare_cfg.inputs = vec![dataset.display().to_string()];
    // A dataset captured by both eBPF and strace (the experiment's `capture_tools`) is compared
    // per tool: the main report is the eBPF capture's, and the strace one stands beside it.
    let sources: std::collections::BTreeSet<String> = Dataset::open(&compare_cfg.inputs)?
        .runs()?
        .into_iter()
        .filter(|r| compare_cfg.selection.matches(r))
        .map(|r| r.source)
        .collect();
    let by_tool = sources.contains("ebpf") && sources.contains("strace");
    let strace_result = if by_tool {
        let mut c = compare_cfg.clone();
        c.selection = c.selection.and(&Selection::parse("source=strace")?);
        compare_cfg.selection = compare_cfg.selection.and(&Selection::parse("source=ebpf")?);
        Some(compare::run(&c)?)
    } else {
        None
    };
    let mut result = compare::run(&compare_cfg)?;
    let mut files = result.write_tables(out_dir)?;
    if let Some(r) = &strace_result {
        files.extend(r.write_tables(&out_dir.join("strace"))?);
    }
    files.extend(plot::coverage_chart(&result, &out_dir.join("coverage"))?);
    files.extend(plot::mismatch_chart(&result, &out_dir.join("mismatch"))?);
    files.extend(plot::mechanism::scatter_chart(
        &result,
        &out_dir.join("scatter"),
    )?);
    files.extend(plot::mechanism::sweep_chart(
        &result,
        &out_dir.join("sweep"),
    )?);
    files.extend(plot::matrix_heatmap(
        &result.matrix,
        &out_dir.join("matrix"),
    )?);
    let run = match &cfg.timeline_run {
        Some(r) => Some(r.clone()),
        None => result
            .most_anomalous_trace(cfg.timeline_view)
            .map(|t| t.run_id.clone()),
    };
    let timeline = match &run {
        Some(r) => Some(result.timeline(r, cfg.timeline_view)?),
        None => None,
    };
    if let Some(t) = &timeline {
        files.extend(plot::timeline_chart(t, &out_dir.join("timeline"))?);
    }
    let index = out_dir.join("index.html");
    let mut page = html(&result, dataset, timeline.as_ref());
    if let Some(r) = &strace_result {
        let at = page.rfind("</body>").unwrap_or(page.len());
        page.insert_str(at, &sections::capture_tools(&result, r));
    }
    std::fs::write(&index, page).map_err(|e| AnalysisError::io("writing", &index, e))?;
    files.push(index.clone());
    files.sort_by_key(|p| file_name(p));
    Ok(ReportSummary {
        out_dir: out_dir.to_path_buf(),
        index_html: index,
        files,
        lines: result.summary_lines(),
        ms_scored_on_training_runs: result.ms_scored_on_training_runs,
        timeline_run: run,
        k: result.k,
        baseline_view: result.baseline_view,
    })
}
