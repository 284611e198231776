//! Held-out metrics of a probability model: discrimination, calibration and the
//! business view (gains and lift), plus the confusion matrix at a threshold.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub mean_predicted: f64,
    pub observed_rate: f64,
    pub count: usize,
}

/// Share of all lapses found in the riskiest `share` of clients; lift = captured / share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gain {
    pub share: f64,
    pub captured: f64,
    pub lift: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub threshold: f64,
    pub true_positive: usize,
    pub false_positive: usize,
    pub true_negative: usize,
    pub false_negative: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Confusion {
    pub fn at(p: &[f64], y: &[bool], threshold: f64) -> Self {
        let (mut tp, mut fp, mut tn, mut fneg) = (0, 0, 0, 0);
        for (&pi, &yi) in p.iter().zip(y) {
            match (pi >= threshold, yi) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, false) => tn += 1,
                (false, true) => fneg += 1,
            }
        }
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / (tp + fneg).max(1) as f64;
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Confusion {
            threshold,
            true_positive: tp,
            false_positive: fp,
            true_negative: tn,
            false_negative: fneg,
            precision,
            recall,
            f1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub clients: usize,
    pub lapsed: usize,
    pub base_rate: f64,
    pub roc_auc: f64,
    /// Average precision (area under the precision-recall curve, step-wise).
    pub pr_auc: f64,
    pub log_loss: f64,
    pub brier: f64,
    /// Expected calibration error over the calibration table (count-weighted |gap|).
    pub ece: f64,
    pub calibration: Vec<CalibrationBin>,
    /// At 5, 10 and 20% of clients, then every 10% for charts.
    pub gains: Vec<Gain>,
    pub confusion: Confusion,
    /// ROC curve, (false positive rate, true positive rate), at most ~100 points.
    pub roc_curve: Vec<(f64, f64)>,
}

impl Metrics {
    pub fn lift_at(&self, share: f64) -> Option<f64> {
        self.gains
            .iter()
            .find(|g| (g.share - share).abs() < 1e-9)
            .map(|g| g.lift)
    }
}

/// Indices sorted by descending probability (ties by index: reproducible).
fn by_risk(p: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    idx
}

/// ROC AUC by the rank-sum formula, ties counted half.
pub fn roc_auc(p: &[f64], y: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && p[idx[j + 1]] == p[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * idx[i..=j].iter().filter(|&&k| y[k]).count() as f64;
        i = j + 1;
    }
    let pos = y.iter().filter(|&&v| v).count() as f64;
    let neg = y.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// The ROC AUC of scores `a` minus that of scores `b` on the same clients, and the
/// standard error of that difference (DeLong, DeLong & Clarke-Pearson 1988: each
/// client's placement among the other class, paired across the two scores, so that two
/// models that rank alike have a small error however few the lapses). NaN without
/// both classes.
pub fn paired_auc_difference(a: &[f64], b: &[f64], y: &[bool]) -> (f64, f64) {
    let (pa, pb) = (placements(a, y), placements(b, y));
    let (Some((a_pos, a_neg)), Some((b_pos, b_neg))) = (pa, pb) else {
        return (f64::NAN, f64::NAN);
    };
    let diff = mean(&a_pos) - mean(&b_pos);
    let variance_of = |xa: &[f64], xb: &[f64]| {
        let d: Vec<f64> = xa.iter().zip(xb).map(|(u, v)| u - v).collect();
        let m = mean(&d);
        d.iter().map(|v| (v - m) * (v - m)).sum::<f64>()
            / (d.len().max(2) - 1) as f64
            / d.len() as f64
    };
    let se = (variance_of(&a_pos, &b_pos) + variance_of(&a_neg, &b_neg)).sqrt();
    (diff, se)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Each lapsed client's share of the others scored below it (ties count half), and each
/// other client's share of the lapsed scored above it, in the clients' order.
fn placements(p: &[f64], y: &[bool]) -> Option<(Vec<f64>, Vec<f64>)> {
    let mut pos: Vec<f64> = p
        .iter()
        .zip(y)
        .filter(|(_, &l)| l)
        .map(|(&v, _)| v)
        .collect();
    let mut neg: Vec<f64> = p
        .iter()
        .zip(y)
        .filter(|(_, &l)| !l)
        .map(|(&v, _)| v)
        .collect();
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let (pos_order, neg_order) = (pos.clone(), neg.clone());
    pos.sort_by(f64::total_cmp);
    neg.sort_by(f64::total_cmp);
    // Below: how many of `sorted` are less than v, plus half of those equal to it.
    let below = |sorted: &[f64], v: f64| {
        let less = sorted.partition_point(|&s| s < v);
        let equal = sorted.partition_point(|&s| s <= v) - less;
        less as f64 + equal as f64 / 2.0
    };
    let (m, n) = (pos.len() as f64, neg.len() as f64);
    let of_pos = pos_order.iter().map(|&v| below(&neg, v) / n).collect();
    let of_neg = neg_order
        .iter()
        .map(|&v| (m - below(&pos, v)) / m)
        .collect();
    Some((of_pos, of_neg))
}

/// Mean log loss with probabilities clipped to [1e-15, 1 - 1e-15].
pub fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(&pi, &yi)| {
            let q = pi.clamp(1e-15, 1.0 - 1e-15);
            if yi {
                -q.ln()
            } else {
                -(1.0 - q).ln()
            }
        })
        .sum();
    s / p.len().max(1) as f64
}

