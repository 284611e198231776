//! Pairwise interaction terms for the binned form (a GA2M: additive bins plus a few
//! two-feature tables). Candidate pairs are screened FAST-style: on each training fold,
//! the residuals of the additive fit are summed into every pair's table of coarse cells,
//! and a pair scores by how much more log-likelihood (second-order) its full table gains
//! than the best additive table of the same cells. The top pairs are added as one column
//! per cell, penalised with the rest, and the number kept is chosen by the out-of-fold
//! log loss that chooses the form: each fold screens its own training rows, so the
//! held-out rows never choose the pairs they are scored with.

use super::bins::BinnedColumn;
use super::cv::{fit_fold_forms, fold_seed, mean_fit, stratified_folds, FoldFit};
use super::form::{bin_words, quantile_bins, Form};
use super::pair_term::{PairSide, PairTerm};
use super::sparse::HeldOut;
use super::{metrics, CvPoint, LapseParams};
use crate::error::{Error, Result};
use crate::features::{CategoricalFeature, NumericFeature};
use ndarray::ArrayView2;
use rayon::prelude::*;

/// A categorical with more levels (with `other`) than this is left out of pairs: its
/// table would be too wide to read, and its cells too thin to fit.
const MAX_PAIR_LEVELS: usize = 8;

/// Ridge of the screen's cell estimates, in units of the summed logistic weights
/// p (1 - p): keeps nearly empty cells from scoring on one client's residual.
const SCREEN_RIDGE: f64 = 1.0;

/// Backfitting sweeps of the additive table a pair's full table is measured against.
const BACKFIT_SWEEPS: usize = 20;

/// The additive form pairs are added to, with its cross-validation on the CV sample.
pub(super) struct Base<'a> {
    pub(super) form: &'a Form,
    /// The CV sample's model matrix.
    pub(super) x: ArrayView2<'a, f64>,
    pub(super) y: &'a [bool],
    /// The fold fits at the chosen penalty, in fold order.
    pub(super) fits: &'a [FoldFit],
    pub(super) alpha: f64,
}

/// What the features of the model matrix are: the first `numeric` columns numeric, then
/// each categorical's one-hot columns.
#[derive(Clone, Copy)]
pub(super) struct Layout<'a> {
    pub(super) numeric: usize,
    pub(super) categorical: &'a [CategoricalFeature],
}

/// One number of pairs on one size of axes cross-validated, at its best pair penalty.
pub(super) struct PairCandidate {
    pub(super) count: usize,
    /// Coarse bins per numeric side (`LapseParams::pair_bins`).
    pub(super) pair_bins: usize,
    pub(super) pair_penalty: f64,
    /// The bins' penalty it was fitted at.
    pub(super) alpha: f64,
    pub(super) log_loss: f64,
    pub(super) oof: Vec<f64>,
    pub(super) cv: Vec<CvPoint>,
}

/// The numbers of pairs tried for at most `max`: a quarter, a half and all of them.
pub(super) fn pair_counts(max: usize) -> Vec<usize> {
    let mut out: Vec<usize> = [max.div_ceil(4), max.div_ceil(2), max]
        .into_iter()
        .filter(|&k| k > 0)
        .collect();
    out.dedup();
    out
}

/// `step` calls the pair search makes: for each size of axes, one per fold per pair
/// penalty with the most pairs, one per fold per smaller count.
pub(super) fn progress_steps(params: &LapseParams) -> usize {
    steps_per_axes(params) * params.pair_bins.len()
}

fn steps_per_axes(params: &LapseParams) -> usize {
    let counts = pair_counts(params.pairs).len();
    if counts == 0 {
        return 0;
    }
    let stronger_bins = usize::from(!params.smooth_bins.is_empty());
    (counts - 1 + params.pair_penalties.len() + stronger_bins) * params.folds
}

