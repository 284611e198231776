//! Newton's method with a Cholesky solve for the two-class model (patched for clientele,
//! see PATCH.md), chosen with `LogisticRegression::solver(Solver::NewtonCholesky)`.
//!
//! It minimises the same penalised loss as the L-BFGS solver,
//! `-sum log(sigm(y_i z_i)) + alpha/2 |w|^2` (intercept unpenalised; or `alpha/2 w'Pw` with a
//! `Penalty`), and stops on the same
//! test: the Euclidean norm of the gradient below `gradient_tolerance`. Each step solves
//! `H d = -g` with `H = X'DX + alpha I` (D = p(1-p); `alpha P` for `alpha I` under a
//! `Penalty`) by Cholesky factorisation and halves
//! the step until the loss falls by an Armijo share of the predicted decrease. A Hessian
//! whose step cut the gradient's norm fourfold is kept for the next step (a chord step:
//! one pass over the entries instead of one over their pairs); otherwise, or when a kept
//! Hessian gives no descent, the next step takes a fresh one.
//!
//! The design is held as `x = s + 1 base'`: per column the value a majority of rows hold
//! (0 when none does) and, row by row, the entries that differ from it. One-hot and
//! binned columns, centred or not, then cost one stored entry per row instead of one per
//! column, and `X'DX` is accumulated from each row's few entries and corrected for the
//! base values by rank-one terms. A dense column simply stores every row.
//!
//! Sums over rows run over fixed blocks of rows, in parallel, and the blocks' partial
//! sums are added in block order: the result does not depend on the number of threads.

use crate::error::Error;
use crate::float::Float;
use ndarray::{s, Array1, Array2, ArrayBase, ArrayView1, Data, Ix2};
use rayon::prelude::*;

/// Rows per block of every sum over rows (a block's partial `X'DX` is a dense
/// `(p + 1)^2` matrix, so blocks are few enough to keep them all).
const BLOCK_ROWS: usize = 16 * 1024;

/// Armijo share: a step is taken when the loss falls by at least this share of the
/// decrease the gradient predicts for it.
const ARMIJO: f64 = 1e-4;

/// A Hessian is kept for the next step when the step it gave cut the gradient's norm at
/// least this many times: such a step costs one pass over each row's entries, a fresh
/// Hessian a pass over their pairs. (A warm-started fit then takes one Hessian.)
const KEEP_HESSIAN_GAIN: f64 = 4.0;

/// Step halvings tried before a step is given up (the loss cannot fall further at
/// floating-point precision).
const MAX_HALVINGS: usize = 40;

/// The Hessian of the two-class model's penalised loss at weights `params` and
/// `intercept`: `[x 1]' D [x 1]` with `D = p(1-p)`, plus `alpha` on the weights' diagonal,
/// the intercept last. Its inverse at a fitted model gives the coefficients' standard
/// errors. Accumulated as the Newton-Cholesky solver does (see the module's notes), the
/// same whatever the thread count. (Patched for clientele, see PATCH.md.)
pub fn penalised_hessian<F: Float, A: Data<Elem = F>>(
    x: &ArrayBase<A, Ix2>,
    params: ArrayView1<'_, F>,
    intercept: F,
    alpha: F,
) -> Array2<F> {
    penalised_hessian_of(&OffsetSparse::from_dense(x), params, intercept, alpha)
}

/// `penalised_hessian` of a design already held for the solver.
pub fn penalised_hessian_of<F: Float>(
    design: &OffsetSparse<F>,
    params: ArrayView1<'_, F>,
    intercept: F,
    alpha: F,
) -> Array2<F> {
    hessian_under(design, params, intercept, (alpha, &Penalty::identity()))
}

/// `penalised_hessian_of` under the penalty `alpha/2 w'Pw` of `penalty` (`P`) instead
/// of the ridge penalty.
///
/// # Errors
/// `Error::InvalidPenalty` when the penalty reaches past the design's columns.
pub fn penalised_hessian_with<F: Float>(
    design: &OffsetSparse<F>,
    params: ArrayView1<'_, F>,
    intercept: F,
    (alpha, penalty): (F, &Penalty<F>),
) -> Result<Array2<F>, Error> {
    penalty.fits(design.ncols())?;
    Ok(hessian_under(design, params, intercept, (alpha, penalty)))
}

