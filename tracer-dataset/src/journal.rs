//! The crash journal of a capture (docs/DESIGN.md, "Threat model and data safety"): while it
//! runs, what has been captured is on disk as self-contained Parquet parts in a hidden folder
//! beside the output, so that a killed tracer, a full disk or a power loss leave a readable
//! dataset behind.
//!
//! - `.NAME.parts/part-NNNNNN.parquet`: the `syscalls` rows, one part per cut (about every
//!   second), each closed with its own footer (the run's metadata and the losses known at the
//!   cut), synced to disk, then linked under its name: a part is complete or absent.
//!   `read_parquet('.NAME.parts/*.parquet')` reads them as they are.
//! - `.NAME.parts/processes/part-NNNNNN.parquet`: the latest snapshot of the process table.
//!
//! At a normal end the parts become the one output file: row groups are copied as they are
//! (no decoding), small ones merged, and the footer is the last part's (the final metadata);
//! a capture short enough to have a single part makes its file without any copy. Then the
//! journal is removed. [`recover`] turns a journal that was left behind into the same files,
//! marked `interrupted` and `recovered`.

use std::{
    ffi::{OsStr, OsString},
    fs::File,
    path::Path,
    sync::{Arc, Mutex},
};

use arrow::{array::RecordBatch, datatypes::SchemaRef};
use parquet::{
    arrow::{
        ArrowWriter,
        arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder},
        arrow_writer::compute_leaves,
    },
    column::writer::ColumnCloseResult,
    errors::ParquetError,
    file::metadata::{KeyValue, PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader},
};

use crate::{
    outdir::{FileId, OutDir, Staged},
    process_sink::write_processes,
    schema::{meta, syscalls_schema},
    sink::{ProcessRow, RunInfo, SinkError, writer_properties},
};

/// Suffix of a journal folder's name: `.trace.parts` beside `trace.parquet`.
pub const SUFFIX: &str = ".parts";
/// Subfolder of a journal holding the process-table snapshot.
pub const PROCESSES: &str = "processes";
/// Row groups at least this big are copied as they are into the final file; smaller ones
/// (parts of a quiet second) are merged into row groups of up to `sink::ROW_GROUP_ROWS`.
const COPY_MIN_ROWS: i64 = 64 * 1024;
/// Arrow's schema in a footer, which the final writer writes itself.
const ARROW_SCHEMA_KEY: &str = "ARROW:schema";

/// The name of part `i`.
fn part_name(i: u32) -> String {
    format!("part-{i:06}.parquet")
}

/// The index of a part named `name`, if it is one.
fn part_index(name: &OsStr) -> Option<u32> {
    name.to_str()?
        .strip_prefix("part-")?
        .strip_suffix(".parquet")?
        .parse()
        .ok()
}

/// A linked part: its name, the file it must still be, and its rows.
#[derive(Debug)]
struct Part {
    name: String,
    id: FileId,
    rows: u64,
    bytes: u64,
}

/// The last part of a capture, closed with the final footer but not linked.
#[derive(Debug)]
struct LastPart {
    staged: Staged,
}

#[derive(Debug, Default)]
struct State {
    parts: Vec<Part>,
    next: u32,
    next_snapshot: u32,
    snapshot: Option<String>,
    last: Option<LastPart>,
}

/// The crash journal of one `syscalls` file.
#[derive(Debug)]
pub struct Journal {
    /// The folder holding the journal and the final file.
    parent: OutDir,
    name: String,
    dir: OutDir,
    processes: OutDir,
    state: Mutex<State>,
    /// Footer pairs known only to the capture's main loop (losses so far), for the next part.
    live: Mutex<Vec<KeyValue>>,
    /// The run and footer of the process-table snapshots.
    processes_header: Mutex<(RunInfo, Vec<KeyValue>)>,
}

