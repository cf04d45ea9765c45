//! The `runs` table: one row of labels per run of an imported dataset (split, normal or attack,
//! attack family, the part of the distribution, the exploit's start), joinable with the
//! `syscalls` and `processes` tables on `run_id` (docs/DESIGN.md, "Data contract"). Small, so
//! the writer keeps its rows until `close`; the reader returns them whole.

use std::{
    fs::File,
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, StringArray, TimestampNanosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Int64Type, TimeUnit, UInt64Type};
use parquet::{
    arrow::{ArrowWriter, arrow_reader::ParquetRecordBatchReaderBuilder},
    file::metadata::KeyValue,
};

use crate::{
    rows::ReadError,
    schema::{self, col, runs_schema},
    sink::{RunInfo, SinkError, base_metadata, run_label_column, writer_properties},
};

/// The labels of one run: one row of the `runs` table.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunLabels {
    /// The run.
    pub run_id: String,
    /// The dataset (`adfa-ld`, `unm`, `lid-ds`).
    pub source: String,
    /// The run's `scenario` in the syscalls table.
    pub scenario: Option<String>,
    /// `training`, `validation` or `test` (`schema::value`); `None` where the dataset has none.
    pub split: Option<String>,
    /// `normal` or `attack` (`schema::value`); `None` when the distribution does not say.
    pub label: Option<String>,
    /// Attack family of an attack run.
    pub attack: Option<String>,
    /// The part of the distribution: a LID-DS scenario, a UNM set.
    pub subset: Option<String>,
    /// The trace's path in the distribution as given (through archives).
    pub origin: String,
    /// Rows of the run in the syscalls table.
    pub calls: u64,
    /// Start of the (first) exploit, ns since the Unix epoch.
    pub exploit_start_ns: Option<i64>,
    /// End of the recording's warm-up, ns since the Unix epoch.
    pub warmup_end_ns: Option<i64>,
    /// When the recorded containers were ready, ns since the Unix epoch.
    pub container_ready_ns: Option<i64>,
}

/// Writer of one `runs` file.
pub struct RunsSink {
    path: PathBuf,
    file: File,
    metadata: Vec<KeyValue>,
    rows: Vec<RunLabels>,
}

impl RunsSink {
    /// Creates `path` (truncating it) for the labels of runs of `source`.
    pub fn create(
        path: &Path,
        source: &str,
        metadata: &[(String, String)],
    ) -> Result<Self, SinkError> {
        let file = File::create(path).map_err(|source| SinkError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let run = RunInfo {
            source: source.to_string(),
            ..RunInfo::default()
        };
        let mut kv = base_metadata(schema::table::RUNS, &run, false);
        kv.extend(
            metadata
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        );
        Ok(Self {
            path: path.to_path_buf(),
            file,
            metadata: kv,
            rows: Vec::new(),
        })
    }

    /// Appends the labels of one run.
    pub fn push(&mut self, row: RunLabels) {
        self.rows.push(row);
    }

    /// Adds a footer key-value pair.
    pub fn add_metadata(&mut self, key: &str, value: impl Into<String>) {
        self.metadata
            .push(KeyValue::new(key.to_string(), value.into()));
    }

    /// Writes all rows and the footer. Returns the number of rows.
    pub fn close(self) -> Result<u64, SinkError> {
        let Self {
            path,
            file,
            mut metadata,
            rows,
        } = self;
        metadata.push(KeyValue::new(
            schema::meta::RUNS.into(),
            rows.len().to_string(),
        ));
        let keys: Vec<i32> = (0..rows.len() as i32).collect();
        let label = |f: fn(&RunLabels) -> Option<&str>| run_label_column(&rows, &keys, f);
        let time = |f: fn(&RunLabels) -> Option<i64>| -> ArrayRef {
            Arc::new(TimestampNanosecondArray::from_iter(rows.iter().map(f)).with_timezone("UTC"))
        };
        let columns: Vec<ArrayRef> = vec![
            label(|r| Some(r.run_id.as_str())),
            label(|r| Some(r.source.as_str())),
            label(|r| r.scenario.as_deref()),
            label(|r| r.split.as_deref()),
            label(|r| r.label.as_deref()),
            label(|r| r.attack.as_deref()),
            label(|r| r.subset.as_deref()),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.origin.as_str()),
            )),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.calls))),
            time(|r| r.exploit_start_ns),
            time(|r| r.warmup_end_ns),
            time(|r| r.container_ready_ns),
        ];
        let batch =
            RecordBatch::try_new(runs_schema(), columns).map_err(|source| SinkError::Arrow {
                path: path.clone(),
                source,
            })?;
        let parquet_err = |source| SinkError::Parquet {
            path: path.clone(),
            source,
        };
        let mut writer =
            ArrowWriter::try_new(file, runs_schema(), Some(writer_properties(metadata)))
                .map_err(parquet_err)?;
        writer.write(&batch).map_err(parquet_err)?;
        writer.close().map_err(parquet_err)?;
        Ok(rows.len() as u64)
    }
}