/// How much stronger a smoothed form's bins' penalty is tried with pairs: one step of its
/// path (`cv::alpha_path`). On the churn set the bins' penalty the additive form chose
/// (about 30) was too weak once 8 pairs carried part of the signal (docs/model.md).
const STRONGER_BINS: f64 = 3.162_277_660_168_379_5;

/// The features pairs are made of, cut on the CV sample: each numeric column in up to
/// `bins` coarse quantile bins (a flag with two values in two), each categorical with at
/// most `MAX_PAIR_LEVELS` levels by its levels.
pub(super) fn sides(x: ArrayView2<f64>, layout: Layout, bins: usize) -> Vec<PairSide> {
    let mut out = Vec::new();
    for column in 0..layout.numeric.min(x.ncols()) {
        let mut values: Vec<f64> = x.column(column).to_vec();
        values.sort_by(f64::total_cmp);
        let n = values.len().max(1) as f64;
        let cut = match quantile_bins(&values, bins) {
            Ok(found) => Some(found),
            Err(_) => two_values(&values),
        };
        if let Some((cuts, ranges, counts)) = cut {
            out.push(PairSide::Bins(BinnedColumn {
                column,
                cuts,
                ranges,
                shares: counts.iter().map(|&c| c as f64 / n).collect(),
            }));
        }
    }
    let mut first = layout.numeric;
    for (feature, c) in layout.categorical.iter().enumerate() {
        let count = c.levels.len() + 1;
        if (2..=MAX_PAIR_LEVELS).contains(&count) && first + count <= x.ncols() {
            out.push(PairSide::Levels {
                feature,
                first,
                count,
            });
        }
        first += count;
    }
    out
}

/// Cut, range and counts of a sorted column holding exactly two values (a flag).
#[allow(clippy::type_complexity)]
fn two_values(sorted: &[f64]) -> Option<(Vec<f64>, Vec<(f64, f64)>, Vec<usize>)> {
    let (&lo, &hi) = (sorted.first()?, sorted.last()?);
    let split = sorted.partition_point(|&v| v <= lo);
    let all_two = sorted[split..].iter().all(|&v| v == hi);
    (lo < hi && all_two).then(|| {
        let counts = vec![split, sorted.len() - split];
        (vec![(lo + hi) / 2.0], vec![(lo, lo), (hi, hi)], counts)
    })
}

/// Each side's cell of every row of `x`.
pub(super) fn cells(sides: &[PairSide], x: ArrayView2<f64>) -> Vec<Vec<u8>> {
    sides
        .par_iter()
        .map(|s| {
            x.rows()
                .into_iter()
                .map(|r| u8::try_from(s.cell(r)).unwrap_or(u8::MAX))
                .collect()
        })
        .collect()
}

/// The residual table of one pair over `rows`: per cell, the sum of `y - p` and of
/// `p (1 - p)`.
fn table(
    a: &[u8],
    b: &[u8],
    wb: usize,
    cells: usize,
    rows: &[usize],
    g: &[f64],
    h: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let (mut gs, mut hs) = (vec![0.0; cells], vec![0.0; cells]);
    for &i in rows {
        let c = usize::from(a[i]) * wb + usize::from(b[i]);
        if let (Some(gc), Some(hc)) = (gs.get_mut(c), hs.get_mut(c)) {
            *gc += g[i];
            *hc += h[i];
        }
    }
    (gs, hs)
}

