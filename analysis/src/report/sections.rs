//! Sections of `index.html` beyond the tables of means: the original study's figures beside
//! ours, the M.S vs M.R tests, the mechanism (how interleaved each run was), and the M.R sweep.

use std::collections::BTreeMap;

use super::esc;
use crate::{
    compare::{CompareResult, Contrast, effect_size},
    matrix::fmt_opt,
    stats,
    tidy::{self, label},
    view::View,
};

/// The study this project starts from, as it reports M.R against M.S (strace captures).
struct StudyFigure {
    scenario: &'static str,
    mismatch: &'static str,
    coverage: &'static str,
    finding: &'static str,
}

const STUDY: [StudyFigure; 2] = [
    StudyFigure {
        scenario: "privilege",
        mismatch: "0.02",
        coverage: "0.97",
        finding: "still resembles normal execution under M.R",
    },
    StudyFigure {
        scenario: "recon",
        mismatch: "0.4 to 0.6",
        coverage: "-",
        finding: "looks messy under M.R",
    },
];

fn contrast<'a>(
    r: &'a CompareResult,
    scenario: &str,
    view: View,
    metric: &str,
) -> Option<&'a Contrast> {
    r.contrasts
        .iter()
        .find(|c| c.scenario == scenario && c.view == view && c.metric == metric)
}

fn mean_of(r: &CompareResult, scenario: &str, mode: &str, view: View, metric: &str) -> String {
    fmt_opt(tidy::find(&r.summary, scenario, mode, view, metric).and_then(|s| s.mean))
}

/// Mean thread-switch rate and concurrency of a scenario's runs of one mode.
fn mechanism_means(r: &CompareResult, scenario: &str, mode: &str) -> (Option<f64>, Option<f64>) {
    let runs: Vec<_> = r
        .mechanisms
        .iter()
        .filter(|m| label(&m.scenario) == scenario && label(&m.mode) == mode)
        .collect();
    let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    (
        mean(runs.iter().filter_map(|m| m.thread_switch_rate).collect()),
        mean(runs.iter().filter_map(|m| m.concurrency_mean).collect()),
    )
}

/// One plain sentence on whether M.R moved a scenario's interleaved mismatch.
fn verdict(c: Option<&Contrast>) -> String {
    let Some(c) = c else {
        return "no M.S vs M.R test (a mode has no scored run)".into();
    };
    let moved = c.p_value < 0.05;
    format!(
        "M.R {} interleaved-view mismatch by {:+.3} (p = {:.4}, Cliff's delta {:+.2}, {}){}",
        if !moved {
            "does not significantly change"
        } else if c.difference > 0.0 {
            "raises"
        } else {
            "lowers"
        },
        c.difference,
        c.p_value,
        c.cliffs_delta,
        effect_size(c.cliffs_delta),
        if c.resubstitution {
            "; the M.S side is resubstituted"
        } else {
            ""
        }
    )
}