/// Every row of a `runs` file, in file order.
pub fn read_runs(path: &Path) -> Result<Vec<RunLabels>, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let pq = |source| ReadError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(pq)?
        .build()
        .map_err(pq)?;
    let arrow = |source| ReadError::Arrow {
        path: path.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(arrow)?;
        let column = |name: &'static str, to: &DataType| -> Result<ArrayRef, ReadError> {
            let c = batch.column_by_name(name).ok_or(ReadError::Column {
                path: path.to_path_buf(),
                column: name,
                problem: "is missing",
            })?;
            arrow::compute::cast(c, to).map_err(arrow)
        };
        let strings = |name| -> Result<Vec<Option<String>>, ReadError> {
            let c = column(name, &DataType::Utf8)?;
            let s = c.as_string::<i32>();
            Ok((0..s.len())
                .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
                .collect())
        };
        let times = |name| -> Result<Vec<Option<i64>>, ReadError> {
            let c = column(name, &DataType::Timestamp(TimeUnit::Nanosecond, None))?;
            let c = arrow::compute::cast(&c, &DataType::Int64).map_err(arrow)?;
            let a = c.as_primitive::<Int64Type>();
            Ok((0..a.len())
                .map(|i| a.is_valid(i).then(|| a.value(i)))
                .collect())
        };
        let (run_id, source, scenario) = (
            strings(col::RUN_ID)?,
            strings(col::SOURCE)?,
            strings(col::SCENARIO)?,
        );
        let (split, label, attack, subset) = (
            strings(col::SPLIT)?,
            strings(col::LABEL)?,
            strings(col::ATTACK)?,
            strings(col::SUBSET)?,
        );
        let origin = strings(col::ORIGIN)?;
        let calls = column(col::CALLS, &DataType::UInt64)?;
        let calls = calls.as_primitive::<UInt64Type>();
        let (exploit, warmup, ready) = (
            times(col::EXPLOIT_START_NS)?,
            times(col::WARMUP_END_NS)?,
            times(col::CONTAINER_READY_NS)?,
        );
        for i in 0..batch.num_rows() {
            out.push(RunLabels {
                run_id: run_id[i].clone().unwrap_or_default(),
                source: source[i].clone().unwrap_or_default(),
                scenario: scenario[i].clone(),
                split: split[i].clone(),
                label: label[i].clone(),
                attack: attack[i].clone(),
                subset: subset[i].clone(),
                origin: origin[i].clone().unwrap_or_default(),
                calls: calls.value(i),
                exploit_start_ns: exploit[i],
                warmup_end_ns: warmup[i],
                container_ready_ns: ready[i],
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_back_as_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.parquet");
        let rows = vec![
            RunLabels {
                run_id: "a".into(),
                source: "lid-ds".into(),
                scenario: Some("attack:x".into()),
                split: Some("test".into()),
                label: Some("attack".into()),
                attack: Some("x".into()),
                subset: Some("X".into()),
                origin: "X/test/a.zip".into(),
                calls: 7,
                exploit_start_ns: Some(1_666_346_786_690_099_000),
                warmup_end_ns: Some(5),
                container_ready_ns: None,
            },
            RunLabels {
                run_id: "b".into(),
                source: "lid-ds".into(),
                origin: "b.sc".into(),
                ..RunLabels::default()
            },
        ];
        let mut sink = RunsSink::create(&path, "lid-ds", &[]).expect("create");
        for r in rows.clone() {
            sink.push(r);
        }
        assert_eq!(sink.close().expect("close"), 2);
        assert_eq!(read_runs(&path).expect("read"), rows);
        let md = crate::rows::metadata(&path).expect("md");
        assert_eq!(md[schema::meta::TABLE], schema::table::RUNS);
        assert_eq!(md[schema::meta::RUNS], "2");
    }
}
