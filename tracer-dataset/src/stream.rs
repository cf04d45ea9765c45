//! The streaming reader of the `syscalls` table: the row groups of one file that can hold the
//! wanted `seq` and `ts_ns` range (chosen by their statistics), read one batch at a time with
//! borrowed access to each row, so a reader of a 10 M-row capture holds a few thousand rows
//! (`tracer show`, the `record -s` rewrite). The full-row reader (`rows`) is for small files.

use std::{
    collections::HashMap,
    fs::File,
    path::{Path, PathBuf},
};

use arrow::{
    array::{
        Array, ArrayRef, AsArray, DictionaryArray, FixedSizeListArray, Int32Array, Int64Array,
        RecordBatch, StringArray, UInt64Array,
    },
    compute::cast,
    datatypes::{DataType, Int32Type, TimeUnit},
};
use parquet::{
    arrow::{
        ProjectionMask,
        arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder},
    },
    file::{metadata::RowGroupMetaData, statistics::Statistics},
};

use crate::{rows::ReadError, schema::col, sink::SyscallRow};

/// Rows per batch: small enough to stay in cache, large enough to amortise the decoding.
pub const STREAM_BATCH_ROWS: usize = 8192;

/// The part of a file worth reading: row groups whose statistics show no row in these ranges
/// (both inclusive) are skipped. Rows inside a kept row group are not filtered here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Lowest and highest `seq` wanted.
    pub seq: (u64, u64),
    /// Earliest and latest `ts_ns` wanted (row groups without time statistics are kept).
    pub ts_ns: (i64, i64),
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            seq: (0, u64::MAX),
            ts_ns: (i64::MIN, i64::MAX),
        }
    }
}

/// The `syscalls` columns a `SyscallStream` can be limited to (`SyscallStream::open_columns`).
pub const KEY_COLUMNS: &[&str] = &[col::SEQ, col::TS_NS, col::PID, col::TID, col::NR];

/// One `syscalls` file read batch by batch.
pub struct SyscallStream {
    path: PathBuf,
    metadata: HashMap<String, String>,
    first_ts_ns: Option<i64>,
    tid_range: Option<(i32, i32)>,
    reader: ParquetRecordBatchReader,
}

impl SyscallStream {
    /// Opens `path` for every column, keeping the row groups that `bounds` allows.
    pub fn open(path: &Path, bounds: &Bounds) -> Result<Self, ReadError> {
        Self::open_columns(path, bounds, None)
    }

