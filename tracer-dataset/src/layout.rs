//! Where the files of a dataset live (docs/DESIGN.md, "Layout on disk"), defined once for every
//! producer and reader:
//!
//! - One run as one file: `trace.parquet` holds the syscalls, `trace.processes.parquet` beside
//!   it the processes (`processes_path`).
//! - A dataset folder: `DIR/syscalls/<run>.parquet`, `DIR/processes/<run>.parquet` (a run id's
//!   `/` become `--`, `run_file_name`), and for experiments `DIR/manifest.json` and
//!   `DIR/logs/<run>.log`.
//! - An imported dataset is one file of many runs with its labels (`dataset_paths`):
//!   `DIR/syscalls/<name>.parquet`, `DIR/processes/<name>.parquet`, `DIR/runs/<name>.parquet`,
//!   or given as `x.parquet`: `x.parquet`, `x.processes.parquet`, `x.runs.parquet`.
//!
//! Readers find files with one walker (`parquet_files`) and tell the tables apart by the file's
//! own footer (`table_of`), never by its name.

use std::{
    fs::File,
    path::{Path, PathBuf},
};

use parquet::file::{
    metadata::FileMetaData,
    reader::{FileReader, SerializedFileReader},
};

use crate::schema::{col, meta, table};

/// Folder of a dataset holding the `syscalls` files.
pub const SYSCALLS_DIR: &str = "syscalls";
/// Folder of a dataset holding the `processes` files.
pub const PROCESSES_DIR: &str = "processes";
/// Folder of an imported dataset holding the `runs` (labels) files.
pub const RUNS_DIR: &str = "runs";
/// Folder of an experiment dataset holding the commands' own output.
pub const LOGS_DIR: &str = "logs";
/// An experiment's manifest, at the dataset's root.
pub const MANIFEST: &str = "manifest.json";

/// The processes file beside a syscalls file: `trace.parquet` -> `trace.processes.parquet`
/// (`out` -> `out.processes.parquet`).
pub fn processes_path(syscalls: &Path) -> PathBuf {
    let base = match syscalls.extension() {
        Some(e) if e == "parquet" => syscalls.file_stem().unwrap_or_default(),
        _ => syscalls.file_name().unwrap_or_default(),
    };
    let base = base.to_string_lossy();
    syscalls.with_file_name(format!("{base}.processes.parquet"))
}

/// The runs (labels) file beside a syscalls file: `x.parquet` -> `x.runs.parquet`.
pub fn runs_path(syscalls: &Path) -> PathBuf {
    let base = match syscalls.extension() {
        Some(e) if e == "parquet" => syscalls.file_stem().unwrap_or_default(),
        _ => syscalls.file_name().unwrap_or_default(),
    };
    let base = base.to_string_lossy();
    syscalls.with_file_name(format!("{base}.runs.parquet"))
}

/// The syscalls, processes and runs files of an imported dataset written to `out`: an
/// `x.parquet` path names the syscalls file (the others beside it, `processes_path`,
/// `runs_path`); any other path is a dataset folder holding `<name>.parquet` in `syscalls/`,
/// `processes/` and `runs/`.
pub fn dataset_paths(out: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    if is_parquet(out) {
        return (out.to_path_buf(), processes_path(out), runs_path(out));
    }
    let file = run_file_name(name);
    (
        out.join(SYSCALLS_DIR).join(&file),
        out.join(PROCESSES_DIR).join(&file),
        out.join(RUNS_DIR).join(&file),
    )
}

/// The processes file of a syscalls file: in a dataset folder the same name under
/// `processes/` (`D/syscalls/r.parquet` -> `D/processes/r.parquet`), otherwise beside it
/// (`processes_path`).
pub fn processes_for(syscalls: &Path) -> PathBuf {
    let parent = syscalls.parent();
    if parent
        .and_then(Path::file_name)
        .is_some_and(|n| n == SYSCALLS_DIR)
        && let (Some(root), Some(name)) = (parent.and_then(Path::parent), syscalls.file_name())
    {
        return root.join(PROCESSES_DIR).join(name);
    }
    processes_path(syscalls)
}

/// File name of run `run_id` inside a dataset's `syscalls/` or `processes/` folder.
pub fn run_file_name(run_id: &str) -> String {
    format!("{}.parquet", run_id.replace('/', "--"))
}

/// The syscalls and processes files of run `run_id` in dataset folder `root`.
pub fn run_paths(root: &Path, run_id: &str) -> (PathBuf, PathBuf) {
    let name = run_file_name(run_id);
    (
        root.join(SYSCALLS_DIR).join(&name),
        root.join(PROCESSES_DIR).join(&name),
    )
}

/// Errors while finding a dataset's files.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// A folder could not be listed or a file opened.
    #[error("{action} {path}")]
    Io {
        /// What was being done (`listing`, `opening`).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The named path is neither a file nor a folder.
    #[error("{0}: no such file or folder")]
    NotFound(PathBuf),
}

