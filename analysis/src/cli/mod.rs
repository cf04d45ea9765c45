//! The `tracer-analyze` command line: `args` defines and converts the arguments, this module
//! runs a command and renders its result as text tables or JSON. `main.rs` only parses, calls
//! `execute` and prints.

pub mod args;

use std::path::PathBuf;

pub use args::{Cli, Command};

use crate::{
    compare,
    dataset::{Dataset, Selection, select::Field},
    error::AnalysisError,
    eval::{self, BaselineSource, EvalConfig},
    matrix::{self, MatrixConfig, fmt_opt},
    metrics::TraceMetrics,
    plot,
    profile::build_profile,
    report::{self, ReportConfig, lines_table},
    sql,
    tidy::label,
    view::View,
};

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, AnalysisError> {
    serde_json::to_string_pretty(v).map_err(|source| AnalysisError::Json {
        path: PathBuf::from("<stdout>"),
        source,
    })
}

fn traces_table(traces: &[TraceMetrics]) -> String {
    let mut s = format!(
        "{:<24} {:<12} {:<6} {:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>4} {:>8} {:>8}\n",
        "run_id",
        "scenario",
        "mode",
        "view",
        "calls",
        "windows",
        "distinct",
        "coverage",
        "mismatch",
        "lfc",
        "jaccard",
        "hamming"
    );
    for t in traces {
        s.push_str(&format!(
            "{:<24} {:<12} {:<6} {:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>4} {:>8} {:>8}\n",
            t.run_id,
            label(&t.scenario),
            label(&t.mode),
            t.view.to_string(),
            t.calls,
            t.windows,
            t.distinct_windows,
            fmt_opt(t.coverage),
            fmt_opt(t.mismatch),
            t.locality_frame_count,
            fmt_opt(t.jaccard_distance),
            fmt_opt(t.hamming_max)
        ));
        if !t.distinct_windows_exact {
            s.push_str(&format!(
                "{:<24} note: more than --max-exact-unknown distinct unknown windows; distinct, mismatch and jaccard are estimates\n",
                ""
            ));
        }
        if t.short_sequences > 0 {
            s.push_str(&format!(
                "{:<24} note: {} sequence(s) shorter than k = {} ({} calls) gave no window\n",
                "", t.short_sequences, t.k, t.short_sequence_calls
            ));
        }
    }
    s
}

fn rate(v: f64) -> String {
    format!("{:.3}", v)
}