fn hessian_under<F: Float>(
    design: &OffsetSparse<F>,
    params: ArrayView1<'_, F>,
    intercept: F,
    (alpha, penalty): (F, &Penalty<F>),
) -> Array2<F> {
    let w = params.to_vec();
    let z = design.product(&w, intercept);
    let problem = NewtonProblem {
        x: design,
        y: &[],
        alpha,
        penalty,
        fit_intercept: true,
    };
    let (h, q) = problem.hessian(&z);
    Array2::from_shape_vec((q, q), h).unwrap_or_else(|_| Array2::zeros((q, q)))
}

/// The quadratic form of the L2 penalty, `alpha/2 w'Pw`: `P` is the identity (the
/// ordinary ridge penalty) except on diagonal blocks over consecutive weights, each a
/// finite symmetric matrix, which the caller keeps positive semi-definite (an indefinite
/// one makes the loss unbounded). A block can weigh the differences of
/// neighbouring weights (a smoothness penalty on the bins of one feature) instead of the
/// weights themselves. The intercept stays unpenalised. Newton-Cholesky only.
/// (Patched for clientele, see PATCH.md.)
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Penalty<F> {
    /// `(first weight, matrix)`, ascending and not overlapping.
    blocks: Vec<(usize, Array2<F>)>,
}

impl<F: Float> Penalty<F> {
    /// The ridge penalty: `P = I`.
    pub fn identity() -> Self {
        Penalty { blocks: Vec::new() }
    }

    /// `P` with `matrix` on the weights from `start` on, in place of the identity.
    ///
    /// # Errors
    /// `Error::InvalidPenalty` when the matrix is not square, symmetric and finite, or
    /// overlaps a block already given.
    pub fn with_block(mut self, start: usize, matrix: Array2<F>) -> Result<Self, Error> {
        let n = matrix.nrows();
        if n == 0 || n != matrix.ncols() {
            return Err(Error::InvalidPenalty(format!(
                "the block at weight {start} is {}x{}, not a non-empty square",
                n,
                matrix.ncols()
            )));
        }
        let finite = matrix.iter().all(|v| v.is_finite());
        let symmetric = (0..n).all(|i| (0..i).all(|j| matrix[[i, j]] == matrix[[j, i]]));
        if !finite || !symmetric {
            return Err(Error::InvalidPenalty(format!(
                "the block at weight {start} is not a finite symmetric matrix"
            )));
        }
        if let Some((s, m)) = self.blocks.iter().find(|(s, m)| start < s + m.nrows() && *s < start + n) {
            return Err(Error::InvalidPenalty(format!(
                "the block at weight {start} overlaps the one at weight {s} ({} weights)",
                m.nrows()
            )));
        }
        self.blocks.push((start, matrix));
        self.blocks.sort_by_key(|(s, _)| *s);
        Ok(self)
    }

    /// Weights the blocks reach up to (0 for the identity).
    pub fn reach(&self) -> usize {
        self.blocks.iter().map(|(s, m)| s + m.nrows()).max().unwrap_or(0)
    }

    /// `Error::InvalidPenalty` unless the blocks lie within `columns` weights.
    pub(crate) fn fits(&self, columns: usize) -> Result<(), Error> {
        if self.reach() > columns {
            return Err(Error::InvalidPenalty(format!(
                "it reaches weight {} of a design of {columns} columns",
                self.reach()
            )));
        }
        Ok(())
    }

    /// `P w`.
    pub(crate) fn times(&self, w: &[F]) -> Vec<F> {
        let mut out = w.to_vec();
        for (s, m) in &self.blocks {
            let n = m.nrows();
            for (i, o) in out[*s..s + n].iter_mut().enumerate() {
                *o = m.row(i).iter().zip(&w[*s..s + n]).fold(F::zero(), |a, (&p, &v)| a + p * v);
            }
        }
        out
    }

    /// `w'Pw`.
    pub(crate) fn quadratic(&self, w: &[F]) -> F {
        self.times(w).iter().zip(w).fold(F::zero(), |a, (&p, &v)| a + p * v)
    }

