//! `cargo xtask setup`: installs the eBPF toolchain, the test readers, the browser the report
//! test uses, the QEMU the kernel matrix boots and the Spark (pyspark and a headless JRE) the
//! Spark SQL test runs, idempotently.

use std::process::Command;

use anyhow::{Context as _, bail};

use crate::run;

/// LLVM major version of the nightly toolchain (`rustc +nightly -vV`); bpf-linker must match.
const LLVM_MAJOR: &str = "22";

fn ok(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    if !is_root() {
        bail!(
            "missing Debian packages {packages:?}: run `sudo apt-get install {}` (or run this as root)",
            packages.join(" ")
        );
    }
    if !ok(Command::new("apt-get").arg("--version")) {
        bail!("missing {packages:?} and no apt-get here: install them with your package manager");
    }
    eprintln!("xtask setup: apt-get install {}", packages.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The peers `bench capture` measures against, from Debian's packages: `perf` (linux-perf) and
/// `bpftrace`; skips what is present.
pub fn bench_peers() -> anyhow::Result<()> {
    let mut missing = Vec::new();
    let has_perf = crate::capture_bench::perf_binary().is_some();
    if !has_perf {
        missing.push("linux-perf");
    }
    if !ok(Command::new("bpftrace").arg("--version")) {
        missing.push("bpftrace");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        apt_install(&missing)
    }
}

/// Installs everything the build and the tests need; skips what is present.
pub fn setup() -> anyhow::Result<()> {
    // 1. rust-src for the nightly toolchain (build-std=core for bpfel-unknown-none).
    let installed = Command::new("rustup")
        .args(["component", "list", "--toolchain", "nightly", "--installed"])
        .output()
        .context("running rustup: the nightly toolchain is needed for the eBPF side")?;
    if !String::from_utf8_lossy(&installed.stdout).contains("rust-src") {
        eprintln!("xtask setup: rustup component add rust-src --toolchain nightly");
        run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            "nightly",
        ]))?;
    }
    let rustc = Command::new("rustc").args(["+nightly", "-vV"]).output()?;
    let version = String::from_utf8_lossy(&rustc.stdout);
    if !version.contains(&format!("LLVM version: {LLVM_MAJOR}.")) {
        eprintln!(
            "xtask setup: warning: nightly's LLVM is not {LLVM_MAJOR} ({}); bpf-linker must match it",
            version
                .lines()
                .find(|l| l.starts_with("LLVM"))
                .unwrap_or("unknown")
        );
    }
    // 2. llvm-22-dev (bpf-linker links against it).
    let llvm_bin = format!("/usr/lib/llvm-{LLVM_MAJOR}/bin");
    let llvm_config = format!("{llvm_bin}/llvm-config");
    let linker_ok = ok(Command::new("bpf-linker").arg("--version"));
    if !linker_ok && !std::path::Path::new(&llvm_config).exists() {
        apt_install(&[
            &format!("llvm-{LLVM_MAJOR}-dev"),
            &format!("libpolly-{LLVM_MAJOR}-dev"),
            "zlib1g-dev",
            "libzstd-dev",
        ])?;
    }
    // 3. bpf-linker built against that LLVM.
    if !linker_ok {
        eprintln!("xtask setup: cargo install bpf-linker (LLVM {LLVM_MAJOR})");
        let path = format!("{llvm_bin}:{}", std::env::var("PATH").unwrap_or_default());
        run(Command::new("cargo")
            .args([
                "install",
                "bpf-linker",
                "--no-default-features",
                "--features",
            ])
            .arg(format!("llvm-{LLVM_MAJOR}"))
            .env("PATH", path))?;
    }
    // 4. What the tests drive: strace (parity reference), a C compiler (test programs) with
    // glibc's static libraries (the kernel matrix's guests run them statically linked),
    // Debian's headless Chromium (the report test renders index.html in a real browser), and
    // QEMU (the kernel matrix boots Debian's cloud kernels).
    let mut missing = Vec::new();
    if !ok(Command::new("strace").arg("-V")) {
        missing.push("strace");
    }
    if !ok(Command::new("chromium").arg("--version")) {
        missing.push("chromium");
    }
    if !ok(Command::new("cc").arg("--version")) {
        missing.push("gcc");
    }
    if !std::path::Path::new("/usr/lib/x86_64-linux-gnu/libc.a").exists() {
        missing.push("libc6-dev");
    }
    if !ok(Command::new("qemu-system-x86_64").arg("--version")) {
        missing.push("qemu-system-x86");
    }
    // The Java runtime Spark's local mode runs on (the Spark agreement test; pyspark 4 needs 17+).
    if !ok(Command::new("java").arg("-version")) {
        missing.push("openjdk-17-jre-headless");
    }
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    // 5. The Python readers the tests check the Parquet files with.
    if !ok(Command::new("python3").args(["-c", "import duckdb, polars"])) {
        eprintln!("xtask setup: pip install duckdb polars");
        run(Command::new("python3").args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "duckdb>=1.1",
            "polars>=1.7",
        ]))?;
    }
    // 6. Apache Spark for the Spark dialect of `tracer-analyze sql` (its agreement test and
    // `bench sql` run it in local mode on the JRE above).
    if !ok(Command::new("python3").args(["-c", "import pyspark"])) {
        eprintln!("xtask setup: pip install pyspark");
        run(Command::new("python3").args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "pyspark>=3.5",
        ]))?;
    }
    Ok(())
}
