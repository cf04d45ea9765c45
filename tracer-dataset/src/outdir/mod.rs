//! Output folders written by a privileged tracer (docs/DESIGN.md, "Threat model and data
//! safety"): every file is created through an open folder descriptor, never by following a link,
//! never reopened by path, and with the filesystem identity of the user the files are for.
//!
//! - [`FsIdentity`]: that user's uid, gid and groups. Path operations run with them as the
//!   calling thread's filesystem ids (`setfsuid`, `setfsgid`, a per-thread `setgroups`), so the
//!   kernel refuses what the user could not do and new files belong to them from the start.
//! - [`OutDir`]: an open folder. Its new files are [`Staged`]: created unnamed (`O_TMPFILE`), or
//!   where the file system has no `O_TMPFILE` under a random hidden name (`O_EXCL|O_NOFOLLOW`),
//!   then linked under a name that must not exist ([`Staged::link_new`]) or put in place of one
//!   ([`Staged::replace`]: rename semantics, a link at the name is replaced, not followed).
//! - [`resolve_output`]: where a file the user named goes. A symbolic link there is followed only
//!   when it belongs to that user (or root) and the user could write its target; otherwise the
//!   output is refused with a message saying why.

mod identity;
mod resolve;
mod staged;

pub use identity::{Access, FsIdentity};
pub use resolve::resolve_output;
pub use staged::Staged;

use std::{
    ffi::{CStr, CString, OsStr, OsString},
    fs::File,
    io,
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd},
        unix::ffi::{OsStrExt, OsStringExt},
    },
    path::{Path, PathBuf},
    sync::Arc,
};

