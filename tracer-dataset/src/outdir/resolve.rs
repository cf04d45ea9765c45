//! [`resolve_output`]: where an output file the user named goes, and whether a link there may
//! be followed.

use std::{
    ffi::{OsStr, OsString},
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use super::{Access, OutDir, OutError, io_err};

/// Where an output file named `path` goes: its folder (opened as `access`'s user) and name.
///
/// A name that does not exist or is a regular file is used as is (it is replaced at the end).
/// A symbolic link is followed only when it belongs to the files' user or root and that user
/// could write its target; anything else (a foreign link, a folder, a device) is refused. This
/// is checked before anything is written, and the folder is held open from then on.
pub fn resolve_output(path: &Path, access: &Access) -> Result<(OutDir, OsString), OutError> {
    let name = match path.file_name() {
        Some(n) if path.as_os_str().as_bytes().last() != Some(&b'/') => n.to_os_string(),
        _ => return Err(OutError::BadName(path.to_path_buf())),
    };
    let parent = path.parent().unwrap_or(Path::new(""));
    let mut dir = OutDir::open(parent, access)?;
    let mut name = name;
    let uid = access.uid();
    for _ in 0..16 {
        let shown = dir.join(&name);
        let Some(st) = dir.lstat(&name)? else {
            check_writable(&dir, None, &shown)?;
            return Ok((dir, name));
        };
        match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => {
                check_writable(&dir, Some(&name), &shown)?;
                return Ok((dir, name));
            }
            libc::S_IFLNK => {
                let target = dir.readlink(&name).map_err(io_err("reading", &shown))?;
                let refuse = |reason: String| OutError::Link {
                    path: shown.clone(),
                    target: target.clone(),
                    reason,
                };
                if st.st_uid != uid && st.st_uid != 0 {
                    return Err(refuse(format!(
                        "the link belongs to uid {}, not to uid {uid} the output is for",
                        st.st_uid
                    )));
                }
                let Some(tname) = target.file_name().map(OsStr::to_os_string) else {
                    return Err(refuse("it does not name a file".into()));
                };
                let tparent = target.parent().unwrap_or(Path::new(""));
                let tdir = dir.open_relative(tparent).map_err(|e| {
                    refuse(format!("uid {uid} could not write it (its folder: {e})"))
                })?;
                let exists = tdir.lstat(&tname)?.is_some();
                let may = tdir
                    .user_may_replace(exists.then_some(tname.as_os_str()))
                    .unwrap_or(false);
                if !may {
                    return Err(refuse(format!("uid {uid} could not write it")));
                }
                dir = tdir;
                name = tname;
            }
            _ => return Err(OutError::NotRegular(shown)),
        }
    }
    Err(OutError::Link {
        path: path.to_path_buf(),
        target: PathBuf::new(),
        reason: "too many levels of links".into(),
    })
}

/// Refuses an output that the files' user could not create or replace as themselves (checked
/// up front so that the capture does not fail at its end).
fn check_writable(dir: &OutDir, name: Option<&OsStr>, shown: &Path) -> Result<(), OutError> {
    if !dir.access.is_switched() {
        return Ok(()); // The tracer's own identity: the kernel answers at creation.
    }
    match dir.user_may_replace(name) {
        Ok(true) => Ok(()),
        Ok(false) => Err(OutError::NotPermitted {
            path: shown.to_path_buf(),
            uid: dir.access.uid(),
        }),
        Err(e) => Err(io_err("creating", shown)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_output_follows_only_trusted_links_to_regular_files() {
        let t = tempfile::tempdir().expect("tempdir");
        let access = Access::default();
        let (d, n) = resolve_output(&t.path().join("x.parquet"), &access).expect("new name");
        assert_eq!(
            (d.path(), n.as_os_str()),
            (t.path(), OsStr::new("x.parquet"))
        );
        std::fs::create_dir(t.path().join("sub")).expect("mkdir");
        std::os::unix::fs::symlink("sub/y.parquet", t.path().join("l.parquet")).expect("link");
        let (d, n) = resolve_output(&t.path().join("l.parquet"), &access).expect("our link");
        assert!(d.path().ends_with("sub"), "{}", d.path().display());
        assert_eq!(n, OsStr::new("y.parquet"));
        assert!(matches!(
            resolve_output(&t.path().join("sub"), &access),
            Err(OutError::NotRegular(_))
        ));
        assert!(matches!(
            resolve_output(Path::new("/dev/null"), &access),
            Err(OutError::NotRegular(_))
        ));
        assert!(matches!(
            resolve_output(&t.path().join("sub/"), &access),
            Err(OutError::BadName(_))
        ));
    }
}