    /// Adds `alpha P` to the leading `p x p` part of the row-major `q x q` matrix `h`.
    pub(crate) fn add_to(&self, h: &mut [F], (p, q): (usize, usize), alpha: F) {
        let mut in_block = vec![false; p];
        for (s, m) in &self.blocks {
            for i in 0..m.nrows() {
                in_block[s + i] = true;
                for j in 0..m.nrows() {
                    h[(s + i) * q + s + j] += alpha * m[[i, j]];
                }
            }
        }
        for (j, inside) in in_block.into_iter().enumerate() {
            if !inside {
                h[j * q + j] += alpha;
            }
        }
    }
}

/// A design matrix held the way the Newton-Cholesky solver reads it: `x = s + 1 base'`,
/// per column the value a majority of rows hold (0 when none does) and, row by row, the
/// entries that differ from it (compressed sparse rows). Built once, it serves any number
/// of fits (a penalty path, a Hessian for standard errors) without the dense matrix.
/// (Patched for clientele, see PATCH.md.)
pub struct OffsetSparse<F> {
    base: Vec<F>,
    starts: Vec<usize>,
    columns: Vec<u32>,
    values: Vec<F>,
}

/// Blocks of `BLOCK_ROWS` rows (the last one shorter) covering `n` rows.
fn row_blocks(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .step_by(BLOCK_ROWS)
        .map(|r| (r, (r + BLOCK_ROWS).min(n)))
        .collect()
}

impl<F: Float> OffsetSparse<F> {
    /// Splits a dense `x` (any layout; a column-major one is read contiguously): two
    /// passes over `x`, one to find each column's majority value, one to collect the
    /// other entries, block of rows by block of rows.
    pub fn from_dense<A: Data<Elem = F>>(x: &ArrayBase<A, Ix2>) -> Self {
        let x = x.view();
        let (n, p) = x.dim();
        let base: Vec<F> = (0..p)
            .into_par_iter()
            .map(|j| majority_or_zero(x.column(j)))
            .collect();
        let blocks: Vec<(usize, usize)> = (0..n)
            .step_by(BLOCK_ROWS)
            .map(|r| (r, (r + BLOCK_ROWS).min(n)))
            .collect();
        // Each block's entries by column (as `x` is read), then turned into rows.
        let pieces: Vec<(Vec<usize>, Vec<u32>, Vec<F>)> = blocks
            .par_iter()
            .map(|&(r0, r1)| {
                let mut by_column: Vec<(u32, u32, F)> = Vec::new();
                for (j, &a) in base.iter().enumerate() {
                    let column = x.slice(s![r0..r1, j]);
                    for (i, &v) in column.iter().enumerate() {
                        if v != a {
                            by_column.push((i as u32, j as u32, v - a));
                        }
                    }
                }
                let mut starts = vec![0usize; r1 - r0 + 1];
                for &(i, _, _) in &by_column {
                    starts[i as usize + 1] += 1;
                }
                for i in 0..r1 - r0 {
                    starts[i + 1] += starts[i];
                }
                let mut at = starts.clone();
                let mut cols = vec![0u32; by_column.len()];
                let mut vals = vec![F::zero(); by_column.len()];
                for (i, j, v) in by_column {
                    let pos = &mut at[i as usize];
                    cols[*pos] = j;
                    vals[*pos] = v;
                    *pos += 1;
                }
                (starts, cols, vals)
            })
            .collect();
        let nnz: usize = pieces.iter().map(|piece| piece.1.len()).sum();
        let mut starts = Vec::with_capacity(n + 1);
        let mut columns = Vec::with_capacity(nnz);
        let mut values = Vec::with_capacity(nnz);
        starts.push(0);
        for (block_starts, cols, vals) in pieces {
            let offset = columns.len();
            starts.extend(block_starts[1..].iter().map(|&s| s + offset));
            columns.extend(cols);
            values.extend(vals);
        }
        OffsetSparse {
            base,
            starts,
            columns,
            values,
        }
    }

