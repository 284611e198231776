//! linfa-clustering's k-means as clientele chooses k (with clientele's `Euclidean`): `cargo bench --bench kmeans [-- ROWS]`
//! (default 50,000 rows, the `[segments] choice_sample` default).
//!
//! Five standardised columns drawn from four skewed, overlapping groups (the shape of the
//! default segment features: age, log income, premium, tenure, logins), then every k
//! from 2 to 10 fitted with 10 k-means++ restarts at the scoring tolerance (1e-2), one
//! k at a time, and the chosen k's kind of run at the full tolerance (1e-6). The table
//! gives seconds per k and a checksum of the centres: a change to the crate that claims
//! the same results must print the same checksums. Seeded: the same data on every run.

use clientele::segment::Euclidean;
use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;
use std::time::Instant;

const COLUMNS: usize = 5;
const GROUPS: [[f64; COLUMNS]; 4] = [
    [0.8, 0.9, 0.7, 0.6, -0.3],
    [-0.6, -0.8, -0.5, -0.7, 0.4],
    [1.6, -0.2, 0.1, 1.3, -0.9],
    [-1.1, 0.3, 1.5, -0.4, 1.2],
];

fn design(rows: usize) -> Array2<f64> {
    let mut rng = Xoshiro256Plus::seed_from_u64(36);
    let mut x = Array2::<f64>::zeros((rows, COLUMNS));
    for i in 0..rows {
        let group = &GROUPS[rng.gen_range(0..GROUPS.len())];
        for (j, centre) in group.iter().enumerate() {
            // Box-Muller, then a skew: the right tail is stretched as in incomes and premiums.
            let (u, v): (f64, f64) = (rng.gen_range(1e-12..1.0), rng.gen());
            let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            x[[i, j]] = centre
                + if z > 0.0 {
                    0.8 * z * (1.0 + 0.3 * z)
                } else {
                    0.6 * z
                };
        }
    }
    x
}

fn fit(x: &Array2<f64>, k: usize, tolerance: f64) -> Array2<f64> {
    KMeans::params_with(k, Xoshiro256Plus::seed_from_u64(1000 + k as u64), Euclidean)
        .n_runs(10)
        .init_method(KMeansInit::KMeansPlusPlus)
        .tolerance(tolerance)
        .max_n_iterations(300)
        .fit(&DatasetBase::from(x.view()))
        .expect("k-means on the bench design")
        .centroids()
        .clone()
}

/// Order-sensitive digest of the centres' bits: equal digests mean bitwise-equal centres.
fn checksum(centres: &Array2<f64>) -> u64 {
    centres.iter().fold(0xcbf2_9ce4_8422_2325, |h: u64, v| {
        (h ^ v.to_bits()).wrapping_mul(0x0100_0000_01b3)
    })
}

fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50_000);
    let x = design(rows);
    println!("k-means on {rows} x {COLUMNS}, 10 k-means++ restarts per k, one k at a time");
    println!(
        "{:>3}  {:>9}  {:>9}  centres checksum (scoring)",
        "k", "scoring", "full"
    );
    let (mut scoring_total, mut full_total) = (0.0, 0.0);
    for k in 2..=10 {
        let t = Instant::now();
        let centres = fit(&x, k, 1e-2);
        let scoring = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let full = fit(&x, k, 1e-6);
        let full_s = t.elapsed().as_secs_f64();
        scoring_total += scoring;
        full_total += full_s;
        println!(
            "{k:>3}  {scoring:>8.3}s  {full_s:>8.3}s  {:016x} {:016x}",
            checksum(&centres),
            checksum(&full)
        );
    }
    println!("all  {scoring_total:>8.3}s  {full_total:>8.3}s");
}
