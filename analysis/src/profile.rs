//! Profiles: the distinct windows (with counts) of a set of runs in one view, how to build them
//! from a dataset in one streaming pass, and their file format.
//!
//! File format (little-endian): the 8 bytes `STPROF01`, a u64 length and that many bytes of JSON
//! header (`ProfileHeader`: k, view, the syscall name table, runs, counts), then one 24-byte
//! record per distinct window: the u128 key (ids index the header's name table) and a u64 count,
//! sorted by key so equal profiles give equal files.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
    path::Path,
};

use crate::{
    dataset::{Dataset, RowChunk, RowConsumer, RunMeta, ScanStats, Selection},
    error::AnalysisError,
    intern::Interner,
    ngram::{KeyLayout, KeyMap, WindowKey},
    view::{SequenceStats, View, Windower, check_k},
};

const MAGIC: &[u8; 8] = b"STPROF01";

/// The distinct windows of a set of runs, with counts.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Window length.
    pub k: usize,
    /// The view the windows were taken in.
    pub view: View,
    /// The runs that went into it.
    pub runs: Vec<String>,
    /// Sequence counts of those runs in `view`.
    pub sequences: SequenceStats,
    /// Window key to its index in `counts`: dense indices let a scorer mark the profile windows
    /// a trace has used in a bitmap (memory bounded by the profile, not the trace).
    windows: KeyMap<WindowKey, u32>,
    counts: Vec<u64>,
    total_windows: u64,
}

/// The JSON header of a profile file.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ProfileHeader {
    /// Window length.
    pub k: usize,
    /// View of the windows.
    pub view: View,
    /// Syscall names; window keys hold indices into this table.
    pub syscall_names: Vec<String>,
    /// Run ids the profile was built from.
    pub runs: Vec<String>,
    /// Sequence counts of those runs.
    pub sequences: SequenceStats,
    /// Number of distinct windows (records that follow).
    pub distinct_windows: u64,
    /// Number of windows counted (sum of the records' counts).
    pub total_windows: u64,
}

impl Profile {
    /// An empty profile.
    pub fn new(k: usize, view: View) -> Result<Self, AnalysisError> {
        check_k(k)?;
        Ok(Self {
            k,
            view,
            runs: Vec::new(),
            sequences: SequenceStats::default(),
            windows: KeyMap::default(),
            counts: Vec::new(),
            total_windows: 0,
        })
    }

    /// Counts `count` more occurrences of `key`.
    #[inline]
    pub fn add(&mut self, key: WindowKey, count: u64) {
        let next = self.counts.len() as u32;
        let index = *self.windows.entry(key).or_insert(next);
        if index == next {
            self.counts.push(count);
        } else {
            self.counts[index as usize] += count;
        }
        self.total_windows += count;
    }

    /// Whether `key` is in the profile.
    #[inline]
    pub fn contains(&self, key: WindowKey) -> bool {
        self.windows.contains_key(&key)
    }

    /// The dense index (0..distinct()) of `key`, if it is in the profile.
    #[inline]
    pub fn index_of(&self, key: WindowKey) -> Option<u32> {
        self.windows.get(&key).copied()
    }

    /// How often `key` was seen (0 if never).
    pub fn count(&self, key: WindowKey) -> u64 {
        self.index_of(key).map_or(0, |i| self.counts[i as usize])
    }

    /// Number of distinct windows: the profile size.
    pub fn distinct(&self) -> usize {
        self.windows.len()
    }

    /// Number of windows counted.
    pub fn total_windows(&self) -> u64 {
        self.total_windows
    }

