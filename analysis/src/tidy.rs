//! The tidy summary table: one row per scenario x mode x view x metric with mean, its bootstrap
//! 95% confidence interval, min, max and n, and its Parquet, CSV and markdown forms.

use std::{collections::BTreeMap, fs::File, path::Path, sync::Arc};

use arrow::{
    array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array},
    datatypes::{DataType, Field, Schema},
};
use parquet::{arrow::ArrowWriter, basic::Compression, file::properties::WriterProperties};

use crate::{
    error::AnalysisError,
    metrics::{METRIC_NAMES, TraceMetrics},
    stats,
    view::View,
};

/// Label for a missing scenario or mode.
pub const NONE_LABEL: &str = "(none)";

/// Summary of one metric over the traces of one scenario, mode and view.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SummaryRow {
    /// Scenario of the traces.
    pub scenario: String,
    /// Mode of the traces.
    pub mode: String,
    /// View the traces were windowed in.
    pub view: View,
    /// View the baseline was built in.
    pub baseline_view: View,
    /// Metric name (see `metrics::METRIC_NAMES`).
    pub metric: String,
    /// Mean over the traces where the metric is defined.
    pub mean: Option<f64>,
    /// Minimum.
    pub min: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
    /// Traces where the metric is defined.
    pub n: u64,
    /// Whether the traces are the baseline's own training runs (resubstitution).
    pub resubstitution: bool,
    /// Lower bound of the bootstrap 95% confidence interval of the mean.
    pub ci_lo: Option<f64>,
    /// Upper bound of that interval.
    pub ci_hi: Option<f64>,
}

/// Confidence level of the summary's intervals.
pub const CI_LEVEL: f64 = 0.95;

/// `label` or `(none)`.
pub fn label(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| NONE_LABEL.to_string())
}

/// Summarises `traces` per scenario, mode and view; `is_training(run_id)` marks resubstitution.
/// The intervals' resamples are drawn from `seed` and the group's labels (`stats::seed_for`).
pub fn summarize(
    traces: &[TraceMetrics],
    is_training: impl Fn(&str) -> bool,
    seed: u64,
) -> Vec<SummaryRow> {
    let mut groups: BTreeMap<(String, String, View, bool), Vec<&TraceMetrics>> = BTreeMap::new();
    for t in traces {
        groups
            .entry((
                label(&t.scenario),
                label(&t.mode),
                t.view,
                is_training(&t.run_id),
            ))
            .or_default()
            .push(t);
    }
    let mut rows = Vec::new();
    for ((scenario, mode, view, resubstitution), ts) in groups {
        for metric in METRIC_NAMES {
            let values: Vec<f64> = ts.iter().filter_map(|t| t.metric(metric)).collect();
            let n = values.len();
            let view_name = view.to_string();
            let ci = stats::bootstrap_mean_ci(
                &values,
                CI_LEVEL,
                stats::seed_for(seed, &[&scenario, &mode, &view_name, metric]),
            );
            rows.push(SummaryRow {
                scenario: scenario.clone(),
                mode: mode.clone(),
                view,
                baseline_view: ts[0].baseline_view,
                metric: metric.to_string(),
                mean: (n > 0).then(|| values.iter().sum::<f64>() / n as f64),
                min: values.iter().copied().reduce(f64::min),
                max: values.iter().copied().reduce(f64::max),
                n: n as u64,
                resubstitution,
                ci_lo: ci.map(|c| c.lo),
                ci_hi: ci.map(|c| c.hi),
            });
        }
    }
    rows
}

/// The row of `rows` for these keys, if any.
pub fn find<'a>(
    rows: &'a [SummaryRow],
    scenario: &str,
    mode: &str,
    view: View,
    metric: &str,
) -> Option<&'a SummaryRow> {
    rows.iter()
        .find(|r| r.scenario == scenario && r.mode == mode && r.view == view && r.metric == metric)
}

/// Writes `rows` as Parquet to `path`.
pub fn write_parquet(rows: &[SummaryRow], path: &Path) -> Result<(), AnalysisError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("scenario", DataType::Utf8, false),
        Field::new("mode", DataType::Utf8, false),
        Field::new("view", DataType::Utf8, false),
        Field::new("baseline_view", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("mean", DataType::Float64, true),
        Field::new("min", DataType::Float64, true),
        Field::new("max", DataType::Float64, true),
        Field::new("n", DataType::UInt64, false),
        Field::new("resubstitution", DataType::Boolean, false),
        Field::new("ci_lo", DataType::Float64, true),
        Field::new("ci_hi", DataType::Float64, true),
    ]));
    let strings = |f: &dyn Fn(&SummaryRow) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let floats = |f: &dyn Fn(&SummaryRow) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from_iter(rows.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        strings(&|r| r.scenario.clone()),
        strings(&|r| r.mode.clone()),
        strings(&|r| r.view.to_string()),
        strings(&|r| r.baseline_view.to_string()),
        strings(&|r| r.metric.clone()),
        floats(&|r| r.mean),
        floats(&|r| r.min),
        floats(&|r| r.max),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.n))),
        Arc::new(BooleanArray::from_iter(
            rows.iter().map(|r| Some(r.resubstitution)),
        )),
        floats(&|r| r.ci_lo),
        floats(&|r| r.ci_hi),
    ];
    let arrow = |source| AnalysisError::Arrow {
        path: path.to_path_buf(),
        source,
    };
    let pq = |source| AnalysisError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(arrow)?;
    let file = File::create(path).map_err(|e| AnalysisError::io("creating", path, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!(
            "syscall-tracer analysis {}",
            env!("CARGO_PKG_VERSION")
        ))
        .build();
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(pq)?;
    w.write(&batch).map_err(pq)?;
    w.close().map_err(pq)?;
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_num(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v}"))
}

