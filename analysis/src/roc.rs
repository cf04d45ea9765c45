//! ROC analysis of a score that should rank anomalous traces above normal ones: the AUC, the
//! curve, and operating points (the detection rate at a false-alarm rate).
//!
//! AUC = P(score(anomalous) > score(normal)) + 0.5 * P(equal), which is the Mann-Whitney U
//! statistic divided by n_anomalous * n_normal. Computed from ranks with ties given their
//! average rank, so tied scores count one half, in O(n log n).
//!
//! An operating point raises an alarm for a score strictly above a threshold chosen on the normal
//! traces alone, as a detector is calibrated: at a false-alarm rate r, the threshold is the
//! (floor(r * n_normal) + 1)-th largest normal score, so at most floor(r * n_normal) normal
//! traces score above it (fewer when scores tie there); r = 0 gives the largest normal score,
//! the threshold with zero false alarms. The detection rate is the share of anomalous traces
//! above it.

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

/// One point of a ROC curve.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct RocPoint {
    /// Share of normal traces scoring at least the point's score.
    pub false_alarm_rate: f64,
    /// Share of anomalous traces scoring at least the point's score.
    pub detection_rate: f64,
}

/// The ROC curve from (0, 0) to (1, 1): one point per distinct score, from the highest down
/// (tied scores move both rates at once, so the area under it is `roc_auc`). Empty when a side
/// is empty or a score is NaN.
pub fn roc_curve(normal: &[f64], anomalous: &[f64]) -> Vec<RocPoint> {
    if normal.is_empty()
        || anomalous.is_empty()
        || normal.iter().chain(anomalous).any(|s| s.is_nan())
    {
        return Vec::new();
    }
    let mut all: Vec<(f64, bool)> = normal
        .iter()
        .map(|s| (*s, false))
        .chain(anomalous.iter().map(|s| (*s, true)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (n_n, n_a) = (normal.len() as f64, anomalous.len() as f64);
    let mut points = vec![RocPoint {
        false_alarm_rate: 0.0,
        detection_rate: 0.0,
    }];
    let (mut fp, mut tp) = (0usize, 0usize);
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            if all[j].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            j += 1;
        }
        points.push(RocPoint {
            false_alarm_rate: fp as f64 / n_n,
            detection_rate: tp as f64 / n_a,
        });
        i = j;
    }
    points
}

/// A detector calibrated on the normal traces: alarm when the score is above `alarm_above`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct OperatingPoint {
    /// The false-alarm rate asked for.
    pub target_false_alarm_rate: f64,
    /// Alarm for scores strictly above this (`None`: every trace raises one, when the target
    /// allows every normal trace to).
    pub alarm_above: Option<f64>,
    /// Share of normal traces above the threshold (at most the target).
    pub false_alarm_rate: f64,
    /// Share of anomalous traces above it.
    pub detection_rate: f64,
}

/// The threshold for false-alarm rate `target` (see the module docs); `None` when every normal
/// trace may alarm, and also returned for an empty `normal` (then every score alarms).
pub fn threshold_at(normal: &[f64], target: f64) -> Option<f64> {
    let mut sorted = normal.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let allowed = (target.clamp(0.0, 1.0) * sorted.len() as f64 + 1e-9).floor() as usize;
    sorted.get(allowed).copied()
}

/// Share of `scores` above `threshold` (all of them when `None`); 0 for no scores.
pub fn rate_above(scores: &[f64], threshold: Option<f64>) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    let above = match threshold {
        Some(t) => scores.iter().filter(|s| **s > t).count(),
        None => scores.len(),
    };
    above as f64 / scores.len() as f64
}

/// The operating point at false-alarm rate `target` (0 for the zero-false-alarm threshold).
pub fn operating_point(normal: &[f64], anomalous: &[f64], target: f64) -> OperatingPoint {
    let alarm_above = threshold_at(normal, target);
    OperatingPoint {
        target_false_alarm_rate: target,
        alarm_above,
        false_alarm_rate: rate_above(normal, alarm_above),
        detection_rate: rate_above(anomalous, alarm_above),
    }
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

    #[test]
    fn curve_by_hand() {
        // Normal 0.1 0.2 0.3, anomalous 0.2 0.3 0.9. Descending: 0.9 (a), 0.3 (n a), 0.2 (n a),
        // 0.1 (n).
        let c = roc_curve(&[0.1, 0.2, 0.3], &[0.2, 0.3, 0.9]);
        let xy: Vec<(f64, f64)> = c
            .iter()
            .map(|p| (p.false_alarm_rate, p.detection_rate))
            .collect();
        let third = 1.0 / 3.0;
        assert_eq!(
            xy,
            [
                (0.0, 0.0),
                (0.0, third),
                (third, 2.0 * third),
                (2.0 * third, 1.0),
                (1.0, 1.0)
            ]
        );
        // Trapezoids: 0 + (1/3)(1/3 + 2/3)/2 + (1/3)(2/3 + 1)/2 + (1/3)(1) = 7/9.
        let area: f64 = c
            .windows(2)
            .map(|w| {
                (w[1].false_alarm_rate - w[0].false_alarm_rate)
                    * (w[0].detection_rate + w[1].detection_rate)
                    / 2.0
            })
            .sum();
        assert!((area - 7.0 / 9.0).abs() < 1e-12);
        assert!((roc_auc(&[0.1, 0.2, 0.3], &[0.2, 0.3, 0.9]).unwrap() - 7.0 / 9.0).abs() < 1e-12);
        assert!(roc_curve(&[], &[1.0]).is_empty());
    }

    #[test]
    fn operating_points_by_hand() {
        // 10 normal traces scoring 0..9 (so one is 10 %), anomalous 8.5, 9, 9.5, 3.
        let normal: Vec<f64> = (0..10).map(f64::from).collect();
        let anomalous = [8.5, 9.0, 9.5, 3.0];
        // Zero false alarms: above the largest normal (9): only 9.5.
        let zero = operating_point(&normal, &anomalous, 0.0);
        assert_eq!(zero.alarm_above, Some(9.0));
        assert_eq!((zero.false_alarm_rate, zero.detection_rate), (0.0, 0.25));
        // 1 % of 10 allows no false alarm: the same threshold.
        assert_eq!(
            operating_point(&normal, &anomalous, 0.01).alarm_above,
            Some(9.0)
        );
        // 10 % allows one (9 alarms): above 8, so 8.5, 9, 9.5 are detected.
        let ten = operating_point(&normal, &anomalous, 0.10);
        assert_eq!(ten.alarm_above, Some(8.0));
        assert_eq!((ten.false_alarm_rate, ten.detection_rate), (0.1, 0.75));
        // Ties at the threshold alarm for none of them: normal 1 1 1 0 at 50 % allows two, but
        // above 1 there are none.
        let tied = operating_point(&[1.0, 1.0, 1.0, 0.0], &[1.0, 2.0], 0.5);
        assert_eq!(tied.alarm_above, Some(1.0));
        assert_eq!((tied.false_alarm_rate, tied.detection_rate), (0.0, 0.5));
        // 100 %: every trace alarms.
        let all = operating_point(&[1.0, 2.0], &[0.0], 1.0);
        assert_eq!((all.alarm_above, all.detection_rate), (None, 1.0));
    }
}