/// Second-order log-likelihood gain of fitting every cell of a `wa` x `wb` table
/// freely over fitting it as row plus column effects (backfitted), both ridged.
fn interaction_gain(gs: &[f64], hs: &[f64], wa: usize, wb: usize) -> f64 {
    let full: f64 = gs
        .iter()
        .zip(hs)
        .map(|(g, h)| g * g / (2.0 * (h + SCREEN_RIDGE)))
        .sum();
    let (mut r, mut s) = (vec![0.0; wa], vec![0.0; wb]);
    for _ in 0..BACKFIT_SWEEPS {
        for (a, ra) in r.iter_mut().enumerate() {
            let (num, den) = (0..wb).fold((0.0, SCREEN_RIDGE), |(n, d), b| {
                let c = a * wb + b;
                (n + gs[c] - hs[c] * s[b], d + hs[c])
            });
            *ra = num / den;
        }
        for (b, sb) in s.iter_mut().enumerate() {
            let (num, den) = (0..wa).fold((0.0, SCREEN_RIDGE), |(n, d), a| {
                let c = a * wb + b;
                (n + gs[c] - hs[c] * r[a], d + hs[c])
            });
            *sb = num / den;
        }
    }
    let additive: f64 = (0..wa * wb)
        .map(|c| {
            let d = r[c / wb] + s[c % wb];
            gs[c] * d - 0.5 * (hs[c] + SCREEN_RIDGE) * d * d
        })
        .sum();
    (full - additive).max(0.0)
}

/// How far a gain stands above what noise gives a table with `dof` interaction degrees
/// of freedom: twice the gain is about chi-squared with `dof` degrees under no
/// interaction, put on the normal scale (Wilson-Hilferty), so pairs of different table
/// sizes rank alike.
fn gain_score(gain: f64, dof: usize) -> f64 {
    let k = dof.max(1) as f64;
    let v = 2.0 / (9.0 * k);
    ((2.0 * gain / k).cbrt() - (1.0 - v)) / v.sqrt()
}

/// The `keep` pairs of `sides` whose tables gain most over `rows`, best first, from
/// each row's residual `y - p` and weight `p (1 - p)`.
fn screen(
    sides: &[PairSide],
    codes: &[Vec<u8>],
    rows: &[usize],
    (y, p): (&[bool], &[f64]),
    keep: usize,
) -> Vec<(usize, usize)> {
    let g: Vec<f64> = y
        .iter()
        .zip(p)
        .map(|(&v, &q)| f64::from(u8::from(v)) - q)
        .collect();
    let h: Vec<f64> = p.iter().map(|q| q * (1.0 - q)).collect();
    let candidates: Vec<(usize, usize)> = (0..sides.len())
        .flat_map(|a| (a + 1..sides.len()).map(move |b| (a, b)))
        .filter(|&(a, b)| !same_feature(&sides[a], &sides[b]))
        .collect();
    let mut scored: Vec<((usize, usize), f64)> = candidates
        .par_iter()
        .map(|&(a, b)| {
            let (wa, wb) = (sides[a].width(), sides[b].width());
            let (gs, hs) = table(&codes[a], &codes[b], wb, wa * wb, rows, &g, &h);
            let gain = interaction_gain(&gs, &hs, wa, wb);
            ((a, b), gain_score(gain, (wa - 1) * (wb - 1)))
        })
        .collect();
    scored.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    scored
        .into_iter()
        .take(keep)
        .map(|(pair, _)| pair)
        .collect()
}

fn same_feature(a: &PairSide, b: &PairSide) -> bool {
    match (a, b) {
        (PairSide::Bins(x), PairSide::Bins(y)) => x.column == y.column,
        (PairSide::Levels { feature: x, .. }, PairSide::Levels { feature: y, .. }) => x == y,
        _ => false,
    }
}

/// The pair terms of `chosen`, with each cell's share of the rows of `codes`.
pub(super) fn terms(
    sides: &[PairSide],
    codes: &[Vec<u8>],
    chosen: &[(usize, usize)],
) -> Vec<PairTerm> {
    chosen
        .iter()
        .map(|&(a, b)| {
            let wb = sides[b].width();
            let mut shares = vec![0.0; sides[a].width() * wb];
            let n = codes[a].len().max(1) as f64;
            for (&ca, &cb) in codes[a].iter().zip(&codes[b]) {
                if let Some(s) = shares.get_mut(usize::from(ca) * wb + usize::from(cb)) {
                    *s += 1.0 / n;
                }
            }
            PairTerm {
                first: sides[a].clone(),
                second: sides[b].clone(),
                shares,
            }
        })
        .collect()
}

