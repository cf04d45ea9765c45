//! The mechanism pictures: interleaved-view mismatch of every scored run against the run's
//! thread-switch rate, with the fitted line and Pearson's r (the picture that shows, or fails to
//! show, that interleaving drives the metric); and the M.R sweep curves, mismatch and coverage
//! against the spacing of the commands' releases, on all CPUs and pinned, with interval bands.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use plotters::{coord::Shift, prelude::*};
use tracer_dataset::mode::Release;

use super::{DrawResult, PALETTE, font, mode_name, plot_err, register_font};
use crate::{
    compare::CompareResult, error::AnalysisError, matrix::fmt_opt, tidy::label, view::View,
};

/// Size of the scatter plot, in pixels.
pub const SCATTER_SIZE: (u32, u32) = (1100, 720);

/// One point of the scatter.
#[derive(Clone, Debug, PartialEq)]
pub struct ScatterPoint {
    /// Scenario of the run.
    pub scenario: String,
    /// Mode of the run.
    pub mode: String,
    /// Thread-switch rate of the interleaved stream.
    pub switch_rate: f64,
    /// Interleaved-view mismatch.
    pub mismatch: f64,
}

/// The points of the scatter: every run with both values.
pub fn scatter_points(result: &CompareResult) -> Vec<ScatterPoint> {
    let rate: std::collections::HashMap<&str, f64> = result
        .mechanisms
        .iter()
        .filter_map(|m| Some((m.run_id.as_str(), m.thread_switch_rate?)))
        .collect();
    result
        .traces
        .iter()
        .filter(|t| t.view == View::Interleaved)
        .filter_map(|t| {
            Some(ScatterPoint {
                scenario: label(&t.scenario),
                mode: label(&t.mode),
                switch_rate: *rate.get(t.run_id.as_str())?,
                mismatch: t.mismatch?,
            })
        })
        .collect()
}

