//! The penalty blocks of a smoothed form (`Form::smooth`): in place of the ridge on each
//! bin's and each pair cell's standardised column, a penalty on the differences of
//! neighbouring weights. Blocks are on the standardised columns the solver fits
//! (coefficient `beta = s w`, `w` the indicator's weight and `s` its column's scale), so
//! each is `S^-1 P S^-1` for the penalty `P` on the weights.

use super::bins::{bin_scale, cell_scale, MIN_CELL_SHARE};
use super::pair_term::{PairSide, PairTerm};
use ndarray::Array2;

/// Weight of the level of a smoothed feature's bins in its block. The level does not
/// change any prediction (the intercept absorbs it), so any positive weight gives the
/// same fit; it makes the block definite (and sets the variance along the level, which
/// the bins' odds-ratio intervals include, as the ridge's does for plain bins).
const LEVEL_WEIGHT: f64 = 1.0;

/// Weight of a pair's additive part in its block (`pair_block`): a row or column pattern
/// of the cells costs what the same pattern costs as a standardised column under the
/// ridge, so the main effects carry what they can and the pair the interaction.
const PURITY_WEIGHT: f64 = 1.0;

/// A ridge under every pair cell, small against the rest: a cell no training client
/// fell in (and no difference reaches) gets weight 0, as under the plain ridge.
pub(super) const CELL_RIDGE: f64 = 0.01;

/// One smoothed binned feature: `sum_k v_k (w_(k+1) - w_k)^2 + (sum_k p_k w_k)^2`, where
/// `v_k` is the variance of the indicator "above cut k" (`P_k (1 - P_k)`, `P_k` the share
/// above) and `p_k` the bins' shares. This is the ridge penalty on standardised threshold
/// indicators (a first-difference penalty as in P-splines): a step between bins many
/// clients straddle costs more than one in a tail. The last term fixes the weights'
/// level, which predictions do not see.
pub(super) fn bins_block(shares: &[f64]) -> Array2<f64> {
    let scaled: Vec<(f64, f64)> = shares.iter().map(|&p| bin_scale(p)).collect();
    let total: f64 = scaled.iter().map(|(p, _)| p).sum();
    let n = scaled.len();
    let mut on_weights = Array2::<f64>::zeros((n, n));
    let mut above = total;
    for (k, (share, _)) in scaled.iter().enumerate().take(n.saturating_sub(1)) {
        above -= share;
        add_difference(
            &mut on_weights,
            &[(k + 1, 1.0), (k, -1.0)],
            variance(above / total),
        );
    }
    let p: Vec<f64> = scaled.iter().map(|(p, _)| p / total).collect();
    add_difference(
        &mut on_weights,
        &p.iter().copied().enumerate().collect::<Vec<_>>(),
        LEVEL_WEIGHT,
    );
    let sd: Vec<f64> = scaled.iter().map(|(_, sd)| *sd).collect();
    on_columns(&on_weights, &sd)
}

