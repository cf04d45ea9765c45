//! The fast hasher of the workspace's hot maps: window keys, syscall numbers, dictionary keys.

use std::hash::{BuildHasherDefault, Hasher};

/// A fast hasher for window keys and small integers: one folded 64x64->128-bit multiply per
/// word (the mixing step of wyhash / foldhash), so every input bit reaches the low bits the
/// table indexes with and the high bits its control bytes use.
///
/// Keys are the analyst's own data, so SipHash's DoS resistance buys nothing and would cost a
/// third of the scoring time.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHasher(u64);

const K0: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0x1319_8a2e_0370_7344;

#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a).wrapping_mul(u128::from(b));
    (p as u64) ^ ((p >> 64) as u64)
}

impl Hasher for KeyHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u128(&mut self, v: u128) {
        self.0 = fold_mul((v as u64) ^ K0 ^ self.0, ((v >> 64) as u64) ^ K1);
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = fold_mul(v ^ K0 ^ self.0, K1);
    }

    #[inline]
    fn write_i32(&mut self, v: i32) {
        self.write_u64(u64::from(v as u32));
    }

    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// `BuildHasher` for `KeyHasher`.
pub type BuildKeyHasher = BuildHasherDefault<KeyHasher>;

/// A hash map keyed by window keys (or other integers) with the fast hasher.
pub type KeyMap<K, V> = std::collections::HashMap<K, V, BuildKeyHasher>;

/// A hash set of window keys with the fast hasher.
pub type KeySet<K> = std::collections::HashSet<K, BuildKeyHasher>;