    /// The design from its parts, for a caller that knows its columns' structure:
    /// `base` (each column's usual value, see `majority_or_zero`) and, row after row,
    /// the entries that differ from it (`columns[starts[i]..starts[i + 1]]`, ascending,
    /// with their values less the base). `None` when the parts do not fit together.
    pub fn from_parts(
        base: Vec<F>,
        starts: Vec<usize>,
        columns: Vec<u32>,
        values: Vec<F>,
    ) -> Option<Self> {
        let fits = starts.first() == Some(&0)
            && starts.windows(2).all(|w| w[0] <= w[1])
            && starts.last() == Some(&columns.len())
            && columns.len() == values.len()
            && columns.iter().all(|&c| (c as usize) < base.len());
        fits.then_some(OffsetSparse {
            base,
            starts,
            columns,
            values,
        })
    }

    /// Whether every value is finite.
    pub fn is_finite(&self) -> bool {
        self.base.iter().chain(&self.values).all(|v| v.is_finite())
    }

    /// Rows of the design.
    pub fn nrows(&self) -> usize {
        self.starts.len() - 1
    }

    /// Columns of the design.
    pub fn ncols(&self) -> usize {
        self.base.len()
    }

    fn blocks(&self) -> Vec<(usize, usize)> {
        row_blocks(self.nrows())
    }

    /// `x . w + b`.
    fn product(&self, w: &[F], b: F) -> Vec<F> {
        let offset = b + dot(&self.base, w);
        let mut z = vec![F::zero(); self.nrows()];
        z.par_chunks_mut(BLOCK_ROWS)
            .enumerate()
            .for_each(|(block, zb)| {
                let r0 = block * BLOCK_ROWS;
                for (k, out) in zb.iter_mut().enumerate() {
                    let (s, e) = (self.starts[r0 + k], self.starts[r0 + k + 1]);
                    let mut acc = offset;
                    for (&c, &v) in self.columns[s..e].iter().zip(&self.values[s..e]) {
                        acc += v * w[c as usize];
                    }
                    *out = acc;
                }
            });
        z
    }

    /// `(x' r, sum r)`.
    fn transposed_product(&self, r: &[F]) -> (Vec<F>, F) {
        let p = self.ncols();
        let partials: Vec<(Vec<F>, F)> = self
            .blocks()
            .into_par_iter()
            .map(|(r0, r1)| {
                let mut g = vec![F::zero(); p];
                let mut total = F::zero();
                for (i, &ri) in (r0..r1).zip(&r[r0..r1]) {
                    total += ri;
                    let (s, e) = (self.starts[i], self.starts[i + 1]);
                    for (&c, &v) in self.columns[s..e].iter().zip(&self.values[s..e]) {
                        g[c as usize] += v * ri;
                    }
                }
                (g, total)
            })
            .collect();
        let mut g = vec![F::zero(); p];
        let mut total = F::zero();
        for (part, t) in partials {
            add_into(&mut g, &part);
            total += t;
        }
        for (gj, &a) in g.iter_mut().zip(&self.base) {
            *gj += a * total;
        }
        (g, total)
    }

    /// `[x 1]' diag(d) [x 1]`, row-major `(p + 1) x (p + 1)` with the intercept last.
    fn weighted_gram(&self, d: &[F]) -> Vec<F> {
        let p = self.ncols();
        // Per block: s'Ds (upper triangle), s'd and sum d.
        let partials: Vec<(Vec<F>, Vec<F>, F)> = self
            .blocks()
            .into_par_iter()
            .map(|(r0, r1)| {
                let mut m = vec![F::zero(); p * p];
                let mut u = vec![F::zero(); p];
                let mut total = F::zero();
                for (i, &di) in (r0..r1).zip(&d[r0..r1]) {
                    total += di;
                    let (s, e) = (self.starts[i], self.starts[i + 1]);
                    let (cols, vals) = (&self.columns[s..e], &self.values[s..e]);
                    for (a, (&ca, &va)) in cols.iter().zip(vals).enumerate() {
                        let ca = ca as usize;
                        let dva = di * va;
                        u[ca] += dva;
                        let row = &mut m[ca * p..(ca + 1) * p];
                        for (&cb, &vb) in cols[a..].iter().zip(&vals[a..]) {
                            row[cb as usize] += dva * vb;
                        }
                    }
                }
                (m, u, total)
            })
            .collect();
        let mut m = vec![F::zero(); p * p];
        let mut u = vec![F::zero(); p];
        let mut s = F::zero();
        for (pm, pu, t) in partials {
            add_into(&mut m, &pm);
            add_into(&mut u, &pu);
            s += t;
        }
        // x = s + 1 a': x'Dx = s'Ds + u a' + a u' + (sum d) a a', x'D1 = u + (sum d) a.
        let a = &self.base;
        let q = p + 1;
        let mut h = vec![F::zero(); q * q];
        for j in 0..p {
            for k in j..p {
                let v = m[j * p + k] + u[j] * a[k] + a[j] * u[k] + s * a[j] * a[k];
                h[j * q + k] = v;
                h[k * q + j] = v;
            }
            let v = u[j] + s * a[j];
            h[j * q + p] = v;
            h[p * q + j] = v;
        }
        h[p * q + p] = s;
        h
    }
}