/// The study's figures beside ours, and whether its direction replicates here.
pub fn study(r: &CompareResult) -> String {
    let mut h = String::from(
        "<h2>The original study beside this run</h2>\n<p class=\"note\">The study (strace captures) reports M.R figures: privilege commands under M.R still resemble normal execution (mismatch 0.02, coverage 0.97), recon commands look messy (mismatch 0.4 to 0.6), explained by scheduler interleaving breaking syscall adjacency. Our M.R figures below are the interleaved view (the whole run in one stream, as <code>strace -f</code> writes it) and the thread view (each thread on its own).</p>\n<table id=\"study\"><tr><th>scenario</th><th>study: M.R mismatch</th><th>study: M.R coverage</th><th>ours: M.R mismatch (interleaved)</th><th>ours: M.R coverage (interleaved)</th><th>ours: M.R mismatch (thread)</th><th>M.S / M.R thread-switch rate</th><th>M.S / M.R concurrency</th><th>study's finding</th><th>here</th></tr>\n",
    );
    let fmt = |v: Option<f64>| fmt_opt(v);
    for f in &STUDY {
        if !r.baselines.iter().any(|b| b.scenario == f.scenario) {
            continue;
        }
        let (ms_rate, ms_conc) = mechanism_means(r, f.scenario, "ms");
        let (mr_rate, mr_conc) = mechanism_means(r, f.scenario, "mr");
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{} / {}</td><td>{}</td><td>{}</td></tr>\n",
            f.scenario,
            f.mismatch,
            f.coverage,
            mean_of(r, f.scenario, "mr", View::Interleaved, "mismatch"),
            mean_of(r, f.scenario, "mr", View::Interleaved, "coverage"),
            mean_of(r, f.scenario, "mr", View::Thread, "mismatch"),
            fmt(ms_rate),
            fmt(mr_rate),
            fmt(ms_conc),
            fmt(mr_conc),
            f.finding,
            esc(&verdict(contrast(r, f.scenario, View::Interleaved, "mismatch")))
        ));
    }
    h.push_str("</table>\n");
    h.push_str(&format!("<p>{}</p>\n", esc(&replication(r))));
    h
}

/// Whether the study's ordering (recon hit harder than privilege under M.R) holds here.
fn replication(r: &CompareResult) -> String {
    let get = |s: &str| contrast(r, s, View::Interleaved, "mismatch").map(|c| c.difference);
    let corr = &r.switch_correlation;
    let mechanism = format!(
        "Over all {} scored runs, interleaved-view mismatch and thread-switch rate correlate with r = {}.",
        corr.runs,
        fmt_opt(corr.pearson_r)
    );
    match (get("recon"), get("privilege")) {
        (Some(recon), Some(privilege)) => format!(
            "Direction: the study finds recon hit much harder than privilege by M.R. Here the M.R - M.S rise in interleaved mismatch is {recon:+.3} for recon and {privilege:+.3} for privilege, so the ordering {}. {mechanism}",
            if recon > privilege {
                "replicates"
            } else {
                "does not replicate"
            }
        ),
        _ => format!(
            "This dataset lacks a recon or privilege scenario with both modes, so the study's ordering cannot be checked. {mechanism}"
        ),
    }
}

/// The table of M.S vs M.R tests.
pub fn contrasts(r: &CompareResult) -> String {
    let mut h = String::from(
        "<h2>M.S vs M.R: tests</h2>\n<p class=\"note\">Per scenario, view and metric: two-sided permutation test of equal means (exact when there are at most 10,000 relabellings) and Cliff's delta of M.R against M.S (|d| &lt; 0.147 negligible, &lt; 0.33 small, &lt; 0.474 medium, else large).</p>\n<table id=\"contrasts\"><tr><th>scenario</th><th>view</th><th>metric</th><th>n M.S</th><th>n M.R</th><th>M.R - M.S</th><th>p</th><th>Cliff's delta</th></tr>\n",
    );
    for c in &r.contrasts {
        let cells: Vec<String> = c
            .cells()
            .iter()
            .map(|v| format!("<td>{}</td>", esc(v)))
            .collect();
        h.push_str(&format!("<tr>{}</tr>\n", cells.concat()));
    }
    h.push_str("</table>\n");
    h
}

