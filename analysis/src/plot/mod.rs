//! Pictures, each written as PNG and SVG with plotters: coverage and mismatch per scenario,
//! M.S vs M.R side by side in every view (bars with bootstrap 95% intervals); the cross-scenario
//! mismatch matrix as a heatmap; mismatch over time for one trace (unknown windows and the
//! locality frame count); and in `mechanism` the pictures of why: mismatch against thread-switch
//! rate, and metrics against the spacing of M.R sweeps; and the ROC curves of a labelled
//! evaluation (`roc_chart`).
//!
//! Text is drawn with DejaVu Sans embedded in the binary (`assets/`, Bitstream Vera / DejaVu
//! licence), so plots render on machines without system fonts.

use std::{
    fmt::Display,
    path::{Path, PathBuf},
    sync::Once,
};

use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use crate::{
    compare::CompareResult, error::AnalysisError, matrix::MismatchMatrix, tidy, timeline::Timeline,
    view::View,
};

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();
const FAMILY: &str = "sans-serif";

/// Size of the coverage and mismatch charts, in pixels.
pub const BAR_CHART_SIZE: (u32, u32) = (1500, 560);
/// Size of the heatmap.
pub const HEATMAP_SIZE: (u32, u32) = (760, 680);
/// Size of the mismatch-over-time chart.
pub const TIMELINE_SIZE: (u32, u32) = (1400, 520);

fn register_font() {
    REGISTER.call_once(|| {
        for style in [
            FontStyle::Normal,
            FontStyle::Bold,
            FontStyle::Italic,
            FontStyle::Oblique,
        ] {
            plotters::style::register_font(FAMILY, style, FONT)
                .unwrap_or_else(|_| panic!("the embedded DejaVu Sans is a valid font"));
        }
    });
}

fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

fn plot_err(path: &Path, e: impl Display) -> AnalysisError {
    AnalysisError::Plot {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws with `$draw(&root, args...)` into `$base.png` and `$base.svg`; evaluates to the paths.
macro_rules! render_both {
    ($base:expr, $size:expr, $draw:ident ( $($arg:expr),* )) => {{
        register_font();
        let png = $base.with_extension("png");
        let svg = $base.with_extension("svg");
        {
            let root = BitMapBackend::new(&png, $size).into_drawing_area();
            $draw(&root, $($arg),*).map_err(|e| plot_err(&png, e))?;
            root.present().map_err(|e| plot_err(&png, e))?;
        }
        {
            let root = SVGBackend::new(&svg, $size).into_drawing_area();
            $draw(&root, $($arg),*).map_err(|e| plot_err(&svg, e))?;
            root.present().map_err(|e| plot_err(&svg, e))?;
        }
        vec![png, svg]
    }};
}

pub mod mechanism;
mod roc;
pub use roc::{ROC_SIZE, roc_chart};

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
];

/// A readable name for a mode label.
pub fn mode_name(mode: &str) -> String {
    match mode {
        "ms" => "M.S (sequential)".into(),
        "mr" => "M.R (rapid, interleaved)".into(),
        other => other.into(),
    }
}

/// One bar: mean with its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BarValue {
    /// Mean.
    pub mean: f64,
    /// Lower end of the error bar.
    pub lo: f64,
    /// Upper end of the error bar.
    pub hi: f64,
    /// Traces.
    pub n: u64,
}

/// Data of a grouped bar chart: per view panel, per scenario, per mode.
#[derive(Clone, Debug)]
pub struct BarChart {
    /// Image title.
    pub title: String,
    /// Y axis description.
    pub y_desc: String,
    /// Group labels (x axis).
    pub scenarios: Vec<String>,
    /// Series labels (bars within a group).
    pub modes: Vec<String>,
    /// One panel per view: its name and values `[scenario][mode]`.
    pub panels: Vec<(String, Vec<Vec<Option<BarValue>>>)>,
    /// A remark drawn under the title (e.g. that M.S runs built their own baseline).
    pub note: Option<String>,
}

