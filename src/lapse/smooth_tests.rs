//! The smoothed bins' penalty against the model it stands for, and the cross-validation
//! that chooses it.

use super::form::Form;
use super::solve::{fit_once, sigmoid};
use super::{fit, sparse, LapseParams};
use crate::features::NumericFeature;
use linfa::ParamGuard;
use linfa_logistic::{OffsetSparse, Penalty};
use ndarray::{array, Array1, Array2, ArrayView1, ShapeBuilder};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;

/// `n` rows of two features uniform on (-2, 2) and outcomes drawn from `logit`.
fn book(n: usize, seed: u64, logit: impl Fn(ArrayView1<f64>) -> f64) -> (Array2<f64>, Vec<bool>) {
    let mut rng = Xoshiro256Plus::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, 2).f(), |_| rng.gen_range(-2.0..2.0));
    let y = x
        .rows()
        .into_iter()
        .map(|r| rng.gen::<f64>() < sigmoid(logit(r)))
        .collect();
    (x, y)
}

/// Model-matrix column names and their numeric features, standardised, clipped at +-2.
fn features(names: &[&str]) -> (Vec<String>, Vec<NumericFeature>) {
    let cols: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let numeric = cols
        .iter()
        .map(|name| super::tests::standard_numeric(name, 2.0))
        .collect();
    (cols, numeric)
}

/// A wave in x0 with a sharp drop at 1.2 on it, a gentle slope in x1.
fn wave(r: ArrayView1<f64>) -> f64 {
    -1.0 + 1.5 * (3.0 * r[0]).sin() - 1.5 * f64::from(u8::from(r[0] > 1.2)) + 0.3 * r[1]
}

/// A smoothed form's fit is the ridge fit on standardised threshold indicators
/// `I(bin > k)`, one per cut (a first-difference penalty on the bins' weights): the same
/// log-odds for every client.
#[test]
fn smoothed_bins_fit_as_a_ridge_on_standardised_steps() {
    let (x, y) = book(3000, 3, wave);
    let form = Form::quantile(x.view(), 2, 12).smoothed();
    assert!(form.smooth && form.binned.len() == 2);
    let rows: Vec<usize> = (0..x.nrows()).collect();
    let tight = (300, 1e-12);
    let alpha = 3.0;
    let penalty = form.penalty(2).unwrap();
    let design = sparse::design(&form, x.view(), &rows).unwrap();
    let (w, b) = fit_once((&design, &penalty), &y, alpha, tight, None).unwrap();
    let (bin_weights, intercept) = form.to_indicators(2, &w, b);

    // The steps: column "above cut k" of each feature, centred and scaled by its own
    // share above, as a training run on these rows standardises a column.
    let mut steps: Vec<Vec<f64>> = Vec::new();
    for binned in &form.binned {
        let bins: Vec<usize> = x
            .column(binned.column)
            .iter()
            .map(|&v| binned.bin_of(v))
            .collect();
        for k in 0..binned.cuts.len() {
            let above: Vec<f64> = bins.iter().map(|&m| f64::from(u8::from(m > k))).collect();
            let share = above.iter().sum::<f64>() / above.len() as f64;
            let sd = (share * (1.0 - share)).sqrt();
            steps.push(above.iter().map(|a| (a - share) / sd).collect());
        }
    }
    let n = x.nrows();
    let dense = Array2::from_shape_fn((n, steps.len()).f(), |(i, k)| steps[k][i]);
    let ridge = Penalty::identity();
    let (ws, bs) = fit_once(
        (&OffsetSparse::from_dense(&dense), &ridge),
        &y,
        alpha,
        tight,
        None,
    )
    .unwrap();
    let worst = (0..n)
        .map(|i| {
            let on_steps = bs + dense.row(i).dot(&ndarray::ArrayView1::from(&ws));
            (form.log_odds(x.row(i), &bin_weights, intercept) - on_steps).abs()
        })
        .fold(0.0, f64::max);
    assert!(worst < 1e-6, "log-odds differ by up to {worst}");
    // Its bins are not the plain form's: the ridge on the weights is another model.
    let plain = Form::quantile(x.view(), 2, 12);
    let (wp, bp) = fit_once(
        (&sparse::design(&plain, x.view(), &rows).unwrap(), &ridge),
        &y,
        alpha,
        tight,
        None,
    )
    .unwrap();
    let (plain_weights, plain_intercept) = plain.to_indicators(2, &wp, bp);
    let gap = (0..n)
        .map(|i| {
            (plain.log_odds(x.row(i), &plain_weights, plain_intercept)
                - form.log_odds(x.row(i), &bin_weights, intercept))
            .abs()
        })
        .fold(0.0, f64::max);
    assert!(gap > 1e-3, "the smoothed fit is the plain one (gap {gap})");
}

