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
//! profile window within d. The query is unknown to the profile, so its minimum is at least 1;
//! after level d finds nothing within d the minimum is at least d + 1, and the best candidate
//! seen so far bounds it from above, so the search ends as soon as the two bounds meet.
//!
//! Most unknown windows of real traces are one or two substitutions from a known one. Those
//! levels use masked keys instead of blocks when the memory budget allows: for each set of d
//! positions, the set of profile windows with those positions cleared; a window within d exists
//! iff one of the k choose d sets holds the query cleared the same way (6 and 15 hash probes for
//! k = 6, and no comparison, where the blocks of common calls can hold hundreds of candidates).
//! When a level's buckets would hold more candidates than half the profile (short blocks of
//! frequent calls), or its tables would exceed the memory budget, the profile is scanned instead,
//! with the same early exit. Levels are built on first use, so a search that never needs a
//! level never pays for it.
//!
//! Each answer is remembered (windows recur across the traces of an evaluation), and every
//! search reports the comparisons it made so the caller's budget (`ScoreConfig::hamming_budget`)
//! still bounds the work, now only as a fallback.

use std::cell::{Cell, OnceCell, RefCell};

use crate::{
    ngram::{KeyLayout, KeyMap, KeySet, MAX_K, WindowKey},
    profile::Profile,
};

/// Most table entries (one per profile window per block, 4 bytes each) all levels together may
/// hold: 32 Mi entries, 128 MiB. Levels beyond it are answered by scanning.
pub const DEFAULT_MAX_INDEX_ENTRIES: usize = 32 << 20;

/// One block of positions and its table: profile windows grouped by their ids in the block.
#[derive(Debug)]
struct Block {
    shift: u32,
    mask: WindowKey,
    /// Block value -> range of `order` holding the windows with it.
    buckets: KeyMap<WindowKey, (u32, u32)>,
    /// Indices into the sorted profile keys, grouped by block value.
    order: Vec<u32>,
}

impl Block {
    fn value(&self, key: WindowKey) -> WindowKey {
        (key >> self.shift) & self.mask
    }

    fn bucket(&self, key: WindowKey) -> &[u32] {
        match self.buckets.get(&self.value(key)) {
            Some(&(start, end)) => &self.order[start as usize..end as usize],
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
        let mut order = vec![0u32; keys.len()];
        let mut next: KeyMap<WindowKey, u32> = buckets.iter().map(|(v, r)| (*v, r.0)).collect();
        for (i, k) in keys.iter().enumerate() {
            let slot = next.get_mut(&((k >> shift) & mask)).expect("counted above");
            order[*slot as usize] = i as u32;
            *slot += 1;
        }
        Self {
            shift,
            mask,
            buckets,
            order,
        }
    }
}

/// The tables of one search level (radius d).
#[derive(Debug)]
enum Level {
    /// For each set of d positions, the profile windows with those positions cleared: a
    /// window within d of the query exists iff one of these holds the query cleared alike.
    /// k choose d probes, no comparison; used for d <= `MAX_MASKED_RADIUS` within budget.
    Masked(Vec<(WindowKey, KeySet<WindowKey>)>),
    /// d + 1 blocks of positions (pigeonhole): candidates that agree on a whole block.
    Blocks(Vec<Block>),
}

/// Largest radius answered by masked-key probes (k choose d tables).
const MAX_MASKED_RADIUS: usize = 1;

/// Budget entries a masked key costs (a 16-byte key in a hash set, against a 4-byte index).
const MASKED_ENTRY_COST: usize = 4;

/// The d-element subsets of 0..k.
fn subsets(k: usize, d: usize) -> Vec<Vec<usize>> {
    if d == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for last in (d - 1)..k {
        for mut s in subsets(last, d - 1) {
            s.push(last);
            out.push(s);
        }
    }
    out
}

fn binomial(k: usize, d: usize) -> usize {
    (0..d).fold(1, |acc, i| acc * (k - i) / (i + 1))
}

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
    max_entries: usize,
    entries: Cell<usize>,
    memo: RefCell<KeyMap<WindowKey, u8>>,
    stats: Cell<SearchStats>,
}

impl HammingIndex {
    /// An index of `profile`'s windows with the default memory budget.
    pub fn new(profile: &Profile) -> Self {
        Self::with_budget(profile.k, profile.sorted_keys(), DEFAULT_MAX_INDEX_ENTRIES)
    }

