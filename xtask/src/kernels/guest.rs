//! What goes into a guest's initramfs: busybox, the release `tracer` and the host programs the
//! native tests run (`sh`, `true`, `ls`, `sleep`), each with the shared libraries `ldd` lists,
//! the static test programs, the kernel's modules, and `/init` with the kernel's checks.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

use super::{
    checks::{self, Check, GUEST_PROGRAMS},
    fetch::Kernel,
    initramfs::{self, Cpio},
};

/// The C test programs of `tests/data/programs/`, compiled statically for the guest.
pub const C_PROGRAMS: &[&str] = &["known", "forkrace", "ticker", "storm", "cutshort", "sigret"];
/// Host programs the native tests run by name, placed at `/bin/<name>` in the guest (busybox
/// runs `ls` without an exec, which a check of the exec chain would see).
const HOST_PROGRAMS: &[&str] = &["sh", "true", "ls", "sleep"];
/// The init template; `@CHECK_TIMEOUT_S@` and `@CHECKS@` are filled in.
const INIT_TEMPLATE: &str = include_str!("guest_init.sh");

/// Compiles the test programs statically into `dest` (`cc -static`; the 32-bit one with
/// `as --32` and `ld -m elf_i386`, as the native test does).
pub fn compile_programs(workspace: &Path, dest: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fs::create_dir_all(dest)?;
    let src = workspace.join("tests/data/programs");
    let mut out = Vec::new();
    for name in C_PROGRAMS {
        let exe = dest.join(name);
        let c = src.join(format!("{name}.c"));
        let status = Command::new("cc")
            .args(["-static", "-O2", "-pthread", "-o"])
            .arg(&exe)
            .arg(&c)
            .status()
            .context("running cc")?;
        if !status.success() {
            bail!(
                "cc -static {} failed (glibc's static libraries: libc6-dev)",
                c.display()
            );
        }
        out.push(exe);
    }
    let obj = dest.join("compat32.o");
    let exe = dest.join("compat32");
    let status = Command::new("as")
        .args(["--32", "-o"])
        .arg(&obj)
        .arg(src.join("compat32.s"))
        .status()
        .context("running as")?;
    let status = if status.success() {
        Command::new("ld")
            .args(["-m", "elf_i386", "-o"])
            .arg(&exe)
            .arg(&obj)
            .status()
            .context("running ld")?
    } else {
        status
    };
    if !status.success() {
        bail!("assembling tests/data/programs/compat32.s (binutils) failed");
    }
    let _ = fs::remove_file(&obj);
    out.push(exe);
    Ok(out)
}

/// A host program by name, from `PATH`'s usual folders.
fn host_program(name: &str) -> anyhow::Result<PathBuf> {
    ["/bin", "/usr/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .with_context(|| format!("no {name} in /bin or /usr/bin"))
}

/// The files shared by every guest, read once.
pub struct GuestFiles {
    /// `(guest path, mode, bytes)` of every regular file but the modules and `/init`.
    files: Vec<(String, u32, Vec<u8>)>,
}

impl GuestFiles {
    /// Reads busybox, the stripped tracer, the host programs with their libraries, and the
    /// compiled programs.
    pub fn collect(
        busybox: &Path,
        tracer: &Path,
        programs: &[PathBuf],
        scratch: &Path,
    ) -> anyhow::Result<Self> {
        let read = |p: &Path| fs::read(p).with_context(|| format!("reading {}", p.display()));
        let mut files = vec![
            ("/bin/busybox".to_string(), 0o755, read(busybox)?),
            (
                "/bin/tracer".to_string(),
                0o755,
                initramfs::stripped(tracer, scratch)?,
            ),
        ];
        let mut libs = initramfs::shared_libraries(tracer)?;
        for name in HOST_PROGRAMS {
            let path = host_program(name)?;
            libs.extend(initramfs::shared_libraries(&path)?);
            files.push((format!("/bin/{name}"), 0o755, read(&path)?));
        }
        libs.sort();
        libs.dedup();
        for lib in libs {
            files.push((lib.display().to_string(), 0o755, read(&lib)?));
        }
        for p in programs {
            let name = p.file_name().expect("program name").to_string_lossy();
            files.push((format!("{GUEST_PROGRAMS}/{name}"), 0o755, read(p)?));
        }
        Ok(Self { files })
    }

    /// Writes `kernel`'s initramfs to `dest`: the shared files, its modules, and an `/init`
    /// running `checks` with a per-check timeout of `check_timeout_s`.
    pub fn write_initramfs(
        &self,
        kernel: &Kernel,
        checks: &[Check],
        check_timeout_s: u64,
        dest: &Path,
    ) -> anyhow::Result<()> {
        let mut cpio = Cpio::default();
        for dir in ["/dev", "/proc", "/sys", "/tmp", "/root", "/modules"] {
            cpio.dir(dir);
        }
        // The kernel opens /dev/console for init before anything is mounted.
        cpio.char_device("/dev/console", 0o600, 5, 1);
        cpio.file("/etc/passwd", 0o644, b"root:x:0:0:root:/root:/bin/sh\n");
        cpio.file("/etc/group", 0o644, b"root:x:0:\n");
        for (path, mode, bytes) in &self.files {
            cpio.file(path, *mode, bytes);
        }
        for m in &kernel.modules {
            let name = m.file_name().expect("module name").to_string_lossy();
            let bytes = fs::read(m).with_context(|| format!("reading {}", m.display()))?;
            cpio.file(&format!("/modules/{name}"), 0o644, &bytes);
        }
        let init = INIT_TEMPLATE
            .replace("@CHECK_TIMEOUT_S@", &check_timeout_s.to_string())
            .replace("@CHECKS@", &checks::guest_script(checks));
        cpio.file("/init", 0o755, init.as_bytes());
        initramfs::write_gzip(&cpio.finish(), dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_template_has_its_placeholders() {
        assert!(INIT_TEMPLATE.contains("T=@CHECK_TIMEOUT_S@"));
        assert!(INIT_TEMPLATE.contains("\n@CHECKS@\n"));
    }
}
