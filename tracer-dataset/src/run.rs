//! The run writer: both files of one run (syscalls and processes), written under temporary names
//! beside their final paths and committed together, so a reader never sees half a run under the
//! final name and a failed run leaves nothing behind.
//!
//! Files are created as the tracer's user (often root) in folders the traced command's user may
//! write, so creation never follows a link and never reopens by path: each temporary file is
//! created new (`O_CREAT|O_EXCL|O_NOFOLLOW`) under a name with a random part, ownership is given
//! through the descriptor that was created, and the commit renames it into place.

use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
};

use crate::sink::{ProcessSink, RunInfo, SinkError, SyscallSink};

/// One file of the run: its temporary and final names, and a descriptor of what was created.
#[derive(Debug)]
struct Staged {
    tmp: PathBuf,
    fin: PathBuf,
    file: File,
}

/// The two files of one run until `commit`; dropping it uncommitted removes them.
#[derive(Debug)]
pub struct RunFiles {
    files: Vec<Staged>,
    committed: bool,
}

/// A random 64-bit value for temporary names (the kernel's CSPRNG; the clock and pid if it
/// cannot be read, which still keeps names unique within this process).
fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    // SAFETY: `buf` is valid for writes of its length; getrandom writes at most that many bytes.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n == buf.len() as isize {
        return u64::from_ne_bytes(buf);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    now ^ (u64::from(std::process::id()) << 32)
}

/// Creates a new file beside `fin` under an unused random hidden name, never following a link.
fn create_beside(fin: &Path) -> Result<(PathBuf, File), SinkError> {
    let name = fin
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    loop {
        let tmp = fin.with_file_name(format!(".{name}.{:016x}.tmp", random_u64()));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp);
        match opened {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(SinkError::Create {
                    path: fin.to_path_buf(),
                    source,
                });
            }
        }
    }
}

impl RunFiles {
    /// Creates the temporary files of a run whose syscalls go to `syscalls` and processes to
    /// `processes`, and the sinks writing them (errors name the final paths).
    pub fn create(
        syscalls: &Path,
        processes: &Path,
        run: &RunInfo,
        metadata: &[(String, String)],
    ) -> Result<(Self, SyscallSink, ProcessSink), SinkError> {
        let mut files = Self {
            files: Vec::with_capacity(2),
            committed: false,
        };
        let mut open = |fin: &Path| -> Result<File, SinkError> {
            let (tmp, file) = create_beside(fin)?;
            let writer = file.try_clone().map_err(|source| SinkError::Create {
                path: fin.to_path_buf(),
                source,
            })?;
            files.files.push(Staged {
                tmp,
                fin: fin.to_path_buf(),
                file,
            });
            Ok(writer)
        };
        let sys = open(syscalls)?;
        let procs = open(processes)?;
        let sys = SyscallSink::from_file(sys, syscalls, run.clone(), metadata)?;
        let procs = ProcessSink::from_file(procs, processes, run.clone(), metadata)?;
        Ok((files, sys, procs))
    }

    /// The temporary path of file `i` (0: syscalls, 1: processes), for tests and diagnostics.
    pub fn tmp_path(&self, i: usize) -> &Path {
        &self.files[i].tmp
    }

    /// Gives the files to `owner` (uid, gid) through their own descriptors, then renames them
    /// into place. Call after the sinks are closed.
    pub fn commit(mut self, owner: Option<(u32, u32)>) -> Result<(), SinkError> {
        for f in &self.files {
            if let Some((uid, gid)) = owner {
                // Best effort, as `strace -o` under sudo: a file system without owners (vfat)
                // keeps the file root's rather than losing the capture.
                let _ = std::os::unix::fs::fchown(&f.file, Some(uid), Some(gid));
            }
            std::fs::rename(&f.tmp, &f.fin).map_err(|source| SinkError::Create {
                path: f.fin.clone(),
                source,
            })?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for RunFiles {
    fn drop(&mut self) {
        if !self.committed {
            for f in &self.files {
                let _ = std::fs::remove_file(&f.tmp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunInfo {
        RunInfo {
            run_id: "r".into(),
            source: "test".into(),
            ..RunInfo::default()
        }
    }

    #[test]
    fn commit_renames_and_drop_cleans_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (s, p) = (dir.path().join("t.parquet"), dir.path().join("t.p.parquet"));
        let (files, sys, procs) = RunFiles::create(&s, &p, &run(), &[]).expect("create");
        assert!(!s.exists() && files.tmp_path(0).exists());
        sys.close().expect("close");
        procs.close().expect("close");
        files.commit(None).expect("commit");
        assert!(s.is_file() && p.is_file());
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 2);

        let s2 = dir.path().join("u.parquet");
        let (files, sys, procs) = RunFiles::create(&s2, &p, &run(), &[]).expect("create");
        drop((sys, procs));
        drop(files);
        assert!(!s2.exists());
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 2);
    }

    #[test]
    fn temporary_names_are_not_predictable_and_links_are_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = dir.path().join("t.parquet");
        let (a, ..) = RunFiles::create(&s, &dir.path().join("p1"), &run(), &[]).expect("a");
        let (b, ..) = RunFiles::create(&s, &dir.path().join("p2"), &run(), &[]).expect("b");
        assert_ne!(a.tmp_path(0), b.tmp_path(0));
        assert!(
            std::fs::symlink_metadata(a.tmp_path(0))
                .expect("stat")
                .file_type()
                .is_file()
        );
    }
}
