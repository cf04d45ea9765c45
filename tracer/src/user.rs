//! Who the traced command runs as: `--user NAME|UID`, or by default the user who invoked sudo
//! (`SUDO_UID`/`SUDO_GID`), so that a capture under `sudo -E` runs the command with the user's
//! own identity and leaves files the user owns.

use std::ffi::CString;

use crate::capture::Credentials;

/// Errors resolving a user.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// No such user in the password database.
    #[error("--user {0}: no such user")]
    Unknown(String),
    /// Switching users needs root.
    #[error("--user {0}: running the command as another user needs root (sudo -E)")]
    NotRoot(String),
}

/// Looks `name` (or a numeric uid) up in the password database.
pub fn lookup(name: &str) -> Result<Credentials, UserError> {
    // SAFETY: getpwnam/getpwuid return a pointer into static storage or null; we copy the
    // fields out immediately, before any other call that could overwrite it.
    let pw = unsafe {
        match name.parse::<u32>() {
            Ok(uid) => libc::getpwuid(uid),
            Err(_) => {
                let c = CString::new(name).map_err(|_| UserError::Unknown(name.to_string()))?;
                libc::getpwnam(c.as_ptr())
            }
        }
    };
    if pw.is_null() {
        return Err(UserError::Unknown(name.to_string()));
    }
    // SAFETY: non-null pointer from getpw*; its strings are NUL-terminated.
    let (uid, gid, pw_name, home, shell) = unsafe {
        let text = |p: *const libc::c_char| {
            if p.is_null() {
                String::new()
            } else {
                std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        (
            (*pw).pw_uid,
            (*pw).pw_gid,
            CString::from(std::ffi::CStr::from_ptr((*pw).pw_name)),
            text((*pw).pw_dir),
            text((*pw).pw_shell),
        )
    };
    Ok(Credentials {
        uid,
        gid,
        groups: group_list(&pw_name, gid),
        name: pw_name.to_string_lossy().into_owned(),
        home,
        shell,
    })
}

fn group_list(name: &CString, gid: u32) -> Vec<u32> {
    let mut n: libc::c_int = 64;
    loop {
        let mut groups = vec![0 as libc::gid_t; n as usize];
        let mut count = n;
        // SAFETY: `groups` has room for `count` entries; getgrouplist updates count.
        let r = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if r >= 0 {
            groups.truncate(count as usize);
            return groups;
        }
        if count <= n || n > 65536 {
            return vec![gid];
        }
        n = count;
    }
}

/// The credentials the command should run with, given `--user` and the environment. `None`
/// means: keep the tracer's own identity.
pub fn choose(
    user: Option<&str>,
    sudo_uid: Option<&str>,
    sudo_gid: Option<&str>,
    sudo_user: Option<&str>,
) -> Result<Option<Credentials>, UserError> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if let Some(u) = user {
        if !root {
            return Err(UserError::NotRoot(u.to_string()));
        }
        return lookup(u).map(Some);
    }
    Ok(invoking_user(sudo_uid, sudo_gid, sudo_user))
}

/// The user who ran the tracer through sudo (`SUDO_UID`, `SUDO_GID`, `SUDO_USER`), when the
/// tracer runs as root for someone else: whose the output files are, created with that user's
/// permissions. `None`: the tracer's own identity (not root, no sudo, or sudo from root).
pub fn invoking_user(
    sudo_uid: Option<&str>,
    sudo_gid: Option<&str>,
    sudo_user: Option<&str>,
) -> Option<Credentials> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    match (
        sudo_uid.and_then(|u| u.parse::<u32>().ok()),
        sudo_gid.and_then(|g| g.parse::<u32>().ok()),
    ) {
        (Some(0), _) | (None, _) | (_, None) => None,
        (Some(uid), Some(gid)) => {
            let groups = sudo_user
                .and_then(|n| CString::new(n).ok())
                .map(|n| group_list(&n, gid))
                .unwrap_or_else(|| vec![gid]);
            // Name, home and shell from the password database when the user is in it.
            let known = lookup(&uid.to_string()).ok();
            Some(Credentials {
                uid,
                gid,
                groups,
                name: known.as_ref().map(|k| k.name.clone()).unwrap_or_default(),
                home: known.as_ref().map(|k| k.home.clone()).unwrap_or_default(),
                shell: known.map(|k| k.shell).unwrap_or_default(),
            })
        }
    }
}

/// [`invoking_user`] from this process's environment.
pub fn invoking_user_from_env() -> Option<Credentials> {
    invoking_user(
        std::env::var("SUDO_UID").ok().as_deref(),
        std::env::var("SUDO_GID").ok().as_deref(),
        std::env::var("SUDO_USER").ok().as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_root_and_nobody() {
        let root = lookup("root").expect("root exists");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(lookup("0").expect("uid 0").uid, 0);
        assert!(matches!(
            lookup("no-such-user-xyz"),
            Err(UserError::Unknown(_))
        ));
    }

    #[test]
    fn sudo_environment_picks_the_invoking_user() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return assert!(matches!(
                choose(Some("root"), None, None, None),
                Err(UserError::NotRoot(_))
            ));
        }
        let c = choose(None, Some("65534"), Some("65534"), None)
            .expect("ok")
            .expect("switch");
        assert_eq!(
            (c.uid, c.gid, c.groups.clone()),
            (65534, 65534, vec![65534])
        );
        assert_eq!(choose(None, None, None, None).expect("ok"), None);
        assert_eq!(
            choose(None, Some("0"), Some("0"), Some("root")).expect("ok"),
            None
        );
        assert_eq!(
            choose(Some("root"), Some("65534"), Some("65534"), None)
                .expect("ok")
                .expect("root")
                .uid,
            0
        );
    }
}