/// The screened pairs of every fold (up to `max`, best first), each fold's from its own
/// training rows and the additive fit of that fold, scored on the unexpanded rows.
fn fold_screens(
    base: &Base,
    (sides, codes): (&[PairSide], &[Vec<u8>]),
    fold_of: &[usize],
    max: usize,
) -> Vec<Vec<(usize, usize)>> {
    let all: Vec<usize> = (0..base.y.len()).collect();
    let rows = HeldOut::of(base.form, base.x, &all);
    base.fits
        .iter()
        .enumerate()
        .map(|(f, fit)| {
            let p = rows.predict(&fit.weights, fit.intercept);
            let train: Vec<usize> = (0..base.y.len()).filter(|&i| fold_of[i] != f).collect();
            screen(sides, codes, &train, (base.y, &p), max)
        })
        .collect()
}

/// Cross-validates the additive form plus pairs for each size of axes of
/// `params.pair_bins`, coarsest first (`cross_validate_axes`): candidates in order of
/// richness, so that a richer one must beat a simpler one.
///
/// # Errors
/// A failed fit.
pub(super) fn cross_validate_pairs(
    base: &Base,
    layout: Layout,
    params: &LapseParams,
    seed: u64,
    step: &(dyn Fn() + Sync),
) -> Result<Vec<PairCandidate>> {
    let mut axes = params.pair_bins.clone();
    axes.sort_unstable();
    let mut out = Vec::new();
    for pair_bins in axes {
        out.extend(cross_validate_axes(
            base,
            layout,
            (params, pair_bins),
            seed,
            step,
        )?);
    }
    Ok(out)
}

