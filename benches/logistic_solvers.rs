//! linfa-logistic's two solvers on a design shaped like clientele's binned lapse model:
//! `cargo bench --bench logistic_solvers [-- ROWS [lbfgs|newton]]` (default 200,000 rows;
//! naming one solver runs only that one, e.g. to count its instructions with callgrind).
//!
//! 20 numeric features cut into 9 standardised quantile bins each, 2 numerics kept
//! linear, and 7 categoricals one-hot (26 levels): 208 columns, 29 entries per row that
//! differ from their column's majority value. Each solver fits the same penalised model
//! from the same start (cold, then warm from the other penalty's optimum, as a CV path
//! does); the table gives seconds, and how far each optimum's coefficients lie from the
//! other's. Seeded: the same design on every run.

use linfa::prelude::*;
use linfa_logistic::{LogisticRegression, Solver};
use ndarray::{Array1, Array2, ShapeBuilder};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;
use std::time::Instant;

const BINNED: usize = 20;
const BINS: usize = 9;
const LINEAR: usize = 2;
const LEVELS: [usize; 7] = [2, 3, 4, 5, 3, 4, 5];

fn design(rows: usize) -> (Array2<f64>, Array1<bool>) {
    let mut rng = Xoshiro256Plus::seed_from_u64(32);
    let width = BINNED * BINS + LINEAR + LEVELS.iter().sum::<usize>();
    let mut x = Array2::<f64>::zeros((rows, width).f());
    let share = 1.0 / BINS as f64;
    let (off, on) = {
        let sd = (share * (1.0 - share)).sqrt();
        (-share / sd, (1.0 - share) / sd)
    };
    let mut y = Vec::with_capacity(rows);
    for i in 0..rows {
        let mut z = -1.5;
        for f in 0..BINNED {
            let bin = rng.gen_range(0..BINS);
            for m in 0..BINS {
                x[[i, f * BINS + m]] = if m == bin { on } else { off };
            }
            z += 0.08 * (bin as f64 - 4.0) * if f % 2 == 0 { 1.0 } else { -0.5 };
        }
        let mut k = BINNED * BINS;
        for _ in 0..LINEAR {
            let v: f64 = rng.gen_range(-2.0..2.0);
            x[[i, k]] = v;
            z += 0.3 * v;
            k += 1;
        }
        for &levels in &LEVELS {
            let level = rng.gen_range(0..levels);
            x[[i, k + level]] = 1.0;
            z += 0.1 * level as f64;
            k += levels;
        }
        y.push(rng.gen::<f64>() < 1.0 / (1.0 + (-z).exp()));
    }
    (x, Array1::from(y))
}

fn fit(
    data: &DatasetBase<Array2<f64>, Array1<bool>>,
    solver: Solver,
    alpha: f64,
    start: Option<Array1<f64>>,
) -> (Array1<f64>, f64) {
    let rows = data.nsamples() as f64;
    let mut params = LogisticRegression::default()
        .solver(solver)
        .alpha(alpha)
        .max_iterations(300)
        .gradient_tolerance(1e-4 * rows);
    if let Some(start) = start {
        params = params.initial_params(start);
    }
    let began = Instant::now();
    let model = params.fit(data).expect("the bench design is valid");
    let seconds = began.elapsed().as_secs_f64();
    let mut all = model.params().to_vec();
    all.push(model.intercept());
    (Array1::from(all), seconds)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(200_000);
    let wanted = |name: &str| {
        !args.iter().any(|a| a == "lbfgs" || a == "newton") || args.iter().any(|a| a == name)
    };
    let (x, y) = design(rows);
    let columns = x.ncols();
    let data = DatasetBase::new(x, y);
    println!(
        "| {rows} rows x {columns} columns | L-BFGS s | Newton-Cholesky s | max coefficient gap |"
    );
    println!("|---|---|---|---|");
    let mut warm: Option<Array1<f64>> = None;
    for alpha in [100.0, 10.0] {
        let run = |solver, name| match wanted(name) {
            true => fit(&data, solver, alpha, warm.clone()),
            false => (Array1::zeros(columns + 1), 0.0),
        };
        let (lbfgs, t_lbfgs) = run(Solver::Lbfgs, "lbfgs");
        let (newton, t_newton) = run(Solver::NewtonCholesky, "newton");
        let gap = lbfgs
            .iter()
            .zip(&newton)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let start = if warm.is_some() { "warm" } else { "cold" };
        println!("| alpha {alpha}, {start} start | {t_lbfgs:.3} | {t_newton:.3} | {gap:.1e} |");
        warm = Some(if wanted("newton") { newton } else { lbfgs });
    }
}
