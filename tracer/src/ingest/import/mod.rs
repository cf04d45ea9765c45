//! Importers of public syscall datasets, each into the same schema as a capture:
//! - `adfa`: ADFA-LD (UNSW, 2013), folders of i386 syscall-number traces;
//! - `unm`: the University of New Mexico traces (Forrest et al.), `pid number` lines;
//! - `lidds`: LID-DS 2021 `.sc` recordings (sysdig enter/exit event rows).

pub mod adfa;
pub mod lidds;
pub mod unm;

use std::path::{Path, PathBuf};

use tracer_dataset::layout::{self, LayoutError};

use super::IngestError;

/// Files under `root` (or `root` itself when it is a file) accepted by `keep`, sorted by path
/// (the dataset crate's walker, errors as ingest errors).
pub(crate) fn walk(root: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>, IngestError> {
    layout::walk_files(root, keep).map_err(|e| match e {
        LayoutError::NotFound(path) => IngestError::Input {
            path,
            what: "no such file or folder".into(),
        },
        LayoutError::Io { path, source, .. } => IngestError::Io { path, source },
    })
}

/// Reads a whole text file.
pub(crate) fn read_text(path: &Path) -> Result<String, IngestError> {
    let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// A malformed-line error, or a skip under `--lenient`.
pub(crate) fn malformed(
    lenient: bool,
    skipped: &mut u64,
    path: &Path,
    line: u64,
    expected: &'static str,
    text: &str,
) -> Result<(), IngestError> {
    if lenient {
        *skipped += 1;
        return Ok(());
    }
    Err(IngestError::Malformed {
        path: path.to_path_buf(),
        line,
        expected,
        text: text.chars().take(200).collect(),
    })
}

/// `name` of syscall `nr` in `table`, or `syscall_<nr>` when the table has no such number.
pub(crate) fn name_of(
    table: &tracer_dataset::arch::SyscallTable,
    nr: i64,
    buf: &mut String,
) -> &'static str {
    match table.by_nr(nr) {
        Some(i) => i.name,
        None => {
            buf.clear();
            use std::fmt::Write as _;
            let _ = write!(buf, "syscall_{nr}");
            ""
        }
    }
}