impl BarChart {
    /// The chart of `metric` (a ratio in 0..=1) from a comparison's summary.
    pub fn from_compare(result: &CompareResult, metric: &str, title: &str) -> Self {
        let (scenarios, mut modes, views) = result.axes();
        // M.R sweep points have their own chart (`mechanism::sweep_chart`).
        modes.retain(|m| {
            tracer_dataset::mode::Release::parse(m)
                .is_none_or(|r| r == tracer_dataset::mode::Release::default())
        });
        let panels = views
            .iter()
            .map(|v| {
                let values = scenarios
                    .iter()
                    .map(|s| {
                        modes
                            .iter()
                            .map(|m| {
                                let r = tidy::find(&result.summary, s, m, *v, metric)?;
                                Some(BarValue {
                                    mean: r.mean?,
                                    lo: r.ci_lo?,
                                    hi: r.ci_hi?,
                                    n: r.n,
                                })
                            })
                            .collect()
                    })
                    .collect();
                (format!("{v} view"), values)
            })
            .collect();
        Self {
            title: format!(
                "{title} (k = {}, baseline: M.S runs of the same scenario, {} view)",
                result.k, result.baseline_view
            ),
            y_desc: format!("{metric} (ratio, mean; bar = bootstrap 95% CI)"),
            scenarios,
            modes,
            panels,
            note: result.ms_scored_on_training_runs.then(|| {
                "M.S traces are the baseline's own training runs (--holdout leave-one-out scores them honestly)"
                    .to_string()
            }),
        }
    }
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
    right: i32,
    y: i32,
) -> DrawResult<DB> {
    let mut x = right;
    for (name, color) in entries.iter().rev() {
        let (w, _) = area.estimate_text_size(name, &font(18))?;
        x -= w as i32 + 40;
        area.draw(&Rectangle::new(
            [(x, y - 7), (x + 14, y + 7)],
            color.filled(),
        ))?;
        area.draw(&Text::new(
            name.clone(),
            (x + 20, y),
            font(18).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &BarChart,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let (head, body) = root.split_vertically(70);
    head.draw(&Text::new(
        chart.title.clone(),
        (w as i32 / 2, 18),
        font(22).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    let legend: Vec<(String, RGBColor)> = chart
        .modes
        .iter()
        .enumerate()
        .map(|(i, m)| (mode_name(m), PALETTE[i % PALETTE.len()]))
        .collect();
    draw_legend(&head, &legend, w as i32 - 20, 52)?;
    if let Some(note) = &chart.note {
        head.draw(&Text::new(
            note.clone(),
            (20, 52),
            font(15)
                .color(&RGBColor(90, 90, 90))
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    let n_s = chart.scenarios.len().max(1);
    let n_m = chart.modes.len().max(1);
    let panels = body.split_evenly((1, chart.panels.len().max(1)));
    for (area, (panel_name, values)) in panels.iter().zip(&chart.panels) {
        let mut c = ChartBuilder::on(area)
            .caption(panel_name, font(20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n_s as f64, 0f64..1.08f64)?;
        c.configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_label_formatter(&|_| String::new())
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.1}"))
            .y_desc(chart.y_desc.as_str())
            .x_desc("scenario")
            .axis_desc_style(font(16))
            .label_style(font(15))
            .draw()?;
        let slot = 0.8 / n_m as f64;
        for (si, per_mode) in values.iter().enumerate() {
            for (mi, v) in per_mode.iter().enumerate() {
                let Some(v) = v else { continue };
                let x0 = si as f64 + 0.1 + slot * mi as f64;
                let x1 = x0 + slot * 0.92;
                let xm = (x0 + x1) / 2.0;
                let color = PALETTE[mi % PALETTE.len()];
                c.draw_series(std::iter::once(Rectangle::new(
                    [(x0, 0.0), (x1, v.mean)],
                    color.filled(),
                )))?;
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(xm, v.lo), (xm, v.hi)],
                    BLACK.stroke_width(2),
                )))?;
                for y in [v.lo, v.hi] {
                    c.draw_series(std::iter::once(PathElement::new(
                        vec![(xm - slot * 0.15, y), (xm + slot * 0.15, y)],
                        BLACK.stroke_width(2),
                    )))?;
                }
                let top = c.backend_coord(&(xm, v.hi.max(v.mean)));
                let base = area.get_base_pixel();
                area.draw(&Text::new(
                    format!("{:.2}", v.mean),
                    (top.0 - base.0, top.1 - base.1 - 4),
                    font(14).pos(Pos::new(HPos::Center, VPos::Bottom)),
                ))?;
            }
        }
        let base = area.get_base_pixel();
        for (si, s) in chart.scenarios.iter().enumerate() {
            let p = c.backend_coord(&(si as f64 + 0.5, 0.0));
            area.draw(&Text::new(
                s.clone(),
                (p.0 - base.0, p.1 - base.1 + 8),
                font(17).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
    }
    Ok(())
}

/// Writes a grouped bar chart to `base.png` and `base.svg`.
pub fn bar_chart(chart: &BarChart, base: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    Ok(render_both!(base, BAR_CHART_SIZE, draw_bars(chart)))
}

/// Coverage per scenario, M.S vs M.R, per view (`base.png`, `base.svg`).
pub fn coverage_chart(result: &CompareResult, base: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let chart = BarChart::from_compare(
        result,
        "coverage",
        "Coverage: share of each trace's windows its baseline knows",
    );
    bar_chart(&chart, base)
}

/// Mismatch per scenario and mode, per view (`base.png`, `base.svg`).
pub fn mismatch_chart(result: &CompareResult, base: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let chart = BarChart::from_compare(
        result,
        "mismatch",
        "Behavioural mismatch: share of distinct windows the baseline lacks",
    );
    bar_chart(&chart, base)
}

fn heat_color(v: f64) -> RGBColor {
    let v = v.clamp(0.0, 1.0);
    let lerp = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * v).round() as u8;
    RGBColor(lerp(255, 165), lerp(247, 0), lerp(236, 38))
}

fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    m: &MismatchMatrix,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let n = m.scenarios.len().max(1) as f64;
    let mut c = ChartBuilder::on(root)
        .caption(
            format!("Cross-scenario mismatch ({} view, k = {})", m.view, m.k),
            font(22),
        )
        .margin(20)
        .x_label_area_size(70)
        .y_label_area_size(130)
        .build_cartesian_2d(0f64..n, 0f64..n)?;
    c.configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|_| String::new())
        .x_desc("baseline: profile of this scenario")
        .y_desc("scored: profile of this scenario")
        .axis_desc_style(font(16))
        .draw()?;
    let rows = m.scenarios.len();
    for i in 0..rows {
        for j in 0..rows {
            let y = (rows - 1 - i) as f64;
            let v = m.mismatch[i][j];
            let color = v.map_or(RGBColor(220, 220, 220), heat_color);
            c.draw_series(std::iter::once(Rectangle::new(
                [(j as f64, y), (j as f64 + 1.0, y + 1.0)],
                color.filled(),
            )))?;
            c.draw_series(std::iter::once(Rectangle::new(
                [(j as f64, y), (j as f64 + 1.0, y + 1.0)],
                WHITE.stroke_width(2),
            )))?;
            let text_color = if v.unwrap_or(0.0) > 0.55 {
                WHITE
            } else {
                BLACK
            };
            c.draw_series(std::iter::once(Text::new(
                v.map_or("-".into(), |v| format!("{v:.2}")),
                (j as f64 + 0.5, y + 0.5),
                font(20)
                    .color(&text_color)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )))?;
        }
    }
    for (k, s) in m.scenarios.iter().enumerate() {
        let px = c.backend_coord(&(k as f64 + 0.5, 0.0));
        root.draw(&Text::new(
            s.clone(),
            (px.0, px.1 + 8),
            font(16).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        let py = c.backend_coord(&(0.0, (rows - 1 - k) as f64 + 0.5));
        root.draw(&Text::new(
            s.clone(),
            (py.0 - 8, py.1),
            font(16).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// The cross-scenario mismatch matrix as a heatmap (`base.png`, `base.svg`).
pub fn matrix_heatmap(m: &MismatchMatrix, base: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    Ok(render_both!(base, HEATMAP_SIZE, draw_heatmap(m)))
}

/// Most points drawn per series; longer timelines are binned keeping each bin's maximum.
const MAX_POINTS: usize = 3000;

fn draw_timeline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: &Timeline,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let counts = t.frame_counts();
    let n = counts.len().max(1);
    let bin = n.div_ceil(MAX_POINTS).max(1);
    let frame = t.frame as f64;
    let lfc = counts.iter().copied().max().unwrap_or(0);
    let mut c = ChartBuilder::on(root)
        .caption(
            format!(
                "Mismatch over time: run {} ({} / {}), {} view vs {} baseline of {} (k = {})",
                t.run_id,
                t.scenario,
                mode_name(&t.mode),
                t.view,
                t.baseline_view,
                t.scenario,
                t.metrics.k
            ),
            font(20),
        )
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..n as f64, -0.12 * frame..frame * 1.5)?;
    c.configure_mesh()
        .x_desc("window index (windows in the order they complete)")
        .y_desc(format!("unknown windows in the last {}", t.frame))
        .axis_desc_style(font(16))
        .label_style(font(14))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| {
            if *v < 0.0 || *v > frame {
                String::new()
            } else {
                format!("{v:.0}")
            }
        })
        .draw()?;
    // Rug: one red tick per bin holding an unknown window.
    let rug = t
        .unknown
        .chunks(bin)
        .enumerate()
        .filter(|(_, c)| c.iter().any(|u| *u))
        .map(|(i, _)| {
            let x = (i * bin) as f64;
            Rectangle::new(
                [(x, -0.11 * frame), (x + bin as f64, -0.02 * frame)],
                RGBColor(214, 39, 40).filled(),
            )
        });
    c.draw_series(rug)?
        .label("unknown window (to the baseline)")
        .legend(|(x, y)| {
            Rectangle::new(
                [(x, y - 6), (x + 12, y + 6)],
                RGBColor(214, 39, 40).filled(),
            )
        });
    let line: Vec<(f64, f64)> = counts
        .chunks(bin)
        .enumerate()
        .map(|(i, c)| ((i * bin) as f64, f64::from(*c.iter().max().unwrap_or(&0))))
        .collect();
    let label = if bin > 1 {
        format!(
            "unknown windows in the last {} (locality frame), max per {bin} windows",
            t.frame
        )
    } else {
        format!("unknown windows in the last {} (locality frame)", t.frame)
    };
    // Thick polylines get miter spikes at sharp zig-zags, which would draw values that are not
    // there: dense lines (more points than about a pixel each) are drawn one pixel wide.
    let width = if n > 1000 { 1 } else { 2 };
    c.draw_series(LineSeries::new(line, PALETTE[0].stroke_width(width)))?
        .label(label)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[0].stroke_width(2)));
    if bin > 1 {
        // A long trace: the bin maximum saturates easily, the bin mean shows the level.
        let mean: Vec<(f64, f64)> = counts
            .chunks(bin)
            .enumerate()
            .map(|(i, c)| {
                let sum: u64 = c.iter().map(|v| u64::from(*v)).sum();
                ((i * bin) as f64, sum as f64 / c.len() as f64)
            })
            .collect();
        let color = PALETTE[1];
        c.draw_series(LineSeries::new(mean, color.stroke_width(1)))?
            .label(format!("the same, mean per {bin} windows"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    c.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, f64::from(lfc)), (n as f64, f64::from(lfc))],
        BLACK.stroke_width(1),
    )))?
    .label(format!(
        "locality frame count = {lfc}; mismatch = {}; coverage = {}",
        crate::matrix::fmt_opt(t.metrics.mismatch),
        crate::matrix::fmt_opt(t.metrics.coverage)
    ))
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1)));
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(font(15))
        .draw()?;
    Ok(())
}

