//! Reading one file's columns for the scan: the read plan (small files read with one `read`,
//! the known Arrow schema for this project's files, a projection, an optional row selection),
//! casts to the types the metrics use, the run label dictionaries, and the interning of the
//! syscall dictionary.

use std::{fs::File, path::Path, sync::Arc};

use arrow::{
    array::{Array, ArrayRef, AsArray, RecordBatch},
    compute::cast,
    datatypes::{DataType, Int32Type},
};
use bytes::Bytes;
use parquet::{
    arrow::{
        ProjectionMask,
        arrow_reader::{
            ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
        },
    },
    file::reader::ChunkReader,
};
use tracer_dataset::{col, gap};

use super::{
    footer::{FileSummary, FooterReader},
    reader::BATCH_ROWS,
    select::RunMeta,
};
use crate::{
    error::AnalysisError,
    intern::{GAP_ID, Interner, SyscallId},
};

/// Files up to this size are read with one `read` and decoded from memory.
const WHOLE_FILE_BYTES: u64 = 8 << 20;

/// The Arrow type of the string columns: dictionary-encoded UTF-8.
pub(super) fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// What to read of one file.
pub(super) struct ReadPlan<'a> {
    /// The file.
    pub(super) path: &'a Path,
    /// Top-level columns projected.
    pub(super) columns: &'a [&'static str],
    /// Rows per batch.
    pub(super) batch_rows: usize,
    /// Rows read (all when `None`).
    pub(super) selection: Option<RowSelection>,
    /// What the footer said at open (whether the known Arrow schema applies).
    pub(super) summary: &'a FileSummary,
    /// The dataset's footer decoder.
    pub(super) footers: &'a FooterReader,
}

/// Calls `f` for every batch of `plan`. Small files are read with one `read`; this project's
/// files use the known Arrow schema.
pub(super) fn read_file_batches(
    plan: ReadPlan<'_>,
    f: impl FnMut(&RecordBatch) -> Result<(), AnalysisError>,
) -> Result<(), AnalysisError> {
    let path = plan.path;
    let file = File::open(path).map_err(|e| AnalysisError::io("opening", path, e))?;
    let size = file
        .metadata()
        .map_err(|e| AnalysisError::io("reading", path, e))?
        .len();
    if size <= WHOLE_FILE_BYTES {
        let mut buf = Vec::with_capacity(size as usize);
        std::io::Read::read_to_end(&mut &file, &mut buf)
            .map_err(|e| AnalysisError::io("reading", path, e))?;
        read_batches_from(Bytes::from(buf), plan, f)
    } else {
        read_batches_from(file, plan, f)
    }
}

