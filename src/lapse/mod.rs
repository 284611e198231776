//! The lapse model: L2-penalised logistic regression (linfa-logistic) with the penalty
//! chosen by stratified k-fold cross-validation, a documented decision threshold, odds
//! ratios with confidence intervals and exact per-client reason codes.
//!
//! Class imbalance: clients are not reweighted or resampled, so probabilities stay
//! calibrated to the book's real lapse rate; the imbalance is handled at the decision
//! threshold instead (best F1, or a call-list share), chosen on out-of-fold predictions.

mod linalg;
pub mod metrics;

use crate::params::Checked;
pub use crate::params::{LapseParams, ThresholdRule};
pub use metrics::Metrics;

use crate::error::{Error, Result};
use crate::vocab::RiskBand;
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, CowArray, Ix2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The solver stops when the gradient of the summed log loss is below this times the
/// number of clients (a mean-gradient criterion, independent of the data size).
const GRADIENT_TOLERANCE_PER_CLIENT: f64 = 1e-5;

/// Odds ratio of one model column per unit (per standard deviation for numerics, per
/// membership for one-hot columns), with a 95% interval from the penalised Hessian.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OddsRatio {
    pub feature: String,
    pub coefficient: f64,
    pub std_error: f64,
    pub odds_ratio: f64,
    pub low: f64,
    pub high: f64,
}

/// Mean out-of-fold log loss and AUC of one penalty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvPoint {
    pub alpha: f64,
    pub log_loss: f64,
    pub roc_auc: f64,
}

/// Risk band cut points: high from `high`, medium from `medium`, low below.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskBands {
    pub medium: f64,
    pub high: f64,
}