/// The text tables of an evaluation: AUC, detection rates, per attack family, Hamming notes.
fn eval_tables(r: &eval::EvalResult) -> String {
    let mut s = format!(
        "baseline {} ({} runs, {} distinct windows, k = {}, {} view); traces scored in the {} view\n\n{:<22} {:<22} {:>7} {:>7} {:>10}\n",
        r.baseline,
        r.profile_runs,
        r.profile_distinct_windows,
        r.k,
        r.baseline_view,
        r.view,
        "metric",
        "anomaly score",
        "ROC AUC",
        "normal",
        "anomalous"
    );
    for m in &r.auc {
        s.push_str(&format!(
            "{:<22} {:<22} {:>7} {:>7} {:>10}\n",
            m.metric,
            m.anomaly_score,
            fmt_opt(m.auc),
            m.normal_traces,
            m.anomalous_traces
        ));
    }
    let rates: Vec<String> = eval::FALSE_ALARM_RATES
        .iter()
        .map(|f| format!("DR@{}%FA", f * 100.0))
        .collect();
    s.push_str(&format!(
        "\ndetection rate (DR: share of anomalous traces alarmed) at false-alarm rates (FA) set on the normal traces\n{:<22} {:>9} {:>9} {:>9} {:>9}  {}\n",
        "metric", rates[0], rates[1], rates[2], "DR@0FA", "zero-FA threshold"
    ));
    for (d, m) in r.detection.iter().zip(&r.auc) {
        if m.normal_traces == 0 || m.anomalous_traces == 0 {
            continue;
        }
        let at: Vec<String> = d
            .at_false_alarm_rates
            .iter()
            .map(|p| rate(p.detection_rate))
            .collect();
        let zero = d.at_zero_false_alarms;
        s.push_str(&format!(
            "{:<22} {:>9} {:>9} {:>9} {:>9}  {} > {}\n",
            d.metric,
            at[0],
            at[1],
            at[2],
            rate(zero.detection_rate),
            d.anomaly_score,
            fmt_opt(zero.alarm_above)
        ));
    }
    let primary = r.auc.first().map_or("coverage", |m| m.metric);
    let anomaly = r.auc.first().map_or("1 - coverage", |m| m.anomaly_score);
    s.push_str(&format!(
        "\nper attack family ({anomaly}; thresholds of the table above)\n{:<22} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9}\n",
        "family", "traces", "ROC AUC", rates[0], rates[1], rates[2], "DR@0FA"
    ));
    for f in r.families.iter().filter(|f| f.metric == primary) {
        s.push_str(&format!(
            "{:<22} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9}\n",
            f.family,
            f.traces,
            fmt_opt(f.auc),
            rate(f.detection_rates[0]),
            rate(f.detection_rates[1]),
            rate(f.detection_rates[2]),
            rate(f.zero_false_alarm_detection_rate)
        ));
    }
    if let Some(l) = &r.lidds {
        s.push_str(&lidds_table(l));
    }
    if let Some(note) = &r.lidds_note {
        s.push_str(&format!("\nnote: {note}\n"));
    }
    let h = r.hamming_search;
    if h.searches > 0 {
        s.push_str(&format!(
            "\nhamming: exact nearest-window searches for {} distinct unknown windows of the traces ({} remembered from earlier traces, {} by full scan, {} comparisons or probes)\n",
            h.searches, h.remembered, h.scans, h.comparisons
        ));
    }
    if r.hamming_sampled_traces > 0 {
        s.push_str(&format!(
            "note: {} trace(s) reached --hamming-budget: a sample of their unknown windows was measured (hamming_windows_measured); their hamming_max is a lower bound\n",
            r.hamming_sampled_traces
        ));
    }
    s
}

/// The LID-DS framework's measures, one line per variant.
fn lidds_table(l: &crate::lidds::LiddsMeasures) -> String {
    let mut s = format!(
        "\nLID-DS framework measures: alarm when the score (unknown windows among the recording's last {} windows, / {})\nexceeds the highest score of the {} validation recording(s); an exploit recording is detected by an alarm at or\nafter its exploit's start; alarms before it or in normal recordings are false; a run of consecutive ones is one CFA\n{:<13} {:<12} {:>9} {:>9} {:>9} {:>7} {:>10} {:>9} {:>9} {:>8} {:>7}\n",
        l.frame,
        l.frame,
        l.validation_recordings,
        "variant",
        "view",
        "threshold",
        "normal",
        "exploits",
        "DR",
        "FA windows",
        "CFA",
        "FA rate",
        "P(CFA)",
        "F1(CFA)"
    );
    for v in &l.variants {
        let c = &v.counts;
        s.push_str(&format!(
            "{:<13} {:<12} {:>9} {:>9} {:>9} {:>7} {:>10} {:>9} {:>9} {:>8} {:>7}\n",
            v.variant,
            v.view.to_string(),
            format!("{:.4}", v.threshold),
            c.normal_recordings,
            format!("{}/{}", c.detected_exploits, c.exploit_recordings),
            fmt_opt(v.detection_rate),
            v.false_alarm_windows,
            format!(
                "{} ({}+{})",
                v.consecutive_false_alarms,
                c.consecutive_false_alarms_normal,
                c.consecutive_false_alarms_exploits
            ),
            fmt_opt(v.false_alarm_rate),
            fmt_opt(v.precision_cfa),
            fmt_opt(v.f1_cfa)
        ));
    }
    s.push_str("(DR: detected / exploit recordings; FA rate: false-alarm windows / windows of normal recordings and before\nthe exploit; CFA: in normal + in exploit recordings; P(CFA) = detected / (detected + CFA))\n");
    s
}