/// Errors creating output files.
#[derive(Debug, thiserror::Error)]
pub enum OutError {
    /// A system call on a file or folder failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done (`creating`, `opening`, `linking`, ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The output is a symbolic link that is not followed (see [`resolve_output`]).
    #[error(
        "{path} is a symbolic link to {target}: {reason}; refusing to follow it (remove the \
         link or choose another output)"
    )]
    Link {
        /// The link.
        path: PathBuf,
        /// Where it points.
        target: PathBuf,
        /// Why it is not followed.
        reason: String,
    },
    /// The user the files are for could not write the output as themselves.
    #[error(
        "{path}: uid {uid}, whose files these are (the user who ran sudo), may not write there; \
         the tracer creates its files with that user's permissions"
    )]
    NotPermitted {
        /// The output.
        path: PathBuf,
        /// The user.
        uid: u32,
    },
    /// The output exists and is not a regular file (a folder, a device such as /dev/null).
    #[error("{0} exists and is not a regular file")]
    NotRegular(PathBuf),
    /// The output name is not a file name (empty, `.` or `..`).
    #[error("{0}: not a file name")]
    BadName(PathBuf),
    /// A folder to reuse belongs to someone else than the files' user or root.
    #[error("{path} belongs to uid {owner}: refusing to write into it")]
    ForeignFolder {
        /// The folder.
        path: PathBuf,
        /// Its owner.
        owner: u32,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> OutError + 'a {
    move |source| OutError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A random 64-bit value for temporary names (the kernel's CSPRNG; the clock and pid if it
/// cannot be read, which still keeps names unique within this process).
pub fn random_u64() -> u64 {
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

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cname(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Device and inode of a file: what a name must still point to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(st: &libc::stat) -> Self {
        Self {
            dev: st.st_dev,
            ino: st.st_ino,
        }
    }

    /// The id of an open file.
    pub fn of_file(file: &File) -> io::Result<Self> {
        fstat(file.as_raw_fd()).map(|st| Self::of(&st))
    }
}

fn fstat(fd: libc::c_int) -> io::Result<libc::stat> {
    // SAFETY: fstat writes into a zeroed stat.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        cvt(libc::fstat(fd, &mut st))?;
        Ok(st)
    }
}

/// An open output folder.
#[derive(Clone, Debug)]
pub struct OutDir {
    fd: Arc<OwnedFd>,
    path: PathBuf,
    access: Access,
}

impl OutDir {
    /// Opens folder `path` as `access`'s user (links in the path are followed as that user
    /// would).
    pub fn open(path: &Path, access: &Access) -> Result<Self, OutError> {
        let dir = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        let c = cname(dir.as_os_str()).map_err(io_err("opening", path))?;
        let fd = access
            .run(|| {
                // SAFETY: opening a NUL-terminated path.
                cvt(unsafe {
                    libc::open(
                        c.as_ptr(),
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                    )
                })
            })
            .map_err(io_err("opening", path))?;
        Ok(Self {
            // SAFETY: a fresh descriptor we own.
            fd: Arc::new(unsafe { OwnedFd::from_raw_fd(fd) }),
            path: path.to_path_buf(),
            access: access.clone(),
        })
    }

    /// Creates folder `path` and its missing parents as `access`'s user (as `mkdir -p` run by
    /// that user), then opens it.
    pub fn create_all(path: &Path, access: &Access) -> Result<Self, OutError> {
        use std::os::unix::fs::DirBuilderExt as _;
        access
            .run(|| {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(access.dir_mode())
                    .create(path)
            })
            .map_err(io_err("creating", path))?;
        Self::open(path, access)
    }

    /// The folder's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How files are created here.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// `name` in this folder, for messages.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    fn run<T>(&self, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        self.access.run(f)
    }

    fn raw(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }

    /// The same folder with files created as `access` says.
    pub fn with_access(&self, access: &Access) -> Self {
        Self {
            fd: self.fd.clone(),
            path: self.path.clone(),
            access: access.clone(),
        }
    }

    /// `lstat` of `name` (never following a link); `None` if it does not exist.
    pub fn lstat(&self, name: &OsStr) -> Result<Option<libc::stat>, OutError> {
        let path = self.join(name);
        let c = cname(name).map_err(io_err("reading", &path))?;
        let r = self.run(|| {
            // SAFETY: fstatat into a zeroed stat, relative to our folder.
            unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                cvt(libc::fstatat(
                    self.raw(),
                    c.as_ptr(),
                    &mut st,
                    libc::AT_SYMLINK_NOFOLLOW,
                ))?;
                Ok(st)
            }
        });
        match r {
            Ok(st) => Ok(Some(st)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(io_err("reading", &path)(e)),
        }
    }

    /// Opens subfolder `name`, creating it if `create` (an existing one is reused). Never
    /// follows a link at `name`.
    pub fn subdir(&self, name: &str, create: bool) -> Result<Self, OutError> {
        let path = self.join(name);
        let c = cname(OsStr::new(name)).map_err(io_err("creating", &path))?;
        if create {
            let made = self.run(|| {
                // SAFETY: mkdirat relative to our folder.
                cvt(unsafe { libc::mkdirat(self.raw(), c.as_ptr(), self.access.dir_mode()) })
            });
            match made {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => return Err(io_err("creating", &path)(e)),
            }
        }
        self.open_subdir(name)
    }

    /// Creates subfolder `name`, which must not exist, and opens it.
    pub fn new_subdir(&self, name: &str) -> Result<Self, OutError> {
        let path = self.join(name);
        let c = cname(OsStr::new(name)).map_err(io_err("creating", &path))?;
        self.run(|| {
            // SAFETY: mkdirat relative to our folder.
            cvt(unsafe { libc::mkdirat(self.raw(), c.as_ptr(), self.access.dir_mode()) })
        })
        .map_err(io_err("creating", &path))?;
        self.open_subdir(name)
    }

    fn open_subdir(&self, name: &str) -> Result<Self, OutError> {
        let path = self.join(name);
        let c = cname(OsStr::new(name)).map_err(io_err("opening", &path))?;
        let fd = self
            .run(|| {
                // SAFETY: openat relative to our folder; O_NOFOLLOW refuses a link.
                cvt(unsafe {
                    libc::openat(
                        self.raw(),
                        c.as_ptr(),
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    )
                })
            })
            .map_err(io_err("opening", &path))?;
        Ok(Self {
            // SAFETY: a fresh descriptor we own.
            fd: Arc::new(unsafe { OwnedFd::from_raw_fd(fd) }),
            path,
            access: self.access.clone(),
        })
    }

    /// The folder's permission bits.
    pub fn mode(&self) -> Result<u32, OutError> {
        fstat(self.raw())
            .map(|st| st.st_mode & 0o7777)
            .map_err(io_err("reading", &self.path))
    }

    /// A path that reaches this very folder through its descriptor (`/proc/self/fd/N`), for
    /// code that can only write by path: nothing can be swapped in under it.
    pub fn proc_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.raw()))
    }

    /// Refuses this folder unless it belongs to the files' user or root: files will be written
    /// into it by path (the report).
    pub fn check_owner(&self) -> Result<(), OutError> {
        let st = fstat(self.raw()).map_err(io_err("reading", &self.path))?;
        if st.st_uid != 0 && st.st_uid != self.access.uid() {
            return Err(OutError::ForeignFolder {
                path: self.path.clone(),
                owner: st.st_uid,
            });
        }
        Ok(())
    }

    /// A new file in this folder, not yet under any name (see [`Staged`]).
    pub fn stage(&self) -> Result<Staged, OutError> {
        let flags = libc::O_RDWR | libc::O_CLOEXEC;
        let unnamed = self.run(|| {
            // SAFETY: openat of "." relative to our folder.
            cvt(unsafe {
                libc::openat(
                    self.raw(),
                    c".".as_ptr(),
                    flags | libc::O_TMPFILE,
                    self.access.file_mode(),
                )
            })
        });
        match unnamed {
            Ok(fd) => Ok(Staged {
                dir: self.clone(),
                // SAFETY: a fresh descriptor we own.
                file: unsafe { File::from_raw_fd(fd) },
                tmp: None,
                placed: false,
            }),
            // No O_TMPFILE here (older NFS, vfat, FUSE): a random hidden name instead.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
                ) =>
            {
                loop {
                    let name = format!(".tracer-{:016x}.tmp", random_u64());
                    let c = cname(OsStr::new(&name)).map_err(io_err("creating", &self.path))?;
                    let created = self.run(|| {
                        // SAFETY: openat relative to our folder, exclusive, never a link.
                        cvt(unsafe {
                            libc::openat(
                                self.raw(),
                                c.as_ptr(),
                                flags | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
                                self.access.file_mode(),
                            )
                        })
                    });
                    match created {
                        Ok(fd) => {
                            return Ok(Staged {
                                dir: self.clone(),
                                // SAFETY: a fresh descriptor we own.
                                file: unsafe { File::from_raw_fd(fd) },
                                tmp: Some(name),
                                placed: false,
                            });
                        }
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                        Err(e) => return Err(io_err("creating a file in", &self.path)(e)),
                    }
                }
            }
            Err(e) => Err(io_err("creating a file in", &self.path)(e)),
        }
    }

    /// Opens `name` for reading, never following a link.
    pub fn open_read(&self, name: &str) -> Result<File, OutError> {
        let path = self.join(name);
        let c = cname(OsStr::new(name)).map_err(io_err("opening", &path))?;
        let fd = self
            .run(|| {
                // SAFETY: openat relative to our folder, never a link.
                cvt(unsafe {
                    libc::openat(
                        self.raw(),
                        c.as_ptr(),
                        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    )
                })
            })
            .map_err(io_err("opening", &path))?;
        // SAFETY: a fresh descriptor we own.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Removes the name `name` (a link is removed, never followed).
    pub fn remove(&self, name: &str) -> Result<(), OutError> {
        self.unlink(name, 0)
    }

    /// Removes the empty subfolder `name`.
    pub fn remove_dir(&self, name: &str) -> Result<(), OutError> {
        self.unlink(name, libc::AT_REMOVEDIR)
    }

    fn unlink(&self, name: &str, flags: libc::c_int) -> Result<(), OutError> {
        let path = self.join(name);
        let c = cname(OsStr::new(name)).map_err(io_err("removing", &path))?;
        self.run(|| {
            // SAFETY: unlinkat relative to our folder.
            cvt(unsafe { libc::unlinkat(self.raw(), c.as_ptr(), flags) })
        })
        .map(|_| ())
        .map_err(io_err("removing", &path))
    }

    /// The names in this folder (without `.` and `..`), sorted.
    pub fn entries(&self) -> Result<Vec<OsString>, OutError> {
        let listing = || -> io::Result<Vec<OsString>> {
            // A fresh open of "." so that the listing has its own position.
            // SAFETY: openat of "." relative to our folder; fdopendir takes the descriptor and
            // closedir releases it; readdir's entries are read before the next call.
            unsafe {
                let fd = cvt(libc::openat(
                    self.raw(),
                    c".".as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                ))?;
                let dir = libc::fdopendir(fd);
                if dir.is_null() {
                    let e = io::Error::last_os_error();
                    libc::close(fd);
                    return Err(e);
                }
                let mut names = Vec::new();
                loop {
                    let entry = libc::readdir64(dir);
                    if entry.is_null() {
                        break;
                    }
                    let name = CStr::from_ptr((*entry).d_name.as_ptr()).to_bytes();
                    if name != b"." && name != b".." {
                        names.push(OsString::from_vec(name.to_vec()));
                    }
                }
                libc::closedir(dir);
                names.sort();
                Ok(names)
            }
        };
        self.run(listing).map_err(io_err("listing", &self.path))
    }

    /// Flushes the folder's entries to disk (after new names, for a power loss).
    pub fn sync(&self) -> Result<(), OutError> {
        // SAFETY: fsync of our own descriptor.
        cvt(unsafe { libc::fsync(self.raw()) })
            .map(|_| ())
            .map_err(io_err("syncing", &self.path))
    }

    /// Moves `from` in this folder to `to` in `dest` (rename semantics: what is at `to`,
    /// a link included, is replaced).
    pub fn rename(&self, from: &str, dest: &OutDir, to: &str) -> Result<(), OutError> {
        let path = dest.join(to);
        let (f, t) = (
            cname(OsStr::new(from)).map_err(io_err("renaming", &path))?,
            cname(OsStr::new(to)).map_err(io_err("renaming", &path))?,
        );
        self.run(|| {
            // SAFETY: renameat between two folders we hold.
            cvt(unsafe { libc::renameat(self.raw(), f.as_ptr(), dest.raw(), t.as_ptr()) })
        })
        .map(|_| ())
        .map_err(io_err("renaming into", &path))
    }

    fn readlink(&self, name: &OsStr) -> io::Result<PathBuf> {
        let c = cname(name)?;
        let mut buf = vec![0u8; libc::PATH_MAX as usize];
        // SAFETY: readlinkat into a buffer of the given length.
        let n =
            unsafe { libc::readlinkat(self.raw(), c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(n as usize);
        Ok(PathBuf::from(OsString::from_vec(buf)))
    }

    /// Opens folder `rel` relative to this one (an absolute path as is), following links as
    /// the files' user.
    fn open_relative(&self, rel: &Path) -> io::Result<Self> {
        let target = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let c = cname(target.as_os_str())?;
        let fd = self.run(|| {
            // SAFETY: openat relative to our folder.
            cvt(unsafe {
                libc::openat(
                    self.raw(),
                    c.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            })
        })?;
        Ok(Self {
            // SAFETY: a fresh descriptor we own.
            fd: Arc::new(unsafe { OwnedFd::from_raw_fd(fd) }),
            path: self.path.join(rel),
            access: self.access.clone(),
        })
    }

    /// Whether the files' user may write `name` (or create it, when `name` is `None`) here:
    /// `faccessat` with the filesystem ids, and the sticky-folder rule of rename.
    fn user_may_replace(&self, name: Option<&OsStr>) -> io::Result<bool> {
        let dir = fstat(self.raw())?;
        let uid = self.access.uid();
        self.run(|| {
            // SAFETY: faccessat with AT_EACCESS checks with this thread's filesystem ids.
            let dir_ok = unsafe {
                libc::faccessat(
                    self.raw(),
                    c".".as_ptr(),
                    libc::W_OK | libc::X_OK,
                    libc::AT_EACCESS,
                ) == 0
            };
            let Some(name) = name else {
                return Ok(dir_ok);
            };
            let c = cname(name)?;
            // SAFETY: fstatat into a zeroed stat, relative to our folder.
            let st = unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                cvt(libc::fstatat(
                    self.raw(),
                    c.as_ptr(),
                    &mut st,
                    libc::AT_SYMLINK_NOFOLLOW,
                ))?;
                st
            };
            // SAFETY: as above.
            let file_ok = unsafe {
                libc::faccessat(self.raw(), c.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0
            };
            let sticky_ok =
                dir.st_mode & libc::S_ISVTX == 0 || st.st_uid == uid || dir.st_uid == uid;
            Ok(dir_ok && file_ok && sticky_ok)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    fn dir() -> (tempfile::TempDir, OutDir) {
        let t = tempfile::tempdir().expect("tempdir");
        let d = OutDir::open(t.path(), &Access::default()).expect("open");
        (t, d)
    }

    #[test]
    fn staged_files_have_no_name_until_placed() {
        let (t, d) = dir();
        let s = d.stage().expect("stage");
        s.writer().expect("dup").write_all(b"one").expect("write");
        assert_eq!(
            std::fs::read_dir(t.path()).expect("ls").count(),
            0,
            "an unnamed file"
        );
        s.replace(&d, "a").expect("placed");
        assert_eq!(std::fs::read(t.path().join("a")).expect("read"), b"one");
        let s = d.stage().expect("stage");
        drop(s);
        assert_eq!(
            std::fs::read_dir(t.path()).expect("ls").count(),
            1,
            "left nothing"
        );
    }

    #[test]
    fn link_new_never_replaces_and_replace_never_follows() {
        let (t, d) = dir();
        let victim = t.path().join("victim");
        std::fs::write(&victim, b"secret").expect("victim");
        std::os::unix::fs::symlink(&victim, t.path().join("out")).expect("link");
        let s = d.stage().expect("stage");
        let e = s.link_new(&d, "out").expect_err("the name exists");
        assert!(matches!(e, OutError::Io { .. }), "{e}");
        let s = d.stage().expect("stage");
        s.writer().expect("dup").write_all(b"data").expect("write");
        s.replace(&d, "out").expect("replaced");
        assert_eq!(
            std::fs::read(&victim).expect("victim"),
            b"secret",
            "not followed"
        );
        let meta = std::fs::symlink_metadata(t.path().join("out")).expect("stat");
        assert!(meta.file_type().is_file(), "the link itself was replaced");
        let mut back = String::new();
        d.open_read("out")
            .expect("open")
            .read_to_string(&mut back)
            .expect("read");
        assert_eq!(back, "data");
        assert!(d.open_read("victim").is_ok());
        std::os::unix::fs::symlink(&victim, t.path().join("l2")).expect("link");
        assert!(d.open_read("l2").is_err(), "open_read refuses a link");
    }
}
