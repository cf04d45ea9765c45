//! Helpers shared by the end-to-end tests in `tests/tests/`: locating the built binaries,
//! compiling the C test programs, running a live capture, reading Parquet files back (through
//! the dataset crate's full-row reader), and running Python readers.

pub mod pty;

use std::{
    collections::HashMap,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use tracer_dataset::{
    layout::processes_path,
    rows::{self, ProcessRecord, ReadError, SyscallRecord},
};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate lives in the workspace")
        .to_path_buf()
}

/// A binary of the workspace, built by `cargo build --workspace --bins` (which `cargo xtask
/// test` runs before the tests).
pub fn bin(name: &str) -> PathBuf {
    // target/debug/deps/<test>-<hash> -> target/debug/<name>
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary sits in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` first (cargo xtask test does)",
        path.display()
    );
    path
}

/// Compiles `tests/data/programs/<name>.c` into `dir` and returns the executable.
pub fn compile(name: &str, dir: &Path) -> PathBuf {
    let src = workspace().join(format!("tests/data/programs/{name}.c"));
    let out = dir.join(name);
    let status = Command::new("cc")
        .args(["-O2", "-pthread", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("running cc");
    assert!(status.success(), "compiling {}", src.display());
    out
}

/// Whether this process is root (the live kernel tests need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Panics with a clear message when not root: the live tests are not skipped.
pub fn require_root() {
    assert!(
        is_root(),
        "the live eBPF tests load real programs into the kernel and must run as root \
         (sudo -E cargo xtask test)"
    );
}

/// Runs `tracer` with `args`, returning its output.
pub fn tracer(args: &[&str]) -> Output {
    Command::new(bin("tracer"))
        .args(args)
        .output()
        .expect("running tracer")
}

/// Why `path` could not be read, with the whole error chain.
fn unreadable(path: &Path, error: &ReadError) -> ! {
    let mut msg = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        msg.push_str(": ");
        msg.push_str(&cause.to_string());
        source = cause.source();
    }
    panic!("reading {}: {msg}", path.display())
}

/// Every row of a syscalls file (the dataset crate's reader), panicking with the file's name.
pub fn read_syscalls(path: &Path) -> Vec<SyscallRecord> {
    rows::read_syscalls(path).unwrap_or_else(|e| unreadable(path, &e))
}

/// Every row of a processes file (the dataset crate's reader), panicking with the file's name.
pub fn read_processes(path: &Path) -> Vec<ProcessRecord> {
    rows::read_processes(path).unwrap_or_else(|e| unreadable(path, &e))
}

/// Every row of a runs (labels) file, panicking with the file's name.
pub fn read_runs(path: &Path) -> Vec<tracer_dataset::RunLabels> {
    tracer_dataset::labels::read_runs(path).unwrap_or_else(|e| unreadable(path, &e))
}

/// Both files of one run: the syscalls file `syscalls` and the processes file beside it.
pub fn read_run(syscalls: &Path) -> (Vec<SyscallRecord>, Vec<ProcessRecord>) {
    (
        read_syscalls(syscalls),
        read_processes(&processes_path(syscalls)),
    )
}

/// The file's key-value metadata (`tracer_dataset::meta` keys), panicking with the file's name.
pub fn metadata(path: &Path) -> HashMap<String, String> {
    rows::metadata(path).unwrap_or_else(|e| unreadable(path, &e))
}

/// One live capture: a temporary folder, the output `<dir>/<stem>.parquet` that `tracer
/// record -o` writes (its processes file beside it), and the tracer run on it. The folder is
/// removed when the value is dropped.
pub struct Capture {
    dir: tempfile::TempDir,
    /// The syscalls file given to `-o`.
    pub out: PathBuf,
}

impl Capture {
    /// A fresh folder for a capture into `<stem>.parquet`. Panics unless root
    /// ([`require_root`]): every capture loads the real programs.
    pub fn new(stem: &str) -> Self {
        require_root();
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join(format!("{stem}.parquet"));
        Self { dir, out }
    }

    /// Lets every user write the folder, for a tracer or command running as another user.
    pub fn writable_by_all(self) -> Self {
        std::fs::set_permissions(self.dir(), PermissionsExt::from_mode(0o777)).expect("chmod");
        self
    }

    /// The temporary folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Compiles `tests/data/programs/<name>.c` into the folder ([`compile`]).
    pub fn compile(&self, name: &str) -> PathBuf {
        compile(name, self.dir())
    }

    /// `tracer record FLAGS -o OUT -- COMMAND`, to run, spawn or adjust (environment, pipes).
    /// An empty `command` gives no `--` (attaching with `-p`).
    pub fn record_command(&self, flags: &[&str], command: &[&str]) -> Command {
        let mut cmd = Command::new(bin("tracer"));
        cmd.arg("record").args(flags).arg("-o").arg(&self.out);
        if !command.is_empty() {
            cmd.arg("--").args(command);
        }
        cmd
    }

    /// Runs [`Capture::record_command`] to the end, returning its output.
    pub fn record(&self, flags: &[&str], command: &[&str]) -> Output {
        self.record_command(flags, command)
            .output()
            .expect("running tracer")
    }

    /// Every row of the syscalls file.
    pub fn syscalls(&self) -> Vec<SyscallRecord> {
        read_syscalls(&self.out)
    }

    /// Every row of the processes file beside it.
    pub fn processes(&self) -> Vec<ProcessRecord> {
        read_processes(&processes_path(&self.out))
    }

    /// The syscalls file's key-value metadata.
    pub fn metadata(&self) -> HashMap<String, String> {
        metadata(&self.out)
    }
}

/// Copies the folder `src` to `dst` (created), recursively.
pub fn copy_folder(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for entry in std::fs::read_dir(src).expect("read_dir") {
        let entry = entry.expect("entry");
        let to = dst.join(entry.file_name());
        if entry.path().is_dir() {
            copy_folder(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy");
        }
    }
}

/// Writes the zip archive `zip` of every file under `folder` (deflated, sorted), each member
/// named by its path below `folder`, under `top/` when given: how datasets ship their folders.
pub fn zip_folder(folder: &Path, zip: &Path, top: Option<&str>) {
    use std::io::Write as _;
    let mut files = Vec::new();
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(zip).expect("create zip"));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for f in files {
        let below = f
            .strip_prefix(folder)
            .expect("below")
            .to_string_lossy()
            .into_owned();
        let name = match top {
            Some(t) => format!("{t}/{below}"),
            None => below,
        };
        writer.start_file(name, options).expect("start member");
        writer
            .write_all(&std::fs::read(&f).expect("read member"))
            .expect("write member");
    }
    writer.finish().expect("finish zip");
}

/// Rows per row group of a Parquet file, with each group's `scenario` statistics (min, max).
pub fn row_groups(path: &Path) -> Vec<(i64, Option<String>, Option<String>)> {
    use parquet::file::{reader::FileReader as _, serialized_reader::SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(path).expect("open"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let md = reader.metadata();
    let column = md
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.name() == tracer_dataset::col::SCENARIO)
        .expect("a scenario column");
    md.row_groups()
        .iter()
        .map(|g| {
            let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
            let stats = g.column(column).statistics();
            (
                g.num_rows(),
                text(stats.and_then(|s| s.min_bytes_opt())),
                text(stats.and_then(|s| s.max_bytes_opt())),
            )
        })
        .collect()
}

/// Runs a Python script with `args`, panicking with its output if it fails; returns stdout.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