/// Cross-validates the additive form plus its best `count` pairs per fold, for each count
/// of `pair_counts(params.pairs)` (fewest first), on axes of `pair_bins` coarse bins, at
/// the additive form's penalty for the bins; the pairs' cells get each of
/// `params.pair_penalties` (times it) with the most pairs, and the best of them with
/// fewer.
fn cross_validate_axes(
    base: &Base,
    layout: Layout,
    (params, pair_bins): (&LapseParams, usize),
    seed: u64,
    step: &(dyn Fn() + Sync),
) -> Result<Vec<PairCandidate>> {
    let counts = pair_counts(params.pairs);
    let sides = sides(base.x, layout, pair_bins);
    if sides.len() < 2 || counts.is_empty() {
        (0..steps_per_axes(params)).for_each(|_| step());
        return Ok(Vec::new());
    }
    let codes = cells(&sides, base.x);
    // The folds `cv::cross_validate` fitted `base.fits` on.
    let fold_of = stratified_folds(base.y, params.folds, fold_seed(seed));
    let screens = fold_screens(base, (&sides, &codes), &fold_of, params.pairs);
    let forms_of = |count: usize| -> Vec<Form> {
        screens
            .iter()
            .map(|s| {
                let mut form = base.form.clone();
                let keep = &s[..count.min(s.len())];
                form.pairs = terms(&sides, &codes, keep);
                form
            })
            .collect()
    };
    // The pair penalty is chosen with the most pairs (where it matters most), and the
    // fewer pairs are fitted at that penalty only: a third of the fits of every count
    // on every penalty.
    let Some((&most, fewer)) = counts.split_last() else {
        return Ok(Vec::new());
    };
    let mut path = params.pair_penalties.clone();
    path.sort_by(|a, b| b.total_cmp(a));
    // A smoothed form's bins also try a stronger penalty once pairs carry part of
    // their signal; the step is one of its own penalty path's.
    let stronger = match (base.form.smooth, params.smooth_bins.is_empty()) {
        (true, _) => Some(STRONGER_BINS),
        (false, false) => {
            // Keep the progress count true (`steps_per_axes` counts the step).
            (0..params.folds).for_each(|_| step());
            None
        }
        (false, true) => None,
    };
    let widest = penalty_path(
        base,
        (forms_of(most), &fold_of),
        (most, pair_bins, &path),
        (base.alpha, stronger),
        (params, step),
    )?;
    let chosen = [widest.pair_penalty];
    let mut out = fewer
        .iter()
        .map(|&count| {
            penalty_path(
                base,
                (forms_of(count), &fold_of),
                (count, pair_bins, &chosen),
                (widest.alpha, None),
                (params, step),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    out.push(widest);
    Ok(out)
}

/// The pair penalties `path` (strongest first) of one count of pairs at the bins'
/// penalty `alpha`, each fold on its own form and warm-started from its fit at the
/// penalty before (the additive fit for the first); stops when a weaker pair penalty does
/// not lower the out-of-fold log loss. With `stronger`, the best pair penalty is then
/// tried with the bins' penalty that many times stronger (`STRONGER_BINS`).
fn penalty_path(
    base: &Base,
    (mut forms, fold_of): (Vec<Form>, &[usize]),
    (count, pair_bins, path): (usize, usize, &[f64]),
    (alpha, stronger): (f64, Option<f64>),
    (params, step): (&LapseParams, &(dyn Fn() + Sync)),
) -> Result<PairCandidate> {
    let width = |form: &Form| form.width(base.x.ncols());
    let mut starts: Vec<(Vec<f64>, f64)> = base
        .fits
        .iter()
        .zip(&forms)
        .map(|(fit, form)| {
            let mut w = fit.weights.clone();
            w.resize(width(form), 0.0);
            (w, fit.intercept)
        })
        .collect();
    let mut best: Option<(PairCandidate, Vec<Start>)> = None;
    let mut cv = Vec::new();
    let mut before = path.first().copied().unwrap_or(1.0);
    for (tried, &penalty) in path.iter().enumerate() {
        // The same model on the new scale of the cells: a cell's standardised weight
        // follows its column's scale, the square root of the penalty.
        let rescale = (penalty / before).sqrt();
        for ((w, _), form) in starts.iter_mut().zip(&forms) {
            let first_cell = form.offset(base.x.ncols());
            w.iter_mut().skip(first_cell).for_each(|v| *v *= rescale);
        }
        before = penalty;
        forms.iter_mut().for_each(|f| f.pair_penalty = penalty);
        let (found, fits) = fit_pair_point(
            base,
            (&forms, fold_of),
            (&starts, alpha),
            (count, pair_bins),
            (params, step),
        )?;
        cv.push(found.point.clone());
        starts = fits;
        if best
            .as_ref()
            .is_none_or(|(b, _)| found.point.log_loss < b.log_loss)
        {
            best = Some((found.candidate((count, pair_bins)), starts.clone()));
        } else {
            // The penalties left are not fitted: keep the progress count true.
            (0..(path.len() - tried - 1) * forms.len()).for_each(|_| step());
            break;
        }
    }
    let (mut chosen, best_starts) =
        best.ok_or_else(|| Error::Runtime("no penalty was tried for pairs".into()))?;
    if let Some(factor) = stronger {
        forms
            .iter_mut()
            .for_each(|f| f.pair_penalty = chosen.pair_penalty);
        let (found, _) = fit_pair_point(
            base,
            (&forms, fold_of),
            (&best_starts, alpha * factor),
            (count, pair_bins),
            (params, step),
        )?;
        cv.push(found.point.clone());
        if found.point.log_loss < chosen.log_loss {
            chosen = found.candidate((count, pair_bins));
        }
    }
    chosen.cv = cv;
    Ok(chosen)
}

/// A fold's fit as the next fit's start: weights and intercept.
type Start = (Vec<f64>, f64);

/// One point of a pair search: its CV point and out-of-fold predictions.
struct PairPoint {
    point: CvPoint,
    oof: Vec<f64>,
}

impl PairPoint {
    fn candidate(self, (count, pair_bins): (usize, usize)) -> PairCandidate {
        PairCandidate {
            count,
            pair_bins,
            pair_penalty: self.point.pair_penalty,
            alpha: self.point.alpha,
            log_loss: self.point.log_loss,
            oof: self.oof,
            cv: Vec::new(),
        }
    }
}

/// Every fold fitted on its own form (pairs and pair penalty set) at the bins' penalty
/// `alpha` from `starts`: the point, and the fits (the next point's starts).
fn fit_pair_point(
    base: &Base,
    (forms, fold_of): (&[Form], &[usize]),
    (starts, alpha): (&[Start], f64),
    (count, pair_bins): (usize, usize),
    (params, step): (&LapseParams, &(dyn Fn() + Sync)),
) -> Result<(PairPoint, Vec<Start>)> {
    let (fits, oof) = fit_fold_forms(
        (base.x, forms),
        (base.y, fold_of),
        starts,
        (alpha, params.max_iterations),
        step,
    )?;
    let pair_penalty = forms.first().map_or(1.0, |f| f.pair_penalty);
    let point = CvPoint {
        bins: base.form.bins,
        smooth: base.form.smooth,
        pairs: count,
        pair_bins,
        pair_penalty,
        alpha,
        log_loss: metrics::log_loss(&oof, base.y),
        roc_auc: metrics::roc_auc(&oof, base.y),
    };
    let fits = fits.into_iter().map(|f| (f.weights, f.intercept)).collect();
    Ok((PairPoint { point, oof }, fits))
}

/// The final form's pairs: the best `count` of the whole CV sample on axes of
/// `pair_bins` coarse bins, screened on the residuals of the mean of the additive form's
/// fold fits, with the start of the final fit (that mean, and no weight on the pairs).
pub(super) fn final_pairs(
    base: &Base,
    layout: Layout,
    (count, pair_bins): (usize, usize),
) -> (Vec<PairTerm>, (Vec<f64>, f64)) {
    let sides = sides(base.x, layout, pair_bins);
    let codes = cells(&sides, base.x);
    let (w, b) = mean_fit(base.fits, base.form.width(base.x.ncols()));
    let rows: Vec<usize> = (0..base.y.len()).collect();
    let p = HeldOut::of(base.form, base.x, &rows).predict(&w, b);
    let chosen = screen(&sides, &codes, &rows, (base.y, &p), count);
    let pairs = terms(&sides, &codes, &chosen);
    let cells: usize = pairs.iter().map(PairTerm::width).sum();
    let mut start = w;
    start.extend(std::iter::repeat_n(0.0, cells));
    (pairs, (start, b))
}

/// Names of the pairs' cell columns: `<feature>: <bin> & <feature>=<level>`.
pub(super) fn cell_names(
    pairs: &[PairTerm],
    numeric: &[NumericFeature],
    categorical: &[CategoricalFeature],
) -> Vec<String> {
    let side = |s: &PairSide, i: usize| match s {
        PairSide::Bins(b) => numeric.get(b.column).map_or_else(String::new, |f| {
            format!("{}: {}", f.name, bin_words(f, b, i))
        }),
        PairSide::Levels { feature, .. } => {
            categorical.get(*feature).map_or_else(String::new, |c| {
                let level = c.levels.get(i).map_or("other", String::as_str);
                format!("{}={level}", c.name)
            })
        }
    };
    let mut out = Vec::new();
    for pair in pairs {
        for a in 0..pair.first.width() {
            for b in 0..pair.second.width() {
                out.push(format!(
                    "{} & {}",
                    side(&pair.first, a),
                    side(&pair.second, b)
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Axis;

    #[test]
    fn the_screen_prefers_a_true_interaction_to_two_main_effects() {
        // Two 2x2 tables with the same margins: one additive (no interaction), one whose
        // residual sits in one cell only.
        let h = [100.0; 4];
        let additive = [10.0, -10.0, 10.0, -10.0];
        let one_cell = [15.0, -5.0, -5.0, -5.0];
        let flat = interaction_gain(&additive, &h, 2, 2);
        let sharp = interaction_gain(&one_cell, &h, 2, 2);
        assert!(flat < 1e-3, "{flat}");
        // Known answer: the interaction contrast 15 + 5 + 5 - 5 = 20 over four cells of
        // weight 101 gains 20^2 / (2 * 4 * 101).
        assert!((sharp - 400.0 / 808.0).abs() < 1e-3, "{sharp}");
        assert!(gain_score(sharp, 1) > gain_score(flat, 1));
        // The same gain spread over more cells is less surprising.
        assert!(gain_score(5.0, 1) > gain_score(5.0, 9));
    }

    /// A binned form with one pair of a numeric column and a categorical scores, expands
    /// and explains consistently: indicator weights from standardised ones keep every
    /// log-odds, and the contributions (columns, then the pair) add up exactly.
    #[test]
    fn a_pair_scores_and_explains_exactly() {
        use ndarray::{Array1, Array2};
        let cats = [CategoricalFeature {
            name: "plan".into(),
            levels: vec!["a".into(), "b".into()],
            shares: vec![0.5, 0.3, 0.2],
        }];
        let x = Array2::from_shape_fn((300, 4), |(i, j)| match j {
            0 => (i % 10) as f64,
            _ => f64::from(u8::from(i % 3 + 1 == j)),
        });
        let mut form = Form::quantile(x.view(), 1, 5);
        let layout = Layout {
            numeric: 1,
            categorical: &cats,
        };
        let sides = sides(x.view(), layout, 3);
        assert_eq!(sides.len(), 2, "{sides:?}");
        let codes = cells(&sides, x.view());
        form.pairs = terms(&sides, &codes, &[(0, 1)]);
        let pair = &form.pairs[0];
        assert_eq!(pair.width(), sides[0].width() * 3);
        assert!((pair.shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let width = form.width(4);
        assert_eq!(width, 5 + 3 + pair.width());
        let standardised = form.expand(x.view());
        assert_eq!(standardised.ncols(), width);
        let fitted: Vec<f64> = (0..width).map(|k| (k as f64 * 0.37).sin()).collect();
        let (weights, b) = form.to_indicators(4, &fitted, 0.2);
        let centres: Vec<f64> = {
            let scales = form.column_scales(4);
            let raw = Array2::from_shape_fn((300, width), |(i, k)| match scales[k] {
                Some((p, sd)) => standardised[[i, k]] * sd + p,
                None => standardised[[i, k]],
            });
            raw.mean_axis(Axis(0)).unwrap().to_vec()
        };
        let average = b + weights
            .iter()
            .zip(&centres)
            .map(|(w, c)| w * c)
            .sum::<f64>();
        for i in [0, 5, 101, 299] {
            let on_fit = 0.2 + standardised.row(i).dot(&Array1::from(fitted.clone()));
            let z = form.log_odds(x.row(i), &weights, b);
            assert!((z - on_fit).abs() < 1e-9, "{z} vs {on_fit}");
            let parts = form.contributions(x.row(i), &weights, &centres);
            assert_eq!(parts.len(), 5);
            assert!((parts.iter().sum::<f64>() - (z - average)).abs() < 1e-9);
        }
        let names = cell_names(&form.pairs, &[], &cats);
        assert_eq!(names.len(), pair.width());
        assert!(names[1].ends_with("& plan=b"), "{names:?}");
    }

    #[test]
    fn pair_counts_halve_down_to_a_quarter() {
        assert_eq!(pair_counts(8), [2, 4, 8]);
        assert_eq!(pair_counts(1), [1]);
        assert_eq!(pair_counts(3), [1, 2, 3]);
        assert!(pair_counts(0).is_empty());
    }
}
