//! The mechanism pictures: interleaved-view mismatch of every scored run against the run's
//! thread-switch rate, with the fitted line and Pearson's r (the picture that shows, or fails to
//! show, that interleaving drives the metric).

use std::path::{Path, PathBuf};

use plotters::{coord::Shift, prelude::*};

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