/// Files under `root` (or `root` itself when it is a file) accepted by `keep`, sorted by path;
/// folders are searched recursively.
pub fn walk_files(root: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>, LayoutError> {
    if root.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    if !root.is_dir() {
        return Err(LayoutError::NotFound(root.to_path_buf()));
    }
    let io = |dir: &Path| {
        let dir = dir.to_path_buf();
        move |source| LayoutError::Io {
            action: "listing",
            path: dir,
            source,
        }
    };
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let path = entry.map_err(io(&dir))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    sort_paths(&mut out);
    Ok(out)
}

/// Sorts paths in `Path` order (component by component), comparing each path's components
/// decoded once rather than at every comparison: thousands of files sort in a fraction of the
/// time.
pub fn sort_paths(paths: &mut [PathBuf]) {
    paths.sort_by_cached_key(|p| {
        p.components()
            .map(|c| c.as_os_str().to_os_string())
            .collect::<Vec<_>>()
    });
}

/// Whether `path` is named `*.parquet`.
pub fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "parquet")
}

/// The Parquet files of a dataset folder (recursively, sorted); a file is returned as itself,
/// with its processes file (`processes_path`) when that exists.
pub fn parquet_files(path: &Path) -> Result<Vec<PathBuf>, LayoutError> {
    if path.is_file() {
        let mut files = vec![path.to_path_buf()];
        let procs = processes_path(path);
        if procs.is_file() {
            files.push(procs);
        }
        return Ok(files);
    }
    walk_files(path, &is_parquet)
}

/// Which table a Parquet file holds, from its footer (`meta::TABLE`; files of other writers with a
/// `syscall` column count as `syscalls`, others as `other`). `None`: not a Parquet file.
pub fn table_of(path: &Path) -> Result<Option<String>, LayoutError> {
    let file = File::open(path).map_err(|source| LayoutError::Io {
        action: "opening",
        path: path.to_path_buf(),
        source,
    })?;
    let Ok(reader) = SerializedFileReader::new(file) else {
        return Ok(None);
    };
    Ok(Some(table_of_metadata(reader.metadata().file_metadata())))
}

/// Which table a Parquet footer describes (see `table_of`), for readers that decode the footer
/// themselves.
pub fn table_of_metadata(md: &FileMetaData) -> String {
    if let Some(kv) = md.key_value_metadata()
        && let Some(t) = kv.iter().find(|kv| kv.key == meta::TABLE)
        && let Some(v) = &t.value
    {
        return v.clone();
    }
    let has_syscall = md
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .any(|f| f.name() == col::SYSCALL);
    if has_syscall {
        table::SYSCALLS
    } else {
        "other"
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_file_sits_beside() {
        assert_eq!(
            processes_path(Path::new("/x/trace.parquet")),
            PathBuf::from("/x/trace.processes.parquet")
        );
        assert_eq!(
            processes_path(Path::new("out")),
            PathBuf::from("out.processes.parquet")
        );
    }

    #[test]
    fn processes_of_a_dataset_file_are_in_the_processes_folder() {
        assert_eq!(
            processes_for(Path::new("d/syscalls/r.parquet")),
            PathBuf::from("d/processes/r.parquet")
        );
        assert_eq!(
            processes_for(Path::new("d/t.parquet")),
            PathBuf::from("d/t.processes.parquet")
        );
    }

    #[test]
    fn dataset_files() {
        assert_eq!(
            dataset_paths(Path::new("o/adfa.parquet"), "ADFA-LD"),
            (
                PathBuf::from("o/adfa.parquet"),
                PathBuf::from("o/adfa.processes.parquet"),
                PathBuf::from("o/adfa.runs.parquet")
            )
        );
        assert_eq!(
            dataset_paths(Path::new("o"), "ADFA-LD"),
            (
                PathBuf::from("o/syscalls/ADFA-LD.parquet"),
                PathBuf::from("o/processes/ADFA-LD.parquet"),
                PathBuf::from("o/runs/ADFA-LD.parquet")
            )
        );
    }

    #[test]
    fn run_files_flatten_slashes() {
        let (s, p) = run_paths(Path::new("d"), "attack/Hydra_1");
        assert_eq!(s, PathBuf::from("d/syscalls/attack--Hydra_1.parquet"));
        assert_eq!(p, PathBuf::from("d/processes/attack--Hydra_1.parquet"));
    }

    #[test]
    fn paths_sort_as_path_does() {
        let mut paths: Vec<PathBuf> = ["a-b", "a/b", "a/a/c", "a", "b.parquet", "a.b/c", "ab"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let mut expected = paths.clone();
        expected.sort();
        sort_paths(&mut paths);
        assert_eq!(paths, expected);
    }

    #[test]
    fn walker_sorts_and_recurses() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("b/c")).expect("mkdir");
        for f in ["b/c/2.parquet", "a.parquet", "b/1.txt"] {
            std::fs::write(dir.path().join(f), b"").expect("write");
        }
        let found = parquet_files(dir.path()).expect("walk");
        let names: Vec<_> = found
            .iter()
            .map(|p| p.strip_prefix(dir.path()).expect("under").to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![PathBuf::from("a.parquet"), PathBuf::from("b/c/2.parquet")]
        );
        assert!(matches!(
            walk_files(&dir.path().join("missing"), &is_parquet),
            Err(LayoutError::NotFound(_))
        ));
    }
}
