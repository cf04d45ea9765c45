//! Syscall name interning: names become dense `u16` ids, so rows compare and windows pack as
//! integers.
//!
//! The analysis shares one `Interner` between every profile and trace it builds, so equal names
//! have equal ids everywhere (a profile loaded from a file brings its own name table, which is
//! re-interned); the capture comparison (`tracer parity`) interns both captures' names in one.

use std::collections::HashMap;

/// More distinct names than the interner's id space holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "more than {max} distinct syscall names (at `{name}`); longer windows leave fewer bits per id, see analysis::ngram::KeyLayout"
)]
pub struct InternError {
    /// The id space.
    pub max: usize,
    /// The name that did not fit.
    pub name: String,
}

/// A syscall id: an index into the interner's name table.
pub type SyscallId = u16;

/// Names to dense ids and back.
#[derive(Clone, Debug)]
pub struct Interner {
    limit: usize,
    names: Vec<String>,
    index: HashMap<String, SyscallId>,
}

impl Default for Interner {
    fn default() -> Self {
        Self::with_limit(usize::from(SyscallId::MAX) + 1)
    }
}

impl Interner {
    /// An empty interner of up to 65,536 names.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty interner of up to `limit` names (at most 65,536).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            limit: limit.min(usize::from(SyscallId::MAX) + 1),
            names: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// An interner whose ids are the positions of `names` (duplicates keep the first id).
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, InternError> {
        let mut interner = Self::new();
        for n in names {
            interner.intern(n.as_ref())?;
        }
        Ok(interner)
    }

    /// The id of `name`, assigning the next free one if it is new.
    pub fn intern(&mut self, name: &str) -> Result<SyscallId, InternError> {
        if let Some(id) = self.index.get(name) {
            return Ok(*id);
        }
        if self.names.len() >= self.limit {
            return Err(InternError {
                max: self.limit,
                name: name.to_string(),
            });
        }
        let id = self.names.len() as SyscallId;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), id);
        Ok(id)
    }

    /// The id of `name` if it was interned.
    pub fn get(&self, name: &str) -> Option<SyscallId> {
        self.index.get(name).copied()
    }

    /// The name of `id`.
    pub fn name(&self, id: SyscallId) -> &str {
        &self.names[usize::from(id)]
    }

    /// All names, in id order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no name was interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_and_stable() {
        let mut i = Interner::new();
        assert_eq!(i.intern("read").unwrap(), 0);
        assert_eq!(i.intern("write").unwrap(), 1);
        assert_eq!(i.intern("read").unwrap(), 0);
        assert_eq!(i.name(1), "write");
        assert_eq!(i.get("open"), None);
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn overflow_names_the_offending_syscall() {
        let mut i = Interner::new();
        for n in 0..65536 {
            i.intern(&format!("s{n}")).unwrap();
        }
        let err = i.intern("one_too_many").unwrap_err();
        assert!(err.to_string().contains("one_too_many"), "{err}");
        let mut small = Interner::with_limit(256);
        for n in 0..256 {
            small.intern(&format!("s{n}")).unwrap();
        }
        assert!(small.intern("s256").is_err());
    }
}
