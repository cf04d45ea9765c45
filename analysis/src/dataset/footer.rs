//! What a `syscalls` file's footer says before any row is read: its table, its row count, and
//! when it can be proven, its only run's labels and the columns that hold one value throughout.
//!
//! Why: a dataset of thousands of short traces (ADFA-LD imports one file per trace) spends its
//! time in per-file work, not per-row work. `Dataset::open` decodes each footer once anyway (to
//! tell `syscalls` files from `processes` files); keeping these few facts lets every later scan
//! skip a file whose run is not selected without opening it again, read a selected one without
//! the label columns, and drop columns whose value is constant (`pid`, `tid` of a
//! single-process trace).
//!
//! The only run is proven by the label columns' statistics (exact minimum equal to exact
//! maximum, no nulls, or all nulls) or, for files this project's sink wrote (`meta::TABLE` set,
//! no `meta::RUNS`), by the footer's run keys when the (possibly truncated) statistics agree with
//! them. Footers are decoded without the statistics of other columns, encoding and size
//! statistics, which the reader does not need.

use std::{cell::OnceCell, fs::File, path::Path, sync::Arc};

use parquet::{
    errors::ParquetError,
    file::{
        metadata::{
            ParquetMetaData, ParquetMetaDataOptions, ParquetMetaDataReader, ParquetStatisticsPolicy,
        },
        reader::ChunkReader,
        statistics::Statistics,
    },
    schema::types::SchemaDescPtr,
};
use tracer_dataset::{SCHEMA_VERSION, col, layout, meta};

use super::select::RunMeta;
use crate::error::AnalysisError;

/// Leaf columns of this project's `syscalls` schema whose statistics the summary uses:
/// run_id, source, scenario, mode, pid, tid.
const STATS_COLUMNS: [usize; 6] = [0, 1, 2, 3, 7, 8];

/// Footer decoding options: statistics of `STATS_COLUMNS` only.
pub fn metadata_options() -> ParquetMetaDataOptions {
    ParquetMetaDataOptions::new()
        .with_column_stats_policy(ParquetStatisticsPolicy::skip_except(&STATS_COLUMNS))
        .with_encoding_stats_policy(ParquetStatisticsPolicy::SkipAll)
        .with_size_stats_policy(ParquetStatisticsPolicy::SkipAll)
}

/// Decodes the footer of `reader` (the file `path`).
pub fn read_metadata<R: ChunkReader>(
    reader: &R,
    path: &Path,
) -> Result<ParquetMetaData, AnalysisError> {
    FooterReader::default().read(reader, path)
}

/// Whether a decoded footer is one of this project's `syscalls` files of this schema version.
fn is_own(md: &ParquetMetaData) -> bool {
    kv(md, meta::TABLE).is_some()
        && kv(md, meta::SCHEMA_VERSION) == Some(SCHEMA_VERSION)
        && md
            .file_metadata()
            .schema_descr()
            .root_schema()
            .get_fields()
            .len()
            == tracer_dataset::syscalls_schema().fields().len()
}

/// Decodes footers, reusing the decoded schema of this project's files.
///
/// Decoding the schema is about 40 % of a footer's cost, and every file of this project with
/// one schema version has the same one. After the first such file, footers are decoded with
/// its schema supplied; one that fails to decode with it, or turns out not to be such a file
/// (`meta::TABLE`, `meta::SCHEMA_VERSION`), is decoded again in full.
#[derive(Clone, Debug, Default)]
pub struct FooterReader {
    own_schema: OnceCell<SchemaDescPtr>,
}

impl FooterReader {
    fn decode<R: ChunkReader>(&self, reader: &R) -> Result<ParquetMetaData, ParquetError> {
        if let Some(schema) = self.own_schema.get()
            && let Ok(md) = ParquetMetaDataReader::new()
                .with_metadata_options(Some(metadata_options().with_schema(Arc::clone(schema))))
                .parse_and_finish(reader)
            && is_own(&md)
        {
            return Ok(md);
        }
        let md = ParquetMetaDataReader::new()
            .with_metadata_options(Some(metadata_options()))
            .parse_and_finish(reader)?;
        if is_own(&md) {
            let _ = self.own_schema.set(md.file_metadata().schema_descr_ptr());
        }
        Ok(md)
    }