    /// Opens `path` reading only `columns` (all when `None`); the others read as null or 0.
    pub fn open_columns(
        path: &Path,
        bounds: &Bounds,
        columns: Option<&[&str]>,
    ) -> Result<Self, ReadError> {
        let file = File::open(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_file(file, path, bounds, columns)
    }

    /// Reads `file`, already opened (`path` names it in errors), as `open_columns` does.
    pub fn from_file(
        file: File,
        path: &Path,
        bounds: &Bounds,
        columns: Option<&[&str]>,
    ) -> Result<Self, ReadError> {
        let pq = |source| ReadError::Parquet {
            path: path.to_path_buf(),
            source,
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
        let md = builder.metadata().clone();
        let metadata = md
            .file_metadata()
            .key_value_metadata()
            .map(|kv| {
                kv.iter()
                    .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let leaf = |name: &str| {
            md.file_metadata()
                .schema_descr()
                .columns()
                .iter()
                .position(|c| c.path().parts() == [name])
        };
        let (seq_leaf, ts_leaf) = (leaf(col::SEQ), leaf(col::TS_NS));
        let first_ts_ns = ts_leaf.and_then(|i| {
            md.row_groups()
                .iter()
                .filter_map(|rg| i64_range(rg, i).map(|r| r.0))
                .min()
        });
        let tid_range = leaf(col::TID).and_then(|i| {
            md.row_groups()
                .iter()
                .map(|rg| i32_range(rg, i))
                .reduce(|a, b| Some((a?.0.min(b?.0), a?.1.max(b?.1))))
                .flatten()
        });
        let keep: Vec<usize> = md
            .row_groups()
            .iter()
            .enumerate()
            .filter(|(_, rg)| {
                let seq_ok = seq_leaf
                    .and_then(|i| i64_range(rg, i))
                    .is_none_or(|(lo, hi)| {
                        // seq is an unsigned column stored in INT64: the statistics hold its bits.
                        (hi as u64) >= bounds.seq.0 && (lo as u64) <= bounds.seq.1
                    });
                let ts_ok = ts_leaf
                    .and_then(|i| i64_range(rg, i))
                    .is_none_or(|(lo, hi)| hi >= bounds.ts_ns.0 && lo <= bounds.ts_ns.1);
                seq_ok && ts_ok
            })
            .map(|(i, _)| i)
            .collect();
        let mut builder = builder
            .with_row_groups(keep)
            .with_batch_size(STREAM_BATCH_ROWS);
        if let Some(names) = columns {
            let mask = ProjectionMask::columns(
                builder.metadata().file_metadata().schema_descr(),
                names.iter().copied(),
            );
            builder = builder.with_projection(mask);
        }
        let reader = builder.build().map_err(pq)?;
        Ok(Self {
            path: path.to_path_buf(),
            metadata,
            first_ts_ns,
            tid_range,
            reader,
        })
    }

    /// The lowest and highest `tid` of the whole file, from its statistics; `None` when a row
    /// group has none.
    pub fn tid_range(&self) -> Option<(i32, i32)> {
        self.tid_range
    }

    /// The file's key-value metadata (`meta::*` keys).
    pub fn metadata(&self) -> &HashMap<String, String> {
        &self.metadata
    }

    /// The earliest `ts_ns` of the whole file, from its statistics (before any row group was
    /// skipped); `None` when the file has no time statistics.
    pub fn first_ts_ns(&self) -> Option<i64> {
        self.first_ts_ns
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Min and max of an INT64 column in one row group, when its statistics say.
fn i64_range(rg: &RowGroupMetaData, leaf: usize) -> Option<(i64, i64)> {
    match rg.column(leaf).statistics()? {
        Statistics::Int64(s) => Some((*s.min_opt()?, *s.max_opt()?)),
        _ => None,
    }
}

/// Min and max of an INT32 column in one row group, when its statistics say.
fn i32_range(rg: &RowGroupMetaData, leaf: usize) -> Option<(i32, i32)> {
    match rg.column(leaf).statistics()? {
        Statistics::Int32(s) => Some((*s.min_opt()?, *s.max_opt()?)),
        _ => None,
    }
}

impl Iterator for SyscallStream {
    type Item = Result<SyscallBatch, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.reader.next()? {
            Ok(b) => b,
            Err(source) => {
                return Some(Err(ReadError::Arrow {
                    path: self.path.clone(),
                    source,
                }));
            }
        };
        Some(SyscallBatch::new(&self.path, &batch))
    }
}

/// A string column: dictionary-encoded (as the contract writes it) or plain.
enum Strings {
    Dict {
        keys: Int32Array,
        values: StringArray,
    },
    Plain(StringArray),
    Absent,
}

impl Strings {
    fn get(&self, i: usize) -> Option<&str> {
        match self {
            Self::Dict { keys, values } => keys
                .is_valid(i)
                .then(|| values.value(keys.value(i) as usize)),
            Self::Plain(s) => s.is_valid(i).then(|| s.value(i)),
            Self::Absent => None,
        }
    }
}

/// One batch of a `syscalls` file with typed columns; `row(i)` borrows row `i`.
pub struct SyscallBatch {
    rows: usize,
    run_id: Strings,
    source: Strings,
    scenario: Strings,
    mode: Strings,
    seq: Option<UInt64Array>,
    ts_ns: Option<Int64Array>,
    duration_ns: Option<Int64Array>,
    pid: Option<Int32Array>,
    tid: Option<Int32Array>,
    comm: Strings,
    syscall: Strings,
    nr: Option<Int32Array>,
    args: Option<(FixedSizeListArray, UInt64Array)>,
    ret: Option<Int64Array>,
    path: Strings,
    abi: Strings,
    path2: Strings,
    sock_family: Strings,
    sock_addr: Strings,
    sock_port: Option<Int32Array>,
    marks: Option<arrow::array::ListArray>,
}

/// Typed access to the columns of one record batch, errors naming the file.
struct Decoder<'a> {
    path: &'a Path,
    batch: &'a RecordBatch,
}

impl Decoder<'_> {
    fn bad(&self, column: &'static str) -> ReadError {
        ReadError::Column {
            path: self.path.to_path_buf(),
            column,
            problem: "has an unexpected type",
        }
    }

    fn cast(&self, a: &ArrayRef, to: &DataType) -> Result<ArrayRef, ReadError> {
        cast(a, to).map_err(|source| ReadError::Arrow {
            path: self.path.to_path_buf(),
            source,
        })
    }

    fn strings(&self, name: &'static str) -> Result<Strings, ReadError> {
        let Some(a) = self.batch.column_by_name(name) else {
            return Ok(Strings::Absent);
        };
        if let DataType::Dictionary(k, v) = a.data_type()
            && **k == DataType::Int32
            && **v == DataType::Utf8
        {
            let d: &DictionaryArray<Int32Type> = a.as_dictionary();
            let values = d
                .values()
                .as_string_opt::<i32>()
                .ok_or_else(|| self.bad(name))?
                .clone();
            return Ok(Strings::Dict {
                keys: d.keys().clone(),
                values,
            });
        }
        let plain = match a.data_type() {
            DataType::Utf8 => a.clone(),
            _ => self.cast(a, &DataType::Utf8)?,
        };
        Ok(Strings::Plain(plain.as_string::<i32>().clone()))
    }

    fn i64s(&self, name: &'static str) -> Result<Option<Int64Array>, ReadError> {
        let Some(a) = self.batch.column_by_name(name) else {
            return Ok(None);
        };
        let a = match a.data_type() {
            DataType::Int64 => a.clone(),
            DataType::Timestamp(TimeUnit::Nanosecond, _) | DataType::Int32 | DataType::UInt32 => {
                self.cast(a, &DataType::Int64)?
            }
            _ => return Err(self.bad(name)),
        };
        Ok(Some(a.as_primitive().clone()))
    }

    fn i32s(&self, name: &'static str) -> Result<Option<Int32Array>, ReadError> {
        let Some(a) = self.batch.column_by_name(name) else {
            return Ok(None);
        };
        a.as_primitive_opt()
            .cloned()
            .map(Some)
            .ok_or_else(|| self.bad(name))
    }
}

impl SyscallBatch {
    fn new(path: &Path, batch: &RecordBatch) -> Result<Self, ReadError> {
        let d = Decoder { path, batch };
        let seq = match batch.column_by_name(col::SEQ) {
            Some(a) => Some(
                a.as_primitive_opt::<arrow::datatypes::UInt64Type>()
                    .ok_or_else(|| d.bad(col::SEQ))?
                    .clone(),
            ),
            None => None,
        };
        let args = match batch.column_by_name(col::ARGS) {
            Some(a) => {
                let list = a.as_fixed_size_list_opt().ok_or_else(|| d.bad(col::ARGS))?;
                if list.value_length() != 6 {
                    return Err(d.bad(col::ARGS));
                }
                let values = list
                    .values()
                    .as_primitive_opt::<arrow::datatypes::UInt64Type>()
                    .ok_or_else(|| d.bad(col::ARGS))?
                    .clone();
                Some((list.clone(), values))
            }
            None => None,
        };
        Ok(Self {
            rows: batch.num_rows(),
            run_id: d.strings(col::RUN_ID)?,
            source: d.strings(col::SOURCE)?,
            scenario: d.strings(col::SCENARIO)?,
            mode: d.strings(col::MODE)?,
            seq,
            ts_ns: d.i64s(col::TS_NS)?,
            duration_ns: d.i64s(col::DURATION_NS)?,
            pid: d.i32s(col::PID)?,
            tid: d.i32s(col::TID)?,
            comm: d.strings(col::COMM)?,
            syscall: d.strings(col::SYSCALL)?,
            nr: d.i32s(col::NR)?,
            args,
            ret: d.i64s(col::RET)?,
            path: d.strings(col::PATH)?,
            abi: d.strings(col::ABI)?,
            path2: d.strings(col::PATH2)?,
            sock_family: d.strings(col::SOCK_FAMILY)?,
            sock_addr: d.strings(col::SOCK_ADDR)?,
            sock_port: d.i32s(col::SOCK_PORT)?,
            marks: match batch.column_by_name(col::MARKS) {
                Some(a) => Some(
                    a.as_list_opt::<i32>()
                        .ok_or_else(|| d.bad(col::MARKS))?
                        .clone(),
                ),
                None => None,
            },
        })
    }

    /// The capture-only columns of row `i` (all null in files without them).
    pub fn extra(&self, i: usize) -> crate::SyscallExtra<'_> {
        let marks = self.marks.as_ref().map_or(0, |l| {
            if l.is_null(i) {
                return 0;
            }
            let v = l.value(i);
            let names = v.as_string::<i32>();
            (0..names.len())
                .filter_map(|j| crate::schema::mark::by_name(names.value(j)))
                .fold(0, |m, b| m | b)
        });
        crate::SyscallExtra {
            abi: self.abi.get(i),
            path2: self.path2.get(i),
            sock_family: self.sock_family.get(i),
            sock_addr: self.sock_addr.get(i),
            sock_port: self
                .sock_port
                .as_ref()
                .and_then(|a| a.is_valid(i).then(|| a.value(i))),
            marks,
        }
    }

    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Row `i` (columns not read give null, 0 or "").
    pub fn row(&self, i: usize) -> SyscallRow<'_> {
        fn opt<T: arrow::datatypes::ArrowPrimitiveType>(
            a: &Option<arrow::array::PrimitiveArray<T>>,
            i: usize,
        ) -> Option<T::Native> {
            a.as_ref().and_then(|a| a.is_valid(i).then(|| a.value(i)))
        }
        let args = self.args.as_ref().and_then(|(list, values)| {
            list.is_valid(i).then(|| {
                let start = (list.offset() + i) * 6;
                let mut a = [0u64; 6];
                a.copy_from_slice(&values.values()[start..start + 6]);
                a
            })
        });
        SyscallRow {
            seq: opt(&self.seq, i).unwrap_or_default(),
            ts_ns: opt(&self.ts_ns, i),
            duration_ns: opt(&self.duration_ns, i),
            pid: opt(&self.pid, i).unwrap_or_default(),
            tid: opt(&self.tid, i).unwrap_or_default(),
            comm: self.comm.get(i),
            syscall: self.syscall.get(i).unwrap_or_default(),
            nr: opt(&self.nr, i).unwrap_or(-1),
            args,
            ret: opt(&self.ret, i),
            path: self.path.get(i),
        }
    }

    /// The run of row `i`.
    pub fn run_id(&self, i: usize) -> &str {
        self.run_id.get(i).unwrap_or_default()
    }

    /// The source of row `i`.
    pub fn source(&self, i: usize) -> &str {
        self.source.get(i).unwrap_or_default()
    }

    /// The experiment scenario of row `i`.
    pub fn scenario(&self, i: usize) -> Option<&str> {
        self.scenario.get(i)
    }

    /// The experiment mode of row `i`.
    pub fn mode(&self, i: usize) -> Option<&str> {
        self.mode.get(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        rows::read_syscalls,
        sink::{RunInfo, SyscallSink},
    };

    fn write(path: &Path, n: u64) {
        let run = RunInfo {
            run_id: "r".into(),
            source: "test".into(),
            ..RunInfo::default()
        };
        let mut s = SyscallSink::create(path, run, &[("k".into(), "v".into())]).expect("sink");
        for seq in 0..n {
            s.push(&SyscallRow {
                seq,
                ts_ns: Some(1_000 + seq as i64),
                pid: 7,
                tid: 7 + (seq % 2) as i32,
                syscall: if seq % 2 == 0 { "openat" } else { "read" },
                nr: if seq % 2 == 0 { 257 } else { 0 },
                args: (seq % 3 != 0).then_some([seq, 1, 2, 3, 4, u64::MAX]),
                ret: (seq % 5 != 0).then_some(-2),
                path: (seq % 2 == 0).then_some("/etc/x"),
                ..SyscallRow::default()
            })
            .expect("push");
        }
        s.close().expect("close");
    }

    #[test]
    fn streams_every_row_as_the_full_reader_reads_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.parquet");
        write(&p, 20_000);
        let full = read_syscalls(&p).expect("read");
        let stream = SyscallStream::open(&p, &Bounds::default()).expect("open");
        assert_eq!(stream.metadata()["k"], "v");
        assert_eq!(stream.first_ts_ns(), Some(1_000));
        assert_eq!(stream.tid_range(), Some((7, 8)));
        let mut n = 0;
        for batch in stream {
            let batch = batch.expect("batch");
            assert!(batch.len() <= STREAM_BATCH_ROWS);
            for i in 0..batch.len() {
                let (r, f) = (batch.row(i), &full[n]);
                assert_eq!(
                    (r.seq, r.ts_ns, r.pid, r.tid),
                    (f.seq, f.ts_ns, f.pid, f.tid)
                );
                assert_eq!((r.syscall, r.nr, r.ret), (f.syscall.as_str(), f.nr, f.ret));
                assert_eq!(r.args.map(|a| a.to_vec()), f.args);
                assert_eq!(r.path, f.path.as_deref());
                assert_eq!((batch.run_id(i), batch.source(i)), ("r", "test"));
                assert_eq!(batch.scenario(i), None);
                n += 1;
            }
        }
        assert_eq!(n, full.len());
    }

    #[test]
    fn projected_columns_read_as_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.parquet");
        write(&p, 10);
        let mut stream =
            SyscallStream::open_columns(&p, &Bounds::default(), Some(KEY_COLUMNS)).expect("open");
        let batch = stream.next().expect("a batch").expect("decodes");
        let r = batch.row(3);
        assert_eq!((r.seq, r.tid, r.nr, r.ts_ns), (3, 8, 0, Some(1_003)));
        assert_eq!((r.syscall, r.path, r.args, r.ret), ("", None, None, None));
    }

    #[test]
    fn row_groups_outside_the_bounds_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.parquet");
        // Two row groups (ROW_GROUP_ROWS each at most).
        write(&p, crate::sink::ROW_GROUP_ROWS as u64 + 10);
        let bounds = Bounds {
            seq: (crate::sink::ROW_GROUP_ROWS as u64 + 2, u64::MAX),
            ..Bounds::default()
        };
        let rows: usize = SyscallStream::open_columns(&p, &bounds, Some(&[col::SEQ]))
            .expect("open")
            .map(|b| b.expect("batch").len())
            .sum();
        assert_eq!(rows, 10, "only the second row group is read");
    }
}