    /// Distinct windows and counts, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (WindowKey, u64)> + '_ {
        self.windows
            .iter()
            .map(|(k, i)| (*k, self.counts[*i as usize]))
    }

    /// Distinct window keys, sorted.
    pub fn sorted_keys(&self) -> Vec<WindowKey> {
        let mut keys: Vec<WindowKey> = self.windows.keys().copied().collect();
        keys.sort_unstable();
        keys
    }

    /// Adds every window, run and count of `other` (same k and view).
    pub fn merge(&mut self, other: &Profile) {
        for (k, c) in other.iter() {
            self.add(k, c);
        }
        self.runs.extend(other.runs.iter().cloned());
        self.sequences.add(&other.sequences);
    }

    /// Writes the profile to `path`; `interner` names the ids of its keys.
    pub fn save(&self, path: &Path, interner: &Interner) -> Result<(), AnalysisError> {
        let io = |e| AnalysisError::io("writing", path, e);
        let header = ProfileHeader {
            k: self.k,
            view: self.view,
            syscall_names: interner.names().to_vec(),
            runs: self.runs.clone(),
            sequences: self.sequences,
            distinct_windows: self.distinct() as u64,
            total_windows: self.total_windows,
        };
        let json = serde_json::to_vec(&header).map_err(|source| AnalysisError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        let file = File::create(path).map_err(|e| AnalysisError::io("creating", path, e))?;
        let mut w = BufWriter::new(file);
        w.write_all(MAGIC).map_err(io)?;
        w.write_all(&(json.len() as u64).to_le_bytes())
            .map_err(io)?;
        w.write_all(&json).map_err(io)?;
        for key in self.sorted_keys() {
            w.write_all(&key.to_le_bytes()).map_err(io)?;
            w.write_all(&self.count(key).to_le_bytes()).map_err(io)?;
        }
        w.flush().map_err(io)
    }

    /// Reads a profile from `path`, re-interning its syscall names into `interner` (so its keys
    /// use the same ids as everything else scanned with that interner).
    pub fn load(path: &Path, interner: &mut Interner) -> Result<Self, AnalysisError> {
        let bad = |message: String| AnalysisError::ProfileFormat {
            path: path.to_path_buf(),
            message,
        };
        let io = |e| AnalysisError::io("reading", path, e);
        let file = File::open(path).map_err(|e| AnalysisError::io("opening", path, e))?;
        let mut r = BufReader::new(file);
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)
            .map_err(|_| bad("too short".into()))?;
        if &magic != MAGIC {
            return Err(bad(format!("starts with {magic:?}, expected {MAGIC:?}")));
        }
        let mut len = [0u8; 8];
        r.read_exact(&mut len).map_err(io)?;
        let len = u64::from_le_bytes(len);
        if len > 1 << 30 {
            return Err(bad(format!("header of {len} bytes")));
        }
        let mut json = vec![0u8; len as usize];
        r.read_exact(&mut json).map_err(io)?;
        let header: ProfileHeader =
            serde_json::from_slice(&json).map_err(|source| AnalysisError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        check_k(header.k).map_err(|e| bad(e.to_string()))?;
        let ids = header
            .syscall_names
            .iter()
            .map(|n| interner.intern(n))
            .collect::<Result<Vec<_>, _>>()?;
        let layout = KeyLayout::new(header.k);
        let identity = ids.iter().enumerate().all(|(i, id)| usize::from(*id) == i);
        let mut profile = Profile::new(header.k, header.view)?;
        profile.runs = header.runs;
        profile.sequences = header.sequences;
        let mut record = [0u8; 24];
        for n in 0..header.distinct_windows {
            r.read_exact(&mut record).map_err(|_| {
                bad(format!(
                    "ends after {n} of {} windows",
                    header.distinct_windows
                ))
            })?;
            let mut key = u128::from_le_bytes(record[..16].try_into().expect("16 bytes"));
            let count = u64::from_le_bytes(record[16..].try_into().expect("8 bytes"));
            if !identity {
                let old = layout.unpack(key);
                let mut new = Vec::with_capacity(old.len());
                for id in old {
                    new.push(*ids.get(usize::from(id)).ok_or_else(|| {
                        bad(format!(
                            "window uses syscall id {id} outside the name table"
                        ))
                    })?);
                }
                key = layout.pack(&new);
            }
            profile.add(key, count);
        }
        Ok(profile)
    }
}

