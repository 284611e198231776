//! The patched linfa-clustering k-means (vendor/linfa-clustering/PATCH.md) against a
//! plain transcription of upstream 0.8.1's algorithm: k-means++ draws, full-scan
//! assignment (lowest index wins ties), m_k-means update. The patch claims the same
//! centres to the bit; these tests hold it to that at every iteration count.

use super::choose::Euclidean;
use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit};
use linfa_nn::distance::Distance;
use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::distributions::{Distribution, WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;

/// Clustered points with exact duplicates and points on the bisector of two groups, so
/// that ties between centroids really happen.
fn points(n: usize, seed: u64) -> Array2<f64> {
    let mut rng = Xoshiro256Plus::seed_from_u64(seed);
    let groups = [
        [0.0, 0.0, 0.0],
        [3.0, 0.5, -1.0],
        [0.5, 3.0, 1.0],
        [-2.0, -2.0, 2.0],
    ];
    let mut x = Array2::zeros((n, 3));
    for i in 0..n {
        let g = groups[i % groups.len()];
        for j in 0..3 {
            x[[i, j]] = match i % 17 {
                0 => 1.5,                         // every 17th point: the same point
                5 => (g[j] + groups[0][j]) / 2.0, // midway to the first group
                _ => g[j] + rng.gen_range(-1.5..1.5),
            };
        }
    }
    x
}

fn rdist(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    Euclidean.rdistance(a, b)
}

/// Upstream's `closest_centroid`: the first centroid with the least `rdistance`.
fn closest(centres: &Array2<f64>, row: ArrayView1<f64>) -> (usize, f64) {
    let mut best = (0, rdist(centres.row(0), row));
    for (c, centre) in centres.rows().into_iter().enumerate() {
        let d = rdist(centre, row);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

/// Upstream's Lloyd loop for one run from `centres`: (centres, sum of rdistances).
fn lloyd(
    x: ArrayView2<f64>,
    mut centres: Array2<f64>,
    tol: f64,
    max_iter: usize,
) -> (Array2<f64>, f64) {
    let (k, p) = centres.dim();
    for iteration in 1.. {
        let assigned: Vec<(usize, f64)> =
            x.rows().into_iter().map(|r| closest(&centres, r)).collect();
        let mut sums = Array2::<f64>::zeros((k, p));
        let mut counts = vec![1usize; k];
        for (row, &(c, _)) in x.rows().into_iter().zip(&assigned) {
            for j in 0..p {
                sums[[c, j]] += row[j];
            }
            counts[c] += 1;
        }
        sums += &centres;
        for (c, &count) in counts.iter().enumerate() {
            for j in 0..p {
                sums[[c, j]] /= count as f64;
            }
        }
        let moved = Euclidean.distance(centres.view(), sums.view());
        centres = sums;
        if moved < tol || iteration == max_iter {
            let inertia = ndarray::Array1::from_iter(assigned.iter().map(|a| a.1)).sum();
            return (centres, inertia);
        }
    }
    unreachable!("the loop returns")
}

/// Upstream's k-means++ draws (weights all one).
fn plus_plus(x: ArrayView2<f64>, k: usize, rng: &mut Xoshiro256Plus) -> Array2<f64> {
    let n = x.nrows();
    let mut centres = Array2::zeros((k, x.ncols()));
    let first = WeightedIndex::new(vec![1.0f64; n]).unwrap().sample(rng);
    centres.row_mut(0).assign(&x.row(first));
    for c in 1..k {
        let chosen = centres.slice(ndarray::s![0..c, ..]).to_owned();
        // The weights are all one: the draw weighs each point by its distance alone.
        let d: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| closest(&chosen, r).1)
            .collect();
        let next = WeightedIndex::new(d.iter())
            .map(|w| w.sample(rng))
            .unwrap_or(0);
        centres.row_mut(c).assign(&x.row(next));
    }
    centres
}

fn patched(
    x: ArrayView2<f64>,
    k: usize,
    init: KMeansInit<f64>,
    seed: u64,
    tol: f64,
    max_iter: usize,
) -> KMeans<f64, Euclidean> {
    KMeans::params_with(k, Xoshiro256Plus::seed_from_u64(seed), Euclidean)
        .n_runs(1)
        .init_method(init)
        .tolerance(tol)
        .max_n_iterations(max_iter as u64)
        .fit(&DatasetBase::from(x))
        .unwrap()
}

#[test]
fn pruned_assignment_gives_upstreams_centres_at_every_iteration() {
    let x = points(3_000, 7);
    for k in [1, 2, 4, 7] {
        let start = x.select(
            ndarray::Axis(0),
            &(0..k).map(|i| i * 13).collect::<Vec<_>>(),
        );
        for max_iter in [1, 2, 3, 5, 8, 300] {
            let model = patched(
                x.view(),
                k,
                KMeansInit::Precomputed(start.clone()),
                0,
                1e-9,
                max_iter,
            );
            let (centres, inertia) = lloyd(x.view(), start.clone(), 1e-9, max_iter);
            assert_eq!(
                model.centroids(),
                &centres,
                "k = {k}, {max_iter} iterations"
            );
            assert_eq!(
                model.inertia(),
                inertia / x.nrows() as f64,
                "k = {k}, {max_iter} iterations"
            );
        }
    }
}

#[test]
fn incremental_plus_plus_draws_upstreams_starts() {
    let x = points(2_000, 11);
    for (k, seed) in [(2, 1), (5, 2), (9, 3)] {
        // One iteration from the k-means++ start: the start itself is visible in the result.
        let model = patched(x.view(), k, KMeansInit::KMeansPlusPlus, seed, 1e-9, 1);
        let start = plus_plus(x.view(), k, &mut Xoshiro256Plus::seed_from_u64(seed));
        let (centres, _) = lloyd(x.view(), start, 1e-9, 1);
        assert_eq!(model.centroids(), &centres, "k = {k}");
    }
}
