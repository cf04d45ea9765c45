//! Windows (n-grams) of syscall ids as packed integer keys.
//!
//! Decision: a window of k ids is one `u128`. 128 bits hold eight 16-bit ids, not sixteen, so the
//! id width depends on k: `bits(k) = min(16, 128 / k)`, i.e. 16 bits (65,536 names) for
//! k <= 8, 14 for k = 9, 12 for k = 10, ... and 8 bits (256 distinct names) for k = 15 and 16.
//! Real syscall alphabets are far smaller (a Linux capture rarely shows more than 150 distinct
//! names; ADFA-LD has 175), and the interner enforces the limit (`KeyLayout::max_ids`) with an
//! error naming the name that does not fit. This keeps every key one integer: producing a window
//! costs a shift, an or and an and (`key = ((key << bits) | id) & mask`), hashing is one
//! multiply, and no window allocates. Id `i` of a window (oldest first) sits in bits
//! `bits * (k - 1 - i)`. A key is meaningful only with its k: profiles store k and refuse keys
//! of another length. The alternatives were rejected: a rolling hash cannot be unpacked (the
//! Hamming distance needs the ids), and a 256-bit key doubles memory and hashing cost for the
//! common k <= 8.

use crate::intern::SyscallId;

/// A packed window of k syscall ids.
pub type WindowKey = u128;

/// The largest window length.
pub const MAX_K: usize = 16;

/// Default window length (Forrest and Hofmeyr's stide uses 6).
pub const DEFAULT_K: usize = 6;

/// How windows of one length pack into keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyLayout {
    k: usize,
    bits: u32,
    mask: WindowKey,
    /// The low `bits - 1` bits of every lane.
    lane_low: WindowKey,
    /// The top bit of every lane.
    lane_top: WindowKey,
    /// The lowest bit of every lane.
    lane_one: WindowKey,
}

impl KeyLayout {
    /// The layout of length-`k` windows; `k` must be in 1..=MAX_K (checked by `view::check_k`).
    pub fn new(k: usize) -> Self {
        assert!(
            (1..=MAX_K).contains(&k),
            "window length {k} outside 1..={MAX_K}"
        );
        let bits = (128 / k as u32).min(16);
        let used = bits * k as u32;
        let mask = if used >= 128 {
            WindowKey::MAX
        } else {
            (1u128 << used) - 1
        };
        let (mut lane_low, mut lane_top, mut lane_one) = (0, 0, 0);
        for i in 0..k as u32 {
            lane_low |= ((1u128 << (bits - 1)) - 1) << (bits * i);
            lane_top |= 1u128 << (bits * i + bits - 1);
            lane_one |= 1u128 << (bits * i);
        }
        Self {
            k,
            bits,
            mask,
            lane_low,
            lane_top,
            lane_one,
        }
    }

    /// Window length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Bits per id.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// How many distinct syscall ids fit.
    pub fn max_ids(&self) -> usize {
        1usize << self.bits
    }

    /// Appends `id` to `key`, dropping the oldest id when the window is full.
    #[inline(always)]
    pub fn roll(&self, key: WindowKey, id: SyscallId) -> WindowKey {
        ((key << self.bits) | WindowKey::from(id)) & self.mask
    }

    /// Packs `ids` (oldest first, at most k of them) into a key.
    pub fn pack(&self, ids: &[SyscallId]) -> WindowKey {
        debug_assert!(ids.len() <= self.k);
        ids.iter().fold(0, |key, id| self.roll(key, *id))
    }

    /// The k ids of a window, oldest first.
    pub fn unpack(&self, key: WindowKey) -> Vec<SyscallId> {
        let lane = (1u128 << self.bits) - 1;
        (0..self.k)
            .rev()
            .map(|i| ((key >> (self.bits as usize * i)) & lane) as SyscallId)
            .collect()
    }

    /// Number of positions in which two windows differ.
    ///
    /// Branch-free: in each lane of `x = a ^ b`, adding the lane's low-bits mask to its low bits
    /// carries into the lane's top bit exactly when a low bit is set (the sum stays inside the
    /// lane), so `((x & low) + low) | x` has the top bit of every non-zero lane set. Shifted down
    /// to one 0/1 per lane, a multiplication by one-in-every-lane sums the lanes into the top
    /// lane (at most 16, which no lane of 8 or more bits carries out of): no `popcnt`, which the
    /// baseline x86-64 target lacks.
    #[inline]
    pub fn hamming(&self, a: WindowKey, b: WindowKey) -> u32 {
        let x = (a ^ b) & self.mask;
        let flags = ((((x & self.lane_low).wrapping_add(self.lane_low)) | x) & self.lane_top)
            >> (self.bits - 1);
        let top = self.bits * (self.k as u32 - 1);
        ((flags.wrapping_mul(self.lane_one) >> top) & ((1u128 << self.bits) - 1)) as u32
    }
}

/// Packs `ids` as a window of length `ids.len()` (a convenience for tests and examples).
pub fn pack(ids: &[SyscallId]) -> WindowKey {
    KeyLayout::new(ids.len()).pack(ids)
}

pub use tracer_dataset::hash::{BuildKeyHasher, KeyHasher, KeyMap, KeySet};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_fit_in_128_bits() {
        for k in 1..=MAX_K {
            let l = KeyLayout::new(k);
            assert!(l.bits() as usize * k <= 128, "k={k}");
        }
        assert_eq!(KeyLayout::new(6).bits(), 16);
        assert_eq!(KeyLayout::new(8).bits(), 16);
        assert_eq!(KeyLayout::new(9).bits(), 14);
        assert_eq!(KeyLayout::new(16).bits(), 8);
        assert_eq!(KeyLayout::new(16).max_ids(), 256);
    }

    #[test]
    fn rolling_equals_packing_the_last_k() {
        for k in 1..=MAX_K {
            let l = KeyLayout::new(k);
            let top = (l.max_ids() - 1) as SyscallId;
            let ids: Vec<SyscallId> = vec![
                5, 1, top, 3, 9, 0, 7, top, 2, 4, 6, 8, 1, 1, 0, top, 3, 5, 9,
            ];
            let mut key = 0;
            for (i, id) in ids.iter().enumerate() {
                key = l.roll(key, *id);
                let start = (i + 1).saturating_sub(k);
                assert_eq!(key, l.pack(&ids[start..=i]), "k={k} i={i}");
                if i + 1 >= k {
                    assert_eq!(l.unpack(key), ids[start..=i].to_vec(), "k={k} i={i}");
                }
            }
        }
    }

    #[test]
    fn hamming_counts_differing_positions() {
        let l = KeyLayout::new(3);
        assert_eq!(l.hamming(l.pack(&[1, 2, 3]), l.pack(&[1, 2, 3])), 0);
        assert_eq!(l.hamming(l.pack(&[1, 2, 3]), l.pack(&[1, 9, 3])), 1);
        assert_eq!(l.hamming(l.pack(&[0x100, 2, 3]), l.pack(&[0, 2, 4])), 2);
        let l = KeyLayout::new(16);
        let a: Vec<SyscallId> = (0..16).collect();
        let b: Vec<SyscallId> = (0..16).map(|i| i + 0x80).collect();
        assert_eq!(l.hamming(l.pack(&a), l.pack(&b)), 16);
        let mut c = a.clone();
        c[0] = 255;
        c[15] = 0;
        assert_eq!(l.hamming(l.pack(&a), l.pack(&c)), 2);
    }
}