    /// Decodes the footer of `reader` (the file `path`).
    pub fn read<R: ChunkReader>(
        &self,
        reader: &R,
        path: &Path,
    ) -> Result<ParquetMetaData, AnalysisError> {
        self.decode(reader)
            .map_err(|source| AnalysisError::Parquet {
                path: path.to_path_buf(),
                source,
            })
    }

    /// The table of `path` and, for a `syscalls` file, its summary; `None`: not a Parquet
    /// file.
    pub fn inspect(&self, path: &Path) -> Result<Option<(String, FileSummary)>, AnalysisError> {
        let file = File::open(path).map_err(|e| AnalysisError::io("opening", path, e))?;
        // As `layout::table_of`: a file whose footer does not decode is not a Parquet file.
        let Ok(md) = self.decode(&file) else {
            return Ok(None);
        };
        let table = layout::table_of_metadata(md.file_metadata());
        Ok(Some((table, summarise(&md))))
    }
}

/// The facts of one `syscalls` file the reader keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// Rows in the file.
    pub rows: u64,
    /// The labels of the file's only run, when the footer proves there is one.
    pub single_run: Option<RunMeta>,
    /// `pid` when every row has this one.
    pub constant_pid: Option<i32>,
    /// `tid` when every row has this one.
    pub constant_tid: Option<i32>,
    /// `source` when every row has this one.
    pub constant_source: Option<String>,
    /// `scenario` when every row has this one (`Some(None)`: null in every row).
    pub constant_scenario: Option<Option<String>>,
    /// `mode` when every row has this one (`Some(None)`: null in every row).
    pub constant_mode: Option<Option<String>>,
    /// Written by this project's sink with this schema version: the reader can use the known
    /// Arrow schema instead of decoding the one stored in the footer.
    pub own_schema: bool,
}

/// The table of `path` and, for a `syscalls` file, its summary; `None`: not a Parquet file.
pub fn inspect(path: &Path) -> Result<Option<(String, FileSummary)>, AnalysisError> {
    FooterReader::default().inspect(path)
}

fn kv<'a>(md: &'a ParquetMetaData, key: &str) -> Option<&'a str> {
    md.file_metadata()
        .key_value_metadata()?
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_deref()
}

/// What one column's statistics prove about its values over the whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Single {
    /// Every row holds these bytes.
    Value(Vec<u8>),
    /// Every row is null.
    Null,
    /// Not proven: several values, missing or truncated statistics, or a mix of nulls.
    Unknown,
}

/// Folds the statistics of leaf column `index` over every row group.
fn single(md: &ParquetMetaData, index: usize) -> Single {
    let mut out: Option<Single> = None;
    for rg in md.row_groups() {
        let Some(stats) = rg.columns().get(index).and_then(|c| c.statistics()) else {
            return Single::Unknown;
        };
        let rows = rg.num_rows() as u64;
        let nulls = stats.null_count_opt();
        let this = if nulls == Some(rows) && rows > 0 {
            Single::Null
        } else if nulls == Some(0)
            && stats.min_is_exact()
            && stats.max_is_exact()
            && stats.min_bytes_opt().is_some()
            && stats.min_bytes_opt() == stats.max_bytes_opt()
        {
            Single::Value(stats.min_bytes_opt().unwrap_or_default().to_vec())
        } else {
            return Single::Unknown;
        };
        match &out {
            None => out = Some(this),
            Some(prev) if *prev == this => {}
            Some(_) => return Single::Unknown,
        }
    }
    out.unwrap_or(Single::Unknown)
}

/// Whether the (possibly truncated) statistics of leaf `index` allow every value to be `value`.
fn stats_allow(md: &ParquetMetaData, index: usize, value: Option<&str>) -> bool {
    md.row_groups().iter().all(|rg| {
        let Some(stats) = rg.columns().get(index).and_then(|c| c.statistics()) else {
            return false;
        };
        let rows = rg.num_rows() as u64;
        match value {
            None => stats.null_count_opt() == Some(rows),
            Some(v) => {
                let v = v.as_bytes();
                stats.null_count_opt() == Some(0)
                    && stats.min_bytes_opt().is_some_and(|m| m <= v)
                    && stats.max_bytes_opt().is_some_and(|m| m >= v)
            }
        }
    })
}