fn read_batches_from<R: ChunkReader + 'static>(
    reader: R,
    plan: ReadPlan<'_>,
    mut f: impl FnMut(&RecordBatch) -> Result<(), AnalysisError>,
) -> Result<(), AnalysisError> {
    let path = plan.path;
    let pq = |source| AnalysisError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let md = plan.footers.read(&reader, path)?;
    let mut options = ArrowReaderOptions::new();
    if plan.summary.own_schema {
        // The footer's own Arrow schema (an IPC message) need not be decoded: it is this one.
        options = options.with_schema(tracer_dataset::syscalls_schema());
    }
    let metadata = ArrowReaderMetadata::try_new(Arc::new(md), options).map_err(pq)?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(reader, metadata);
    let schema = builder.schema().clone();
    let mut indices = Vec::with_capacity(plan.columns.len());
    for c in plan.columns {
        let i = schema.index_of(c).map_err(|_| AnalysisError::Column {
            path: path.to_path_buf(),
            column: c,
            problem: "is missing".into(),
        })?;
        indices.push(i);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
    let mut builder = builder
        .with_projection(mask)
        .with_batch_size(plan.batch_rows);
    if let Some(s) = plan.selection {
        builder = builder.with_row_selection(s);
    }
    for batch in builder.build().map_err(pq)? {
        let batch = batch.map_err(|source| AnalysisError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        f(&batch)?;
    }
    Ok(())
}

/// Calls `f` for every batch of `path` projected to `columns`, streaming from the file.
pub(super) fn read_batches(
    path: &Path,
    columns: &[&'static str],
    f: impl FnMut(&RecordBatch) -> Result<(), AnalysisError>,
) -> Result<(), AnalysisError> {
    let file = File::open(path).map_err(|e| AnalysisError::io("opening", path, e))?;
    read_batches_from(
        file,
        ReadPlan {
            path,
            columns,
            batch_rows: BATCH_ROWS,
            selection: None,
            summary: &FileSummary::default(),
            footers: &FooterReader::default(),
        },
        f,
    )
}

/// `name` of `batch` cast to `to` (a no-op for files written by this project).
pub(super) fn column_as(
    path: &Path,
    batch: &RecordBatch,
    name: &'static str,
    to: &DataType,
) -> Result<ArrayRef, AnalysisError> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| AnalysisError::Column {
            path: path.to_path_buf(),
            column: name,
            problem: "is missing".into(),
        })?;
    if array.data_type() == to {
        return Ok(Arc::clone(array));
    }
    cast(array, to).map_err(|e| AnalysisError::Column {
        path: path.to_path_buf(),
        column: name,
        problem: format!("has type {}, expected {to}: {e}", array.data_type()),
    })
}

/// The run-level label columns of a batch, as string dictionaries.
pub(super) struct LabelColumns {
    /// The run ids.
    pub(super) run_id: arrow::array::DictionaryArray<Int32Type>,
    source: arrow::array::DictionaryArray<Int32Type>,
    scenario: arrow::array::DictionaryArray<Int32Type>,
    mode: arrow::array::DictionaryArray<Int32Type>,
}

/// Row `i` of a string dictionary (`None` when null).
pub(super) fn dict_value(d: &arrow::array::DictionaryArray<Int32Type>, i: usize) -> Option<String> {
    if d.is_null(i) {
        return None;
    }
    let key = d.keys().value(i) as usize;
    Some(d.values().as_string::<i32>().value(key).to_string())
}

impl LabelColumns {
    /// The label columns of `batch` (of the file `path`).
    pub(super) fn new(path: &Path, batch: &RecordBatch) -> Result<Self, AnalysisError> {
        let get = |name| -> Result<_, AnalysisError> {
            Ok(column_as(path, batch, name, &dict_type())?
                .as_dictionary::<Int32Type>()
                .clone())
        };
        Ok(Self {
            run_id: get(col::RUN_ID)?,
            source: get(col::SOURCE)?,
            scenario: get(col::SCENARIO)?,
            mode: get(col::MODE)?,
        })
    }

    /// The run id of row `i`.
    pub(super) fn run_id(&self, i: usize) -> String {
        dict_value(&self.run_id, i).unwrap_or_default()
    }

    /// The labels of row `i`.
    pub(super) fn meta(&self, i: usize) -> RunMeta {
        RunMeta {
            run_id: self.run_id(i),
            source: dict_value(&self.source, i).unwrap_or_default(),
            scenario: dict_value(&self.scenario, i),
            mode: dict_value(&self.mode, i),
        }
    }
}

/// Interns a batch's syscall dictionary and returns the id of every row.
pub(super) fn syscall_ids(
    path: &Path,
    batch: &RecordBatch,
    interner: &mut Interner,
    out: &mut Vec<SyscallId>,
) -> Result<(), AnalysisError> {
    let sys = column_as(path, batch, col::SYSCALL, &dict_type())?;
    let sys = sys.as_dictionary::<Int32Type>();
    let names = sys.values().as_string::<i32>();
    let mut ids = Vec::with_capacity(names.len());
    for v in names.iter() {
        ids.push(match v {
            Some(gap::GAP_SYSCALL) => GAP_ID,
            v => interner.intern(v.unwrap_or("<null>"))?,
        });
    }
    let null_id = interner.intern("<null>")?;
    out.clear();
    let keys = sys.keys();
    if keys.null_count() == 0 {
        out.extend(keys.values().iter().map(|k| ids[*k as usize]));
    } else {
        out.extend(keys.iter().map(|k| k.map_or(null_id, |k| ids[k as usize])));
    }
    Ok(())
}
