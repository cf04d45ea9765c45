//! The guest's root file system: a cpio archive in the kernel's `newc` format
//! (Documentation/driver-api/early-userspace/buffer-format.rst), gzip-compressed, holding
//! busybox, the release `tracer` with the shared libraries `ldd` lists, the static test
//! programs, the kernel's modules and the generated `/init`.

use std::{
    collections::HashSet,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFCHR: u32 = 0o020_000;

/// A `newc` cpio archive built in memory; parent folders are added as needed.
#[derive(Default)]
pub struct Cpio {
    out: Vec<u8>,
    next_ino: u32,
    dirs: HashSet<String>,
}

impl Cpio {
    fn pad4(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        self.next_ino += 1;
        let size = u32::try_from(data.len()).expect("initramfs files are under 4 GiB");
        let namesize = u32::try_from(name.len() + 1).expect("short name");
        let fields = [
            self.next_ino,
            mode,
            0, // uid
            0, // gid
            if mode & S_IFDIR != 0 { 2 } else { 1 },
            0, // mtime: reproducible archives
            size,
            0,
            0,
            rdev.0,
            rdev.1,
            namesize,
            0, // check (only for the crc format)
        ];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad4();
        self.out.extend_from_slice(data);
        self.pad4();
    }

    fn parents(&mut self, path: &str) {
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let dir = &path[..at + i];
            at += i + 1;
            if !dir.is_empty() && self.dirs.insert(dir.to_string()) {
                self.entry(dir, S_IFDIR | 0o755, &[], (0, 0));
            }
        }
    }

    fn clean(path: &str) -> &str {
        path.trim_start_matches('/')
    }

    /// A folder (and its parents).
    pub fn dir(&mut self, path: &str) {
        let path = Self::clean(path);
        self.parents(path);
        if self.dirs.insert(path.to_string()) {
            self.entry(path, S_IFDIR | 0o755, &[], (0, 0));
        }
    }

    /// A regular file with permission bits `perm`.
    pub fn file(&mut self, path: &str, perm: u32, data: &[u8]) {
        let path = Self::clean(path);
        self.parents(path);
        self.entry(path, S_IFREG | perm, data, (0, 0));
    }

    /// A character device node.
    pub fn char_device(&mut self, path: &str, perm: u32, major: u32, minor: u32) {
        let path = Self::clean(path);
        self.parents(path);
        self.entry(path, S_IFCHR | perm, &[], (major, minor));
    }

    /// The archive with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[], (0, 0));
        // The kernel reads the archive in 512-byte blocks' worth of padding happily; pad as
        // cpio(1) does.
        while !self.out.len().is_multiple_of(512) {
            self.out.push(0);
        }
        self.out
    }
}

/// The shared libraries and loader that `ldd BINARY` lists, as absolute paths.
pub fn shared_libraries(binary: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .context("running ldd")?;
    if !out.status.success() {
        bail!("ldd {} failed", binary.display());
    }
    Ok(parse_ldd(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// `binary` without its debug sections (`strip --strip-debug`), read into memory.
pub fn stripped(binary: &Path, scratch: &Path) -> anyhow::Result<Vec<u8>> {
    let status = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(scratch)
        .arg(binary)
        .status()
        .context("running strip (binutils)")?;
    if !status.success() {
        bail!("strip {} failed", binary.display());
    }
    let bytes = fs::read(scratch)?;
    let _ = fs::remove_file(scratch);
    Ok(bytes)
}

/// Writes `archive` gzip-compressed to `dest` (`gzip -n`: no name or time, reproducible).
pub fn write_gzip(archive: &[u8], dest: &Path) -> anyhow::Result<()> {
    let raw = dest.with_extension("");
    fs::write(&raw, archive).with_context(|| format!("writing {}", raw.display()))?;
    let status = Command::new("gzip")
        .args(["-n", "-f", "-6"])
        .arg(&raw)
        .status()
        .context("running gzip")?;
    if !status.success() {
        bail!("gzip {} failed", raw.display());
    }
    let gz = PathBuf::from(format!("{}.gz", raw.display()));
    if gz != dest {
        fs::rename(&gz, dest)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_entries_are_aligned_and_parents_come_first() {
        let mut c = Cpio::default();
        c.file("/a/b/c", 0o644, b"xyz");
        c.char_device("/a/console", 0o600, 5, 1);
        let out = c.finish();
        assert_eq!(out.len() % 512, 0);
        let text = String::from_utf8_lossy(&out);
        let (a, b, c_) = (
            text.find("a\0").expect("a"),
            text.find("a/b\0").expect("a/b"),
            text.find("a/b/c\0").expect("a/b/c"),
        );
        assert!(a < b && b < c_, "parents first");
        assert!(text.starts_with("070701"));
        // Every header starts on a 4-byte boundary.
        for (i, _) in text.match_indices("070701") {
            assert_eq!(i % 4, 0);
        }
        assert!(text.contains("TRAILER!!!"));
    }

    #[test]
    fn ldd_lines_give_absolute_paths() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }
}