/// Threshold with the best F1 (ties: the higher threshold, a shorter call list).
pub fn best_f1_threshold(p: &[f64], y: &[bool]) -> f64 {
    let order = by_risk(p);
    let pos = y.iter().filter(|&&v| v).count() as f64;
    let (mut tp, mut best, mut best_t) = (0.0, -1.0, 0.5);
    for (rank, &i) in order.iter().enumerate() {
        if y[i] {
            tp += 1.0;
        }
        // Only evaluate at the end of a run of equal probabilities.
        if order.get(rank + 1).is_some_and(|&n| p[n] == p[i]) {
            continue;
        }
        let called = (rank + 1) as f64;
        let f1 = 2.0 * tp / (called + pos);
        if f1 > best {
            best = f1;
            best_t = p[i];
        }
    }
    best_t
}

/// Threshold that flags the riskiest `share` of these clients.
pub fn top_share_threshold(p: &[f64], share: f64) -> f64 {
    let order = by_risk(p);
    let n = ((p.len() as f64 * share).ceil() as usize).clamp(1, p.len().max(1));
    order.get(n - 1).map_or(1.0, |&i| p[i])
}

/// All held-out metrics at a decision threshold.
pub fn evaluate(p: &[f64], y: &[bool], threshold: f64) -> Metrics {
    let n = p.len();
    let lapsed = y.iter().filter(|&&v| v).count();
    let order = by_risk(p);
    let brier = p
        .iter()
        .zip(y)
        .map(|(&pi, &yi)| (pi - f64::from(u8::from(yi))).powi(2))
        .sum::<f64>()
        / n.max(1) as f64;
    let calibration = calibration_bins(p, y, &order);
    let ece = calibration
        .iter()
        .map(|b| b.count as f64 * (b.mean_predicted - b.observed_rate).abs())
        .sum::<f64>()
        / n.max(1) as f64;
    Metrics {
        clients: n,
        lapsed,
        base_rate: lapsed as f64 / n.max(1) as f64,
        roc_auc: roc_auc(p, y),
        pr_auc: average_precision(y, &order, lapsed),
        log_loss: log_loss(p, y),
        brier,
        ece,
        calibration,
        gains: gains(y, &order, lapsed),
        confusion: Confusion::at(p, y, threshold),
        roc_curve: roc_curve(y, &order, lapsed),
    }
}

/// Area under the precision-recall curve as average precision, over `order` (riskiest
/// first).
fn average_precision(y: &[bool], order: &[usize], lapsed: usize) -> f64 {
    let (mut tp, mut ap) = (0.0, 0.0);
    for (rank, &i) in order.iter().enumerate() {
        if y[i] {
            tp += 1.0;
            ap += tp / (rank + 1) as f64;
        }
    }
    ap / lapsed.max(1) as f64
}

/// Ten equal-count bins of the predictions, least risky first.
fn calibration_bins(p: &[f64], y: &[bool], order: &[usize]) -> Vec<CalibrationBin> {
    let n = p.len();
    let bins = 10.min(n.max(1));
    let mut asc = order.to_vec();
    asc.reverse();
    let mut calibration = Vec::new();
    for b in 0..bins {
        let (lo, hi) = (b * n / bins, (b + 1) * n / bins);
        if hi <= lo {
            continue;
        }
        let slice = &asc[lo..hi];
        let mean_predicted = slice.iter().map(|&i| p[i]).sum::<f64>() / slice.len() as f64;
        let observed_rate = slice.iter().filter(|&&i| y[i]).count() as f64 / slice.len() as f64;
        calibration.push(CalibrationBin {
            mean_predicted,
            observed_rate,
            count: slice.len(),
        });
    }
    calibration
}

/// Share of lapses captured by calling the riskiest 5%, 10%, ... 100%.
fn gains(y: &[bool], order: &[usize], lapsed: usize) -> Vec<Gain> {
    let n = order.len();
    let mut cumulative = vec![0usize; n + 1];
    for (rank, &i) in order.iter().enumerate() {
        cumulative[rank + 1] = cumulative[rank] + usize::from(y[i]);
    }
    [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        .iter()
        .map(|&share| {
            let k = ((n as f64 * share).round() as usize).min(n);
            let captured = cumulative[k] as f64 / lapsed.max(1) as f64;
            Gain {
                share,
                captured,
                lift: captured / share,
            }
        })
        .collect()
}

/// The ROC curve, thinned to about 100 points.
fn roc_curve(y: &[bool], order: &[usize], lapsed: usize) -> Vec<(f64, f64)> {
    let n = order.len();
    let neg = (n - lapsed).max(1) as f64;
    let step = (n / 100).max(1);
    let mut curve = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for (rank, &i) in order.iter().enumerate() {
        if y[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        if (rank + 1) % step == 0 || rank + 1 == n {
            curve.push((fp / neg, tp / lapsed.max(1) as f64));
        }
    }
    curve
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_half_and_perfect_ranking_is_one() {
        assert_eq!(
            roc_auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            1.0
        );
        assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), 0.5);
        assert_eq!(
            roc_auc(&[0.9, 0.1, 0.8, 0.3], &[false, true, true, false]),
            0.25
        );
    }

    #[test]
    fn metrics_on_a_small_case() {
        let p = [0.9, 0.8, 0.7, 0.2, 0.1];
        let y = [true, false, true, false, false];
        let m = evaluate(&p, &y, 0.7);
        assert_eq!(
            (m.confusion.true_positive, m.confusion.false_positive),
            (2, 1)
        );
        // AP = (1/1 + 2/3) / 2
        assert!((m.pr_auc - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(m.lift_at(0.2), Some(2.5));
        assert_eq!(best_f1_threshold(&p, &y), 0.7);
        assert_eq!(top_share_threshold(&p, 0.4), 0.8);
        assert!((m.brier - (0.01 + 0.64 + 0.09 + 0.04 + 0.01) / 5.0).abs() < 1e-12);
    }
}
