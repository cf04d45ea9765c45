//! A dataset as it is distributed: a folder, a zip archive of one, or a single file. Its files
//! are listed once, sorted by path, and read in place: an archive is never unpacked to disk.
//!
//! Every file has a `/`-separated path inside the tree that starts with the tree's own name:
//! `ADFA-LD/Training_Data_Master/UTD-0001.txt` both for the folder `ADFA-LD/` and for
//! `ADFA-LD.zip` holding that folder (an archive whose members do not all sit in one top folder
//! gets the archive's name in front), so imports of either give the same run ids.

use std::{
    fs::File,
    io::{Cursor, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
};

use zip::ZipArchive;

use super::walk;
use crate::ingest::IngestError;

/// One file of a tree.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// Path inside the tree, `/`-separated, starting with the tree's name.
    pub rel: String,
    /// The file on disk (folders and single files).
    disk: Option<PathBuf>,
    /// The member's name in the archive, and its index there.
    member: Option<(String, usize)>,
}

impl Entry {
    /// The path's `/`-separated components.
    pub fn components(&self) -> Vec<&str> {
        self.rel.split('/').collect()
    }

    /// The file name.
    pub fn name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }

    /// The file name's extension, lower case (`""` when it has none).
    pub fn extension(&self) -> String {
        extension(self.name())
    }
}

/// The lower-case extension of file name `name` (`""` when it has none).
pub(crate) fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// `name` without its extension.
pub(crate) fn stem(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    }
}

enum Kind {
    Folder,
    File,
    Zip(ZipArchive<File>),
}

/// A dataset as distributed (see the module doc).
pub(crate) struct Tree {
    input: PathBuf,
    kind: Kind,
    entries: Vec<Entry>,
}

/// A file that can be read and sought: a file on disk or an archive member read into memory.
pub(crate) enum Seekable {
    /// A file on disk.
    File(File),
    /// An archive member's bytes.
    Memory(Cursor<Vec<u8>>),
}

impl Read for Seekable {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::File(f) => f.read(buf),
            Self::Memory(m) => m.read(buf),
        }
    }
}

impl Seek for Seekable {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            Self::File(f) => f.seek(pos),
            Self::Memory(m) => m.seek(pos),
        }
    }
}

/// Whether `path` names a zip archive (by its extension, as distributions are named).
pub(crate) fn is_zip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// The archive error `source` of `path`, as an ingest error.
pub(crate) fn archive_err(path: &Path) -> impl FnOnce(zip::result::ZipError) -> IngestError {
    let path = path.to_path_buf();
    move |source| IngestError::Archive { path, source }
}