impl Journal {
    /// Creates journal folder `name` in `parent`. An empty folder left by a capture killed
    /// before its first part is removed first; one with parts is refused (recover it).
    pub fn create(parent: &OutDir, name: &str) -> Result<Arc<Self>, SinkError> {
        if let Some(st) = parent.lstat(OsStr::new(name))? {
            if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                return Err(SinkError::JournalInTheWay(parent.join(name)));
            }
            let empty = parent
                .subdir(name, false)
                .and_then(|d| Ok((d.entries()?, d)))
                .ok()
                .filter(|(entries, d)| {
                    entries.iter().all(|e| e == PROCESSES)
                        && d.subdir(PROCESSES, false)
                            .and_then(|p| p.entries())
                            .is_ok_and(|e| e.is_empty())
                });
            match empty {
                Some((entries, d)) => {
                    if !entries.is_empty() {
                        d.remove_dir(PROCESSES)?;
                    }
                    parent.remove_dir(name)?;
                }
                None => return Err(SinkError::JournalExists(parent.join(name))),
            }
        }
        let dir = parent.new_subdir(name)?;
        let processes = dir.new_subdir(PROCESSES)?;
        Ok(Arc::new(Self {
            parent: parent.clone(),
            name: name.to_string(),
            dir,
            processes,
            state: Mutex::default(),
            live: Mutex::default(),
            processes_header: Mutex::default(),
        }))
    }

    /// The journal folder, for messages.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Rows in the parts on disk.
    pub fn rows_kept(&self) -> u64 {
        self.lock().parts.iter().map(|p| p.rows).sum()
    }

    /// Parts on disk.
    pub fn parts(&self) -> usize {
        self.lock().parts.len()
    }

    /// Bytes of the parts on disk.
    pub fn bytes(&self) -> u64 {
        self.lock().parts.iter().map(|p| p.bytes).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Footer pairs for the parts cut from now on (the capture's losses so far).
    pub fn set_live(&self, pairs: &[(&str, String)]) {
        let kv = pairs
            .iter()
            .map(|(k, v)| KeyValue::new(k.to_string(), v.clone()))
            .collect();
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) = kv;
    }

    pub(crate) fn live(&self) -> Vec<KeyValue> {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The run and footer metadata of the process-table snapshots.
    pub fn set_processes_header(&self, run: RunInfo, kv: Vec<KeyValue>) {
        *self
            .processes_header
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = (run, kv);
    }

    /// A new part file, unnamed until `add_part` (in the output's folder: the same file system
    /// as the journal).
    pub(crate) fn stage_part(&self) -> Result<Staged, SinkError> {
        Ok(self.parent.stage()?)
    }

    /// Syncs a closed part to disk and links it as the next part.
    pub(crate) fn add_part(&self, staged: Staged, rows: u64) -> Result<(), SinkError> {
        staged.sync_data()?;
        self.link_part(staged, rows, true)
    }

    /// Links a closed part as the next part; `sync`: make the new name durable.
    fn link_part(&self, staged: Staged, rows: u64, sync: bool) -> Result<(), SinkError> {
        let bytes = staged.file().metadata().map(|m| m.len()).unwrap_or(0);
        let mut state = self.lock();
        let name = part_name(state.next);
        state.next += 1;
        let id = staged.link_new(&self.dir, &name)?;
        if sync {
            self.dir.sync()?;
        }
        state.parts.push(Part {
            name,
            id,
            rows,
            bytes,
        });
        Ok(())
    }

    /// Keeps the capture's last part, closed with the final footer, for `finish`.
    pub(crate) fn set_last(&self, staged: Staged) {
        self.lock().last = Some(LastPart { staged });
    }

    /// Writes `rows` as the journal's process-table snapshot, replacing the previous one.
    pub fn write_processes(&self, rows: &[ProcessRow]) -> Result<(), SinkError> {
        let (run, mut kv) = self
            .processes_header
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        kv.extend(self.live());
        let staged = self.processes.stage()?;
        let path = self.processes.path();
        write_processes(staged.writer()?, path, &run, kv, rows)?;
        staged.sync_data()?;
        let mut state = self.lock();
        let name = part_name(state.next_snapshot);
        state.next_snapshot += 1;
        staged.link_new(&self.processes, &name)?;
        self.processes.sync()?;
        if let Some(old) = state.snapshot.replace(name) {
            let _ = self.processes.remove(&old);
        }
        Ok(())
    }

    /// The capture's file, ready to be placed into `dir`: the last part itself when it is the
    /// only one, else every part assembled into a new file (synced: the parts go next). When
    /// assembling fails, the last part is linked into the journal, so that every row stays on
    /// disk.
    pub fn finish(&self, dir: &OutDir) -> Result<Staged, SinkError> {
        let mut state = self.lock();
        let last = state.last.take();
        if state.parts.is_empty()
            && let Some(last) = last
        {
            return Ok(last.staged);
        }
        let sources = state
            .parts
            .iter()
            .map(|p| self.open_part(p))
            .collect::<Result<Vec<_>, _>>()?;
        drop(state);
        let mut files: Vec<&File> = sources.iter().collect();
        if let Some(l) = &last {
            files.push(l.staged.file());
        }
        let assembled = (|| {
            let out = dir.stage()?;
            let kv = match files.last() {
                Some(f) => footer_of(f).map_err(|e| parquet_err(self.path(), e))?,
                None => Vec::new(),
            };
            assemble(&syscalls_schema(), &files, out.writer()?, kv)
                .map_err(|e| parquet_err(dir.path(), e))?;
            out.sync_data()?;
            Ok(out)
        })();
        // The last part joins the others: on an error every row stays in the journal, on
        // success until the commit has placed the file (the journal is removed then).
        if let Some(l) = last {
            let rows = footer_rows(l.staged.file());
            // A part that cannot be linked either leaves the error of the assembly to say why.
            let _ = if assembled.is_err() {
                self.add_part(l.staged, rows)
            } else {
                self.link_part(l.staged, rows, false)
            };
        }
        assembled
    }

    fn open_part(&self, p: &Part) -> Result<File, SinkError> {
        let f = self.dir.open_read(&p.name)?;
        match FileId::of_file(&f) {
            Ok(id) if id == p.id => Ok(f),
            _ => Err(SinkError::PartReplaced(self.dir.join(&p.name))),
        }
    }

    /// Removes the journal: every part, the snapshot and both folders. What someone else put
    /// there stays (and so does the folder).
    pub fn remove(&self) -> Result<(), SinkError> {
        remove_parts(&self.processes)?;
        remove_parts(&self.dir)?;
        let _ = self.dir.remove_dir(PROCESSES);
        let _ = self.parent.remove_dir(&self.name);
        Ok(())
    }

    /// Links the last part (closed but not placed) into the journal, for a commit that failed.
    pub fn keep_last(&self) {
        let last = self.lock().last.take();
        if let Some(l) = last {
            let rows = footer_rows(l.staged.file());
            let _ = self.add_part(l.staged, rows);
        }
    }

    /// Removes the journal if no part reached the disk (a capture that failed before its first
    /// cut); otherwise keeps it, for `recover`.
    pub fn remove_if_empty(&self) {
        let state = self.lock();
        if state.parts.is_empty() && state.snapshot.is_none() {
            drop(state);
            let _ = self.remove();
        }
    }
}

fn remove_parts(dir: &OutDir) -> Result<(), SinkError> {
    for name in dir.entries()? {
        if part_index(&name).is_some() {
            dir.remove(&name.to_string_lossy())?;
        }
    }
    Ok(())
}

pub(crate) fn parquet_err(path: &Path, source: ParquetError) -> SinkError {
    SinkError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn read_metadata(file: &File) -> Result<ParquetMetaData, ParquetError> {
    ParquetMetaDataReader::new()
        .with_page_index_policy(PageIndexPolicy::Optional)
        .parse_and_finish(file)
}

/// A file's key-value footer without Arrow's schema.
pub(crate) fn footer_of(file: &File) -> Result<Vec<KeyValue>, ParquetError> {
    let md = read_metadata(file)?;
    Ok(md
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .filter(|kv| kv.key != ARROW_SCHEMA_KEY)
                .cloned()
                .collect()
        })
        .unwrap_or_default())
}

