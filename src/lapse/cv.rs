//! Splits, folds and the cross-validated penalty path of one form of the lapse model.

use super::form::Form;
use super::solve::{fit_once, GRADIENT_TOLERANCE_PER_CLIENT};
use super::sparse::{design, HeldOut};
use super::{metrics, CvPoint, LapseParams};
use crate::error::{Error, Result};
use linfa_logistic::{OffsetSparse, Penalty};
use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use rayon::prelude::*;

/// Stratified split: `share` of each class (rounded), chosen by a seeded shuffle, goes to
/// the test part. Returns (train positions, test positions) into `y`, each ascending.
pub fn stratified_split(y: &[bool], share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = Xoshiro256Plus::seed_from_u64(seed);
    let mut in_test = vec![false; y.len()];
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        idx.shuffle(&mut rng);
        let take = ((idx.len() as f64 * share).round() as usize).min(idx.len());
        for &i in &idx[..take] {
            in_test[i] = true;
        }
    }
    (0..y.len()).partition(|&i| !in_test[i])
}

/// Fold number of each position, classes spread evenly over the folds.
pub fn stratified_folds(y: &[bool], folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = Xoshiro256Plus::seed_from_u64(seed);
    let mut out = vec![0; y.len()];
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        idx.shuffle(&mut rng);
        for (j, i) in idx.into_iter().enumerate() {
            out[i] = j % folds;
        }
    }
    out
}

/// The clients cross-validation runs on: a stratified, seeded sample of `max` when the
/// training part is larger, else all.
pub(super) fn cv_sample(y: &[bool], max: usize, seed: u64) -> Vec<usize> {
    if y.len() > max {
        stratified_split(y, max as f64 / y.len() as f64, seed ^ 0xC5).1
    } else {
        (0..y.len()).collect()
    }
}

/// One cross-validation fit: the held-out fold's predictions, and the weights.
#[derive(Clone)]
pub(super) struct FoldFit {
    pub(super) predictions: Vec<f64>,
    pub(super) weights: Vec<f64>,
    pub(super) intercept: f64,
}

/// One fold's training rows (held for the solver, built once for the whole penalty
/// path) and held-out rows.
struct Fold {
    test_rows: Vec<usize>,
    train: OffsetSparse<f64>,
    penalty: Penalty<f64>,
    y_train: Vec<bool>,
    test: HeldOut,
}

/// A penalty path stops once a weaker penalty lowers the out-of-fold log loss by less
/// than this share: weaker penalties then change little but cost the most iterations.
const PATH_TOLERANCE: f64 = 1e-4;

/// The penalty a form's cross-validation chose.
#[derive(Clone)]
pub(super) struct AlphaChoice {
    pub(super) alpha: f64,
    pub(super) log_loss: f64,
    /// Its out-of-fold ROC AUC (a richer form may win on ranking).
    pub(super) roc_auc: f64,
    /// Its out-of-fold predictions (thresholds are chosen on them).
    pub(super) oof: Vec<f64>,
    /// Its fold fits (the final fit starts from their mean).
    pub(super) fits: Vec<FoldFit>,
    /// Every penalty tried, strongest first.
    pub(super) cv: Vec<CvPoint>,
    /// Each fold's fit at the strongest penalty (where other forms' paths start).
    pub(super) strongest: Vec<(Vec<f64>, f64)>,
}

