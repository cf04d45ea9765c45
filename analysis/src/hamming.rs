//! Exact minimum Hamming distance from a window to a profile, without comparing it to every
//! profile window: multi-index hashing on window positions (pigeonhole filtering).
//!
//! Split the k positions into m contiguous blocks. A profile window within distance d < m of the
//! query differs from it in at most d positions, so at least one of the m blocks holds none of
//! them: the two agree exactly on that block. An exact-match probe of each block's hash table
//! therefore returns every profile window within distance m - 1 (and others), and the smallest
//! distance among those candidates is the true minimum whenever it is below m.
//!
//! The search widens the radius: level d (d = 1 .. k - 1) uses d + 1 blocks, so it finds every
//! profile window within d. A window found in the profile (a binary search) is at 0; any other is
//! at least 1 away; after level d finds nothing within d the minimum is at least d + 1, and the
//! best candidate seen so far bounds it from above, so the search ends as soon as the two bounds
//! meet.
//!
//! Most unknown windows of real traces are one or two substitutions from a known one, and are
//! answered by level 1 or 2, whose blocks of k / 2 and k / 3 positions are selective (on the
//! ADFA-shaped corpus: about 30 comparisons per window answered at level 1). Buckets store the
//! windows themselves, so a bucket is read sequentially. When a level's buckets would hold more
//! candidates than half the profile (short blocks of frequent calls), or its tables would exceed
//! the memory budget, the profile is scanned instead, with the same early exit. Levels are built
//! on first use, so a search that never needs a level never pays for it. (Masked-key sets, one
//! per choice of d wildcard positions, answer levels 1 and 2 with k choose d probes and no
//! comparison; measured here they cost more, in building and in cache misses, than the blocks.)
//!
//! Answers are remembered, up to a million (windows recur across the traces of an evaluation),
//! and every search reports the comparisons it made, so the caller's budget
//! (`ScoreConfig::hamming_budget`) still bounds the work, now only as a fallback.

use std::cell::{Cell, OnceCell, RefCell};

use crate::{
    ngram::{KeyLayout, KeyMap, MAX_K, WindowKey},
    profile::Profile,
};

/// Most bytes the tables of all levels together may take (about 20 bytes per profile window per
/// block): 256 MiB. Levels beyond it are answered by scanning.
pub const DEFAULT_MAX_INDEX_BYTES: usize = 256 << 20;

/// One block of positions and its table: profile windows grouped by their ids in the block.
#[derive(Debug)]
struct Block {
    shift: u32,
    mask: WindowKey,
    /// Block value -> range of `grouped` holding the windows with it.
    buckets: KeyMap<WindowKey, (u32, u32)>,
    /// The profile windows grouped by block value: a bucket is read sequentially.
    grouped: Vec<WindowKey>,
}

impl Block {
    fn value(&self, key: WindowKey) -> WindowKey {
        (key >> self.shift) & self.mask
    }

    fn bucket(&self, key: WindowKey) -> &[WindowKey] {
        match self.buckets.get(&self.value(key)) {
            Some(&(start, end)) => &self.grouped[start as usize..end as usize],
            None => &[],
        }
    }

    /// Groups `keys` by block value: a counting pass and a placing pass, two hash lookups per
    /// key (sorting 128-bit pairs cost several times more).
    fn build(keys: &[WindowKey], shift: u32, mask: WindowKey) -> Self {
        let mut buckets: KeyMap<WindowKey, (u32, u32)> = KeyMap::default();
        for k in keys {
            buckets.entry((k >> shift) & mask).or_insert((0, 0)).1 += 1;
        }
        // (start, count) -> (next free slot, end).
        let mut at = 0u32;
        for range in buckets.values_mut() {
            let count = range.1;
            *range = (at, at + count);
            at += count;
        }
        let mut grouped = vec![0; keys.len()];
        let mut next: KeyMap<WindowKey, u32> = buckets.iter().map(|(v, r)| (*v, r.0)).collect();
        for k in keys {
            let slot = next.get_mut(&((k >> shift) & mask)).expect("counted above");
            grouped[*slot as usize] = *k;
            *slot += 1;
        }
        Self {
            shift,
            mask,
            buckets,
            grouped,
        }
    }
}

