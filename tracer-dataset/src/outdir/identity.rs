//! Who output files are for ([`FsIdentity`]) and how they are created ([`Access`]): path
//! operations run with that user's filesystem ids on the calling thread, so the kernel refuses
//! what the user could not do and new files are theirs from the start.

use std::{io, sync::Arc};

use super::cvt;

/// The user whose permissions and ownership output files get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsIdentity {
    uid: u32,
    gid: u32,
    groups: Vec<libc::gid_t>,
}

/// The calling thread's filesystem ids before an [`FsIdentity`] was entered.
struct IdentityGuard {
    fsuid: u32,
    fsgid: u32,
    groups: Vec<libc::gid_t>,
}

fn thread_groups() -> io::Result<Vec<libc::gid_t>> {
    // SAFETY: a size query, then a read into a buffer of that size.
    unsafe {
        let n = cvt(libc::getgroups(0, std::ptr::null_mut()))?;
        let mut groups = vec![0; n as usize];
        let n = cvt(libc::getgroups(n, groups.as_mut_ptr()))?;
        groups.truncate(n as usize);
        Ok(groups)
    }
}

/// `setgroups` for the calling thread only: glibc's wrapper changes every thread, the system
/// call (credentials are per thread in Linux) only the caller.
fn set_thread_groups(groups: &[libc::gid_t]) -> io::Result<()> {
    // SAFETY: the pointer and length describe `groups`.
    let r = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl FsIdentity {
    /// User `uid` with primary group `gid` and supplementary `groups`.
    pub fn new(uid: u32, gid: u32, groups: &[u32]) -> Self {
        Self {
            uid,
            gid,
            groups: groups.to_vec(),
        }
    }

    /// The user id.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// Makes the calling thread's filesystem ids this user's until the guard drops. Needs
    /// CAP_SETUID and CAP_SETGID (the tracer runs as root).
    fn enter(&self) -> io::Result<IdentityGuard> {
        let groups = thread_groups()?;
        set_thread_groups(&self.groups)?;
        // SAFETY: setfsgid/setfsuid change only this thread's filesystem ids and return the
        // previous ones; an invalid id (-1) queries without changing.
        unsafe {
            let fsgid = libc::setfsgid(self.gid) as u32;
            let fsuid = libc::setfsuid(self.uid) as u32;
            let guard = IdentityGuard {
                fsuid,
                fsgid,
                groups,
            };
            if libc::setfsuid(u32::MAX) as u32 != self.uid
                || libc::setfsgid(u32::MAX) as u32 != self.gid
            {
                return Err(io::Error::from_raw_os_error(libc::EPERM));
            }
            Ok(guard)
        }
    }
}

impl Drop for IdentityGuard {
    fn drop(&mut self) {
        // SAFETY: restoring this thread's own earlier ids.
        unsafe {
            libc::setfsuid(self.fsuid);
            libc::setfsgid(self.fsgid);
        }
        let _ = set_thread_groups(&self.groups);
    }
}

/// How output files are created: as whom, and how private.
#[derive(Clone, Debug, Default)]
pub struct Access {
    identity: Option<Arc<FsIdentity>>,
    private: bool,
}

impl Access {
    /// Files for `identity` (`None`: the process's own identity); `private`: mode 0600 (folders
    /// 0700) instead of the umask's 0666 (0777).
    pub fn new(identity: Option<FsIdentity>, private: bool) -> Self {
        Self {
            identity: identity.map(Arc::new),
            private,
        }
    }

    /// Whether path operations run as another identity than the process's own.
    pub(super) fn is_switched(&self) -> bool {
        self.identity.is_some()
    }

    /// Whether files are created 0600.
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// The same identity with another privacy.
    pub fn with_private(&self, private: bool) -> Self {
        Self {
            identity: self.identity.clone(),
            private,
        }
    }

    /// The uid the files are for.
    pub fn uid(&self) -> u32 {
        match &self.identity {
            Some(i) => i.uid,
            // SAFETY: geteuid has no preconditions.
            None => unsafe { libc::geteuid() },
        }
    }

    /// Runs `f` with this identity's filesystem ids on the calling thread.
    pub fn run<T>(&self, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        let _guard = match &self.identity {
            Some(i) => Some(i.enter()?),
            None => None,
        };
        f()
    }

    pub(super) fn file_mode(&self) -> libc::mode_t {
        if self.private { 0o600 } else { 0o666 }
    }

    pub(super) fn dir_mode(&self) -> libc::mode_t {
        if self.private { 0o700 } else { 0o777 }
    }
}