/// `rows` as CSV with a header line.
pub fn to_csv(rows: &[SummaryRow]) -> String {
    let mut s = String::from(
        "scenario,mode,view,baseline_view,metric,mean,min,max,n,resubstitution,ci_lo,ci_hi\n",
    );
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&r.scenario),
            csv_field(&r.mode),
            r.view,
            r.baseline_view,
            r.metric,
            csv_num(r.mean),
            csv_num(r.min),
            csv_num(r.max),
            r.n,
            r.resubstitution,
            csv_num(r.ci_lo),
            csv_num(r.ci_hi)
        ));
    }
    s
}

/// Per-trace metrics as CSV.
pub fn traces_csv(traces: &[TraceMetrics]) -> String {
    let o = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v}"));
    let mut s = String::from(
        "run_id,source,scenario,mode,view,baseline,baseline_view,k,frame,calls,sequences,short_sequences,short_sequence_calls,windows,distinct_windows,known_windows,unknown_distinct_windows,profile_distinct_windows,coverage,mismatch,locality_frame_count,jaccard_distance,hamming_max,hamming_mean,hamming_windows_measured,distinct_windows_exact\n",
    );
    for t in traces {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            t.run_id,
            t.source,
            label(&t.scenario),
            label(&t.mode),
            t.view,
            t.baseline,
            t.baseline_view,
            t.k,
            t.frame,
            t.calls,
            t.sequences,
            t.short_sequences,
            t.short_sequence_calls,
            t.windows,
            t.distinct_windows,
            t.known_windows,
            t.unknown_distinct_windows,
            t.profile_distinct_windows,
            o(t.coverage),
            o(t.mismatch),
            t.locality_frame_count,
            o(t.jaccard_distance),
            o(t.hamming_max),
            o(t.hamming_mean),
            t.hamming_windows_measured,
            t.distinct_windows_exact
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(run: &str, mode: &str, coverage: Option<f64>) -> TraceMetrics {
        TraceMetrics {
            run_id: run.into(),
            source: "test".into(),
            scenario: Some("recon".into()),
            mode: Some(mode.into()),
            view: View::Interleaved,
            baseline: "recon".into(),
            baseline_view: View::Thread,
            k: 6,
            frame: 20,
            calls: 10,
            sequences: 1,
            short_sequences: 0,
            short_sequence_calls: 0,
            windows: 5,
            distinct_windows: 5,
            known_windows: 5,
            unknown_distinct_windows: 0,
            distinct_windows_exact: true,
            profile_distinct_windows: 9,
            coverage,
            mismatch: Some(0.0),
            locality_frame_count: 0,
            jaccard_distance: Some(0.5),
            hamming_max: Some(0.0),
            hamming_mean: None,
            hamming_windows_measured: 0,
            timeline: None,
        }
    }

    #[test]
    fn summary_by_hand_and_csv() {
        let traces = vec![
            trace("a", "mr", Some(0.5)),
            trace("b", "mr", Some(1.0)),
            trace("c", "mr", None),
            trace("d", "ms", Some(0.25)),
        ];
        let rows = summarize(&traces, |r| r == "d", 0);
        let mr = find(&rows, "recon", "mr", View::Interleaved, "coverage").unwrap();
        assert_eq!(
            (mr.mean, mr.min, mr.max, mr.n),
            (Some(0.75), Some(0.5), Some(1.0), 2)
        );
        assert!(!mr.resubstitution);
        let ms = find(&rows, "recon", "ms", View::Interleaved, "coverage").unwrap();
        assert_eq!((ms.mean, ms.n, ms.resubstitution), (Some(0.25), 1, true));
        let hm = find(&rows, "recon", "mr", View::Interleaved, "hamming_mean").unwrap();
        assert_eq!((hm.mean, hm.n), (None, 0));
        assert_eq!(rows.len(), 2 * METRIC_NAMES.len());
        let csv = to_csv(&rows);
        assert!(
            csv.contains("recon,mr,interleaved,thread,coverage,0.75,0.5,1,2,false,0.5,1\n"),
            "{csv}"
        );
        let dir = tempfile::tempdir().unwrap();
        write_parquet(&rows, &dir.path().join("s.parquet")).unwrap();
    }
}
