//! Next-best product (relational mode): for each product of the book, the propensity to
//! acquire it within the horizon among clients in force at the cut-off who do not hold
//! it, fitted with linfa-logistic on the lapse model's own model matrix (one feature
//! pipeline), with a held-out AUC and lift and a threshold chosen in training. Labeling
//! names, for each client in force, the product with the highest propensity among those
//! it does not hold, when that propensity clears the product's threshold.

use crate::error::Result;
use crate::features::products::ProductFacts;
use crate::features::NumericFeature;
use crate::lapse::{self, LapseModel, LapseParams, Metrics};
use ndarray::{ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// Products with fewer acquisitions in the training window are listed and skipped.
pub const MIN_ACQUISITIONS: usize = 50;
/// Eligible clients each product model is fitted and tested on, at most (a stratified
/// sample above that): a propensity over ~50 columns needs no more, and the training
/// run stays within its time.
const SAMPLE: usize = 20_000;

/// A next-best product model's numbers, on its held-out eligible clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductMetrics {
    pub product: String,
    pub eligible: usize,
    pub acquisitions: usize,
    pub roc_auc: f64,
    pub lift_at_10: Option<f64>,
    pub threshold: f64,
}

/// One product's propensity model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductModel {
    pub product: String,
    /// Linear logistic model over the lapse model's matrix; its `threshold` (best F1 on
    /// out-of-fold predictions) is the propensity a client must reach to be offered it.
    pub model: LapseModel,
    /// Eligible clients (in force, not holding it) and how many acquired it.
    pub eligible: usize,
    pub acquisitions: usize,
    /// On held-out eligible clients.
    pub test: Metrics,
}

/// A product without a model, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkippedProduct {
    pub product: String,
    pub reason: String,
}

/// Every product's propensity model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductModels {
    pub models: Vec<ProductModel>,
    pub skipped: Vec<SkippedProduct>,
}

/// The model matrix of the clients in force and what the product models see of them.
pub struct ProductInput<'a> {
    /// Model matrix; row r is client `active[r]`.
    pub x: ArrayView2<'a, f64>,
    pub active: &'a [usize],
    pub columns: &'a [String],
    pub numeric: &'a [NumericFeature],
    pub facts: &'a ProductFacts,
}

/// Fits one propensity model per product with enough acquisitions.
///
/// # Errors
/// A failed fit.
pub fn fit(input: &ProductInput, params: &LapseParams, seed: u64) -> Result<ProductModels> {
    let mut out = ProductModels::default();
    let settings = LapseParams {
        bins: vec![0],
        alphas: vec![10.0, 100.0],
        folds: 3,
        threshold: lapse::ThresholdRule::BestF1,
        cv_sample: SAMPLE,
        ..params.clone()
    }
    .check()?;
    for (k, name) in input.facts.names.iter().enumerate() {
        let bit = 1u64 << k;
        let (rows, y): (Vec<usize>, Vec<bool>) = input
            .active
            .iter()
            .enumerate()
            .filter(|(_, &c)| input.facts.held.get(c).is_some_and(|h| h & bit == 0))
            .map(|(r, &c)| (r, input.facts.acquired.get(c).is_some_and(|a| a & bit != 0)))
            .unzip();
        let acquisitions = y.iter().filter(|&&v| v).count();
        if acquisitions < MIN_ACQUISITIONS {
            out.skipped.push(SkippedProduct {
                product: name.clone(),
                reason: format!(
                    "{acquisitions} acquisitions within the horizon among {} eligible clients: \
                     too few to fit (at least {MIN_ACQUISITIONS})",
                    rows.len()
                ),
            });
            continue;
        }
        let product_seed = seed ^ (0x9E37_79B9 * (k as u64 + 1));
        // A stratified sample of at most SAMPLE eligible clients, then train and test.
        let keep: Vec<usize> = if rows.len() > SAMPLE {
            lapse::stratified_split(&y, SAMPLE as f64 / rows.len() as f64, product_seed).1
        } else {
            (0..rows.len()).collect()
        };
        let ys: Vec<bool> = keep.iter().map(|&i| y[i]).collect();
        let (train, test) = lapse::stratified_split(&ys, params.test_share, product_seed ^ 0x7E);
        let pick = |part: &[usize]| -> Vec<usize> { part.iter().map(|&i| rows[keep[i]]).collect() };
        let xtr = input.x.select(Axis(0), &pick(&train));
        let ytr: Vec<bool> = train.iter().map(|&i| ys[i]).collect();
        let data = lapse::TrainingPart {
            x: xtr.into(),
            y: &ytr,
            columns: input.columns,
            numeric: input.numeric,
            categorical: &[],
        };
        let model = lapse::fit_without_intervals(data, &settings, product_seed)?;
        let xte = input.x.select(Axis(0), &pick(&test));
        let yte: Vec<bool> = test.iter().map(|&i| ys[i]).collect();
        let p = model.probabilities(xte.view());
        let test = lapse::metrics::evaluate(&p, &yte, model.threshold);
        out.models.push(ProductModel {
            product: name.clone(),
            model,
            eligible: rows.len(),
            acquisitions,
            test,
        });
    }
    Ok(out)
}