impl Tree {
    /// The tree of `input`: a folder, a `.zip` archive, or any other file as a tree of one.
    pub fn open(input: &Path) -> Result<Self, IngestError> {
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into());
        if input.is_dir() {
            let entries = walk(input, &|_| true)?
                .into_iter()
                .map(|p| {
                    let below = p.strip_prefix(input).unwrap_or(&p);
                    let mut rel = name.clone();
                    for c in below.iter() {
                        rel.push('/');
                        rel.push_str(&c.to_string_lossy());
                    }
                    Entry {
                        rel,
                        disk: Some(p),
                        member: None,
                    }
                })
                .collect();
            return Ok(Self {
                input: input.to_path_buf(),
                kind: Kind::Folder,
                entries,
            });
        }
        if !input.is_file() {
            return Err(IngestError::Input {
                path: input.to_path_buf(),
                what: "no such file or folder".into(),
            });
        }
        if is_zip(input) {
            return Self::open_zip(input);
        }
        Ok(Self::single(input))
    }

    /// The tree of the one file `input`, even an archive (a recording read as a whole).
    pub fn single(input: &Path) -> Self {
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into());
        Self {
            input: input.to_path_buf(),
            kind: Kind::File,
            entries: vec![Entry {
                rel: name,
                disk: Some(input.to_path_buf()),
                member: None,
            }],
        }
    }

    fn open_zip(input: &Path) -> Result<Self, IngestError> {
        let file = File::open(input).map_err(|source| IngestError::Io {
            path: input.to_path_buf(),
            source,
        })?;
        let mut archive = ZipArchive::new(file).map_err(archive_err(input))?;
        let mut entries = Vec::new();
        for index in 0..archive.len() {
            let member = archive.by_index(index).map_err(archive_err(input))?;
            // A member whose name leaves the archive (`/etc/x`, `../x`) is not part of any
            // dataset; the reader never writes files, but it does not name them either.
            if member.is_dir() || member.enclosed_name().is_none() {
                continue;
            }
            let name = member.name().map_err(archive_err(input))?.into_owned();
            entries.push(Entry {
                rel: name.trim_start_matches("./").to_string(),
                disk: None,
                member: Some((name, index)),
            });
        }
        let top = |e: &Entry| e.rel.split_once('/').map(|(t, _)| t.to_string());
        let shared = entries.first().and_then(top);
        if shared.is_none() || entries.iter().any(|e| top(e) != shared) {
            let name = input
                .file_name()
                .map(|n| stem(&n.to_string_lossy()).to_string())
                .unwrap_or_default();
            for e in &mut entries {
                e.rel = format!("{name}/{}", e.rel);
            }
        }
        entries.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(Self {
            input: input.to_path_buf(),
            kind: Kind::Zip(archive),
            entries,
        })
    }

    /// The files, sorted by path.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether the input is a single (non-archive) file: a trace named on the command line.
    pub fn is_single_file(&self) -> bool {
        matches!(self.kind, Kind::File)
    }

    /// The input's name without extension: the default name of the dataset file.
    pub fn name(&self) -> String {
        let name = self
            .input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dataset".into());
        stem(&name).to_string()
    }

    /// The path that names entry `i` in messages: the file on disk, or the archive's path
    /// followed by the member's name.
    pub fn display(&self, i: usize) -> PathBuf {
        let e = &self.entries[i];
        match (&e.disk, &e.member) {
            (Some(p), _) => p.clone(),
            (None, Some((name, _))) => self.input.join(name),
            (None, None) => self.input.clone(),
        }
    }

    /// A reader of entry `i`'s bytes.
    pub fn reader(&mut self, i: usize) -> Result<Box<dyn Read + '_>, IngestError> {
        let display = self.display(i);
        let e = &self.entries[i];
        match (&mut self.kind, &e.disk, &e.member) {
            (_, Some(path), _) => {
                let file = File::open(path).map_err(|source| IngestError::Io {
                    path: path.clone(),
                    source,
                })?;
                Ok(Box::new(file))
            }
            (Kind::Zip(archive), None, Some((_, index))) => {
                let member = archive.by_index(*index).map_err(archive_err(&display))?;
                Ok(Box::new(member))
            }
            _ => unreachable!("an entry is a file on disk or a member of the tree's archive"),
        }
    }

    /// Entry `i` opened for seeking (an archive inside the tree): the file itself, or a member
    /// of an archive read into memory.
    pub fn seekable(&mut self, i: usize) -> Result<Seekable, IngestError> {
        if let Some(path) = &self.entries[i].disk {
            let file = File::open(path).map_err(|source| IngestError::Io {
                path: path.clone(),
                source,
            })?;
            return Ok(Seekable::File(file));
        }
        let display = self.display(i);
        let mut bytes = Vec::new();
        self.reader(i)?
            .read_to_end(&mut bytes)
            .map_err(|source| IngestError::Io {
                path: display,
                source,
            })?;
        Ok(Seekable::Memory(Cursor::new(bytes)))
    }

    /// The first `limit` bytes of entry `i` (fewer if it is shorter).
    pub fn head(&mut self, i: usize, limit: u64) -> Result<Vec<u8>, IngestError> {
        let display = self.display(i);
        let mut bytes = Vec::new();
        self.reader(i)?
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|source| IngestError::Io {
                path: display,
                source,
            })?;
        Ok(bytes)
    }
}