/// The mechanism: per scenario and mode, how interleaved the runs were, and the scatter.
pub fn mechanism(r: &CompareResult) -> String {
    let mut h = String::from(
        "<h2>Mechanism: how interleaved the runs were</h2>\n<p class=\"note\">Thread-switch rate: share of adjacent calls of the run (in seq order) made by different threads. Concurrency, from the processes table: the run's commands are its root processes; while any is alive, the mean number alive, the most at once, and the share of time with two or more alive. Means with bootstrap 95% intervals.</p>\n<table id=\"mechanism\"><tr><th>scenario</th><th>mode</th><th>runs</th><th>thread-switch rate</th><th>95% CI</th><th>process-switch rate</th><th>concurrency (mean)</th><th>95% CI</th><th>concurrency (max)</th><th>overlap share</th></tr>\n",
    );
    let mut groups: BTreeMap<(String, String), Vec<&crate::mechanism::RunMechanism>> =
        BTreeMap::new();
    for m in &r.mechanisms {
        groups
            .entry((label(&m.scenario), label(&m.mode)))
            .or_default()
            .push(m);
    }
    for ((scenario, mode), runs) in &groups {
        let ci = |f: &dyn Fn(&crate::mechanism::RunMechanism) -> Option<f64>, what: &str| {
            let v: Vec<f64> = runs.iter().filter_map(|m| f(m)).collect();
            let seed = stats::seed_for(r.seed, &[scenario, mode, what]);
            stats::bootstrap_mean_ci(&v, tidy::CI_LEVEL, seed)
        };
        let rate = ci(&|m| m.thread_switch_rate, "thread_switch_rate");
        let procs = ci(&|m| m.process_switch_rate, "process_switch_rate");
        let conc = ci(&|m| m.concurrency_mean, "concurrency_mean");
        let overlap = ci(&|m| m.overlap_share, "overlap_share");
        let max = runs.iter().filter_map(|m| m.concurrency_max).max();
        let m = |c: Option<stats::MeanCi>| fmt_opt(c.map(|c| c.mean));
        let span = |c: Option<stats::MeanCi>| {
            c.map_or("-".into(), |c| format!("{:.3} to {:.3}", c.lo, c.hi))
        };
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(scenario),
            esc(mode),
            runs.len(),
            m(rate),
            span(rate),
            m(procs),
            m(conc),
            span(conc),
            max.map_or("-".into(), |v| v.to_string()),
            m(overlap)
        ));
    }
    h.push_str("</table>\n");
    let c = &r.switch_correlation;
    h.push_str(&format!(
        "<p>Interleaved-view mismatch against thread-switch rate over {} runs: Pearson's r = {}, fitted mismatch = {} x rate + {}.</p>\n<img src=\"scatter.png\" alt=\"mismatch against thread-switch rate\"> <a href=\"scatter.svg\">SVG</a>\n",
        c.runs,
        fmt_opt(c.pearson_r),
        fmt_opt(c.slope),
        fmt_opt(c.intercept)
    ));
    h
}

/// The M.R sweep: metrics by release spacing and CPUs, with the overlap the processes table
/// measured at each point; empty without sweep points.
pub fn sweep(r: &CompareResult) -> String {
    let curves = crate::plot::mechanism::sweep_curves(r, "mismatch", View::Interleaved);
    if curves.is_empty() {
        return String::new();
    }
    let mut h = String::from(
        "<h2>M.R in quick succession: the sweep</h2>\n<p class=\"note\">Each point is a mode of its own: <code>mr-&lt;spacing&gt;ms</code> releases the scenario's commands one every spacing (without waiting for the previous one), <code>-cpu&lt;n&gt;</code> pins them to the first n CPUs; plain <code>mr</code> is 0 ms on all CPUs. Interleaved view; overlap share from the processes table.</p>\n<img src=\"sweep.png\" alt=\"metrics against release spacing\"> <a href=\"sweep.svg\">SVG</a>\n<table id=\"sweep\"><tr><th>scenario</th><th>mode</th><th>runs</th><th>mismatch (mean)</th><th>95% CI</th><th>coverage (mean)</th><th>thread-switch rate</th><th>overlap share</th><th>p vs M.S (mismatch)</th></tr>\n",
    );
    for ((scenario, _), points) in &curves {
        for p in points {
            let mode = p.release.label();
            let get =
                |metric: &str| tidy::find(&r.summary, scenario, &mode, View::Interleaved, metric);
            let runs: Vec<_> = r
                .mechanisms
                .iter()
                .filter(|m| label(&m.scenario) == *scenario && label(&m.mode) == mode)
                .collect();
            let mean =
                |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
            let p_value = contrast_of(r, scenario, &mode);
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3} to {:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(scenario),
                esc(&mode),
                get("mismatch").map_or(0, |s| s.n),
                p.mean,
                p.lo,
                p.hi,
                fmt_opt(get("coverage").and_then(|s| s.mean)),
                fmt_opt(mean(runs.iter().filter_map(|m| m.thread_switch_rate).collect())),
                fmt_opt(mean(runs.iter().filter_map(|m| m.overlap_share).collect())),
                p_value.map_or("-".into(), |p| format!("{p:.4}"))
            ));
        }
    }
    h.push_str("</table>\n");
    h
}