/// The d + 1 blocks of positions of search level d (pigeonhole): candidates that agree with the
/// query on a whole block.
#[derive(Debug)]
struct Level {
    blocks: Vec<Block>,
}

/// Bytes a window costs in a block (16-byte key, its share of the bucket map).
const BLOCK_KEY_BYTES: usize = 20;

/// Most answers remembered (about 32 bytes each): later windows are searched every time.
const MEMO_LIMIT: usize = 1 << 20;

/// What the searches of an index have done, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SearchStats {
    /// Searches asked for.
    pub searches: u64,
    /// Answered from the memory of earlier searches.
    pub remembered: u64,
    /// Answered by scanning the whole profile.
    pub scans: u64,
    /// Window comparisons and hash probes made.
    pub comparisons: u64,
    /// Searches (remembered ones included) by the distance found, 0 ..= 16 positions.
    pub by_distance: [u64; MAX_K + 1],
}

impl SearchStats {
    /// Both counts added.
    pub fn add(&self, other: &SearchStats) -> SearchStats {
        let mut by_distance = self.by_distance;
        for (a, b) in by_distance.iter_mut().zip(other.by_distance) {
            *a += b;
        }
        SearchStats {
            searches: self.searches + other.searches,
            remembered: self.remembered + other.remembered,
            scans: self.scans + other.scans,
            comparisons: self.comparisons + other.comparisons,
            by_distance,
        }
    }
}

/// The index of one profile's windows for exact nearest-window (Hamming) searches.
#[derive(Debug)]
pub struct HammingIndex {
    layout: KeyLayout,
    keys: Vec<WindowKey>,
    /// Level d - 1 holds the tables of radius d; `None` past the memory budget.
    levels: Vec<OnceCell<Option<Level>>>,
    max_bytes: usize,
    bytes: Cell<usize>,
    memo: RefCell<KeyMap<WindowKey, u8>>,
    stats: Cell<SearchStats>,
}

impl HammingIndex {
    /// An index of `profile`'s windows with the default memory budget.
    pub fn new(profile: &Profile) -> Self {
        Self::with_budget(profile.k, profile.sorted_keys(), DEFAULT_MAX_INDEX_BYTES)
    }

    /// An index of the distinct windows `keys` of length `k`, whose tables take at most
    /// `max_bytes`.
    pub fn with_budget(k: usize, mut keys: Vec<WindowKey>, max_bytes: usize) -> Self {
        keys.sort_unstable();
        keys.dedup();
        Self {
            layout: KeyLayout::new(k),
            keys,
            levels: (1..k).map(|_| OnceCell::new()).collect(),
            max_bytes,
            bytes: Cell::new(0),
            memo: RefCell::new(KeyMap::default()),
            stats: Cell::new(SearchStats::default()),
        }
    }

    /// The profile's distinct windows, sorted.
    pub fn keys(&self) -> &[WindowKey] {
        &self.keys
    }

    /// What the searches have done so far.
    pub fn stats(&self) -> SearchStats {
        self.stats.get()
    }

    /// Reserves `bytes` of the budget; false if they do not fit.
    fn reserve(&self, bytes: usize) -> bool {
        let total = self.bytes.get().saturating_add(bytes);
        if total > self.max_bytes {
            return false;
        }
        self.bytes.set(total);
        true
    }

    /// The blocks of radius `d` (1..k), built now if needed; `None` past the budget.
    fn level(&self, d: usize) -> Option<&Level> {
        self.levels[d - 1]
            .get_or_init(|| {
                let k = self.layout.k();
                let bits = self.layout.bits();
                let m = d + 1;
                if !self.reserve(m * self.keys.len() * BLOCK_KEY_BYTES) {
                    return None;
                }
                // Block j covers positions [k * j / m, k * (j + 1) / m); position i (oldest
                // first) sits in bits bits * (k - 1 - i).
                let blocks = (0..m)
                    .map(|j| {
                        let (first, end) = (k * j / m, k * (j + 1) / m);
                        let width = bits * (end - first) as u32;
                        let shift = bits * (k - end) as u32;
                        let mask = if width >= 128 {
                            WindowKey::MAX
                        } else {
                            (1u128 << width) - 1
                        };
                        Block::build(&self.keys, shift, mask)
                    })
                    .collect();
                Some(Level { blocks })
            })
            .as_ref()
    }

