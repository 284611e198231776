//! Small statistics shared by the features, models and drift checks.

use serde::{Deserialize, Serialize};

/// Linear-interpolated quantile of sorted, NaN-free values (`q` in 0..=1).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        }
    }
}

/// Mean and (population) standard deviation, summed in order (reproducible).
pub fn mean_sd(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (mut n, mut sum) = (0.0, 0.0);
    for v in values.clone() {
        n += 1.0;
        sum += v;
    }
    if n == 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = sum / n;
    let ss: f64 = values.map(|v| (v - mean) * (v - mean)).sum();
    (mean, (ss / n).sqrt())
}

/// Sample skewness (0 for fewer than 3 values or no spread).
pub fn skewness(values: &[f64]) -> f64 {
    let (mean, sd) = mean_sd(values.iter().copied());
    if values.len() < 3 || sd.is_nan() || sd <= 0.0 {
        return 0.0;
    }
    values
        .iter()
        .map(|v| ((v - mean) / sd).powi(3))
        .sum::<f64>()
        / values.len() as f64
}

/// A distribution as decile bins of the training values plus the missing share: what
/// drift checks compare a new batch against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// Interior bin edges (ascending, distinct); bin i holds `edges[i-1] < x <= edges[i]`.
    pub edges: Vec<f64>,
    /// Share of present values in each bin (`edges.len() + 1` bins, summing to 1).
    pub shares: Vec<f64>,
    pub missing_share: f64,
}

impl Distribution {
    /// Decile edges of sorted present values; `missing_share` of all values were missing.
    pub fn fit_sorted(sorted: &[f64], missing_share: f64) -> Self {
        let mut edges: Vec<f64> = (1..10)
            .map(|i| quantile_sorted(sorted, f64::from(i) / 10.0))
            .collect();
        edges.dedup();
        if edges.last() == sorted.last() && edges.len() > 1 {
            edges.pop();
        }
        let mut d = Distribution {
            shares: vec![0.0; edges.len() + 1],
            edges,
            missing_share,
        };
        d.shares = d.bin_shares(sorted.iter().copied()).0;
        d
    }

    pub fn bin(&self, x: f64) -> usize {
        self.edges.partition_point(|e| *e < x)
    }

    /// Shares of `values` (NaN = missing) over this distribution's bins, and the missing share.
    pub fn bin_shares(&self, values: impl Iterator<Item = f64>) -> (Vec<f64>, f64) {
        let mut counts = vec![0usize; self.edges.len() + 1];
        let (mut total, mut missing) = (0usize, 0usize);
        for v in values {
            total += 1;
            if v.is_nan() {
                missing += 1;
            } else {
                counts[self.bin(v)] += 1;
            }
        }
        let present = (total - missing).max(1) as f64;
        (
            counts.iter().map(|&c| c as f64 / present).collect(),
            missing as f64 / total.max(1) as f64,
        )
    }
}

/// Population stability index of `actual` shares against `expected` shares. Empty bins
/// are floored at 0.0001 so that the index stays finite.
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    const FLOOR: f64 = 1e-4;
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = (e.max(FLOOR), a.max(FLOOR));
            (a - e) * (a / e).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_moments() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        let (m, sd) = mean_sd(v.iter().copied());
        assert_eq!(m, 2.5);
        assert!((sd - 1.25f64.sqrt()).abs() < 1e-12);
        assert!(skewness(&[1.0, 1.0, 1.0, 10.0]) > 1.0);
    }

    #[test]
    fn psi_is_zero_on_the_same_distribution_and_grows_with_a_shift() {
        let train: Vec<f64> = (0..1000).map(f64::from).collect();
        let d = Distribution::fit_sorted(&train, 0.0);
        assert_eq!(d.shares.len(), 10);
        let (same, _) = d.bin_shares(train.iter().copied());
        assert!(psi(&d.shares, &same).abs() < 1e-12);
        let (shifted, _) = d.bin_shares(train.iter().map(|x| x + 300.0));
        assert!(psi(&d.shares, &shifted) > 0.25);
    }
}
