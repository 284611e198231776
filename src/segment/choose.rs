//! k-means fitting and the choice of k: every k in the range is fitted on a sample and
//! scored by inertia, silhouette, Calinski-Harabasz and Davies-Bouldin.
//!
//! The rule: among the k whose smallest segment holds at least `min_share` of clients,
//! take the one with the highest silhouette; a larger k is preferred only when its
//! silhouette beats the smaller one's by more than `SILHOUETTE_TIE` (simpler wins ties).

use crate::error::{Error, Result};
use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit};
use linfa_nn::distance::Distance;
use ndarray::{Array2, ArrayView, ArrayView2, Axis, Dimension, Zip};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

/// Euclidean distance for linfa's k-means, as linfa's `L2Dist` computes it (the same sum
/// in the same order, so the same centres) but over plain slices: linfa's generic version
/// goes through ndarray's shape checks and `Zip` for every (client, centre) pair, which
/// made its assignment step about twice as slow on 5 features.
#[derive(Clone, Debug, PartialEq)]
pub struct Euclidean;

impl Distance<f64> for Euclidean {
    #[inline]
    fn distance<D: Dimension>(&self, a: ArrayView<f64, D>, b: ArrayView<f64, D>) -> f64 {
        self.rdistance(a, b).sqrt()
    }

    #[inline]
    fn rdistance<D: Dimension>(&self, a: ArrayView<f64, D>, b: ArrayView<f64, D>) -> f64 {
        match (a.as_slice(), b.as_slice()) {
            (Some(a), Some(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .fold(0.0, |sum, (x, y)| sum + (x - y) * (x - y)),
            _ => Zip::from(&a)
                .and(&b)
                .fold(0.0, |sum, x, y| sum + (x - y) * (x - y)),
        }
    }

    fn rdist_to_dist(&self, rdist: f64) -> f64 {
        rdist.sqrt()
    }

    fn dist_to_rdist(&self, dist: f64) -> f64 {
        dist * dist
    }
}

/// How far a k-means run goes before it stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convergence {
    /// Until the centres move less than 1e-6 in total (Euclidean, in standardised
    /// units): in practice, until assignments no longer change. Every fit whose centres
    /// are kept runs to this.
    Full,
    /// Until they move less than 1e-2: scikit-learn's default (a squared shift of 1e-4
    /// times the mean feature variance, which is 1 after standardising). Enough to score
    /// a k; on the 1M generated book it took the k range from 5.2 to 3.2 s, and the
    /// silhouettes moved in the 4th decimal. The chosen k is then fitted again in full:
    /// continuing the best early-stopped restart instead changed segments on the sample,
    /// because restarts rank differently before they converge.
    Scoring,
}

impl Convergence {
    fn tolerance(self) -> f64 {
        match self {
            Convergence::Full => 1e-6,
            Convergence::Scoring => 1e-2,
        }
    }
}

/// Silhouette differences below this count as a tie, won by the smaller k.
pub const SILHOUETTE_TIE: f64 = 0.01;

/// The quality indices of one k.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KScore {
    pub k: usize,
    /// Mean squared distance to the nearest centre (linfa's inertia: SSE / n).
    pub inertia: f64,
    pub silhouette: f64,
    pub calinski_harabasz: f64,
    pub davies_bouldin: f64,
    /// Share of the sample in the smallest segment.
    pub smallest_share: f64,
    /// Whether every segment reaches the minimum share.
    pub admissible: bool,
}