/// A pair of a smoothed form, cells `i * b + j` of an `a x b` table, when a side is
/// ordered (numeric bins); `None` for two categoricals, which keep the ridge.
/// - Two numeric sides: `sum_kl v_kl (mixed difference of w at k, l)^2`, `v_kl` the
///   variance of "above cut k and above cut l" (the ridge on standardised products of
///   the two sides' threshold indicators: a smooth interaction surface).
/// - One numeric side: first differences along it within each level of the other,
///   each weighed by the variance of "this level and above the cut".
///
/// Plus the cells' additive part, `PURITY_WEIGHT * sum_i (sum_j p_ij w_ij)^2 / p_i` over
/// rows and columns (a weighted mean per row and column of the table: zero for a pure
/// interaction, as explainable boosting makes its pairs), and `CELL_RIDGE` on the
/// standardised cells.
pub(super) fn pair_block(pair: &PairTerm) -> Option<Array2<f64>> {
    let ordered = |s: &PairSide| matches!(s, PairSide::Bins(_));
    let (rows, cols) = (pair.first.width(), pair.second.width());
    let n = rows * cols;
    if n == 0 || pair.shares.len() != n || !(ordered(&pair.first) || ordered(&pair.second)) {
        return None;
    }
    let total: f64 = pair.shares.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let p = |i: usize, j: usize| pair.shares[i * cols + j] / total;
    let cell = |i: usize, j: usize| i * cols + j;
    let mut on_weights = Array2::<f64>::zeros((n, n));
    match (ordered(&pair.first), ordered(&pair.second)) {
        (true, true) => {
            for k in 0..rows - 1 {
                for l in 0..cols - 1 {
                    let above: f64 = (k + 1..rows)
                        .flat_map(|i| (l + 1..cols).map(move |j| (i, j)))
                        .map(|(i, j)| p(i, j))
                        .sum();
                    let corners = [
                        (cell(k + 1, l + 1), 1.0),
                        (cell(k + 1, l), -1.0),
                        (cell(k, l + 1), -1.0),
                        (cell(k, l), 1.0),
                    ];
                    add_difference(&mut on_weights, &corners, cell_variance(above));
                }
            }
        }
        (true, false) | (false, true) => {
            // Differences along the numeric side, within each level of the other.
            let along_rows = ordered(&pair.first);
            let (steps, levels) = if along_rows {
                (rows, cols)
            } else {
                (cols, rows)
            };
            let at = |step: usize, level: usize| {
                if along_rows {
                    cell(step, level)
                } else {
                    cell(level, step)
                }
            };
            let share = |c: usize| pair.shares[c] / total;
            for level in 0..levels {
                for k in 0..steps - 1 {
                    let above: f64 = (k + 1..steps).map(|s| share(at(s, level))).sum();
                    let step = [(at(k + 1, level), 1.0), (at(k, level), -1.0)];
                    add_difference(&mut on_weights, &step, cell_variance(above));
                }
            }
        }
        (false, false) => {}
    }
    for i in 0..rows {
        let row: Vec<(usize, f64)> = (0..cols).map(|j| (cell(i, j), p(i, j))).collect();
        add_mean(&mut on_weights, &row);
    }
    for j in 0..cols {
        let column: Vec<(usize, f64)> = (0..rows).map(|i| (cell(i, j), p(i, j))).collect();
        add_mean(&mut on_weights, &column);
    }
    let sd: Vec<f64> = pair.shares.iter().map(|&s| cell_scale(s).1).collect();
    let mut block = on_columns(&on_weights, &sd);
    for k in 0..n {
        block[[k, k]] += CELL_RIDGE;
    }
    Some(block)
}

/// The variance of an indicator that holds for `share` of the clients.
fn variance(share: f64) -> f64 {
    let q = share.clamp(0.0, 1.0);
    q * (1.0 - q)
}

/// `variance` of a pair's indicator, as if it held at least `MIN_CELL_SHARE` (and at most
/// all but that): a difference at a thin corner of the table, weighed by its few clients
/// alone, would let those clients' cells fit their outcomes (the floor `cell_scale` puts
/// under a cell's ridge).
fn cell_variance(share: f64) -> f64 {
    variance(share.clamp(MIN_CELL_SHARE, 1.0 - MIN_CELL_SHARE))
}

/// Adds `weight (sum_c a_c w_c)^2` to the penalty `m` on the weights.
fn add_difference(m: &mut Array2<f64>, terms: &[(usize, f64)], weight: f64) {
    for &(x, a) in terms {
        for &(y, b) in terms {
            m[[x, y]] += weight * (a * b);
        }
    }
}

/// Adds `PURITY_WEIGHT (sum_c p_c w_c)^2 / sum_c p_c`: the weighted mean of a row or
/// column of cells, weighed by its share (nothing for a row no client is in).
fn add_mean(m: &mut Array2<f64>, terms: &[(usize, f64)]) {
    let share: f64 = terms.iter().map(|(_, p)| p).sum();
    if share > 0.0 {
        add_difference(m, terms, PURITY_WEIGHT / share);
    }
}

/// The penalty on the weights as one on the standardised columns (`beta = sd w`),
/// exactly symmetric.
fn on_columns(on_weights: &Array2<f64>, sd: &[f64]) -> Array2<f64> {
    let n = sd.len();
    let m = Array2::from_shape_fn((n, n), |(i, j)| on_weights[[i, j]] / (sd[i] * sd[j]));
    Array2::from_shape_fn((n, n), |(i, j)| (m[[i, j]] + m[[j, i]]) / 2.0)
}