/// Log loss of probabilities `p` on outcomes `y`.
fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    p.iter()
        .zip(y)
        .map(|(&p, &v)| -(if v { p } else { 1.0 - p }).clamp(1e-15, 1.0).ln())
        .sum::<f64>()
        / p.len() as f64
}

/// On a wave with a sharp drop, the cross-validation keeps 20 smoothed bins over 5 and
/// 10 plain ones, and the kept model predicts new clients better than the best plain
/// form does; its name says what it is.
#[test]
fn cross_validation_keeps_smoothed_bins_for_a_wave_with_a_drop() {
    let (x, y) = book(8000, 11, wave);
    let (fresh, fresh_y) = book(20_000, 12, wave);
    let (cols, numeric) = features(&["wave", "slope"]);
    let settings = |smooth: Vec<usize>| {
        LapseParams {
            bins: vec![0, 5, 10],
            smooth_bins: smooth,
            ..LapseParams::default()
        }
        .check()
        .unwrap()
    };
    let smoothed = fit(x.view(), &y, &cols, &numeric, &settings(vec![20]), 4).unwrap();
    let plain = fit(x.view(), &y, &cols, &numeric, &settings(vec![]), 4).unwrap();
    assert!(
        smoothed.form.smooth && smoothed.form.bins == 20,
        "{}",
        smoothed.form.describe()
    );
    assert_eq!(smoothed.form.describe(), "20 smoothed quantile bins");
    assert!(smoothed.cv.iter().any(|p| p.smooth) && plain.cv.iter().all(|p| !p.smooth));
    // The smoothed form's CV points come after the plain forms', the same ones.
    let plain_points = plain.cv.len();
    assert_eq!(smoothed.cv[..plain_points], plain.cv[..]);
    let fresh_loss = |m: &super::LapseModel| log_loss(&m.probabilities(fresh.view()), &fresh_y);
    let (s, p) = (fresh_loss(&smoothed), fresh_loss(&plain));
    assert!(
        s < p - 0.001,
        "new clients' log loss: smoothed {s:.5}, plain {p:.5}"
    );
    // Contributions still add up to the log-odds against the average client.
    let m = &smoothed;
    let average: f64 = m.intercept
        + m.coefficients
            .iter()
            .zip(&m.centres)
            .map(|(w, c)| w * c)
            .sum::<f64>();
    for i in [3, 400, 9000] {
        let p = m.probability(fresh.row(i));
        let total: f64 = m.contributions(fresh.row(i)).iter().sum();
        assert!((total - ((p / (1.0 - p)).ln() - average)).abs() < 1e-9);
    }
}

#[test]
fn a_penalty_block_must_be_square_symmetric_and_apart() {
    let ok = Penalty::<f64>::identity().with_block(1, array![[2.0, -1.0], [-1.0, 2.0]]);
    assert!(ok.is_ok());
    assert!(ok.unwrap().with_block(2, array![[1.0]]).is_err());
    let lopsided = Penalty::<f64>::identity().with_block(0, array![[1.0, 0.5], [0.0, 1.0]]);
    assert!(lopsided.is_err());
    assert!(Penalty::<f64>::identity()
        .with_block(0, Array2::zeros((2, 3)))
        .is_err());
    assert!(Penalty::<f64>::identity()
        .with_block(0, array![[f64::NAN]])
        .is_err());
}