/// Fits k-means (k-means++ init, `restarts` runs, best inertia kept) and returns the centres.
pub fn fit_kmeans(
    x: ArrayView2<f64>,
    k: usize,
    restarts: usize,
    seed: u64,
    convergence: Convergence,
) -> Result<Array2<f64>> {
    if x.nrows() < k {
        return Err(Error::InvalidParameter(format!(
            "{} clients cannot form {k} segments: use a smaller --k",
            x.nrows()
        )));
    }
    let data = DatasetBase::from(x);
    let model = KMeans::params_with(k, Xoshiro256Plus::seed_from_u64(seed), Euclidean)
        .n_runs(restarts)
        .init_method(KMeansInit::KMeansPlusPlus)
        .tolerance(convergence.tolerance())
        .max_n_iterations(300)
        .fit(&data)
        .map_err(|e| Error::Runtime(format!("k-means with k = {k} failed: {e}")))?;
    Ok(model.centroids().clone())
}

/// One k-means run on `x` started from `centres` (fitted on a sample of `x`).
pub fn refine_kmeans(x: ArrayView2<f64>, centres: Array2<f64>) -> Result<Array2<f64>> {
    let k = centres.nrows();
    if x.nrows() < k {
        return Err(Error::InvalidParameter(format!(
            "{} clients cannot form {k} segments: use a smaller --k",
            x.nrows()
        )));
    }
    let data = DatasetBase::from(x);
    // The RNG is unused: a precomputed start draws nothing.
    let model = KMeans::params_with(k, Xoshiro256Plus::seed_from_u64(0), Euclidean)
        .n_runs(1)
        .init_method(KMeansInit::Precomputed(centres))
        .tolerance(Convergence::Full.tolerance())
        .max_n_iterations(300)
        .fit(&data)
        .map_err(|e| Error::Runtime(format!("k-means with k = {k} failed: {e}")))?;
    Ok(model.centroids().clone())
}

/// Nearest centre of every row and the Euclidean distance to it (ties: lowest index).
pub fn assign(x: ArrayView2<f64>, centres: &Array2<f64>) -> (Vec<usize>, Vec<f64>) {
    use rayon::prelude::*;
    let rows: Vec<(usize, f64)> = x
        .axis_iter(Axis(0))
        .into_par_iter()
        .map(|row| {
            let mut best = (0, f64::INFINITY);
            for (c, centre) in centres.axis_iter(Axis(0)).enumerate() {
                let d: f64 = row
                    .iter()
                    .zip(centre.iter())
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                if d < best.1 {
                    best = (c, d);
                }
            }
            (best.0, best.1.sqrt())
        })
        .collect();
    rows.into_iter().unzip()
}

/// Scores one clustering of `x` (labels from `assign`).
pub fn score(
    x: ArrayView2<f64>,
    centres: &Array2<f64>,
    labels: &[usize],
    distances: &[f64],
    silhouette_rows: &[usize],
    min_share: f64,
) -> KScore {
    let (n, k) = (x.nrows(), centres.nrows());
    let mut sizes = vec![0usize; k];
    for &l in labels {
        sizes[l] += 1;
    }
    let sse: f64 = distances.iter().map(|d| d * d).sum();
    let mean = x
        .mean_axis(Axis(0))
        .unwrap_or_else(|| ndarray::Array1::zeros(x.ncols()));
    let between: f64 = centres
        .axis_iter(Axis(0))
        .zip(&sizes)
        .map(|(c, &s)| s as f64 * sq_dist(c.iter(), mean.iter()))
        .sum();
    let calinski_harabasz = if k > 1 && n > k && sse > 0.0 {
        (between / (k - 1) as f64) / (sse / (n - k) as f64)
    } else {
        0.0
    };
    let mut spread = vec![0.0; k];
    for (&l, &d) in labels.iter().zip(distances) {
        spread[l] += d;
    }
    for (s, &size) in spread.iter_mut().zip(&sizes) {
        *s /= size.max(1) as f64;
    }
    let davies_bouldin = (0..k)
        .map(|i| {
            (0..k)
                .filter(|&j| j != i)
                .map(|j| {
                    let d = sq_dist(centres.row(i).iter(), centres.row(j).iter()).sqrt();
                    (spread[i] + spread[j]) / d.max(1e-12)
                })
                .fold(0.0, f64::max)
        })
        .sum::<f64>()
        / k as f64;
    let smallest_share = sizes.iter().copied().min().unwrap_or(0) as f64 / n.max(1) as f64;
    KScore {
        k,
        inertia: sse / n.max(1) as f64,
        silhouette: silhouette(x, labels, silhouette_rows, k),
        calinski_harabasz,
        davies_bouldin,
        smallest_share,
        admissible: smallest_share >= min_share,
    }
}