/// How a run is assigned to a profile group (`None`: the run is not used).
pub type GroupFn<'a> = Box<dyn Fn(&RunMeta) -> Option<String> + 'a>;

/// A `RowConsumer` that builds one profile per group of runs in a single pass.
pub struct ProfileBuilder<'a> {
    windower: Windower,
    group_of: GroupFn<'a>,
    profiles: BTreeMap<String, Profile>,
    current: Option<String>,
}

impl<'a> ProfileBuilder<'a> {
    /// Profiles of length-`k` windows in `view`, grouped by `group_of`.
    pub fn new(view: View, k: usize, group_of: GroupFn<'a>) -> Result<Self, AnalysisError> {
        Ok(Self {
            windower: Windower::new(view, k)?,
            group_of,
            profiles: BTreeMap::new(),
            current: None,
        })
    }

    /// The profiles built, by group.
    pub fn into_profiles(self) -> BTreeMap<String, Profile> {
        self.profiles
    }
}

impl RowConsumer for ProfileBuilder<'_> {
    fn begin_run(&mut self, run: &RunMeta) -> Result<(), AnalysisError> {
        self.current = (self.group_of)(run);
        if let Some(g) = &self.current {
            if !self.profiles.contains_key(g) {
                let p = Profile::new(self.windower.k(), self.windower.view())?;
                self.profiles.insert(g.clone(), p);
            }
            let p = self.profiles.get_mut(g).expect("inserted above");
            p.runs.push(run.run_id.clone());
        }
        Ok(())
    }

    fn rows(&mut self, chunk: &RowChunk<'_>) {
        let Some(g) = &self.current else { return };
        let p = self.profiles.get_mut(g).expect("created in begin_run");
        self.windower.feed(chunk, |key| p.add(key, 1));
    }

    fn end_run(&mut self) -> Result<(), AnalysisError> {
        let stats = self.windower.finish_run();
        if let Some(g) = self.current.take() {
            let p = self.profiles.get_mut(&g).expect("created in begin_run");
            p.sequences.add(&stats);
        }
        Ok(())
    }
}

/// Builds one profile of the runs of `dataset` matching `selection`.
pub fn build_profile(
    dataset: &Dataset,
    selection: &Selection,
    view: View,
    k: usize,
    interner: &mut Interner,
) -> Result<(Profile, ScanStats), AnalysisError> {
    let mut builder = ProfileBuilder::new(view, k, Box::new(|_| Some(String::new())))?;
    let stats = dataset.scan(selection, interner, &mut builder)?;
    let profile = match builder.into_profiles().remove("") {
        Some(p) => p,
        None => Profile::new(k, view)?,
    };
    Ok((profile, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ngram::pack;

    #[test]
    fn save_and_load_round_trip_with_remapping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.prof");
        let mut a = Interner::new();
        let (open, read, close) = (
            a.intern("open").unwrap(),
            a.intern("read").unwrap(),
            a.intern("close").unwrap(),
        );
        let mut p = Profile::new(3, View::Process).unwrap();
        p.add(pack(&[open, read, close]), 2);
        p.add(pack(&[read, read, read]), 5);
        p.runs.push("r1".into());
        p.save(&path, &a).unwrap();

        // Another interner that already knows other names: ids differ, keys are remapped.
        let mut b = Interner::new();
        b.intern("execve").unwrap();
        b.intern("close").unwrap();
        let q = Profile::load(&path, &mut b).unwrap();
        let id = |n| b.get(n).unwrap();
        assert_eq!(
            (q.k, q.view, q.distinct(), q.total_windows()),
            (3, View::Process, 2, 7)
        );
        assert_eq!(q.count(pack(&[id("open"), id("read"), id("close")])), 2);
        assert_eq!(q.count(pack(&[id("read"), id("read"), id("read")])), 5);
        assert_eq!(q.runs, vec!["r1".to_string()]);
    }

    #[test]
    fn corrupt_files_are_rejected_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.prof");
        std::fs::write(&path, b"not a profile at all").unwrap();
        let err = Profile::load(&path, &mut Interner::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.prof"), "{err}");
    }
}