/// Cross-validates one form of `x` (the model matrix before the form): the penalties from the strongest to the weakest, every fold
/// warm-started from its fit at the penalty before (a regularisation path: the optimum
/// moves little between neighbouring penalties, so each fit takes a fraction of the
/// iterations of a cold start). Folds run in parallel; the path stops when a penalty
/// gains less than `PATH_TOLERANCE` in out-of-fold log loss. Each fold's path is fixed,
/// so results do not depend on threads.
pub(super) fn cross_validate(
    (x, form): (ArrayView2<f64>, &Form),
    y: &[bool],
    params: &LapseParams,
    seed: u64,
    first_starts: Option<Vec<(Vec<f64>, f64)>>,
    step: &(dyn Fn() + Sync),
) -> Result<AlphaChoice> {
    let bins = form.bins;
    let fold_of = stratified_folds(y, params.folds, fold_seed(seed));
    let folds = make_folds((x, &|_| form), y, &fold_of)?;
    let mut path = alpha_path(&params.alphas, form.smooth);
    path.sort_by(|a, b| b.total_cmp(a));
    // The strongest penalty starts where it is told, else from the intercept-only model.
    let mut starts: Vec<(Vec<f64>, f64)> = first_starts
        .filter(|s| s.len() == folds.len())
        .unwrap_or_else(|| intercept_only(&folds, form.width(x.ncols())));
    let mut cv = Vec::new();
    let mut strongest = Vec::new();
    let mut best: Option<AlphaChoice> = None;
    for (tried, &alpha) in path.iter().enumerate() {
        let fits = fit_folds(&folds, &starts, (alpha, params.max_iterations), step)?;
        let oof = out_of_fold(&folds, &fits, y.len());
        let point = CvPoint {
            bins,
            smooth: form.smooth,
            pairs: 0,
            pair_bins: 0,
            pair_penalty: 1.0,
            alpha,
            log_loss: metrics::log_loss(&oof, y),
            roc_auc: metrics::roc_auc(&oof, y),
        };
        starts = fits
            .iter()
            .map(|f| (f.weights.clone(), f.intercept))
            .collect();
        if tried == 0 {
            strongest.clone_from(&starts);
        }
        cv.push(point.clone());
        let gain = best.as_ref().map_or(f64::INFINITY, |b| {
            (b.log_loss - point.log_loss) / b.log_loss
        });
        if gain > 0.0 {
            best = Some(AlphaChoice {
                alpha,
                log_loss: point.log_loss,
                roc_auc: point.roc_auc,
                oof,
                fits,
                cv: Vec::new(),
                strongest: Vec::new(),
            });
        }
        // A path with midpoints takes half steps, each gaining about half a decade's.
        let tolerance = if form.smooth {
            PATH_TOLERANCE / 2.0
        } else {
            PATH_TOLERANCE
        };
        if gain < tolerance {
            // The penalties left are not fitted: keep the progress count true.
            let left = (path.len() - tried - 1) * params.folds;
            (0..left).for_each(|_| step());
            break;
        }
    }
    let mut choice = best.ok_or_else(|| Error::Runtime("no penalty was tried".into()))?;
    choice.cv = cv;
    choice.strongest = strongest;
    Ok(choice)
}

/// The penalties a form's cross-validation tries: `alphas`, and for smoothed bins also
/// the geometric midpoint of each two neighbours (a smoothed form's least log loss often
/// lies between two decades; docs/model.md).
pub(super) fn alpha_path(alphas: &[f64], smooth: bool) -> Vec<f64> {
    let mut path = alphas.to_vec();
    path.sort_by(f64::total_cmp);
    if smooth {
        let middles: Vec<f64> = path.windows(2).map(|w| (w[0] * w[1]).sqrt()).collect();
        path.extend(middles);
        path.sort_by(f64::total_cmp);
    }
    path
}

/// The seed of the folds of a cross-validation run with `seed`.
pub(super) fn fold_seed(seed: u64) -> u64 {
    seed ^ 0xF0
}