/// Rows whose values propose a column's majority value.
pub const CANDIDATE_ROWS: usize = 64;

/// The value more than half of `column` holds, else 0: the design's base value of a
/// column. The candidate is `majority_candidate` of the first `CANDIDATE_ROWS` values (a
/// value held by most rows is almost surely among them; if not, the column is stored
/// around 0, which is slower, never wrong), then counted over the whole column.
pub fn majority_or_zero<F: Float>(column: ArrayView1<'_, F>) -> F {
    let n = column.len();
    let head: Vec<F> = column.iter().take(CANDIDATE_ROWS).copied().collect();
    let candidate = majority_candidate(&head);
    let count = column.iter().filter(|&&v| v == candidate).count();
    if 2 * count > n {
        candidate
    } else {
        F::zero()
    }
}

/// The most frequent of `head`'s values (of equally frequent ones, the last); 0 when
/// `head` is empty.
pub fn majority_candidate<F: Float>(head: &[F]) -> F {
    head.iter()
        .copied()
        .max_by_key(|&v| head.iter().filter(|&&w| w == v).count())
        .unwrap_or_else(F::zero)
}

/// The rounding error of a loss summed over the rows: changes below it are noise.
fn rounding<F: Float>(loss: F) -> F {
    F::cast(64.0) * F::epsilon() * loss.abs()
}

fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    a.iter().zip(b).fold(F::zero(), |acc, (&x, &y)| acc + x * y)
}

fn add_into<F: Float>(to: &mut [F], from: &[F]) {
    for (t, &f) in to.iter_mut().zip(from) {
        *t += f;
    }
}