/// The leaf index of top-level column `name`, when it is a plain leaf.
fn leaf(md: &ParquetMetaData, name: &str) -> Option<usize> {
    md.file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.path().parts() == [name])
}

fn single_string(md: &ParquetMetaData, name: &str) -> Option<Option<String>> {
    match single(md, leaf(md, name)?) {
        Single::Value(v) => String::from_utf8(v).ok().map(Some),
        Single::Null => Some(None),
        Single::Unknown => None,
    }
}

fn single_i32(md: &ParquetMetaData, name: &str) -> Option<i32> {
    let index = leaf(md, name)?;
    let mut value = None;
    for rg in md.row_groups() {
        let Some(Statistics::Int32(s)) = rg.columns().get(index).and_then(|c| c.statistics())
        else {
            return None;
        };
        let (Some(lo), Some(hi)) = (s.min_opt(), s.max_opt()) else {
            return None;
        };
        if lo != hi || s.null_count_opt() != Some(0) || value.is_some_and(|v| v != *lo) {
            return None;
        }
        value = Some(*lo);
    }
    value
}

/// The labels of the only run, proven by the label statistics.
fn run_from_stats(md: &ParquetMetaData) -> Option<RunMeta> {
    Some(RunMeta {
        run_id: single_string(md, col::RUN_ID)??,
        source: single_string(md, col::SOURCE)??,
        scenario: single_string(md, col::SCENARIO)?,
        mode: single_string(md, col::MODE)?,
    })
}

/// The labels of the only run of a file this project's sink wrote, from the footer's run keys,
/// checked against the label statistics (which may be truncated).
fn run_from_sink_keys(md: &ParquetMetaData) -> Option<RunMeta> {
    kv(md, meta::TABLE)?;
    if kv(md, meta::RUNS).is_some() {
        return None;
    }
    let run = RunMeta {
        run_id: kv(md, meta::RUN_ID)?.to_string(),
        source: kv(md, meta::SOURCE)?.to_string(),
        scenario: kv(md, meta::SCENARIO).map(str::to_string),
        mode: kv(md, meta::MODE).map(str::to_string),
    };
    let agree = [
        (col::RUN_ID, Some(run.run_id.as_str())),
        (col::SOURCE, Some(run.source.as_str())),
        (col::SCENARIO, run.scenario.as_deref()),
        (col::MODE, run.mode.as_deref()),
    ]
    .iter()
    .all(|(name, value)| leaf(md, name).is_some_and(|i| stats_allow(md, i, *value)));
    agree.then_some(run)
}

/// The summary of a decoded `syscalls` footer.
pub fn summarise(md: &ParquetMetaData) -> FileSummary {
    let rows = md.file_metadata().num_rows().max(0) as u64;
    let single_run = if rows == 0 {
        None
    } else {
        run_from_stats(md).or_else(|| run_from_sink_keys(md))
    };
    let own_schema = kv(md, meta::TABLE).is_some()
        && kv(md, meta::SCHEMA_VERSION) == Some(SCHEMA_VERSION)
        && md
            .file_metadata()
            .schema_descr()
            .root_schema()
            .get_fields()
            .len()
            == tracer_dataset::syscalls_schema().fields().len();
    FileSummary {
        rows,
        single_run,
        constant_pid: single_i32(md, col::PID),
        constant_tid: single_i32(md, col::TID),
        constant_source: single_string(md, col::SOURCE).flatten(),
        constant_scenario: single_string(md, col::SCENARIO),
        constant_mode: single_string(md, col::MODE),
        own_schema,
    }
}

#[cfg(test)]
mod tests {
    use tracer_dataset::{RunInfo, SyscallRow, SyscallSink};

    use super::*;