/// Mismatch over time for one trace (`base.png`, `base.svg`).
pub fn timeline_chart(t: &Timeline, base: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    Ok(render_both!(base, TIMELINE_SIZE, draw_timeline(t)))
}

/// The views a chart shows, in order.
pub fn views_of(result: &CompareResult) -> &[View] {
    &result.views
}

/// Reads width and height from a PNG file's IHDR chunk.
pub fn png_size(path: &Path) -> Result<(u32, u32), AnalysisError> {
    let bytes = std::fs::read(path).map_err(|e| AnalysisError::io("reading", path, e))?;
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return Err(plot_err(path, "not a PNG file"));
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Ok((be(&bytes[16..20]), be(&bytes[20..24])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        compare::{CompareConfig, run},
        synth::{ExperimentSpec, write_experiment},
    };

    #[test]
    fn plots_render_with_the_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        write_experiment(
            dir.path(),
            &ExperimentSpec {
                reps: 1,
                ..Default::default()
            },
        )
        .unwrap();
        let cfg = CompareConfig {
            inputs: vec![dir.path().display().to_string()],
            ..Default::default()
        };
        let mut r = run(&cfg).unwrap();
        let out = dir.path().join("plots");
        std::fs::create_dir_all(&out).unwrap();
        let mut files = coverage_chart(&r, &out.join("c")).unwrap();
        files.extend(matrix_heatmap(&r.matrix, &out.join("m")).unwrap());
        let run_id = r
            .most_anomalous_trace(View::Interleaved)
            .unwrap()
            .run_id
            .clone();
        let t = r.timeline(&run_id, View::Interleaved).unwrap();
        assert_eq!(t.unknown.len() as u64, t.metrics.windows);
        files.extend(timeline_chart(&t, &out.join("t")).unwrap());
        assert_eq!(files.len(), 6);
        assert_eq!(png_size(&out.join("c.png")).unwrap(), BAR_CHART_SIZE);
        assert_eq!(png_size(&out.join("m.png")).unwrap(), HEATMAP_SIZE);
        assert_eq!(png_size(&out.join("t.png")).unwrap(), TIMELINE_SIZE);
        for f in files {
            assert!(
                std::fs::metadata(&f).unwrap().len() > 2000,
                "{} is nearly empty",
                f.display()
            );
        }
        assert!(png_size(&out.join("c.svg")).is_err());
    }
}