fn sq_dist<'a>(a: impl Iterator<Item = &'a f64>, b: impl Iterator<Item = &'a f64>) -> f64 {
    a.zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Mean silhouette over the given rows (distances among those rows only).
fn silhouette(x: ArrayView2<f64>, labels: &[usize], rows: &[usize], k: usize) -> f64 {
    use rayon::prelude::*;
    let mut sizes = vec![0usize; k];
    for &r in rows {
        sizes[labels[r]] += 1;
    }
    // The rows' values side by side and their labels: the pair loop below is quadratic,
    // and reads them as plain slices.
    let width = x.ncols();
    let values: Vec<f64> = rows.iter().flat_map(|&r| x.row(r).to_vec()).collect();
    let row_labels: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
    let row_of = |i: usize| &values[i * width..(i + 1) * width];
    let total: f64 = (0..rows.len())
        .into_par_iter()
        .map(|i| {
            let mut sums = vec![0.0; k];
            let own_values = row_of(i);
            for (j, &label) in row_labels.iter().enumerate() {
                if i != j {
                    sums[label] += sq_dist(own_values.iter(), row_of(j).iter()).sqrt();
                }
            }
            let own = row_labels[i];
            if sizes[own] <= 1 {
                return 0.0;
            }
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            if !b.is_finite() {
                return 0.0;
            }
            (b - a) / a.max(b).max(1e-12)
        })
        .collect::<Vec<f64>>()
        .iter()
        .sum();
    total / rows.len().max(1) as f64
}

/// Picks k by the module's rule.
///
/// # Errors
/// `Error::InvalidParameter` when no k in the range gives segments of the minimum size.
pub fn pick_k(scores: &[KScore], min_share: f64) -> Result<usize> {
    let mut best: Option<&KScore> = None;
    for s in scores.iter().filter(|s| s.admissible) {
        if best.is_none_or(|b| s.silhouette > b.silhouette + SILHOUETTE_TIE) {
            best = Some(s);
        }
    }
    best.map(|s| s.k).ok_or_else(|| {
        Error::InvalidParameter(format!(
            "every k tried leaves a segment smaller than {:.1}% of clients; lower \
             [segments] min_share or fix k with --k",
            min_share * 100.0
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Array2<f64> {
        // Three well separated groups of 30 points on a line.
        Array2::from_shape_fn((90, 2), |(i, j)| {
            let g = (i / 30) as f64 * 10.0;
            g + ((i * 7 + j * 3) % 11) as f64 * 0.05
        })
    }

    #[test]
    fn the_rule_finds_three_blobs() {
        let x = blobs();
        let rows: Vec<usize> = (0..90).collect();
        let scores: Vec<KScore> = (2..=6)
            .map(|k| {
                let c = fit_kmeans(x.view(), k, 5, 1, Convergence::Full).unwrap();
                let (l, d) = assign(x.view(), &c);
                score(x.view(), &c, &l, &d, &rows, 0.02)
            })
            .collect();
        assert_eq!(pick_k(&scores, 0.02).unwrap(), 3);
        let s3 = &scores[1];
        assert!(s3.silhouette > 0.9 && s3.davies_bouldin < 0.1, "{s3:?}");
        assert!(fit_kmeans(x.view(), 91, 1, 1, Convergence::Full).is_err());
        let none: Vec<KScore> = scores
            .iter()
            .map(|s| KScore {
                admissible: false,
                ..s.clone()
            })
            .collect();
        assert!(pick_k(&none, 0.02).is_err());
    }
}