/// `log(sigm(x))`, stable for large `|x|`.
fn log_logistic<F: Float>(x: F) -> F {
    if x > F::zero() {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

fn logistic<F: Float>(x: F) -> F {
    F::one() / (F::one() + (-x).exp())
}

/// The problem: design, targets in {-1, 1}, penalty, and whether the last parameter is
/// an (unpenalised) intercept.
pub(crate) struct NewtonProblem<'a, F> {
    pub(crate) x: &'a OffsetSparse<F>,
    pub(crate) y: &'a [F],
    pub(crate) alpha: F,
    pub(crate) penalty: &'a Penalty<F>,
    pub(crate) fit_intercept: bool,
}

impl<F: Float> NewtonProblem<'_, F> {
    fn weights<'t>(&self, theta: &'t [F]) -> &'t [F] {
        &theta[..self.x.ncols()]
    }

    fn intercept(&self, theta: &[F]) -> F {
        if self.fit_intercept {
            theta[self.x.ncols()]
        } else {
            F::zero()
        }
    }

    /// The penalised loss at parameters `theta` whose linear predictor is `z`.
    fn loss(&self, z: &[F], theta: &[F]) -> F {
        let partials: Vec<F> = z
            .par_chunks(BLOCK_ROWS)
            .zip(self.y.par_chunks(BLOCK_ROWS))
            .map(|(zb, yb)| {
                zb.iter()
                    .zip(yb)
                    .fold(F::zero(), |acc, (&z, &y)| acc - log_logistic(y * z))
            })
            .collect();
        let w = self.weights(theta);
        partials.into_iter().fold(F::zero(), |a, b| a + b)
            + F::cast(0.5) * self.alpha * self.penalty.quadratic(w)
    }

    /// The gradient of the penalised loss.
    fn gradient(&self, z: &[F], theta: &[F]) -> Vec<F> {
        let r: Vec<F> = z
            .par_iter()
            .zip(self.y)
            .map(|(&z, &y)| y * (logistic(y * z) - F::one()))
            .collect();
        let (mut g, total) = self.x.transposed_product(&r);
        for (gj, pw) in g.iter_mut().zip(self.penalty.times(self.weights(theta))) {
            *gj += self.alpha * pw;
        }
        if self.fit_intercept {
            g.push(total);
        }
        g
    }

    /// The Hessian of the penalised loss, row-major, parameters in `theta`'s order.
    fn hessian(&self, z: &[F]) -> (Vec<F>, usize) {
        let d: Vec<F> = z
            .par_iter()
            .map(|&z| {
                let p = logistic(z);
                p * (F::one() - p)
            })
            .collect();
        let p = self.x.ncols();
        let full = self.x.weighted_gram(&d);
        let q = p + usize::from(self.fit_intercept);
        let mut h = vec![F::zero(); q * q];
        for j in 0..q {
            h[j * q..(j + 1) * q].copy_from_slice(&full[j * (p + 1)..j * (p + 1) + q]);
        }
        self.penalty.add_to(&mut h, (p, q), self.alpha);
        (h, q)
    }

    /// Minimises from `theta`: Newton steps until the gradient's norm is below
    /// `tolerance`, at most `max_iterations` of them, or until no step lowers the loss.
    pub(crate) fn minimise(
        &self,
        theta: Array1<F>,
        max_iterations: u64,
        tolerance: F,
    ) -> Array1<F> {
        let mut theta = theta.to_vec();
        let mut z = self.x.product(self.weights(&theta), self.intercept(&theta));
        let mut loss = self.loss(&z, &theta);
        // The factorised Hessian in use, and the gradient's norm when it was last used.
        let mut kept: Option<Curvature<F>> = None;
        let mut last_norm = F::infinity();
        for _ in 0..max_iterations {
            let g = self.gradient(&z, &theta);
            let norm = dot(&g, &g).sqrt();
            if norm < tolerance {
                break;
            }
            let fresh = match &kept {
                Some(_) if norm * F::cast(KEEP_HESSIAN_GAIN) <= last_norm => false,
                _ => {
                    let (h, q) = self.hessian(&z);
                    kept = Some(Curvature::of(h, q));
                    true
                }
            };
            last_norm = norm;
            let step = match &kept {
                Some(curvature) => curvature.direction(&g),
                None => break,
            };
            // Where the predicted decrease is below the loss's rounding, the loss cannot
            // judge a step (a halving would pass on noise alone): the gradient does.
            let unmeasurable = -dot(&g, &step) <= rounding(loss);
            let taken = if unmeasurable {
                self.step_within_rounding(&theta, &z, loss, (norm, &step))
            } else {
                match self.line_search(&theta, &z, loss, (&g, &step)) {
                    None if fresh => self.step_within_rounding(&theta, &z, loss, (norm, &step)),
                    found => found,
                }
            };
            match taken {
                Some((next, next_z, next_loss)) => {
                    theta = next;
                    z = next_z;
                    loss = next_loss;
                }
                // A kept Hessian gave no descent: the next step takes a fresh one.
                None if !fresh => kept = None,
                None => break,
            }
        }
        Array1::from(theta)
    }

    /// Near the optimum the loss stops falling measurably before the gradient is below a
    /// tight tolerance: the whole Newton step is then taken when the loss stays within
    /// rounding of `loss` and the gradient's norm falls below `norm`.
    #[allow(clippy::type_complexity)]
    fn step_within_rounding(
        &self,
        theta: &[F],
        z: &[F],
        loss: F,
        (norm, step): (F, &[F]),
    ) -> Option<(Vec<F>, Vec<F>, F)> {
        let trial: Vec<F> = theta.iter().zip(step).map(|(&a, &d)| a + d).collect();
        let dz = self.x.product(self.weights(step), self.intercept(step));
        let z_trial: Vec<F> = z.iter().zip(&dz).map(|(&a, &d)| a + d).collect();
        let trial_loss = self.loss(&z_trial, &trial);
        if trial_loss > loss + rounding(loss) {
            return None;
        }
        let g = self.gradient(&z_trial, &trial);
        if dot(&g, &g).sqrt() < norm {
            Some((trial, z_trial, trial_loss))
        } else {
            None
        }
    }

    /// The step along `step` from `theta` (linear predictor `z`, loss `loss`, gradient
    /// `g`), halved until the loss falls by the Armijo share of the predicted decrease:
    /// the new parameters, predictor and loss, or `None` when no halving lowers it.
    #[allow(clippy::type_complexity)]
    fn line_search(
        &self,
        theta: &[F],
        z: &[F],
        loss: F,
        (g, step): (&[F], &[F]),
    ) -> Option<(Vec<F>, Vec<F>, F)> {
        let slope = dot(g, step);
        let dz = self.x.product(self.weights(step), self.intercept(step));
        let mut t = F::one();
        for _ in 0..MAX_HALVINGS {
            let trial: Vec<F> = theta.iter().zip(step).map(|(&a, &d)| a + t * d).collect();
            let z_trial: Vec<F> = z.iter().zip(&dz).map(|(&a, &d)| a + t * d).collect();
            let trial_loss = self.loss(&z_trial, &trial);
            if trial_loss <= loss + F::cast(ARMIJO) * t * slope {
                return Some((trial, z_trial, trial_loss));
            }
            t = t * F::cast(0.5);
        }
        None
    }
}