    fn write(path: &Path, runs: &[(&str, Option<&str>, i32)]) {
        let info = |id: &str, scenario: Option<&str>| RunInfo {
            run_id: id.into(),
            source: "test".into(),
            scenario: scenario.map(Into::into),
            mode: None,
        };
        let mut sink = SyscallSink::create(path, info(runs[0].0, runs[0].1), &[]).expect("create");
        for (i, (id, scenario, tid)) in runs.iter().enumerate() {
            if i > 0 {
                sink.next_run(info(id, *scenario)).expect("next run");
            }
            for seq in 0..3 {
                sink.push(&SyscallRow {
                    seq,
                    pid: 1,
                    tid: *tid,
                    syscall: "read",
                    ..SyscallRow::default()
                })
                .expect("push");
            }
        }
        sink.close().expect("close");
    }

    fn summary(path: &Path) -> FileSummary {
        let (table, s) = inspect(path).expect("inspect").expect("a Parquet file");
        assert_eq!(table, "syscalls");
        s
    }

    #[test]
    fn one_run_is_proven_and_several_are_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = dir.path().join("one.parquet");
        write(&one, &[("r1", Some("training"), 5)]);
        let s = summary(&one);
        assert_eq!(s.rows, 3);
        assert!(s.own_schema);
        let run = s.single_run.expect("one run");
        assert_eq!((run.run_id.as_str(), run.source.as_str()), ("r1", "test"));
        assert_eq!(
            (run.scenario.as_deref(), run.mode),
            (Some("training"), None)
        );
        assert_eq!((s.constant_pid, s.constant_tid), (Some(1), Some(5)));

        let two = dir.path().join("two.parquet");
        write(&two, &[("r1", None, 5), ("r2", None, 6)]);
        let s = summary(&two);
        assert_eq!((s.rows, s.single_run, s.constant_tid), (6, None, None));
        assert_eq!(s.constant_pid, Some(1));
        // Labels constant over the file are known without reading them.
        assert_eq!(
            (
                s.constant_source.as_deref(),
                s.constant_scenario,
                s.constant_mode
            ),
            (Some("test"), Some(None), Some(None))
        );
    }

    #[test]
    fn long_run_ids_come_from_the_sink_keys() {
        // Longer than the 64 bytes statistics keep: min and max are truncated, so the run is
        // named by the footer's key, which the truncated statistics agree with.
        let dir = tempfile::tempdir().expect("tempdir");
        let id = format!("Attack_Data_Master/Java_Meterpreter_10/{}", "x".repeat(60));
        let path = dir.path().join("long.parquet");
        write(&path, &[(&id, Some("attack:java_meterpreter"), 0)]);
        let run = summary(&path).single_run.expect("one run");
        assert_eq!(run.run_id, id);
    }

    #[test]
    fn footers_decode_alike_with_the_reused_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
        write(&a, &[("r1", Some("s"), 1)]);
        write(&b, &[("r2", None, 2), ("r3", None, 3)]);
        let plain = dir.path().join("plain.parquet");
        {
            use arrow::array::{Int32Array, RecordBatch};
            let batch = RecordBatch::try_from_iter([(
                "x",
                std::sync::Arc::new(Int32Array::from(vec![1, 2])) as arrow::array::ArrayRef,
            )])
            .expect("batch");
            let file = File::create(&plain).expect("create");
            let mut w =
                parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
            w.write(&batch).expect("write");
            w.close().expect("close");
        }
        let reader = FooterReader::default();
        // a teaches the schema; b is decoded with it; a foreign file falls back to a full decode.
        for path in [&a, &b, &plain, &a] {
            assert_eq!(
                reader.inspect(path).expect("inspect"),
                inspect(path).expect("inspect"),
                "{}",
                path.display()
            );
        }
        assert!(reader.own_schema.get().is_some());
        let (table, _) = reader.inspect(&plain).expect("inspect").expect("parquet");
        assert_eq!(table, "other");
    }

    #[test]
    fn not_parquet_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.parquet");
        std::fs::write(&path, b"not parquet").expect("write");
        assert_eq!(inspect(&path).expect("inspect"), None);
    }
}