fn draw_scatter<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &CompareResult,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let points = scatter_points(result);
    let corr = &result.switch_correlation;
    let x_max = points
        .iter()
        .map(|p| p.switch_rate)
        .fold(0.0f64, f64::max)
        .max(0.01)
        * 1.08;
    let mut c = ChartBuilder::on(root)
        .caption(
            format!(
                "Interleaved-view mismatch vs thread-switch rate ({} runs, k = {}; r = {})",
                corr.runs,
                result.k,
                fmt_opt(corr.pearson_r)
            ),
            font(21),
        )
        .margin(18)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_max, 0f64..1.05f64)?;
    c.configure_mesh()
        .x_desc("thread-switch rate: share of adjacent calls made by different threads")
        .y_desc("mismatch (interleaved view)")
        .axis_desc_style(font(16))
        .label_style(font(15))
        .x_label_formatter(&|v| format!("{v:.2}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .draw()?;
    let scenarios: std::collections::BTreeSet<&str> =
        points.iter().map(|p| p.scenario.as_str()).collect();
    for (si, s) in scenarios.iter().enumerate() {
        let color = PALETTE[si % PALETTE.len()];
        // M.S runs hollow, the other modes' runs filled.
        for (mode, filled) in [("ms", false), ("mr", true)] {
            let series: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.scenario == *s && (p.mode != "ms") == filled)
                .map(|p| (p.switch_rate, p.mismatch))
                .collect();
            if series.is_empty() {
                continue;
            }
            let style = if filled {
                color.filled()
            } else {
                color.stroke_width(2)
            };
            c.draw_series(series.iter().map(move |p| Circle::new(*p, 6, style)))?
                .label(format!("{s}, {}", mode_name(mode)))
                .legend(move |(x, y)| Circle::new((x + 8, y), 6, style));
        }
    }
    if let (Some(m), Some(b)) = (corr.slope, corr.intercept) {
        let line = vec![(0.0, b), (x_max, m * x_max + b)];
        c.draw_series(std::iter::once(PathElement::new(
            line,
            BLACK.stroke_width(2),
        )))?
        .label(format!("least squares: mismatch = {m:.2} x rate + {b:.2}"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(font(15))
        .draw()?;
    Ok(())
}

/// The scatter of interleaved mismatch against thread-switch rate (`base.png`, `base.svg`).
pub fn scatter_chart(result: &CompareResult, base: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    Ok(render_both!(base, SCATTER_SIZE, draw_scatter(result)))
}

/// One point of a sweep curve: a scenario's mean (and interval) at one release.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepValue {
    /// The release.
    pub release: Release,
    /// Mean over the runs.
    pub mean: f64,
    /// Bootstrap 95% interval.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

/// The sweep curves of `metric` in `view`: per scenario and CPU setting, the points by spacing
/// (plain `mr` is the point at 0 ms on all CPUs). Empty when the dataset has no sweep point.
pub fn sweep_curves(
    result: &CompareResult,
    metric: &str,
    view: View,
) -> BTreeMap<(String, Option<u32>), Vec<SweepValue>> {
    let mut curves: BTreeMap<(String, Option<u32>), Vec<SweepValue>> = BTreeMap::new();
    let mut any_point = false;
    for r in result
        .summary
        .iter()
        .filter(|r| r.view == view && r.metric == metric)
    {
        let Some(release) = Release::parse(&r.mode) else {
            continue;
        };
        any_point |= release != Release::default();
        let (Some(mean), Some(lo), Some(hi)) = (r.mean, r.ci_lo, r.ci_hi) else {
            continue;
        };
        curves
            .entry((r.scenario.clone(), release.cpus))
            .or_default()
            .push(SweepValue {
                release,
                mean,
                lo,
                hi,
            });
    }
    if !any_point {
        return BTreeMap::new();
    }
    for v in curves.values_mut() {
        v.sort_by_key(|p| p.release.spacing_ms);
    }
    curves
}

/// Size of the sweep chart, in pixels.
pub const SWEEP_SIZE: (u32, u32) = (1500, 620);

fn draw_sweep<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &CompareResult,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(50);
    head.draw(&Text::new(
        format!(
            "M.R released in quick succession: metrics vs spacing (interleaved view, k = {}; band = bootstrap 95% CI; dashed = pinned CPUs)",
            result.k
        ),
        (20, 25),
        font(20).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Left,
            plotters::style::text_anchor::VPos::Center,
        )),
    ))?;
    let panels = body.split_evenly((1, 2));
    for (area, metric) in panels.iter().zip(["mismatch", "coverage"]) {
        let curves = sweep_curves(result, metric, View::Interleaved);
        let mut spacings: Vec<u64> = curves
            .values()
            .flatten()
            .map(|p| p.release.spacing_ms)
            .collect();
        spacings.sort_unstable();
        spacings.dedup();
        // Spacings on an ordinal axis: 0, 1, 5, 20, 100 ms would crowd a linear one.
        let x_of = |s: u64| spacings.iter().position(|v| *v == s).unwrap_or(0) as f64;
        let n = spacings.len().max(1) as f64;
        let labels = spacings.clone();
        let mut c = ChartBuilder::on(area)
            .caption(metric, font(20))
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.3f64..n - 0.7, 0f64..1.05f64)?;
        c.configure_mesh()
            .x_labels(spacings.len().max(2))
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() > 0.01 || i < 0.0 {
                    return String::new();
                }
                labels
                    .get(i as usize)
                    .map_or(String::new(), |s| format!("{s} ms"))
            })
            .y_label_formatter(&|v| format!("{v:.1}"))
            .x_desc("spacing between releases")
            .y_desc(format!("{metric} (mean)"))
            .axis_desc_style(font(16))
            .label_style(font(15))
            .draw()?;
        let scenarios: Vec<&String> = {
            let mut s: Vec<&String> = curves.keys().map(|(s, _)| s).collect();
            s.dedup();
            s
        };
        for ((scenario, cpus), points) in &curves {
            let si = scenarios.iter().position(|s| *s == scenario).unwrap_or(0);
            let color = PALETTE[si % PALETTE.len()];
            let band: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (x_of(p.release.spacing_ms), p.hi))
                .chain(
                    points
                        .iter()
                        .rev()
                        .map(|p| (x_of(p.release.spacing_ms), p.lo)),
                )
                .collect();
            c.draw_series(std::iter::once(Polygon::new(
                band,
                color.mix(0.15).filled(),
            )))?;
            let line: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (x_of(p.release.spacing_ms), p.mean))
                .collect();
            let name = match cpus {
                Some(n) => format!("{scenario}, pinned to {n} CPU(s)"),
                None => format!("{scenario}, all CPUs"),
            };
            let style = color.stroke_width(if cpus.is_some() { 1 } else { 3 });
            let series = if cpus.is_some() {
                c.draw_series(DashedLineSeries::new(line.clone(), 8, 5, style))?
            } else {
                c.draw_series(LineSeries::new(line.clone(), style))?
            };
            series
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            c.draw_series(line.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(font(14))
            .draw()?;
    }
    Ok(())
}

/// The sweep curves (`base.png`, `base.svg`); nothing when the dataset has no sweep point.
pub fn sweep_chart(result: &CompareResult, base: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    if sweep_curves(result, "mismatch", View::Interleaved).is_empty() {
        return Ok(Vec::new());
    }
    Ok(render_both!(base, SWEEP_SIZE, draw_sweep(result)))
}