/// A Hessian, Cholesky-factorised, that gives Newton directions `-H^-1 g`. Should `H`
/// not be numerically positive definite, a growing multiple of its largest diagonal
/// entry is added until it is; failing that, directions are scaled steepest descent.
enum Curvature<F> {
    Factor(Vec<F>, usize),
    Scale(F),
}

impl<F: Float> Curvature<F> {
    fn of(h: Vec<F>, q: usize) -> Self {
        let scale = (0..q)
            .map(|j| h[j * q + j].abs())
            .fold(F::zero(), F::max)
            .max(F::min_positive_value());
        let mut jitter = F::zero();
        for _ in 0..12 {
            let mut a = h.clone();
            for j in 0..q {
                a[j * q + j] += jitter;
            }
            if cholesky_in_place(&mut a, q) {
                return Curvature::Factor(a, q);
            }
            jitter = if jitter == F::zero() {
                scale * F::cast(1e-12)
            } else {
                jitter * F::cast(100.0)
            };
        }
        Curvature::Scale(scale)
    }

    fn direction(&self, g: &[F]) -> Vec<F> {
        match self {
            Curvature::Factor(l, q) => cholesky_solve(l, *q, g).into_iter().map(|v| -v).collect(),
            Curvature::Scale(scale) => g.iter().map(|&v| -v / *scale).collect(),
        }
    }
}

/// Lower-triangular `L` with `a = L L'` into the lower triangle of `a`; false when a pivot
/// is not positive.
fn cholesky_in_place<F: Float>(a: &mut [F], q: usize) -> bool {
    for j in 0..q {
        let (done, rest) = a.split_at_mut(j * q);
        let row_j = &mut rest[..q];
        for k in 0..j {
            let row_k = &done[k * q..k * q + q];
            let s = row_j[k] - dot(&row_j[..k], &row_k[..k]);
            row_j[k] = s / row_k[k];
        }
        let d = row_j[j] - dot(&row_j[..j], &row_j[..j]);
        if d.is_nan() || d <= F::zero() {
            return false;
        }
        row_j[j] = d.sqrt();
    }
    true
}

/// Solves `L L' x = b` for the factor in the lower triangle of `l`.
fn cholesky_solve<F: Float>(l: &[F], q: usize, b: &[F]) -> Vec<F> {
    let mut y = vec![F::zero(); q];
    for i in 0..q {
        let s = b[i] - dot(&l[i * q..i * q + i], &y[..i]);
        y[i] = s / l[i * q + i];
    }
    let mut x = vec![F::zero(); q];
    for i in (0..q).rev() {
        let mut s = y[i];
        for k in i + 1..q {
            s -= l[k * q + i] * x[k];
        }
        x[i] = s / l[i * q + i];
    }
    x
}