/// At the fitted optimum the penalised gradient, `X'(p - y) + alpha P w`, vanishes;
/// a block that reaches past the design's columns is refused.
#[test]
fn the_fit_minimises_the_loss_under_a_block_penalty() {
    let x = array![
        [0.5, 1.0, -0.3],
        [-1.2, 0.2, 0.8],
        [0.3, -0.7, 1.5],
        [1.8, 0.4, -1.1],
        [-0.6, -1.4, 0.2],
        [0.9, 0.6, 0.7],
        [-1.5, 1.1, -0.4],
        [0.1, -0.2, -1.6]
    ];
    let y = array![true, false, true, true, false, true, false, false];
    let block = array![[1.5, -1.0], [-1.0, 1.5]];
    let penalty = Penalty::identity().with_block(1, block.clone()).unwrap();
    let alpha = 0.7;
    let design = OffsetSparse::from_dense(&x);
    let fitted = linfa_logistic::LogisticRegression::default()
        .alpha(alpha)
        .gradient_tolerance(1e-12)
        .max_iterations(100)
        .check()
        .unwrap()
        .fit_design_with(&design, &y, &penalty)
        .unwrap();
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let w: Array1<f64> = fitted.params().mapv(|v| sign * v);
    let b = sign * fitted.intercept();
    let p = x.dot(&w).mapv(|z| 1.0 / (1.0 + (-(z + b)).exp()));
    let r = &p - &y.mapv(|v| if v { 1.0 } else { 0.0 });
    let mut g = x.t().dot(&r);
    g[0] += alpha * w[0];
    let tail = block.dot(&w.slice(ndarray::s![1..]));
    g[1] += alpha * tail[0];
    g[2] += alpha * tail[1];
    assert!(
        g.iter().all(|v| v.abs() < 1e-8) && r.sum().abs() < 1e-8,
        "{g}"
    );
    let too_far = Penalty::identity().with_block(2, block).unwrap();
    let refused = linfa_logistic::LogisticRegression::default()
        .check()
        .unwrap()
        .fit_design_with(&design, &y, &too_far);
    assert!(matches!(
        refused,
        Err(linfa_logistic::error::Error::InvalidPenalty(_))
    ));
}

/// A 4 x 3 pair of two numeric sides, one cell empty.
fn small_pair() -> super::PairTerm {
    let side = |column: usize, width: usize| {
        super::PairSide::Bins(super::BinnedColumn {
            column,
            cuts: (1..width).map(|c| c as f64).collect(),
            ranges: (0..width).map(|b| (b as f64, b as f64 + 0.5)).collect(),
            shares: vec![1.0 / width as f64; width],
        })
    };
    let mut shares = vec![1.0 / 11.0; 12];
    shares[5] = 0.0;
    super::PairTerm {
        first: side(0, 4),
        second: side(1, 3),
        shares,
    }
}

/// `beta' M beta`.
fn quadratic(m: &Array2<f64>, beta: &Array1<f64>) -> f64 {
    beta.dot(&m.dot(beta))
}