    /// An index of the distinct windows `keys` of length `k`, whose tables hold at most
    /// `max_entries` entries.
    pub fn with_budget(k: usize, mut keys: Vec<WindowKey>, max_entries: usize) -> Self {
        keys.sort_unstable();
        keys.dedup();
        Self {
            layout: KeyLayout::new(k),
            keys,
            levels: (1..k).map(|_| OnceCell::new()).collect(),
            max_entries,
            entries: Cell::new(0),
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

    /// Reserves `entries` of the budget; false if they do not fit.
    fn reserve(&self, entries: usize) -> bool {
        let total = self.entries.get().saturating_add(entries);
        if total > self.max_entries {
            return false;
        }
        self.entries.set(total);
        true
    }

    /// The tables of radius `d` (1..k), built now if needed; `None` past the budget.
    fn level(&self, d: usize) -> Option<&Level> {
        self.levels[d - 1]
            .get_or_init(|| {
                let k = self.layout.k();
                let bits = self.layout.bits();
                let n = self.keys.len();
                let lane = |i: usize| ((1u128 << bits) - 1) << (bits * (k - 1 - i) as u32);
                if d <= MAX_MASKED_RADIUS
                    && self.reserve(binomial(k, d).saturating_mul(n * MASKED_ENTRY_COST))
                {
                    let masks = subsets(k, d)
                        .into_iter()
                        .map(|positions| {
                            let mask = positions.iter().fold(WindowKey::MAX, |m, i| m & !lane(*i));
                            let set: KeySet<WindowKey> =
                                self.keys.iter().map(|key| key & mask).collect();
                            (mask, set)
                        })
                        .collect();
                    return Some(Level::Masked(masks));
                }
                let m = d + 1;
                if !self.reserve(m * n) {
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
                Some(Level::Blocks(blocks))
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

    fn search(&self, key: WindowKey) -> (u32, u64, bool) {
        let k = self.layout.k() as u32;
        if self.keys.binary_search(&key).is_ok() {
            return (0, 1, false);
        }
        // Every window is within k of any other.
        let mut best = k;
        let mut comparisons = 0;
        for d in 1..k {
            if best <= d {
                break;
            }
            let blocks = match self.level(d as usize) {
                None => {
                    let (b, n) = self.scan(key, d, best);
                    return (b, comparisons + n, true);
                }
                Some(Level::Masked(masks)) => {
                    comparisons += masks.len() as u64;
                    if masks.iter().any(|(mask, set)| set.contains(&(key & mask))) {
                        return (d, comparisons, false);
                    }
                    continue;
                }
                Some(Level::Blocks(blocks)) => blocks,
            };
            let candidates: usize = blocks.iter().map(|b| b.bucket(key).len()).sum();
            if candidates > self.keys.len() / 2 {
                let (b, n) = self.scan(key, d, best);
                return (b, comparisons + n, true);
            }
            for block in blocks {
                for &i in block.bucket(key) {
                    comparisons += 1;
                    let dist = self.layout.hamming(key, self.keys[i as usize]);
                    if dist < best {
                        best = dist;
                        if best <= d {
                            return (best, comparisons, false);
                        }
                    }
                }
            }
            // No window within d: the minimum is at least d + 1.
        }
        (best, comparisons, false)
    }

    /// The minimum Hamming distance (positions) from `key` to the profile, exactly, and the
    /// window comparisons it cost (0 when remembered); `None` for an empty profile.
    pub fn nearest(&self, key: WindowKey) -> Option<(u32, u64)> {
        if self.keys.is_empty() {
            return None;
        }
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
        self.memo.borrow_mut().insert(key, d as u8);
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
        let index = HammingIndex::with_budget(3, keys, DEFAULT_MAX_INDEX_ENTRIES);
        assert_eq!(index.nearest(l.pack(&[1, 2, 3])), Some((0, 1)));
        assert_eq!(index.nearest(l.pack(&[2, 3, 8])).map(|x| x.0), Some(1));
        assert_eq!(index.nearest(l.pack(&[9, 3, 8])).map(|x| x.0), Some(2));
        assert_eq!(index.nearest(l.pack(&[8, 9, 10])).map(|x| x.0), Some(3));
        // Asked again: remembered, no comparison.
        assert_eq!(index.nearest(l.pack(&[8, 9, 10])), Some((3, 0)));
        assert_eq!(index.stats().remembered, 1);
        let empty = HammingIndex::with_budget(3, Vec::new(), DEFAULT_MAX_INDEX_ENTRIES);
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
            budget in proptest::sample::select(vec![0usize, 200, DEFAULT_MAX_INDEX_ENTRIES]),
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
            }
        }
    }
}
