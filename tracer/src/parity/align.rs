//! Sequence alignment for parity: a longest common subsequence by Myers' O((N+M)·D) diff
//! ("An O(ND) Difference Algorithm and Its Variations", Algorithmica 1986), which is fast when
//! the two sequences are alike, the case parity expects. Common prefix and suffix are matched
//! first; past `MAX_EDITS` differences the sequences are split in proportional halves and aligned
//! piecewise, which still yields a common subsequence (a lower bound of the longest).

/// Edit distance (insertions + deletions) searched before splitting.
const MAX_EDITS: usize = 2_000;

/// Index pairs `(i, j)` with `a[i] == b[j]`, increasing in both, of a long common subsequence.
pub fn align(a: &[u32], b: &[u32]) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    align_into(a, b, 0, 0, &mut out);
    out
}

fn align_into(a: &[u32], b: &[u32], ao: usize, bo: usize, out: &mut Vec<(usize, usize)>) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    out.extend((0..prefix).map(|i| (ao + i, bo + i)));
    let (a2, b2) = (&a[prefix..], &b[prefix..]);
    let suffix = a2
        .iter()
        .rev()
        .zip(b2.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a3, b3) = (&a2[..a2.len() - suffix], &b2[..b2.len() - suffix]);
    let (ao3, bo3) = (ao + prefix, bo + prefix);
    if !a3.is_empty() && !b3.is_empty() {
        match myers(a3, b3, MAX_EDITS) {
            Some(pairs) => out.extend(pairs.into_iter().map(|(i, j)| (ao3 + i, bo3 + j))),
            None => {
                let (ha, hb) = (a3.len() / 2, b3.len() / 2);
                if ha == 0 || hb == 0 {
                    // Too short to split and too different: match greedily.
                    greedy(a3, b3, ao3, bo3, out);
                } else {
                    align_into(&a3[..ha], &b3[..hb], ao3, bo3, out);
                    align_into(&a3[ha..], &b3[hb..], ao3 + ha, bo3 + hb, out);
                }
            }
        }
    }
    let (sa, sb) = (ao + a.len() - suffix, bo + b.len() - suffix);
    out.extend((0..suffix).map(|i| (sa + i, sb + i)));
}

fn greedy(a: &[u32], b: &[u32], ao: usize, bo: usize, out: &mut Vec<(usize, usize)>) {
    let mut j = 0;
    for (i, x) in a.iter().enumerate() {
        if let Some(k) = b[j..].iter().position(|y| y == x) {
            out.push((ao + i, bo + j + k));
            j += k + 1;
        }
    }
}

/// Myers' forward search with the frontier of every step kept for the backtrack; `None` when
/// more than `max_d` edits are needed.
fn myers(a: &[u32], b: &[u32], max_d: usize) -> Option<Vec<(usize, usize)>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max_d = max_d.min(a.len() + b.len()) as isize;
    let off = max_d + 1;
    let mut v = vec![0isize; (2 * max_d + 3) as usize];
    let mut trace: Vec<Vec<isize>> = Vec::new();
    let mut end = None;
    'search: for d in 0..=max_d {
        for k in (-d..=d).step_by(2) {
            let down = k == -d || (k != d && v[(off + k - 1) as usize] < v[(off + k + 1) as usize]);
            let mut x = if down {
                v[(off + k + 1) as usize]
            } else {
                v[(off + k - 1) as usize] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[(off + k) as usize] = x;
            if x >= n && y >= m {
                trace.push(v[(off - d) as usize..=(off + d) as usize].to_vec());
                end = Some(d);
                break 'search;
            }
        }
        trace.push(v[(off - d) as usize..=(off + d) as usize].to_vec());
    }
    let d_end = end?;
    let mut pairs = Vec::new();
    let (mut x, mut y) = (n, m);
    for d in (1..=d_end).rev() {
        let prev = &trace[(d - 1) as usize];
        let at = |k: isize| prev[(k + d - 1) as usize];
        let k = x - y;
        let down = k == -d || (k != d && at(k - 1) < at(k + 1));
        let prev_k = if down { k + 1 } else { k - 1 };
        let prev_x = at(prev_k);
        let prev_y = prev_x - prev_k;
        let (mid_x, mid_y) = if down {
            (prev_x, prev_x - k)
        } else {
            (prev_x + 1, prev_x + 1 - k)
        };
        while x > mid_x && y > mid_y {
            x -= 1;
            y -= 1;
            pairs.push((x as usize, y as usize));
        }
        x = prev_x;
        y = prev_y;
    }
    while x > 0 && y > 0 {
        x -= 1;
        y -= 1;
        pairs.push((x as usize, y as usize));
    }
    pairs.reverse();
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LCS length by dynamic programming, the reference.
    fn lcs_len(a: &[u32], b: &[u32]) -> usize {
        let mut dp = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                dp[i][j] = if a[i - 1] == b[j - 1] {
                    dp[i - 1][j - 1] + 1
                } else {
                    dp[i - 1][j].max(dp[i][j - 1])
                };
            }
        }
        dp[a.len()][b.len()]
    }

    fn check(a: &[u32], b: &[u32]) {
        let pairs = align(a, b);
        for w in pairs.windows(2) {
            assert!(
                w[0].0 < w[1].0 && w[0].1 < w[1].1,
                "not increasing: {pairs:?}"
            );
        }
        for &(i, j) in &pairs {
            assert_eq!(a[i], b[j]);
        }
        assert_eq!(pairs.len(), lcs_len(a, b), "{a:?} vs {b:?}");
    }

    #[test]
    fn matches_the_dynamic_programming_lcs() {
        check(&[1, 2, 3, 4], &[1, 2, 3, 4]);
        check(&[1, 2, 3, 4], &[1, 3, 4]);
        check(&[], &[1, 2]);
        check(&[5, 1, 2, 9, 3], &[1, 7, 2, 3, 5]);
        check(&[1, 1, 2, 2, 1], &[2, 1, 2, 1, 1, 2]);
        // Pseudo-random sequences over a small alphabet.
        let mut s: u32 = 7;
        let mut next = || {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (s >> 16) % 4
        };
        for _ in 0..50 {
            let a: Vec<u32> = (0..(next() * 7)).map(|_| next()).collect();
            let b: Vec<u32> = (0..(next() * 7)).map(|_| next()).collect();
            check(&a, &b);
        }
    }

    #[test]
    fn very_different_long_sequences_still_align() {
        let a: Vec<u32> = (0..20_000).map(|i| i % 7).collect();
        let b: Vec<u32> = (0..20_000).map(|i| (i * 3) % 11).collect();
        let pairs = align(&a, &b);
        assert!(!pairs.is_empty());
        for w in pairs.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1);
        }
    }
}
