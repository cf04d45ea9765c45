//! The statistics a comparison reports beside its means, each reproducible from a seed:
//!
//! - `bootstrap_mean_ci`: percentile bootstrap confidence interval of a mean (Efron and
//!   Tibshirani 1993, ch. 13), `BOOTSTRAP_RESAMPLES` resamples;
//! - `permutation_test`: two-sided permutation test of a difference in means (exact over every
//!   relabelling when there are at most `PERMUTATIONS` of them, else that many random ones, with
//!   the (b + 1) / (m + 1) estimate of Phipson and Smyth 2010, never 0);
//! - `cliffs_delta`: Cliff's delta, P(a > b) - P(a < b), the ordinal effect size (|d| < 0.147
//!   negligible, < 0.33 small, < 0.474 medium, else large: Romano et al. 2006);
//! - `pearson` and `least_squares`: correlation and fitted line of a scatter.
//!
//! The random streams are `SplitMix64` from a seed that the caller derives per group
//! (`seed_for`), so adding a scenario does not change another's interval.

use crate::compare::SplitMix64;

/// Bootstrap resamples per interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Most relabellings a permutation test draws (and the exact-enumeration limit).
pub const PERMUTATIONS: usize = 10_000;

/// A mean with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct MeanCi {
    /// The sample mean.
    pub mean: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

/// A seed for one group of a comparison: `seed` mixed with the group's labels (FNV-1a), so each
/// group's random stream depends only on the seed and its own name.
pub fn seed_for(seed: u64, labels: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for l in labels {
        for b in l.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Linear-interpolated quantile `q` of sorted `v` (type 7, as R and numpy default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    if i + 1 < sorted.len() {
        sorted[i] + frac * (sorted[i + 1] - sorted[i])
    } else {
        sorted[i]
    }
}

/// Percentile bootstrap interval at `level` (e.g. 0.95) of the mean of `values`; `None` when
/// empty. One value gives a zero-width interval.
pub fn bootstrap_mean_ci(values: &[f64], level: f64, seed: u64) -> Option<MeanCi> {
    if values.is_empty() {
        return None;
    }
    let m = mean(values);
    if values.len() == 1 {
        return Some(MeanCi {
            mean: m,
            lo: m,
            hi: m,
        });
    }
    let mut rng = SplitMix64::new(seed);
    let n = values.len();
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    Some(MeanCi {
        mean: m,
        lo: quantile(&means, alpha),
        hi: quantile(&means, 1.0 - alpha),
    })
}

/// The number of ways to choose `k` of `n`, saturating.
fn choose(n: usize, k: usize) -> u128 {
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        c = c.saturating_mul((n - i) as u128) / (i as u128 + 1);
    }
    c
}

/// Two-sided permutation test of mean(a) != mean(b): the share of relabellings of the pooled
/// values whose |difference in means| is at least the observed one. `None` if a side is empty.
pub fn permutation_test(a: &[f64], b: &[f64], seed: u64) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let (n, na) = (pooled.len(), a.len());
    let total: f64 = pooled.iter().sum();
    let diff = |sum_a: f64| (sum_a / na as f64 - (total - sum_a) / (n - na) as f64).abs();
    // Relative tolerance: equal differences computed in another order must count as equal.
    let observed = diff(a.iter().sum()) * (1.0 - 1e-12);
    if choose(n, na) <= PERMUTATIONS as u128 {
        // Exact: every subset of size na as the `a` side.
        let (mut hits, mut count) = (0u64, 0u64);
        let mut idx: Vec<usize> = (0..na).collect();
        loop {
            let s: f64 = idx.iter().map(|&i| pooled[i]).sum();
            hits += u64::from(diff(s) >= observed);
            count += 1;
            // Next combination in lexicographic order.
            let Some(pos) = (0..na).rev().find(|&i| idx[i] != i + n - na) else {
                break;
            };
            idx[pos] += 1;
            for j in pos + 1..na {
                idx[j] = idx[j - 1] + 1;
            }
        }
        return Some(hits as f64 / count as f64);
    }
    let mut rng = SplitMix64::new(seed);
    let mut work = pooled;
    let mut hits = 0u64;
    for _ in 0..PERMUTATIONS {
        // Partial Fisher-Yates: the first na positions are a uniform random subset.
        for i in 0..na {
            let j = i + rng.below(n - i);
            work.swap(i, j);
        }
        let s: f64 = work[..na].iter().sum();
        hits += u64::from(diff(s) >= observed);
    }
    Some((hits + 1) as f64 / (PERMUTATIONS + 1) as f64)
}

/// Cliff's delta of `a` against `b`: P(a > b) - P(a < b) over all pairs, in [-1, 1].
pub fn cliffs_delta(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut sorted = b.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut score: i64 = 0;
    for x in a {
        let below = sorted.partition_point(|y| y < x) as i64;
        let not_above = sorted.partition_point(|y| y <= x) as i64;
        let above = sorted.len() as i64 - not_above;
        score += below - above;
    }
    Some(score as f64 / (a.len() * b.len()) as f64)
}

