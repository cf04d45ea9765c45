//! A HyperLogLog sketch (Flajolet et al. 2007) that estimates how many distinct window keys it
//! saw in 16 KiB, whatever their number.
//!
//! Used by `metrics::WindowScorer` once a trace has more distinct unknown windows than the exact
//! set may hold (`ScoreConfig::max_exact_unknown`): the windows beyond are counted here, so memory
//! stays bounded by the profile and that limit even for a huge interleaved trace in which
//! nearly every window is new. Standard error with 2^14 registers: 1.04 / 128 = 0.8 %.

use crate::ngram::{KeyHasher, WindowKey};

const P: u32 = 14;
const M: usize = 1 << P;

/// Distinct-count sketch.
#[derive(Clone, Debug)]
pub struct HyperLogLog {
    registers: Vec<u8>,
}

impl Default for HyperLogLog {
    fn default() -> Self {
        Self::new()
    }
}

/// A 64-bit hash of a window key with every bit mixed (the table hasher plus a splitmix
/// finaliser, since the sketch reads both the top bits and the leading zeros of the rest).
pub fn hash_key(key: WindowKey) -> u64 {
    use std::hash::Hasher;
    let mut h = KeyHasher::default();
    h.write_u128(key);
    let mut z = h.finish();
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl HyperLogLog {
    /// An empty sketch.
    pub fn new() -> Self {
        Self {
            registers: vec![0; M],
        }
    }

    /// Adds a key.
    #[inline]
    pub fn insert(&mut self, key: WindowKey) {
        let h = hash_key(key);
        let index = (h >> (64 - P)) as usize;
        let rest = (h << P) | (1 << (P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
    }

    /// Estimated number of distinct keys added.
    pub fn estimate(&self) -> f64 {
        let m = M as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|r| 2f64.powi(-i32::from(*r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|r| **r == 0).count();
        if raw <= 2.5 * m && zeros > 0 {
            // Linear counting is more accurate for small cardinalities.
            m * (m / zeros as f64).ln()
        } else {
            raw
        }
    }

    /// Forgets every key.
    pub fn clear(&mut self) {
        self.registers.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_within_a_few_percent() {
        for n in [0u128, 10, 1_000, 50_000, 400_000] {
            let mut h = HyperLogLog::new();
            for i in 0..n {
                // Window-like keys: small ids in 16-bit lanes; every key twice.
                let key = (i % 40) | ((i / 40 % 40) << 16) | ((i / 1600) << 32);
                h.insert(key);
                h.insert(key);
            }
            let e = h.estimate();
            let err = if n == 0 {
                e
            } else {
                (e - n as f64).abs() / n as f64
            };
            assert!(err < 0.03, "n = {n}: estimate {e}");
        }
    }
}