    /// Smallest distance from `key` to any profile window, at least `lower` (a known lower
    /// bound), scanning every window; and the comparisons made.
    fn scan(&self, key: WindowKey, lower: u32, mut best: u32) -> (u32, u64) {
        let mut n = 0;
        for &p in &self.keys {
            n += 1;
            let d = self.layout.hamming(key, p);
            if d < best {
                best = d;
                if best <= lower {
                    break;
                }
            }
        }
        (best, n)
    }

    /// The search for a window not in the profile.
    fn search(&self, key: WindowKey) -> (u32, u64, bool) {
        let k = self.layout.k() as u32;
        // Every window is within k of any other, and this one is not in the profile.
        let (mut best, mut lower) = (k, 1);
        let mut comparisons = 0;
        for d in 1..k {
            if best <= lower {
                break;
            }
            let Some(level) = self.level(d as usize) else {
                let (b, n) = self.scan(key, lower, best);
                return (b, comparisons + n, true);
            };
            let mut buckets = [&[][..]; MAX_K];
            for (slot, block) in buckets.iter_mut().zip(&level.blocks) {
                *slot = block.bucket(key);
            }
            let buckets = &buckets[..level.blocks.len()];
            let candidates: usize = buckets.iter().map(|b| b.len()).sum();
            if candidates > self.keys.len() / 2 {
                let (b, n) = self.scan(key, lower, best);
                return (b, comparisons + n, true);
            }
            for bucket in buckets {
                for &p in *bucket {
                    comparisons += 1;
                    let dist = self.layout.hamming(key, p);
                    if dist < best {
                        best = dist;
                        if best <= lower {
                            return (best, comparisons, false);
                        }
                    }
                }
            }
            // Every window within d was a candidate: `best` is exact if it is within d;
            // otherwise the minimum is at least d + 1.
            if best <= d {
                return (best, comparisons, false);
            }
            lower = d + 1;
        }
        (best, comparisons, false)
    }

    /// The minimum Hamming distance (positions) from `key` to the profile, exactly, and the
    /// window comparisons it cost (0 when remembered); `None` for an empty profile.
    pub fn nearest(&self, key: WindowKey) -> Option<(u32, u64)> {
        if !self.keys.is_empty() && self.keys.binary_search(&key).is_ok() {
            return Some((0, 1));
        }
        self.nearest_unknown(key)
    }

    /// `nearest` for a window known not to be in the profile (a scorer's unknown windows),
    /// which spares the membership test (a binary search that misses the cache).
    pub fn nearest_unknown(&self, key: WindowKey) -> Option<(u32, u64)> {
        if self.keys.is_empty() {
            return None;
        }
        debug_assert!(
            self.keys.binary_search(&key).is_err(),
            "nearest_unknown on a profile window"
        );
        let mut stats = self.stats.get();
        stats.searches += 1;
        if let Some(d) = self.memo.borrow().get(&key) {
            stats.remembered += 1;
            stats.by_distance[usize::from(*d)] += 1;
            self.stats.set(stats);
            return Some((u32::from(*d), 0));
        }
        let (d, comparisons, scanned) = self.search(key);
        stats.comparisons += comparisons;
        stats.scans += u64::from(scanned);
        stats.by_distance[d as usize] += 1;
        self.stats.set(stats);
        let mut memo = self.memo.borrow_mut();
        if memo.len() < MEMO_LIMIT {
            memo.insert(key, d as u8);
        }
        Some((d, comparisons))
    }
}

