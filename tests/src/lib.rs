//! Helpers shared by the end-to-end tests in `tests/tests/`: locating the built binaries,
//! compiling the C test programs, reading Parquet files back, and running Python readers.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use arrow::{
    array::{Array, AsArray, RecordBatch},
    compute::cast,
    datatypes::{DataType, Int32Type, Int64Type, UInt64Type},
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

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

/// One row of the syscalls table, with the columns the tests check.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// seq.
    pub seq: u64,
    /// ts_ns.
    pub ts_ns: Option<i64>,
    /// duration_ns.
    pub duration_ns: Option<i64>,
    /// pid.
    pub pid: i32,
    /// tid.
    pub tid: i32,
    /// comm.
    pub comm: Option<String>,
    /// syscall.
    pub syscall: String,
    /// nr.
    pub nr: i32,
    /// args.
    pub args: Option<Vec<u64>>,
    /// ret.
    pub ret: Option<i64>,
    /// path.
    pub path: Option<String>,
}

fn batches(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap_or_else(|e| panic!("{} is not readable Parquet: {e}", path.display()))
        .build()
        .expect("reader");
    reader.map(|b| b.expect("batch")).collect()
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let col = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    let utf8 = cast(col, &DataType::Utf8).expect("cast to utf8");
    let a = utf8.as_string::<i32>();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
        .collect()
}

fn i64s(batch: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let col = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    let c = cast(col, &DataType::Int64).expect("cast to i64");
    let a = c.as_primitive::<Int64Type>();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

/// Reads every row of a syscalls file.
pub fn read_syscalls(path: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    for b in batches(path) {
        let seq = b
            .column_by_name("seq")
            .expect("seq")
            .as_primitive::<UInt64Type>()
            .clone();
        let pid = b
            .column_by_name("pid")
            .expect("pid")
            .as_primitive::<Int32Type>()
            .clone();
        let tid = b
            .column_by_name("tid")
            .expect("tid")
            .as_primitive::<Int32Type>()
            .clone();
        let nr = b
            .column_by_name("nr")
            .expect("nr")
            .as_primitive::<Int32Type>()
            .clone();
        let ts = i64s(&b, "ts_ns");
        let dur = i64s(&b, "duration_ns");
        let ret = i64s(&b, "ret");
        let comm = strings(&b, "comm");
        let syscall = strings(&b, "syscall");
        let path_col = strings(&b, "path");
        let args = b
            .column_by_name("args")
            .expect("args")
            .as_fixed_size_list()
            .clone();
        for i in 0..b.num_rows() {
            let a = args
                .is_valid(i)
                .then(|| args.value(i).as_primitive::<UInt64Type>().values().to_vec());
            rows.push(Row {
                seq: seq.value(i),
                ts_ns: ts[i],
                duration_ns: dur[i],
                pid: pid.value(i),
                tid: tid.value(i),
                comm: comm[i].clone(),
                syscall: syscall[i].clone().expect("syscall is never null"),
                nr: nr.value(i),
                args: a,
                ret: ret[i],
                path: path_col[i].clone(),
            });
        }
    }
    rows
}

/// One row of the processes table.
#[derive(Clone, Debug, PartialEq)]
pub struct Proc {
    /// pid.
    pub pid: i32,
    /// ppid.
    pub ppid: Option<i64>,
    /// exit_code.
    pub exit_code: Option<i64>,
    /// signal.
    pub signal: Option<i64>,
    /// start_ns.
    pub start_ns: Option<i64>,
    /// exit_ns.
    pub exit_ns: Option<i64>,
    /// exe.
    pub exe: Option<String>,
    /// comm.
    pub comm: Option<String>,
    /// argv.
    pub argv: Option<Vec<String>>,
}

/// Reads a processes file.
pub fn read_processes(path: &Path) -> Vec<Proc> {
    let mut out = Vec::new();
    for b in batches(path) {
        let pid = i64s(&b, "pid");
        let ppid = i64s(&b, "ppid");
        let code = i64s(&b, "exit_code");
        let signal = i64s(&b, "signal");
        let start = i64s(&b, "start_ns");
        let exit = i64s(&b, "exit_ns");
        let exe = strings(&b, "exe");
        let comm = strings(&b, "comm");
        let argv = b
            .column_by_name("argv")
            .expect("argv")
            .as_list::<i32>()
            .clone();
        for i in 0..b.num_rows() {
            let a = argv.is_valid(i).then(|| {
                let v = argv.value(i);
                let s = v.as_string::<i32>();
                (0..s.len()).map(|j| s.value(j).to_string()).collect()
            });
            out.push(Proc {
                pid: pid[i].expect("pid") as i32,
                ppid: ppid[i],
                exit_code: code[i],
                signal: signal[i],
                start_ns: start[i],
                exit_ns: exit[i],
                exe: exe[i].clone(),
                comm: comm[i].clone(),
                argv: a,
            });
        }
    }
    out
}

/// The file's key-value metadata.
pub fn metadata(path: &Path) -> HashMap<String, String> {
    let file = std::fs::File::open(path).expect("open");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
    builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
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
