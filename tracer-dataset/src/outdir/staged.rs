//! [`Staged`]: a new file of an [`OutDir`], unnamed until it is placed.

use std::{
    ffi::{CString, OsStr},
    fs::File,
    io,
    os::fd::AsRawFd,
};

use super::{FileId, OutDir, OutError, cname, cvt, io_err, random_u64};

/// A new file of an [`OutDir`], written through its descriptor and put under its name at the
/// end. Dropped unplaced, it leaves nothing behind.
#[derive(Debug)]
pub struct Staged {
    pub(super) dir: OutDir,
    pub(super) file: File,
    /// The hidden name where the file system has no `O_TMPFILE`.
    pub(super) tmp: Option<String>,
    pub(super) placed: bool,
}

impl Staged {
    /// The file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The folder it will be placed in.
    pub fn dir(&self) -> &OutDir {
        &self.dir
    }

    /// A second descriptor of the file (for a writer that takes ownership).
    pub fn writer(&self) -> Result<File, OutError> {
        self.file.try_clone().map_err(io_err(
            "duplicating a descriptor of a file in",
            &self.dir.path,
        ))
    }

    /// Flushes the file's data to disk.
    pub fn sync_data(&self) -> Result<(), OutError> {
        self.file
            .sync_data()
            .map_err(io_err("syncing a file in", &self.dir.path))
    }

    /// Links the file under `name` in folder `to` (on the same file system as its own);
    /// fails with `EEXIST` when the name exists.
    pub fn link_new(mut self, to: &OutDir, name: &str) -> Result<FileId, OutError> {
        let path = to.join(name);
        let id = FileId::of_file(&self.file).map_err(io_err("reading", &path))?;
        let linked = self.link_as(to, name);
        linked.map_err(io_err("linking", &path))?;
        self.placed = true;
        Ok(id)
    }

    /// Puts the file at `name` in folder `to` (on the same file system as its own), replacing
    /// what is there: a file, or a link, which is replaced rather than followed.
    pub fn replace(mut self, to: &OutDir, name: &str) -> Result<FileId, OutError> {
        let path = to.join(name);
        let id = FileId::of_file(&self.file).map_err(io_err("reading", &path))?;
        // A name of our own first (linked exclusively), then renamed over `name`. Between the
        // two, whoever may write the folder could swap the name: check that `name` is ours
        // afterwards and try again.
        for _ in 0..8 {
            let tmp = loop {
                let t = format!(".{name}.{:016x}.tmp", random_u64());
                match self.link_as(to, &t) {
                    Ok(()) => break t,
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                    Err(e) => return Err(io_err("linking", &path)(e)),
                }
            };
            // The hidden name of a file system without O_TMPFILE has moved to `tmp`.
            self.tmp = None;
            to.rename(&tmp, to, name)?;
            let now = to.lstat(OsStr::new(name))?;
            if now.is_some_and(|st| FileId::of(&st) == id) {
                self.placed = true;
                return Ok(id);
            }
        }
        Err(io_err("renaming into", &path)(io::Error::other(
            "the name was replaced under the tracer again and again",
        )))
    }

    /// Gives the file name `name` in folder `to`, exclusively.
    fn link_as(&mut self, to: &OutDir, name: &str) -> io::Result<()> {
        let c = cname(OsStr::new(name))?;
        let dir = to.raw();
        if let Some(tmp) = &self.tmp {
            // The hidden name may have been swapped: relink our own descriptor if it was.
            let ours = FileId::of_file(&self.file)?;
            let st = self.dir.lstat(OsStr::new(tmp)).ok().flatten();
            if st.is_some_and(|st| FileId::of(&st) == ours) {
                let t = cname(OsStr::new(tmp))?;
                let from = self.dir.raw();
                return to.run(|| {
                    // SAFETY: renameat2 with RENAME_NOREPLACE between folders we hold.
                    let r = unsafe {
                        libc::renameat2(from, t.as_ptr(), dir, c.as_ptr(), libc::RENAME_NOREPLACE)
                    };
                    cvt(r).map(|_| ())
                });
            }
        }
        let fd = self.file.as_raw_fd();
        let proc_path = CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL");
        to.run(|| {
            // SAFETY: linkat of our own descriptor (through /proc, which needs no capability;
            // else AT_EMPTY_PATH) to a new name in our folder; linkat never replaces a name.
            let r = unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    proc_path.as_ptr(),
                    dir,
                    c.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            };
            if r == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EEXIST) {
                return Err(e);
            }
            // SAFETY: as above.
            cvt(unsafe { libc::linkat(fd, c"".as_ptr(), dir, c.as_ptr(), libc::AT_EMPTY_PATH) })
                .map(|_| ())
        })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.placed {
            return;
        }
        if let Some(tmp) = &self.tmp {
            // Remove the hidden name only while it is still ours.
            let ours = FileId::of_file(&self.file).ok();
            let st = self.dir.lstat(OsStr::new(tmp)).ok().flatten();
            if ours.is_some() && st.is_some_and(|st| Some(FileId::of(&st)) == ours) {
                let _ = self.dir.remove(tmp);
            }
        }
    }
}