/// The folds of `x`, `y` (`fold_of` gives each row's), fold `f` read through the form
/// `form_of(f)`: each fold's training rows as the solver holds them and its held-out
/// rows, folds built in parallel.
fn make_folds<'f>(
    (x, form_of): (ArrayView2<f64>, &(dyn Fn(usize) -> &'f Form + Sync)),
    y: &[bool],
    fold_of: &[usize],
) -> Result<Vec<Fold>> {
    let folds = fold_of.iter().max().map_or(0, |&f| f + 1);
    (0..folds)
        .into_par_iter()
        .map(|f| {
            let form = form_of(f);
            let (tr, te): (Vec<usize>, Vec<usize>) = (0..y.len()).partition(|&i| fold_of[i] != f);
            Ok(Fold {
                train: design(form, x, &tr)?,
                penalty: form.penalty(x.ncols())?,
                y_train: tr.iter().map(|&i| y[i]).collect(),
                test: HeldOut::of(form, x, &te),
                test_rows: te,
            })
        })
        .collect()
}

/// Every fold fitted once at `alpha` from its start, fold `f` on its own form
/// `forms[f]` (a pair form screened on its training rows): the fits and the
/// out-of-fold predictions. The designs are built from the model matrix and dropped after.
///
/// # Errors
/// A failed fit, or parts that do not fit together.
pub(super) fn fit_fold_forms(
    (x, forms): (ArrayView2<f64>, &[Form]),
    (y, fold_of): (&[bool], &[usize]),
    starts: &[(Vec<f64>, f64)],
    (alpha, max_iterations): (f64, u64),
    step: &(dyn Fn() + Sync),
) -> Result<(Vec<FoldFit>, Vec<f64>)> {
    let last = forms
        .last()
        .ok_or_else(|| Error::Runtime("no fold forms to cross-validate".into()))?;
    let form_of = |f: usize| forms.get(f).unwrap_or(last);
    let folds = make_folds((x, &form_of), y, fold_of)?;
    let fits = fit_folds(&folds, starts, (alpha, max_iterations), step)?;
    let oof = out_of_fold(&folds, &fits, y.len());
    Ok((fits, oof))
}

/// Each fold's intercept-only model: no weights, the log-odds of its lapse rate.
fn intercept_only(folds: &[Fold], columns: usize) -> Vec<(Vec<f64>, f64)> {
    folds
        .iter()
        .map(|f| {
            let rate =
                f.y_train.iter().filter(|&&v| v).count() as f64 / f.y_train.len().max(1) as f64;
            let rate = rate.clamp(1e-6, 1.0 - 1e-6);
            (vec![0.0; columns], (rate / (1.0 - rate)).ln())
        })
        .collect()
}

/// Every fold fitted at one penalty from its start, in parallel; `step` after each.
fn fit_folds(
    folds: &[Fold],
    starts: &[(Vec<f64>, f64)],
    (alpha, max_iterations): (f64, u64),
    step: &(dyn Fn() + Sync),
) -> Result<Vec<FoldFit>> {
    folds
        .par_iter()
        .zip(starts)
        .map(|(fold, start)| {
            let warm = Some((start.0.as_slice(), start.1));
            let (w, b) = fit_once(
                (&fold.train, &fold.penalty),
                &fold.y_train,
                alpha,
                (max_iterations, GRADIENT_TOLERANCE_PER_CLIENT),
                warm,
            )?;
            step();
            Ok(FoldFit {
                predictions: fold.test.predict(&w, b),
                weights: w,
                intercept: b,
            })
        })
        .collect()
}

/// The held-out predictions of every fold, in the order of the rows.
fn out_of_fold(folds: &[Fold], fits: &[FoldFit], n: usize) -> Vec<f64> {
    let mut oof = vec![0.0; n];
    for (fold, fit) in folds.iter().zip(fits) {
        for (&i, &p) in fold.test_rows.iter().zip(&fit.predictions) {
            oof[i] = p;
        }
    }
    oof
}

/// The mean of some fits' weights and intercepts.
pub(super) fn mean_fit(fits: &[FoldFit], n_columns: usize) -> (Vec<f64>, f64) {
    let k = fits.len().max(1) as f64;
    let w = (0..n_columns)
        .map(|j| {
            fits.iter()
                .map(|f| f.weights.get(j).copied().unwrap_or(0.0))
                .sum::<f64>()
                / k
        })
        .collect();
    let b = fits.iter().map(|f| f.intercept).sum::<f64>() / k;
    (w, b)
}