/// Runs one parsed command; returns what to print.
pub fn execute(cli: &Cli) -> Result<String, AnalysisError> {
    let json = cli.json;
    match &cli.command {
        Command::Profile(a) => {
            let dataset = Dataset::open(&a.data.inputs)?;
            let mut interner = crate::intern::for_k(a.k);
            let (profile, scan) =
                build_profile(&dataset, &a.data.selection()?, a.view, a.k, &mut interner)?;
            if profile.runs.is_empty() {
                return Err(AnalysisError::Empty(format!(
                    "no run selected in {}",
                    a.data.inputs.join(", ")
                )));
            }
            profile.save(&a.output, &interner)?;
            let out = serde_json::json!({
                "profile_file": a.output,
                "k": profile.k,
                "view": profile.view,
                "runs": profile.runs.len(),
                "calls": profile.sequences.calls,
                "sequences": profile.sequences.sequences,
                "short_sequences": profile.sequences.short_sequences,
                "short_sequence_calls": profile.sequences.short_sequence_calls,
                "windows": profile.total_windows(),
                "distinct_windows": profile.distinct(),
                "distinct_syscalls": interner.len(),
                "rows_read": scan.rows_read,
                "files_read": scan.files,
            });
            if json {
                return to_json(&out);
            }
            Ok(format!(
                "wrote {}: {} distinct windows (k = {}, {} view) from {} windows of {} runs ({} calls, {} sequences, {} shorter than k)\n",
                a.output.display(),
                profile.distinct(),
                profile.k,
                profile.view,
                profile.total_windows(),
                profile.runs.len(),
                profile.sequences.calls,
                profile.sequences.sequences,
                profile.sequences.short_sequences
            ))
        }
        Command::Score(a) => {
            let (profile, name, mut interner) =
                eval::load_baseline(&BaselineSource::ProfileFile(a.profile.clone()))?;
            let views = if a.view.is_empty() {
                View::ALL.to_vec()
            } else {
                a.view.clone()
            };
            let traces = eval::score_traces(
                &a.data.inputs,
                &a.data.selection()?,
                &profile,
                &name,
                &views,
                &a.scoring.config(),
                &mut interner,
            )?;
            if json {
                return to_json(&serde_json::json!({
                    "baseline": name,
                    "baseline_view": profile.view,
                    "k": profile.k,
                    "profile_distinct_windows": profile.distinct(),
                    "traces": traces,
                }));
            }
            Ok(format!(
                "baseline {name}: {} distinct windows, k = {}, {} view\n{}",
                profile.distinct(),
                profile.k,
                profile.view,
                traces_table(&traces)
            ))
        }
        Command::Eval(a) => {
            let parse = |e: &Option<String>| -> Result<Selection, AnalysisError> {
                e.as_deref().map_or(Ok(Selection::all()), Selection::parse)
            };
            let common = parse(&a.filter)?;
            let baseline = match &a.profile {
                Some(p) => BaselineSource::ProfileFile(p.clone()),
                None => BaselineSource::Train {
                    inputs: a.train.clone(),
                    selection: common.clone().and(&parse(&a.train_where)?),
                    view: a.baseline_view,
                    k: a.k,
                },
            };
            let mut cfg = EvalConfig::new(baseline, a.normal.clone(), a.anomalous.clone());
            cfg.normal_selection = common.clone().and(&parse(&a.normal_where)?);
            cfg.anomalous_selection = common.clone().and(&parse(&a.anomalous_where)?);
            cfg.validation_selection = common;
            cfg.view = a.view;
            cfg.score = a.scoring.config();
            let r = eval::run(&cfg)?;
            let files = match &a.plot_dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| AnalysisError::io("creating", dir, e))?;
                    let title = format!(
                        "ROC: {} normal and {} anomalous traces (k = {}, {} view)",
                        r.auc.first().map_or(0, |m| m.normal_traces),
                        r.auc.first().map_or(0, |m| m.anomalous_traces),
                        r.k,
                        r.view
                    );
                    plot::roc_chart(&r.curves, &title, &dir.join("roc"))?
                }
                None => Vec::new(),
            };
            if json && a.plot_dir.is_none() {
                return to_json(&r);
            }
            if json {
                let mut v = serde_json::to_value(&r).map_err(|source| AnalysisError::Json {
                    path: PathBuf::from("<stdout>"),
                    source,
                })?;
                v["files_written"] = serde_json::json!(files);
                return to_json(&v);
            }
            let mut s = eval_tables(&r);
            for f in &files {
                s.push_str(&format!("wrote {}\n", f.display()));
            }
            if a.traces {
                s.push('\n');
                for label in ["normal", "anomalous"] {
                    let ts: Vec<TraceMetrics> = r
                        .traces
                        .iter()
                        .filter(|t| t.label == label)
                        .map(|t| t.metrics.clone())
                        .collect();
                    s.push_str(&format!("{label} traces:\n{}", traces_table(&ts)));
                }
            }
            Ok(s)
        }
        Command::Compare(a) => {
            let r = compare::run(&a.config()?)?;
            let written = match &a.output {
                Some(dir) => r.write_tables(dir)?,
                None => Vec::new(),
            };
            if json {
                return to_json(&serde_json::json!({
                    "files_written": written,
                    "summary_lines": r.summary_lines(),
                    "result": r,
                }));
            }
            let mut s = r.markdown();
            for f in written {
                s.push_str(&format!("wrote {}\n", f.display()));
            }
            Ok(s)
        }
        Command::Matrix(a) => {
            let mut selection = a.data.selection()?;
            if !a.all_modes && a.data.mode.is_empty() {
                selection = selection.with(Field::Mode, &["ms".to_string()]);
            }
            let m = matrix::run(&MatrixConfig {
                inputs: a.data.inputs.clone(),
                selection,
                view: a.view,
                k: a.k,
            })?;
            if json {
                return to_json(&m);
            }
            Ok(format!(
                "mismatch of the row scenario's profile against the column scenario's ({} view, k = {})\n\n{}",
                m.view,
                m.k,
                m.markdown()
            ))
        }
        Command::Plot(a) => {
            let out = a
                .compare
                .output
                .clone()
                .unwrap_or_else(|| PathBuf::from("."));
            std::fs::create_dir_all(&out).map_err(|e| AnalysisError::io("creating", &out, e))?;
            let mut r = compare::run(&a.compare.config()?)?;
            let mut files = plot::coverage_chart(&r, &out.join("coverage"))?;
            files.extend(plot::mismatch_chart(&r, &out.join("mismatch"))?);
            files.extend(plot::matrix_heatmap(&r.matrix, &out.join("matrix"))?);
            let run = match &a.timeline_run {
                Some(x) => Some(x.clone()),
                None => r
                    .most_anomalous_trace(a.timeline_view)
                    .map(|t| t.run_id.clone()),
            };
            if let Some(run) = &run {
                let t = r.timeline(run, a.timeline_view)?;
                files.extend(plot::timeline_chart(&t, &out.join("timeline"))?);
            }
            if json {
                return to_json(
                    &serde_json::json!({ "files_written": files, "timeline_run": run }),
                );
            }
            Ok(files
                .iter()
                .map(|f| format!("wrote {}\n", f.display()))
                .collect())
        }
        Command::Sql(a) => {
            let query = if a.query == "windows" {
                sql::Query::Windows
            } else {
                sql::Query::CoverageMismatch
            };
            let text = sql::render(
                query,
                &sql::SqlParams {
                    files: a.files.clone(),
                    dialect: a.dialect,
                    view: a.view,
                    baseline_view: a.baseline_view,
                    baseline: a.baseline(),
                    k: a.k,
                    frame: a.frame,
                },
            )?;
            if json {
                return to_json(
                    &serde_json::json!({ "query": a.query, "dialect": a.dialect.to_string(), "sql": text }),
                );
            }
            Ok(text)
        }
        Command::Report(a) => {
            if a.compare.data.inputs.len() != 1 {
                return Err(AnalysisError::Config {
                    option: "DATASET",
                    message: "report takes exactly one dataset (a file, folder or glob)".into(),
                });
            }
            let out = a
                .compare
                .output
                .clone()
                .unwrap_or_else(|| PathBuf::from("report"));
            let cfg = ReportConfig {
                compare: a.compare.config()?,
                timeline_run: a.timeline_run.clone(),
                timeline_view: a.timeline_view,
            };
            let summary =
                report::write_report(&PathBuf::from(&a.compare.data.inputs[0]), &out, &cfg)?;
            if json {
                return to_json(&summary);
            }
            Ok(format!(
                "{}\nwrote {} files; open {}\n",
                lines_table(&summary.lines),
                summary.files.len(),
                summary.index_html.display()
            ))
        }
    }
}