fn contrast_of(r: &CompareResult, scenario: &str, mode: &str) -> Option<f64> {
    r.contrasts
        .iter()
        .find(|c| {
            c.scenario == scenario
                && c.mode == mode
                && c.view == View::Interleaved
                && c.metric == "mismatch"
        })
        .map(|c| c.p_value)
}

/// Mean of a mechanism measure over a scenario's runs of one mode.
fn mechanism_mean(
    r: &CompareResult,
    scenario: &str,
    mode: &str,
    f: impl Fn(&crate::mechanism::RunMechanism) -> Option<f64>,
) -> Option<f64> {
    let v: Vec<f64> = r
        .mechanisms
        .iter()
        .filter(|m| label(&m.scenario) == scenario && label(&m.mode) == mode)
        .filter_map(f)
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The same commands captured by eBPF and by `strace -f`: how ptrace changes the interleaving
/// and the metrics of the very question.
pub fn capture_tools(ebpf: &CompareResult, strace: &CompareResult) -> String {
    let mut h = String::from(
        "<h2>The capture tool as a variable: eBPF vs strace -f</h2>\n<p class=\"note\">Every run was captured twice, one right after the other: by eBPF (the tables above) and with each command under <code>strace -ff</code> (ptrace stops the program at every call). Interleaved view; the strace comparison's own tables are in <a href=\"strace/summary.md\">strace/</a>.</p>\n<table id=\"capture_tools\"><tr><th>scenario</th><th>mode</th><th>calls per run: eBPF / strace</th><th>mismatch: eBPF / strace</th><th>coverage: eBPF / strace</th><th>thread-switch rate: eBPF / strace</th><th>overlap share: eBPF / strace</th><th>M.R - M.S mismatch p: eBPF / strace</th></tr>\n",
    );
    let (scenarios, modes, _) = ebpf.axes();
    for sc in &scenarios {
        for m in &modes {
            let get = |r: &CompareResult, metric: &str| {
                fmt_opt(
                    tidy::find(&r.summary, sc, m, View::Interleaved, metric).and_then(|s| s.mean),
                )
            };
            let mech =
                |r: &CompareResult, f: fn(&crate::mechanism::RunMechanism) -> Option<f64>| {
                    fmt_opt(mechanism_mean(r, sc, m, f))
                };
            let calls = |r: &CompareResult| {
                mechanism_mean(r, sc, m, |x| Some(x.calls as f64))
                    .map_or("-".into(), |v| format!("{v:.0}"))
            };
            let p =
                |r: &CompareResult| contrast_of(r, sc, m).map_or("-".into(), |p| format!("{p:.4}"));
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{} / {}</td><td>{} / {}</td><td>{} / {}</td><td>{} / {}</td><td>{} / {}</td><td>{} / {}</td></tr>\n",
                esc(sc),
                esc(m),
                calls(ebpf),
                calls(strace),
                get(ebpf, "mismatch"),
                get(strace, "mismatch"),
                get(ebpf, "coverage"),
                get(strace, "coverage"),
                mech(ebpf, |x| x.thread_switch_rate),
                mech(strace, |x| x.thread_switch_rate),
                mech(ebpf, |x| x.overlap_share),
                mech(strace, |x| x.overlap_share),
                p(ebpf),
                p(strace)
            ));
        }
    }
    h.push_str("</table>\n");
    h
}
