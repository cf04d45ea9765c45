//! The ROC curves of a labelled evaluation: one line per metric, detection rate against
//! false-alarm rate, with each metric's AUC in the legend and the chance diagonal.

use std::path::{Path, PathBuf};

use plotters::{coord::Shift, prelude::*};

use super::{DrawResult, PALETTE, font, plot_err, register_font};
use crate::{error::AnalysisError, eval::MetricCurve, matrix::fmt_opt};

/// Size of the ROC chart, in pixels.
pub const ROC_SIZE: (u32, u32) = (900, 860);

fn draw_roc<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curves: &[MetricCurve],
    title: &str,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let mut c = ChartBuilder::on(root)
        .caption(title, font(20))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..1f64, 0f64..1.0001f64)?;
    c.configure_mesh()
        .x_desc("false-alarm rate (share of normal traces above the threshold)")
        .y_desc("detection rate (share of anomalous traces above it)")
        .axis_desc_style(font(16))
        .label_style(font(14))
        .x_labels(11)
        .y_labels(11)
        .light_line_style(RGBColor(240, 240, 240))
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .draw()?;
    let grey = RGBColor(150, 150, 150);
    c.draw_series(DashedLineSeries::new(
        vec![(0.0, 0.0), (1.0, 1.0)],
        8,
        6,
        grey.stroke_width(1),
    ))?
    .label("chance (AUC 0.5)")
    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1)));
    for (i, curve) in curves.iter().filter(|c| !c.points.is_empty()).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points = curve
            .points
            .iter()
            .map(|p| (p.false_alarm_rate, p.detection_rate));
        c.draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(format!(
                "{} (AUC {})",
                curve.anomaly_score,
                fmt_opt(curve.auc)
            ))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(font(15))
        .draw()?;
    Ok(())
}

/// The ROC curve of every metric with one (`base.png`, `base.svg`), titled `title`.
pub fn roc_chart(
    curves: &[MetricCurve],
    title: &str,
    base: &Path,
) -> Result<Vec<PathBuf>, AnalysisError> {
    Ok(render_both!(base, ROC_SIZE, draw_roc(curves, title)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roc::roc_curve;

    #[test]
    fn roc_chart_renders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let curve = MetricCurve {
            metric: "coverage",
            anomaly_score: "1 - coverage",
            auc: Some(7.0 / 9.0),
            points: roc_curve(&[0.1, 0.2, 0.3], &[0.2, 0.3, 0.9]),
        };
        let empty = MetricCurve {
            metric: "hamming_max",
            anomaly_score: "hamming_max",
            auc: None,
            points: Vec::new(),
        };
        let files = roc_chart(&[curve, empty], "ROC", &dir.path().join("roc")).expect("plot");
        assert_eq!(files.len(), 2);
        assert_eq!(
            super::super::png_size(&dir.path().join("roc.png")).expect("png"),
            ROC_SIZE
        );
    }
}