/// Pearson's correlation of the pairs; `None` with fewer than 3 or no variance.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 3 {
        return None;
    }
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Ordinary least squares `y = slope * x + intercept`; `None` with fewer than 2 points or no
/// variance in x.
pub fn least_squares(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let (mx, my) = (mean(x), mean(y));
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn exact_permutation_p_values_by_hand() {
        // a = {1, 2}, b = {3, 4}: of the C(4,2) = 6 splits, {1,2} and {3,4} give |diff| = 2,
        // the observed one; the others give 1, 0, 0, 1. p = 2/6.
        let p = permutation_test(&[1.0, 2.0], &[3.0, 4.0], 0).expect("p");
        assert!(close(p, 2.0 / 6.0), "{p}");
        // Identical samples: every split is at least as extreme as 0.
        assert!(close(
            permutation_test(&[1.0, 1.0], &[1.0, 1.0], 0).expect("p"),
            1.0
        ));
        // Complete separation of 5 vs 5: 2 of C(10,5) = 252 splits are as extreme.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        assert!(close(permutation_test(&a, &b, 0).expect("p"), 2.0 / 252.0));
        assert_eq!(permutation_test(&[], &b, 0), None);
    }

    #[test]
    fn random_permutations_are_seeded_and_sensible() {
        // C(24, 12) > PERMUTATIONS: the Monte Carlo branch.
        let a: Vec<f64> = (0..12).map(f64::from).collect();
        let b: Vec<f64> = (0..12).map(|i| f64::from(i) + 20.0).collect();
        let p = permutation_test(&a, &b, 7).expect("p");
        assert!(close(p, 1.0 / (PERMUTATIONS as f64 + 1.0)), "{p}");
        let c: Vec<f64> = (0..12).map(|i| f64::from(i % 3)).collect();
        let d: Vec<f64> = (0..12).map(|i| f64::from((i + 1) % 3)).collect();
        let (p1, p2) = (
            permutation_test(&c, &d, 7).expect("p"),
            permutation_test(&c, &d, 7).expect("p"),
        );
        assert_eq!(p1, p2, "same seed, same p");
        assert!(p1 > 0.5, "no difference in means: {p1}");
    }

    #[test]
    fn bootstrap_interval_contains_the_mean_and_is_reproducible() {
        let v = [0.1, 0.4, 0.35, 0.8, 0.5, 0.45, 0.2, 0.6];
        let ci = bootstrap_mean_ci(&v, 0.95, 1).expect("ci");
        assert!(close(ci.mean, 0.425));
        assert!(ci.lo < ci.mean && ci.mean < ci.hi, "{ci:?}");
        assert!(ci.lo > 0.1 && ci.hi < 0.8, "{ci:?}");
        assert_eq!(bootstrap_mean_ci(&v, 0.95, 1), Some(ci));
        assert_ne!(bootstrap_mean_ci(&v, 0.95, 2), Some(ci));
        // A constant sample has a zero-width interval, one value too.
        let c = bootstrap_mean_ci(&[0.3; 5], 0.95, 1).expect("ci");
        assert!(close(c.lo, 0.3) && close(c.hi, 0.3));
        assert_eq!(
            bootstrap_mean_ci(&[2.0], 0.95, 1),
            Some(MeanCi {
                mean: 2.0,
                lo: 2.0,
                hi: 2.0
            })
        );
        assert_eq!(bootstrap_mean_ci(&[], 0.95, 1), None);
    }

    #[test]
    fn cliffs_delta_by_hand() {
        // Pairs (a, b): (1,2) <, (1,0) >, (3,2) >, (3,0) >: (3 - 1) / 4.
        assert!(close(
            cliffs_delta(&[1.0, 3.0], &[2.0, 0.0]).expect("d"),
            0.5
        ));
        assert!(close(cliffs_delta(&[5.0], &[1.0, 2.0]).expect("d"), 1.0));
        assert!(close(
            cliffs_delta(&[1.0, 2.0], &[1.0, 2.0]).expect("d"),
            0.0
        ));
        assert!(close(cliffs_delta(&[0.0], &[1.0]).expect("d"), -1.0));
    }

    #[test]
    fn correlation_and_fit() {
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [1.0, 3.0, 5.0, 7.0];
        assert!(close(pearson(&x, &y).expect("r"), 1.0));
        let (m, b) = least_squares(&x, &y).expect("fit");
        assert!(close(m, 2.0) && close(b, 1.0));
        assert!(close(pearson(&x, &[7.0, 5.0, 3.0, 1.0]).expect("r"), -1.0));
        assert_eq!(pearson(&x, &[1.0; 4]), None);
        assert_eq!(least_squares(&[1.0, 1.0], &[0.0, 1.0]), None);
    }

    #[test]
    fn group_seeds_differ_by_label() {
        assert_eq!(seed_for(1, &["a", "b"]), seed_for(1, &["a", "b"]));
        assert_ne!(seed_for(1, &["a", "b"]), seed_for(1, &["ab"]));
        assert_ne!(seed_for(1, &["a"]), seed_for(2, &["a"]));
    }
}
