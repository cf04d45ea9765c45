//! Builds the eBPF object (`tracer-ebpf`) for `bpfel-unknown-none` with the nightly toolchain and
//! `bpf-linker`, and hands its path to the crate as `TRACER_EBPF_OBJECT`.
//!
//! The nested cargo runs in its own target directory (`target/ebpf`) so it never waits on the
//! lock of the build that runs this script. `cargo xtask setup` installs what it needs; set
//! `TRACER_EBPF_OBJECT` to use a prebuilt object instead.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-env-changed=TRACER_EBPF_OBJECT");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").context("OUT_DIR not set")?);
    let dest = out_dir.join("tracer-ebpf.o");
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