impl ProductModels {
    /// Each model's held-out numbers, for `metrics.json`.
    pub fn metrics(&self) -> Vec<ProductMetrics> {
        self.models
            .iter()
            .map(|m| ProductMetrics {
                product: m.product.clone(),
                eligible: m.eligible,
                acquisitions: m.acquisitions,
                roc_auc: m.test.roc_auc,
                lift_at_10: m.test.lift_at(0.1),
                threshold: m.model.threshold,
            })
            .collect()
    }

    /// The product names, in bit order for `product_facts`.
    pub fn names(&self) -> Vec<String> {
        self.models.iter().map(|m| m.product.clone()).collect()
    }

    /// Each product's propensity for a client in force (model-matrix `row`, holdings
    /// `held` in the bit order of `names`); `None` for a product it holds.
    pub fn propensities(&self, row: ArrayView1<f64>, held: u64) -> Vec<Option<f64>> {
        self.models
            .iter()
            .enumerate()
            .map(|(k, m)| (held & (1u64 << k) == 0).then(|| m.model.probability(row)))
            .collect()
    }

    /// The next-best product among `propensities`: the highest one that clears its
    /// product's threshold, as (model index, propensity).
    pub fn next_of(&self, propensities: &[Option<f64>]) -> Option<(usize, f64)> {
        self.models
            .iter()
            .zip(propensities)
            .enumerate()
            .filter_map(|(k, (m, p))| p.filter(|p| *p >= m.model.threshold).map(|p| (k, p)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }

    /// `next_of` the client's propensities.
    pub fn next(&self, row: ArrayView1<f64>, held: u64) -> Option<(usize, f64)> {
        self.next_of(&self.propensities(row, held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn a_product_with_enough_acquisitions_gets_a_model_and_a_rare_one_is_listed() {
        // 3,000 clients in force; "often" is acquired by a third of those with x0 > 0,
        // "rare" by 10 clients; everyone holds "held" already.
        let n = 3000;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| {
            let v = ((i * 7919 + j * 104_729) % 1000) as f64 / 500.0 - 1.0;
            if j == 0 {
                v
            } else {
                v * 0.5
            }
        });
        let names: Vec<String> = ["often", "rare", "held"].map(String::from).to_vec();
        let mut acquired = vec![0u64; n];
        for i in 0..n {
            if x[[i, 0]] > 0.0 && i % 3 == 0 {
                acquired[i] |= 1;
            }
            if i < 10 {
                acquired[i] |= 2;
            }
        }
        let facts = ProductFacts {
            names,
            held: vec![4; n],
            acquired,
        };
        let active: Vec<usize> = (0..n).collect();
        let columns = vec!["x0".to_string(), "x1".to_string()];
        let input = ProductInput {
            x: x.view(),
            active: &active,
            columns: &columns,
            numeric: &[],
            facts: &facts,
        };
        let fitted = fit(&input, &LapseParams::default(), 3).unwrap();
        assert_eq!(fitted.names(), ["often"]);
        assert!(
            fitted.models[0].test.roc_auc > 0.7,
            "{}",
            fitted.models[0].test.roc_auc
        );
        let skipped: Vec<&str> = fitted.skipped.iter().map(|s| s.product.as_str()).collect();
        assert_eq!(skipped, ["rare", "held"]);
        assert!(
            fitted.skipped[0].reason.contains("10 acquisitions"),
            "{:?}",
            fitted.skipped
        );
        // The next product is the one not held whose propensity clears its threshold.
        let high = ndarray::array![0.9, 0.0];
        let low = ndarray::array![-0.9, 0.0];
        assert_eq!(fitted.next(high.view(), 0).map(|(k, _)| k), Some(0));
        assert_eq!(fitted.next(high.view(), 1), None);
        assert_eq!(fitted.next(low.view(), 0), None);
    }
}
