//! Syscall name interning for the analysis: the interner of the dataset crate, sized so that ids
//! fit the packed windows of a given length.
//!
//! One `Interner` is shared by every profile and trace of an analysis, so equal names have equal
//! ids everywhere. A profile loaded from a file brings its own name table, which is re-interned
//! (see `profile::Profile::remap`).

pub use tracer_dataset::intern::{InternError, Interner, SyscallId};

/// The id every gap row of a capture reads as (`tracer_dataset::gap`): never interned, never in
/// a window; a sequence restarts after it (`view::Windower`).
pub const GAP_ID: SyscallId = SyscallId::MAX;

/// An interner whose ids fit the packed windows of length `k` (see `ngram::KeyLayout`), and
/// never reach [`GAP_ID`].
pub fn for_k(k: usize) -> Interner {
    Interner::with_limit(
        crate::ngram::KeyLayout::new(k)
            .max_ids()
            .min(usize::from(GAP_ID)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_length_bounds_the_alphabet() {
        let mut small = for_k(16);
        for n in 0..256 {
            small.intern(&format!("s{n}")).unwrap();
        }
        assert!(small.intern("s256").is_err());
        assert_eq!(for_k(6).intern("read").unwrap(), 0);
        let mut wide = for_k(8);
        for n in 0..usize::from(GAP_ID) {
            wide.intern(&format!("s{n}")).unwrap();
        }
        assert!(wide.intern("one_more").is_err(), "the gap's id stays free");
    }
}