impl RiskBands {
    pub fn band(&self, p: f64) -> RiskBand {
        if p >= self.high {
            RiskBand::High
        } else if p >= self.medium {
            RiskBand::Medium
        } else {
            RiskBand::Low
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LapseModel {
    pub columns: Vec<String>,
    /// Lapse log-odds per model column (oriented: positive = more lapse).
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    pub alpha: f64,
    /// Training mean of each column; reason codes are contributions against it.
    pub centres: Vec<f64>,
    pub threshold_rule: ThresholdRule,
    pub threshold: f64,
    /// Threshold of the riskiest 10% (call-list view), from out-of-fold predictions.
    pub top10_threshold: f64,
    pub bands: RiskBands,
    pub training_lapse_rate: f64,
    pub cv: Vec<CvPoint>,
    pub odds_ratios: Vec<OddsRatio>,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl LapseModel {
    /// Lapse probability of one model-matrix row.
    pub fn probability(&self, row: ArrayView1<f64>) -> f64 {
        let z: f64 = self.intercept
            + row
                .iter()
                .zip(&self.coefficients)
                .map(|(x, w)| x * w)
                .sum::<f64>();
        sigmoid(z)
    }

    pub fn probabilities(&self, x: ArrayView2<f64>) -> Vec<f64> {
        x.axis_iter(Axis(0)).map(|r| self.probability(r)).collect()
    }

    /// Contribution of each column to this row's log-odds against the average client;
    /// they add up exactly to the row's log-odds minus the average client's.
    pub fn contributions(&self, row: ArrayView1<f64>) -> Vec<f64> {
        row.iter()
            .zip(&self.coefficients)
            .zip(&self.centres)
            .map(|((x, w), c)| w * (x - c))
            .collect()
    }
}

/// Whether linfa will treat "lapsed" as its positive class: linfa makes the larger class
/// positive (ties: the first label seen). Needed to orient weights in and out of linfa.
fn linfa_positive_is_lapsed(y: &[bool]) -> bool {
    let lapsed = y.iter().filter(|&&v| v).count();
    let stayed = y.len() - lapsed;
    if lapsed == stayed {
        y.first().copied().unwrap_or(true)
    } else {
        lapsed > stayed
    }
}

/// One L2-penalised fit; returns lapse-oriented (weights, intercept). `start` warm-starts
/// the solver from lapse-oriented parameters.
fn fit_once(
    x: ArrayView2<f64>,
    y: &[bool],
    alpha: f64,
    max_iterations: u64,
    start: Option<(&[f64], f64)>,
) -> Result<(Vec<f64>, f64)> {
    let targets = Array1::from(y.to_vec());
    let x = column_major(x);
    let data = DatasetBase::new(x.view(), targets);
    let expected_sign = if linfa_positive_is_lapsed(y) {
        1.0
    } else {
        -1.0
    };
    let mut params = LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(max_iterations)
        .gradient_tolerance(GRADIENT_TOLERANCE_PER_CLIENT * x.nrows() as f64);
    if let Some((w, b)) = start {
        let init: Array1<f64> = w
            .iter()
            .chain(std::iter::once(&b))
            .map(|v| expected_sign * v)
            .collect();
        params = params.initial_params(init);
    }
    let model = params
        .fit(&data)
        .map_err(|e| Error::Runtime(format!("logistic regression (alpha {alpha}) failed: {e}")))?;
    // Orient by the class linfa actually chose, whatever we expected.
    let sign = if model.labels().pos.class { 1.0 } else { -1.0 };
    Ok((
        model.params().iter().map(|w| sign * w).collect(),
        sign * model.intercept(),
    ))
}

/// `x` laid out column by column. linfa's gradient is `x.t().dot(v)`; without BLAS,
/// ndarray computes it as one dot product per column of `x`, which on a row-major matrix
/// strides through memory once per column (about 7x slower on a large book). Its other
/// product, `x.dot(w)`, goes through a packing matrix multiply that takes either layout.
fn column_major<'a>(x: ArrayView2<'a, f64>) -> CowArray<'a, f64, Ix2> {
    if x.t().is_standard_layout() {
        CowArray::from(x)
    } else {
        CowArray::from(x.t().as_standard_layout().into_owned().reversed_axes())
    }
}

fn predict(x: ArrayView2<f64>, w: &[f64], b: f64) -> Vec<f64> {
    x.axis_iter(Axis(0))
        .map(|r| sigmoid(b + r.iter().zip(w).map(|(a, c)| a * c).sum::<f64>()))
        .collect()
}

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

/// Fits the lapse model on the training part `x`, `y`.
///
/// # Errors
/// A single class, too few clients per fold, or a failed fit.
pub fn fit(
    x: ArrayView2<f64>,
    y: &[bool],
    columns: &[String],
    params: &Checked<LapseParams>,
    seed: u64,
) -> Result<LapseModel> {
    fit_alongside(x, y, columns, params, seed, &|| {}, |_| ()).map(|(model, ())| model)
}

/// Number of `step` calls `fit_alongside` makes: one per CV fit, one for the final fit.
pub fn progress_steps(params: &LapseParams) -> u64 {
    (params.alphas.len() * params.folds + 1) as u64
}

/// `fit`, calling `step` after every cross-validation fit and the final fit, and running
/// `alongside(alpha)` on another thread as soon as the penalty is chosen, while the final
/// fit (single-threaded in linfa) runs: e.g. the out-of-time check, which needs only the
/// penalty.
///
/// # Errors
/// As `fit`.
pub fn fit_alongside<T: Send>(
    x: ArrayView2<f64>,
    y: &[bool],
    columns: &[String],
    params: &Checked<LapseParams>,
    seed: u64,
    step: &(dyn Fn() + Sync),
    alongside: impl FnOnce(f64) -> T + Send,
) -> Result<(LapseModel, T)> {
    let (mut model, other) = fit_point(x, y, columns, params, seed, step, alongside)?;
    model.odds_ratios = crate::progress::timed("odds ratio intervals", || {
        odds_ratios(
            x,
            &model.coefficients,
            model.intercept,
            model.alpha,
            columns,
        )
    })?;
    Ok((model, other))
}

/// `fit` without the odds ratios and their intervals (left empty): for a model that is
/// only scored, such as the out-of-time check's. The intervals need the Hessian, a
/// further pass over the data.
///
/// # Errors
/// As `fit`.
pub fn fit_without_intervals(
    x: ArrayView2<f64>,
    y: &[bool],
    columns: &[String],
    params: &Checked<LapseParams>,
    seed: u64,
) -> Result<LapseModel> {
    fit_point(x, y, columns, params, seed, &|| {}, |_| ()).map(|(model, ())| model)
}

/// The penalty, the coefficients and the thresholds; no odds ratios.
fn fit_point<T: Send>(
    x: ArrayView2<f64>,
    y: &[bool],
    columns: &[String],
    params: &Checked<LapseParams>,
    seed: u64,
    step: &(dyn Fn() + Sync),
    alongside: impl FnOnce(f64) -> T + Send,
) -> Result<(LapseModel, T)> {
    let lapsed = y.iter().filter(|&&v| v).count();
    let stayed = y.len() - lapsed;
    if lapsed.min(stayed) < params.folds {
        return Err(Error::NoData(format!(
            "the training part has {lapsed} lapsed and {stayed} staying clients: both classes \
             need at least {} clients (one per fold) to fit a lapse model",
            params.folds
        )));
    }
    let cv_rows = cv_sample(y, params.cv_sample, seed);
    let xcv = x.select(Axis(0), &cv_rows);
    let ycv: Vec<bool> = cv_rows.iter().map(|&i| y[i]).collect();
    let fits = crate::progress::timed("lapse cross-validation", || {
        fold_fits(xcv.view(), &ycv, params, seed, step)
    })?;
    let choice = choose_alpha(&fits, &ycv, params)?;
    let (alpha, oof, cv) = (choice.alpha, choice.oof, choice.cv);
    // The final fit on every training client starts from the mean of the chosen
    // penalty's fold fits: same optimum, far fewer iterations on large books.
    let (w0, b0) = mean_fit(
        &fits[choice.index * params.folds..][..params.folds],
        x.ncols(),
    );
    let (fitted, other) = rayon::join(
        || {
            crate::progress::timed("lapse final fit", || {
                fit_once(x, y, alpha, params.max_iterations, Some((&w0, b0)))
            })
        },
        || crate::progress::timed("beside the final fit", || alongside(alpha)),
    );
    let (coefficients, intercept) = fitted?;
    step();
    let threshold = match params.threshold {
        ThresholdRule::BestF1 => metrics::best_f1_threshold(&oof, &ycv),
        ThresholdRule::TopShare(s) => metrics::top_share_threshold(&oof, s),
    };
    let training_lapse_rate = lapsed as f64 / y.len() as f64;
    let centres: Vec<f64> = x
        .mean_axis(Axis(0))
        .map_or_else(|| vec![0.0; x.ncols()], |m| m.to_vec());
    let model = LapseModel {
        columns: columns.to_vec(),
        coefficients,
        intercept,
        alpha,
        centres,
        threshold_rule: params.threshold,
        threshold,
        top10_threshold: metrics::top_share_threshold(&oof, 0.10),
        bands: RiskBands {
            medium: training_lapse_rate.min(threshold),
            high: threshold,
        },
        training_lapse_rate,
        cv,
        odds_ratios: Vec::new(),
    };
    Ok((model, other))
}

/// The clients cross-validation runs on: a stratified, seeded sample of `max` when the
/// training part is larger, else all.
fn cv_sample(y: &[bool], max: usize, seed: u64) -> Vec<usize> {
    if y.len() > max {
        stratified_split(y, max as f64 / y.len() as f64, seed ^ 0xC5).1
    } else {
        (0..y.len()).collect()
    }
}

/// One cross-validation fit: the held-out fold's rows and predictions, and the weights.
struct FoldFit {
    test_rows: Vec<usize>,
    predictions: Vec<f64>,
    weights: Vec<f64>,
    intercept: f64,
}

/// Every (penalty, fold) fit, penalty-major. Folds run in parallel; within a fold the
/// penalties are fitted from the strongest to the weakest, each starting from the
/// previous solution (a regularisation path: the optimum moves little between
/// neighbouring penalties, so each fit takes a fraction of the iterations of a cold
/// start). Each fold's path is fixed, so results do not depend on threads.
fn fold_fits(
    x: ArrayView2<f64>,
    y: &[bool],
    params: &LapseParams,
    seed: u64,
    step: &(dyn Fn() + Sync),
) -> Result<Vec<FoldFit>> {
    let folds = stratified_folds(y, params.folds, seed ^ 0xF0);
    let mut path: Vec<usize> = (0..params.alphas.len()).collect();
    path.sort_by(|&a, &b| params.alphas[b].total_cmp(&params.alphas[a]));
    let per_fold: Vec<Vec<(usize, FoldFit)>> = (0..params.folds)
        .into_par_iter()
        .map(|f| {
            let (tr, te): (Vec<usize>, Vec<usize>) = (0..y.len()).partition(|&i| folds[i] != f);
            let ytr: Vec<bool> = tr.iter().map(|&i| y[i]).collect();
            let xtr = column_major(x.select(Axis(0), &tr).view()).into_owned();
            let xte = x.select(Axis(0), &te);
            let mut fits = Vec::with_capacity(path.len());
            // The strongest penalty starts from the intercept-only model.
            let rate = ytr.iter().filter(|&&v| v).count() as f64 / ytr.len().max(1) as f64;
            let rate = rate.clamp(1e-6, 1.0 - 1e-6);
            let mut start = (vec![0.0; x.ncols()], (rate / (1.0 - rate)).ln());
            for &a in &path {
                let warm = Some((start.0.as_slice(), start.1));
                let (w, b) = fit_once(
                    xtr.view(),
                    &ytr,
                    params.alphas[a],
                    params.max_iterations,
                    warm,
                )?;
                let predictions = predict(xte.view(), &w, b);
                step();
                start = (w.clone(), b);
                fits.push((
                    a,
                    FoldFit {
                        test_rows: te.clone(),
                        predictions,
                        weights: w,
                        intercept: b,
                    },
                ));
            }
            Ok(fits)
        })
        .collect::<Result<_>>()?;
    // Back to penalty-major order.
    let mut slots: Vec<Option<FoldFit>> = (0..params.alphas.len() * params.folds)
        .map(|_| None)
        .collect();
    for (f, fits) in per_fold.into_iter().enumerate() {
        for (a, fit) in fits {
            slots[a * params.folds + f] = Some(fit);
        }
    }
    Ok(slots.into_iter().flatten().collect())
}

/// The penalty with the least out-of-fold log-loss.
struct AlphaChoice {
    alpha: f64,
    /// Its position in `LapseParams::alphas`.
    index: usize,
    /// Its out-of-fold predictions (thresholds are chosen on them).
    oof: Vec<f64>,
    cv: Vec<CvPoint>,
}

fn choose_alpha(fits: &[FoldFit], y: &[bool], params: &LapseParams) -> Result<AlphaChoice> {
    let mut cv: Vec<CvPoint> = Vec::new();
    let mut best: Option<(usize, Vec<f64>)> = None;
    for (a, &alpha) in params.alphas.iter().enumerate() {
        let mut oof = vec![0.0; y.len()];
        for fit in &fits[a * params.folds..(a + 1) * params.folds] {
            for (&i, &pi) in fit.test_rows.iter().zip(&fit.predictions) {
                oof[i] = pi;
            }
        }
        let point = CvPoint {
            alpha,
            log_loss: metrics::log_loss(&oof, y),
            roc_auc: metrics::roc_auc(&oof, y),
        };
        if best
            .as_ref()
            .is_none_or(|&(b, _)| point.log_loss < cv[b].log_loss)
        {
            best = Some((a, oof));
        }
        cv.push(point);
    }
    let (index, oof) = best.ok_or_else(|| Error::Runtime("no penalty was tried".into()))?;
    Ok(AlphaChoice {
        alpha: params.alphas[index],
        index,
        oof,
        cv,
    })
}

/// The mean of some fits' weights and intercepts.
fn mean_fit(fits: &[FoldFit], n_columns: usize) -> (Vec<f64>, f64) {
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

/// Standard errors from the inverse of the penalised Hessian at the optimum
/// (X'WX + alpha on the weights, the intercept unpenalised).
fn odds_ratios(
    x: ArrayView2<f64>,
    w: &[f64],
    b: f64,
    alpha: f64,
    columns: &[String],
) -> Result<Vec<OddsRatio>> {
    let p = w.len();
    let mut h = Array2::<f64>::zeros((p + 1, p + 1));
    let mut xt = vec![0.0; p + 1];
    for row in x.axis_iter(Axis(0)) {
        xt[0] = 1.0;
        for (j, v) in row.iter().enumerate() {
            xt[j + 1] = *v;
        }
        let pr = sigmoid(b + row.iter().zip(w).map(|(a, c)| a * c).sum::<f64>());
        let wt = pr * (1.0 - pr);
        for i in 0..=p {
            let a = wt * xt[i];
            if a == 0.0 {
                continue;
            }
            for j in i..=p {
                h[[i, j]] += a * xt[j];
            }
        }
    }
    for i in 0..=p {
        for j in 0..i {
            h[[i, j]] = h[[j, i]];
        }
        if i > 0 {
            h[[i, i]] += alpha;
        }
    }
    let cov_diag = linalg::inverse_diagonal(&h).ok_or_else(|| {
        Error::Runtime("the Hessian of the lapse model is not positive definite".into())
    })?;
    Ok(columns
        .iter()
        .zip(w)
        .enumerate()
        .map(|(j, (name, &coef))| {
            let se = cov_diag[j + 1].max(0.0).sqrt();
            OddsRatio {
                feature: name.clone(),
                coefficient: coef,
                std_error: se,
                odds_ratio: coef.exp(),
                low: (coef - 1.96 * se).exp(),
                high: (coef + 1.96 * se).exp(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2,000 clients whose lapse log-odds are -1.5 + 1.2 x0 - 0.8 x1 (x2 is noise).
    fn data() -> (Array2<f64>, Vec<bool>) {
        use rand::Rng;
        let mut rng = Xoshiro256Plus::seed_from_u64(3);
        let n = 2000;
        let x = Array2::from_shape_fn((n, 3), |_| rng.gen_range(-2.0..2.0));
        let y = (0..n)
            .map(|i| {
                let z = -1.5 + 1.2 * x[[i, 0]] - 0.8 * x[[i, 1]];
                rng.gen::<f64>() < sigmoid(z)
            })
            .collect();
        (x, y)
    }

    #[test]
    fn recovers_oriented_coefficients_whichever_class_is_larger() {
        let (x, y) = data();
        let cols: Vec<String> = ["a", "b", "noise"].iter().map(|s| s.to_string()).collect();
        let params = LapseParams {
            alphas: vec![0.01, 1.0],
            ..LapseParams::default()
        }
        .check()
        .unwrap();
        let f = fit(x.view(), &y, &cols, &params, 9).unwrap();
        let m = &f;
        assert!(
            (m.coefficients[0] - 1.2).abs() < 0.25,
            "{:?}",
            m.coefficients
        );
        assert!(
            (m.coefficients[1] + 0.8).abs() < 0.25,
            "{:?}",
            m.coefficients
        );
        assert!(
            m.odds_ratios[0].low > 1.0 && m.odds_ratios[2].low < 1.0 && m.odds_ratios[2].high > 1.0
        );
        // Flipping the labels flips the model: orientation does not depend on class sizes.
        let flipped: Vec<bool> = y.iter().map(|v| !v).collect();
        let g = fit(x.view(), &flipped, &cols, &params, 9).unwrap();
        assert!((g.coefficients[0] + m.coefficients[0]).abs() < 0.05);
        // Contributions add up to the log-odds difference against the average client.
        let row = x.row(5);
        let z = |r: ArrayView1<f64>| {
            let p = m.probability(r);
            (p / (1.0 - p)).ln()
        };
        let centre = Array1::from(m.centres.clone());
        let total: f64 = m.contributions(row).iter().sum();
        assert!((total - (z(row) - z(centre.view()))).abs() < 1e-9);
    }

    #[test]
    fn a_single_class_is_refused_and_rules_parse() {
        let (x, _) = data();
        let y = vec![false; x.nrows()];
        let err = fit(
            x.view(),
            &y,
            &["a".into(), "b".into(), "c".into()],
            &LapseParams::default().check().unwrap(),
            1,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("0 lapsed"), "{err}");
        assert_eq!(
            "top:10".parse::<ThresholdRule>().unwrap(),
            ThresholdRule::TopShare(0.1)
        );
        assert!("top:0".parse::<ThresholdRule>().is_err());
        let (tr, te) = stratified_split(
            &[
                true, false, true, false, false, false, true, false, false, false,
            ],
            0.2,
            1,
        );
        assert_eq!(tr.len() + te.len(), 10);
        assert!(te.len() == 2 || te.len() == 3);
    }
}
