//! Builds the eBPF object (`tracer-ebpf`) for `bpfel-unknown-none` with the nightly toolchain and
//! `bpf-linker`, and hands its path to the crate as `TRACER_EBPF_OBJECT`.
//!
//! The nested cargo runs in its own target directory (`target/ebpf`) so it never waits on the
//! lock of the build that runs this script. `cargo xtask setup` installs what it needs; set
//! `TRACER_EBPF_OBJECT` to use a prebuilt object instead.
//!
//! Stub mode (as aya's template offers): where the eBPF toolchain is absent (no nightly
//! toolchain or no `bpf-linker`), or with `TRACER_EBPF_STUB=1`, the crate is built with an empty
//! object and a cargo warning, so the parts that need no kernel (strace ingest, importers,
//! parity, their tests) build and test anywhere; `tracer record` then says which build step was
//! skipped. `TRACER_EBPF_REQUIRE=1` (set by `cargo xtask`) turns the fallback into an error, so
//! the project's own test and demo commands always build and load the real object.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

/// Why the real object cannot be built here, if it cannot: the toolchain pieces `setup` installs.
fn missing_toolchain() -> Option<&'static str> {
    let ok = |cmd: &mut Command| {
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ok(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])) {
        return Some("the nightly toolchain");
    }
    if !ok(Command::new("bpf-linker").arg("--version")) {
        return Some("bpf-linker");
    }
    None
}

/// Writes an empty object: `probe::Probe::load` refuses it with a message naming the reason.
fn stub(dest: &Path, reason: &str) -> anyhow::Result<()> {
    println!(
        "cargo:warning=tracer: building without the eBPF object ({reason}); `tracer record` will \
         refuse to run. `cargo xtask setup` installs the toolchain."
    );
    std::fs::write(dest, b"").with_context(|| format!("writing {}", dest.display()))?;
    println!("cargo:rustc-env=TRACER_EBPF_OBJECT={}", dest.display());
    println!("cargo:rustc-env=TRACER_EBPF_STUB_REASON={reason}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-env-changed=TRACER_EBPF_OBJECT");
    println!("cargo:rerun-if-env-changed=TRACER_EBPF_STUB");
    println!("cargo:rerun-if-env-changed=TRACER_EBPF_REQUIRE");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").context("OUT_DIR not set")?);
    let dest = out_dir.join("tracer-ebpf.o");
    let required = env::var_os("TRACER_EBPF_REQUIRE").is_some_and(|v| v == "1");
    if let Some(prebuilt) = env::var_os("TRACER_EBPF_OBJECT") {
        std::fs::copy(&prebuilt, &dest).with_context(|| {
            format!(
                "copying TRACER_EBPF_OBJECT {}",
                Path::new(&prebuilt).display()
            )
        })?;
        println!("cargo:rustc-env=TRACER_EBPF_OBJECT={}", dest.display());
        return Ok(());
    }
    if env::var_os("TRACER_EBPF_STUB").is_some_and(|v| v == "1") {
        if required {
            bail!("TRACER_EBPF_STUB=1 and TRACER_EBPF_REQUIRE=1 contradict each other");
        }
        return stub(&dest, "TRACER_EBPF_STUB=1");
    }
    if let Some(missing) = missing_toolchain() {
        if required {
            bail!(
                "building the eBPF object needs {missing}, which is not installed: run `cargo \
                 xtask setup`"
            );
        }
        return stub(&dest, &format!("{missing} is not installed"));
    }
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").context("CARGO_MANIFEST_DIR")?);
    let workspace = manifest_dir
        .parent()
        .context("tracer has no parent directory")?;
    let ebpf_dir = workspace.join("tracer-ebpf");
    let common_dir = workspace.join("tracer-common");
    for dir in [&ebpf_dir, &common_dir] {
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("Cargo.toml").display()
        );
    }
    let target_dir = workspace.join("target").join("ebpf");
    let mut cmd = Command::new("rustup");
    cmd.args([
        "run",
        "nightly",
        "cargo",
        "build",
        "--release",
        "-Z",
        "build-std=core",
    ])
    .args(["--target", "bpfel-unknown-none", "--bin", "tracer-ebpf"])
    .arg("--target-dir")
    .arg(&target_dir)
    .current_dir(&ebpf_dir);
    // The build-script environment points at the stable toolchain and carries this build's
    // flags; the nested build must pick its own.
    for var in [
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO",
        "RUSTDOC",
        "CARGO_MAKEFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(
        "CARGO_ENCODED_RUSTFLAGS",
        [
            "--cfg=bpf_target_arch=\"x86_64\"",
            "-Cdebuginfo=2",
            "-Clink-arg=--btf",
        ]
        .join("\x1f"),
    );
    let status = cmd.status().context(
        "running `rustup run nightly cargo` to build the eBPF object; run `cargo xtask setup` first",
    )?;
    if !status.success() {
        bail!(
            "building tracer-ebpf failed ({status}); `cargo xtask setup` installs the nightly \
             rust-src component, llvm-22-dev and bpf-linker it needs"
        );
    }
    let built = target_dir.join("bpfel-unknown-none/release/tracer-ebpf");
    std::fs::copy(&built, &dest).with_context(|| format!("copying {}", built.display()))?;
    println!("cargo:rustc-env=TRACER_EBPF_OBJECT={}", dest.display());
    Ok(())
}
