//! ROC AUC of a score that should rank anomalous traces above normal ones.
//!
//! AUC = P(score(anomalous) > score(normal)) + 0.5 * P(equal), which is the Mann-Whitney U
//! statistic divided by n_anomalous * n_normal. Computed from ranks with ties given their
//! average rank, so tied scores count one half, in O(n log n).

/// ROC AUC of `anomalous` scores against `normal` scores (higher = more anomalous).
/// `None` when either side is empty or a score is NaN.
pub fn roc_auc(normal: &[f64], anomalous: &[f64]) -> Option<f64> {
    if normal.is_empty() || anomalous.is_empty() {
        return None;
    }
    if normal.iter().chain(anomalous).any(|s| s.is_nan()) {
        return None;
    }
    let mut all: Vec<(f64, bool)> = normal
        .iter()
        .map(|s| (*s, false))
        .chain(anomalous.iter().map(|s| (*s, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_anomalous = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j share their average.
        let average_rank = (i + 1 + j) as f64 / 2.0;
        let tied_anomalous = all[i..j].iter().filter(|x| x.1).count();
        rank_sum_anomalous += average_rank * tied_anomalous as f64;
        i = j;
    }
    let (n_a, n_n) = (anomalous.len() as f64, normal.len() as f64);
    let u = rank_sum_anomalous - n_a * (n_a + 1.0) / 2.0;
    Some(u / (n_a * n_n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, pair by pair.
    fn auc_by_pairs(normal: &[f64], anomalous: &[f64]) -> f64 {
        let mut s = 0.0;
        for a in anomalous {
            for n in normal {
                s += if a > n {
                    1.0
                } else if a == n {
                    0.5
                } else {
                    0.0
                };
            }
        }
        s / (normal.len() * anomalous.len()) as f64
    }

    #[test]
    fn hand_computed_cases() {
        assert_eq!(roc_auc(&[0.1, 0.2], &[0.3, 0.4]), Some(1.0));
        assert_eq!(roc_auc(&[0.3, 0.4], &[0.1, 0.2]), Some(0.0));
        assert_eq!(roc_auc(&[0.5, 0.5], &[0.5]), Some(0.5));
        // Pairs: (0.2>0.1) 1, (0.2=0.2) 0.5, (0.2<0.3) 0; (0.3>0.1) 1, (0.3>0.2) 1, (0.3=0.3) 0.5.
        assert_eq!(roc_auc(&[0.1, 0.2, 0.3], &[0.2, 0.3]), Some(4.0 / 6.0));
        assert_eq!(roc_auc(&[], &[1.0]), None);
        assert_eq!(roc_auc(&[f64::NAN], &[1.0]), None);
    }

    proptest::proptest! {
        #[test]
        fn ranks_agree_with_pairs(
            normal in proptest::collection::vec(0u8..6, 1..30),
            anomalous in proptest::collection::vec(0u8..6, 1..30),
        ) {
            let n: Vec<f64> = normal.iter().map(|x| f64::from(*x)).collect();
            let a: Vec<f64> = anomalous.iter().map(|x| f64::from(*x)).collect();
            let auc = roc_auc(&n, &a).unwrap();
            proptest::prop_assert!((auc - auc_by_pairs(&n, &a)).abs() < 1e-12);
        }
    }
}