/// A smoothed pair's block is symmetric and definite (an empty cell included), and a
/// smooth surface costs less than a rough one of the same size on the fitted scale.
#[test]
fn a_smoothed_pair_penalises_rough_surfaces_and_is_definite() {
    let pair = small_pair();
    let block = super::smoothing::pair_block(&pair).unwrap();
    assert_eq!(block.nrows(), 12);
    assert!((0..12).all(|i| (0..12).all(|j| block[[i, j]] == block[[j, i]])));
    // Definite without the cells' small ridge: the differences and the additive part
    // leave no pattern free, the empty cell's included.
    let mut without_ridge = block.clone();
    for k in 0..12 {
        without_ridge[[k, k]] -= super::smoothing::CELL_RIDGE;
    }
    assert!(super::linalg::inverse_diagonal(&without_ridge).is_some());
    // A bilinear surface (centred) and a checkerboard, scaled to the same norm.
    let smooth: Array1<f64> = (0..12)
        .map(|c| (c / 3) as f64 - 1.5)
        .zip((0..12).map(|c| (c % 3) as f64 - 1.0))
        .map(|(a, b)| a * b)
        .collect();
    let rough: Array1<f64> = (0..12)
        .map(|c| if (c / 3 + c % 3) % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let rough = &rough * (smooth.dot(&smooth) / rough.dot(&rough)).sqrt();
    let (s, r) = (quadratic(&block, &smooth), quadratic(&block, &rough));
    assert!(s * 5.0 < r, "smooth {s}, rough {r}");
    // Two categorical sides keep the ridge.
    let levels = |feature| super::PairSide::Levels {
        feature,
        first: 2 + 3 * feature,
        count: 3,
    };
    let categorical = super::PairTerm {
        first: levels(0),
        second: levels(1),
        shares: vec![1.0 / 9.0; 9],
    };
    assert!(super::smoothing::pair_block(&categorical).is_none());
}

/// On a smooth interaction (the log-odds move with x0 times x1), smoothed bins with a
/// pair predict new clients better than plain bins with the same pair, and both keep it.
#[test]
fn a_smoothed_pair_follows_a_smooth_interaction_better() {
    let surface = |r: ArrayView1<f64>| -1.0 + 0.4 * r[0] + 0.9 * r[0] * r[1];
    let (x, y) = book(6000, 21, surface);
    let (fresh, fresh_y) = book(20_000, 22, surface);
    let (cols, numeric) = features(&["a", "b"]);
    let settings = |bins: Vec<usize>, smooth_bins: Vec<usize>| {
        LapseParams {
            bins,
            smooth_bins,
            pairs: 2,
            pair_bins: vec![16],
            ..LapseParams::default()
        }
        .check()
        .unwrap()
    };
    let smoothed = fit(
        x.view(),
        &y,
        &cols,
        &numeric,
        &settings(vec![], vec![16]),
        4,
    )
    .unwrap();
    let plain = fit(
        x.view(),
        &y,
        &cols,
        &numeric,
        &settings(vec![16], vec![]),
        4,
    )
    .unwrap();
    for m in [&smoothed, &plain] {
        assert_eq!(m.form.pairs.len(), 1, "{}", m.form.describe());
    }
    assert!(smoothed.form.smooth && !plain.form.smooth);
    let fresh_loss = |m: &super::LapseModel| log_loss(&m.probabilities(fresh.view()), &fresh_y);
    let (s, p) = (fresh_loss(&smoothed), fresh_loss(&plain));
    assert!(
        s < p - 0.001,
        "new clients' log loss: smoothed {s:.5}, plain {p:.5}"
    );
}

/// A form or CV point written before smoothing existed reads as not smoothed, and a
/// plain one is written without the field (bundles keep their content digest).
#[test]
fn plain_forms_read_and_write_as_before_smoothing() {
    let point: super::CvPoint =
        serde_json::from_str(r#"{"bins": 10, "alpha": 1.0, "log_loss": 0.4, "roc_auc": 0.7}"#)
            .unwrap();
    assert!(!point.smooth);
    assert!(!serde_json::to_string(&point).unwrap().contains("smooth"));
    let (x, _) = book(200, 1, wave);
    let plain = Form::quantile(x.view(), 2, 5);
    let json = serde_json::to_string(&plain).unwrap();
    assert!(!json.contains("smooth"), "{json}");
    let read: Form = serde_json::from_str(&json).unwrap();
    assert_eq!(read, plain);
    let smoothed = serde_json::to_string(&plain.smoothed()).unwrap();
    assert!(serde_json::from_str::<Form>(&smoothed).unwrap().smooth);
}

/// The training's progress bar counts every fit the lapse model makes with smoothed
/// forms and pairs: midpoint paths, early stops, the stronger bins' step, and a plain
/// best binned form that skips it.
#[test]
fn progress_counts_every_fit_with_smoothed_forms_and_pairs() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let slope = |r: ArrayView1<f64>| -1.0 + 0.8 * r[0] + 0.3 * r[1];
    for (seed, logit) in [(5, wave as fn(ArrayView1<f64>) -> f64), (6, slope)] {
        let (x, y) = book(3000, seed, logit);
        let (cols, numeric) = features(&["a", "b"]);
        let params = LapseParams {
            bins: vec![0, 5],
            smooth_bins: vec![12],
            pairs: 2,
            pair_bins: vec![4, 8],
            ..LapseParams::default()
        }
        .check()
        .unwrap();
        let calls = AtomicU64::new(0);
        let data = super::TrainingPart {
            x: ndarray::CowArray::from(x.view()),
            y: &y,
            columns: &cols,
            numeric: &numeric,
            categorical: &[],
        };
        let step = || {
            calls.fetch_add(1, Ordering::Relaxed);
        };
        let m = super::fit_with_progress(data, &params, 3, &step).unwrap();
        assert_eq!(
            calls.load(Ordering::Relaxed),
            super::progress_steps(&params),
            "{}",
            m.form.describe()
        );
    }
}