fn footer_rows(file: &File) -> u64 {
    read_metadata(file)
        .map(|md| md.file_metadata().num_rows().max(0) as u64)
        .unwrap_or(0)
}

/// Writes the row groups of `sources` (files of `schema` written by this crate) in order into
/// one file with footer `kv`: big row groups copied as they are, small ones merged. Returns the
/// rows.
pub(crate) fn assemble(
    schema: &SchemaRef,
    sources: &[&File],
    into: File,
    kv: Vec<KeyValue>,
) -> Result<u64, ParquetError> {
    let writer = ArrowWriter::try_new(into, schema.clone(), Some(writer_properties(kv)))?;
    let (mut out, factory) = writer.into_serialized_writer()?;
    let mut pending: Vec<RecordBatch> = Vec::new();
    let mut pending_rows = 0usize;
    let mut groups = 0usize;
    let mut rows = 0u64;
    let flush = |out: &mut parquet::file::writer::SerializedFileWriter<File>,
                 pending: &mut Vec<RecordBatch>,
                 pending_rows: &mut usize,
                 groups: &mut usize|
     -> Result<(), ParquetError> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut writers = factory.create_column_writers(*groups)?;
        for batch in pending.drain(..) {
            let mut w = writers.iter_mut();
            for (field, column) in schema.fields().iter().zip(batch.columns()) {
                for leaf in compute_leaves(field, column)? {
                    w.next()
                        .ok_or_else(|| ParquetError::General("more leaves than columns".into()))?
                        .write(&leaf)?;
                }
            }
        }
        let mut group = out.next_row_group()?;
        for w in writers {
            w.close()?.append_to_row_group(&mut group)?;
        }
        group.close()?;
        *groups += 1;
        *pending_rows = 0;
        Ok(())
    };
    for src in sources {
        let md = Arc::new(read_metadata(src)?);
        let arrow_md = ArrowReaderMetadata::try_new(md.clone(), ArrowReaderOptions::new())?;
        for (i, rg) in md.row_groups().iter().enumerate() {
            rows += rg.num_rows().max(0) as u64;
            if rg.num_rows() >= COPY_MIN_ROWS {
                flush(&mut out, &mut pending, &mut pending_rows, &mut groups)?;
                let mut group = out.next_row_group()?;
                for (c, column) in rg.columns().iter().enumerate() {
                    let index = md.page_index().and_then(|p| p.column_index(i, c)).cloned();
                    let offsets = md.page_index().and_then(|p| p.offset_index(i, c)).cloned();
                    group.append_column(
                        *src,
                        ColumnCloseResult {
                            bytes_written: column.compressed_size() as u64,
                            rows_written: rg.num_rows() as u64,
                            metadata: column.clone(),
                            bloom_filter: None,
                            column_index: index,
                            offset_index: offsets,
                        },
                    )?;
                }
                group.close()?;
                groups += 1;
                continue;
            }
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                (*src).try_clone()?,
                arrow_md.clone(),
            )
            .with_row_groups(vec![i])
            .build()?;
            for batch in reader {
                let batch = batch?;
                pending_rows += batch.num_rows();
                pending.push(batch);
            }
            if pending_rows >= crate::sink::ROW_GROUP_ROWS {
                flush(&mut out, &mut pending, &mut pending_rows, &mut groups)?;
            }
        }
    }
    flush(&mut out, &mut pending, &mut pending_rows, &mut groups)?;
    out.close()?;
    Ok(rows)
}