/// Indices 0..n in an order whose every prefix is spread evenly over the range (bit-reversed
/// counting), so a search cut short by its budget has measured an even sample.
pub fn spread_order(n: usize) -> impl Iterator<Item = usize> {
    let bits = usize::BITS - n.saturating_sub(1).leading_zeros();
    (0..1usize << bits).filter_map(move |i| {
        let r = if bits == 0 {
            0
        } else {
            i.reverse_bits() >> (usize::BITS - bits)
        };
        (r < n).then_some(r)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_force(layout: &KeyLayout, q: WindowKey, keys: &[WindowKey]) -> Option<u32> {
        keys.iter().map(|p| layout.hamming(q, *p)).min()
    }

    #[test]
    fn hand_computed_distances() {
        let l = KeyLayout::new(3);
        let keys = vec![l.pack(&[1, 2, 3]), l.pack(&[2, 3, 4]), l.pack(&[3, 4, 5])];
        let index = HammingIndex::with_budget(3, keys, DEFAULT_MAX_INDEX_BYTES);
        assert_eq!(index.nearest(l.pack(&[1, 2, 3])).map(|x| x.0), Some(0));
        assert_eq!(index.nearest(l.pack(&[2, 3, 8])).map(|x| x.0), Some(1));
        assert_eq!(index.nearest(l.pack(&[9, 3, 8])).map(|x| x.0), Some(2));
        assert_eq!(index.nearest(l.pack(&[8, 9, 10])).map(|x| x.0), Some(3));
        // Asked again: remembered, no comparison.
        assert_eq!(index.nearest(l.pack(&[8, 9, 10])), Some((3, 0)));
        assert_eq!(index.stats().remembered, 1);
        let empty = HammingIndex::with_budget(3, Vec::new(), DEFAULT_MAX_INDEX_BYTES);
        assert_eq!(empty.nearest(l.pack(&[1, 2, 3])), None);
    }

    #[test]
    fn spread_order_visits_everything_once_evenly() {
        for n in [0, 1, 2, 3, 7, 8, 100] {
            let mut seen: Vec<usize> = spread_order(n).collect();
            assert_eq!(seen.len(), n);
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }
        let first: Vec<usize> = spread_order(8).take(4).collect();
        assert_eq!(first, [0, 4, 2, 6]);
    }

    proptest::proptest! {
        /// The index returns exactly the brute-force minimum, for several k, for windows inside
        /// and outside the profile, with small alphabets (many near neighbours) and large ids,
        /// and with a memory budget that forces the scan fallback.
        #[test]
        fn index_equals_brute_force(
            k in proptest::sample::select(vec![1usize, 2, 3, 4, 6, 8, 9, 12, 16]),
            alphabet in proptest::sample::select(vec![2u16, 3, 5, 40, 255]),
            profile in proptest::collection::vec(proptest::collection::vec(0u16..1000, 16), 0..120),
            queries in proptest::collection::vec(proptest::collection::vec(0u16..1000, 16), 1..40),
            budget in proptest::sample::select(vec![0usize, 4000, DEFAULT_MAX_INDEX_BYTES]),
        ) {
            let layout = KeyLayout::new(k);
            let top = (layout.max_ids() - 1) as u16;
            let window = |ids: &[u16]| -> WindowKey {
                let ids: Vec<u16> = ids[..k].iter().map(|x| (x % alphabet).min(top)).collect();
                layout.pack(&ids)
            };
            let keys: Vec<WindowKey> = profile.iter().map(|w| window(w)).collect();
            let index = HammingIndex::with_budget(k, keys.clone(), budget);
            for q in queries.iter().chain(profile.iter().take(3)) {
                let q = window(q);
                let want = brute_force(&layout, q, &keys);
                let got = index.nearest(q).map(|x| x.0);
                proptest::prop_assert_eq!(got, want, "k={} query {:?}", k, layout.unpack(q));
                if !keys.contains(&q) {
                    // Asked twice: the second answer is remembered.
                    for _ in 0..2 {
                        let got = index.nearest_unknown(q).map(|x| x.0);
                        let ids = layout.unpack(q);
                        proptest::prop_assert_eq!(got, want, "k={} unknown {:?}", k, ids);
                    }
                }
            }
        }
    }
}