/// The writer of a journaled `SyscallSink`: the part being written and the footer to come.
pub(crate) struct PartSink {
    journal: Arc<Journal>,
    /// Key-value metadata of every part (the run's header).
    header: Vec<KeyValue>,
    /// Added by the capture for the final footer.
    footer: Vec<KeyValue>,
    current: Option<Current>,
}

struct Current {
    writer: ArrowWriter<File>,
    staged: Staged,
    rows: u64,
}

impl PartSink {
    pub(crate) fn new(journal: Arc<Journal>, header: Vec<KeyValue>) -> Self {
        Self {
            journal,
            header,
            footer: Vec::new(),
            current: None,
        }
    }

    pub(crate) fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    pub(crate) fn add_footer(&mut self, kv: KeyValue) {
        self.footer.push(kv);
    }

    fn current(&mut self, path: &Path) -> Result<&mut Current, SinkError> {
        if self.current.is_none() {
            let staged = self.journal.stage_part()?;
            let writer = ArrowWriter::try_new(
                staged.writer()?,
                syscalls_schema(),
                Some(writer_properties(self.header.clone())),
            )
            .map_err(|e| parquet_err(path, e))?;
            self.current = Some(Current {
                writer,
                staged,
                rows: 0,
            });
        }
        Ok(self.current.as_mut().expect("created above"))
    }

    pub(crate) fn write(&mut self, batch: &RecordBatch, path: &Path) -> Result<(), SinkError> {
        let c = self.current(path)?;
        c.writer.write(batch).map_err(|e| parquet_err(path, e))?;
        c.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Closes the part being written (if it has rows) with the losses known now, and adds it to
    /// the journal.
    pub(crate) fn cut(&mut self, path: &Path) -> Result<(), SinkError> {
        let Some(mut c) = self.current.take() else {
            return Ok(());
        };
        for kv in self.journal.live() {
            c.writer.append_key_value_metadata(kv);
        }
        c.writer.append_key_value_metadata(KeyValue::new(
            meta::EVENTS_WRITTEN.into(),
            c.rows.to_string(),
        ));
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        c.writer
            .append_key_value_metadata(KeyValue::new(meta::END_NS.into(), now_ns.to_string()));
        c.writer.close().map_err(|e| parquet_err(path, e))?;
        self.journal.add_part(c.staged, c.rows)
    }

    /// Closes the last part (created empty if needed) with the final footer and hands it to the
    /// journal.
    pub(crate) fn close(mut self, path: &Path) -> Result<(), SinkError> {
        let footer = std::mem::take(&mut self.footer);
        let c = self.current(path)?;
        for kv in footer {
            c.writer.append_key_value_metadata(kv);
        }
        let c = self.current.take().expect("created above");
        c.writer.close().map_err(|e| parquet_err(path, e))?;
        self.journal.set_last(c.staged);
        Ok(())
    }
}

/// The output a journal folder `.NAME.parts` belongs to: `NAME` when it ends in `.parquet`,
/// else `NAME.parquet`.
pub fn output_of(journal_name: &OsStr) -> Option<OsString> {
    let name = journal_name.to_str()?;
    let base = name.strip_prefix('.')?.strip_suffix(SUFFIX)?;
    if base.is_empty() {
        return None;
    }
    Some(OsString::from(if base.ends_with(".parquet") {
        base.to_string()
    } else {
        format!("{base}.parquet")
    }))
}

/// The journal folder's name for output file `name`: `.trace.parts` for `trace.parquet`
/// (`output_of` is its inverse).
pub fn journal_name(name: &OsStr) -> String {
    let p = Path::new(name);
    let base = match p.extension() {
        Some(e) if e == "parquet" => p.file_stem().unwrap_or_default(),
        _ => name,
    };
    format!(".{}{SUFFIX}", base.to_string_lossy())
}

/// The parts in journal folder `dir`, in order.
pub(crate) fn part_names(dir: &OutDir) -> Result<Vec<String>, SinkError> {
    let mut names: Vec<String> = dir
        .entries()?
        .into_iter()
        .filter(|n| part_index(n).is_some())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_and_outputs() {
        assert_eq!(part_name(7), "part-000007.parquet");
        assert_eq!(part_index(OsStr::new("part-000007.parquet")), Some(7));
        assert_eq!(part_index(OsStr::new(".part-1.tmp")), None);
        assert_eq!(
            output_of(OsStr::new(".trace.parts")),
            Some(OsString::from("trace.parquet"))
        );
        assert_eq!(
            output_of(OsStr::new(".t.parquet.parts")),
            Some(OsString::from("t.parquet"))
        );
        assert_eq!(output_of(OsStr::new("trace.parts")), None);
        assert_eq!(journal_name(OsStr::new("trace.parquet")), ".trace.parts");
        assert_eq!(journal_name(OsStr::new("out")), ".out.parts");
    }
}
