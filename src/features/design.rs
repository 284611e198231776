//! The fitted feature transform: from raw per-client features to the model matrix.
//! Fitted once on the training rows, saved in the bundle, and applied unchanged to every
//! later batch (no statistic is ever refit on the batch being scored).
//!
//! Numeric feature: clip to the training 0.5%/99.5% quantiles, `ln(1 + x)` when the
//! training values are non-negative and strongly skewed (skewness > 2), impute the training
//! median, standardise with the training mean and standard deviation. Categorical feature:
//! one-hot over levels held by at least `min_level_share` of training clients; rarer,
//! unseen and missing levels go to `<name>=other`.

use super::compute::RawFeatures;
use crate::error::{Error, Result};
use crate::ingest::{Book, Coded};
use crate::schema::Source;
use crate::stats::{self, Distribution};
use ndarray::{Array2, ArrayViewMut2, Axis, ShapeBuilder};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Clip bounds, as training quantiles.
const CLIP_QUANTILES: (f64, f64) = (0.005, 0.995);
/// Skewness above which a non-negative feature is log-transformed.
const LOG_SKEWNESS: f64 = 2.0;

/// One numeric feature's fitted statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NumericFeature {
    pub name: String,
    pub lower: f64,
    pub upper: f64,
    pub log: bool,
    /// Imputation value, in original units (after clipping).
    pub median: f64,
    /// Mean and standard deviation after clipping, imputation and the log.
    pub mean: f64,
    pub sd: f64,
    /// Share of training clients with the value missing.
    pub missing_share: f64,
    /// Training distribution in original units, for drift checks.
    pub distribution: Distribution,
}

impl NumericFeature {
    /// Clipped and imputed value in original units.
    pub fn clean(&self, x: f64) -> f64 {
        if x.is_nan() {
            self.median
        } else {
            x.clamp(self.lower, self.upper)
        }
    }

    /// The standardised value the models see.
    pub fn standardise(&self, x: f64) -> f64 {
        let v = self.clean(x);
        let v = if self.log { v.max(0.0).ln_1p() } else { v };
        (v - self.mean) / self.sd
    }

    /// Inverse of `standardise` for a value inside the clip range (segment centres).
    pub fn original(&self, z: f64) -> f64 {
        let v = z * self.sd + self.mean;
        if self.log {
            v.exp_m1()
        } else {
            v
        }
    }
}

/// One categorical feature's kept levels (everything else is `other`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoricalFeature {
    pub name: String,
    pub levels: Vec<String>,
    /// Training share of each kept level, then of `other`.
    pub shares: Vec<f64>,
}

impl CategoricalFeature {
    /// Index of a value's column among `levels` + other.
    pub fn slot(&self, value: Option<&str>) -> usize {
        value
            .and_then(|v| self.levels.iter().position(|l| l == v))
            .unwrap_or(self.levels.len())
    }
}

/// A feature left out of the models, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DroppedFeature {
    pub name: String,
    pub reason: String,
}

/// The whole fitted transform, in model-matrix column order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedFeatures {
    pub numeric: Vec<NumericFeature>,
    pub categorical: Vec<CategoricalFeature>,
    pub dropped: Vec<DroppedFeature>,
    pub min_level_share: f64,
}

/// The categorical columns of a book, by name; `None` when the book lacks the column.
pub fn categorical_columns(book: &Book) -> Vec<(String, Option<&Coded>)> {
    match book.mode {
        crate::config::Mode::Relational => super::CATEGORICAL
            .iter()
            .map(|name| {
                let col = book.table(Source::Clients).and_then(|t| t.coded(name));
                ((*name).to_string(), col)
            })
            .collect(),
        crate::config::Mode::Transactions => Vec::new(),
        crate::config::Mode::Flat => book
            .flat
            .as_ref()
            .map(|f| {
                f.categorical
                    .iter()
                    .map(|name| (name.clone(), f.table.coded(name)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

impl FittedFeatures {
    /// Fits the transform on the given training clients.
    ///
    /// A constant or all-missing numeric feature, and a categorical feature with a single
    /// level, carry no information: they are dropped and listed in `dropped` (the console
    /// and the bundle show them). Nothing left at all is an error.
    ///
    /// # Errors
    /// `Error::NoData` when no client is given or no usable feature remains.
    pub fn fit(
        raw: &RawFeatures,
        categorical: &[(String, Option<&Coded>)],
        rows: &[usize],
        min_level_share: f64,
    ) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::NoData("no clients to fit the features on".into()));
        }
        let (numeric, mut dropped) = fit_numerics(raw, rows);
        let mut cats = Vec::new();
        for (name, col) in categorical {
            let Some(col) = col else {
                dropped.push(DroppedFeature {
                    name: name.clone(),
                    reason: "column absent".into(),
                });
                continue;
            };
            let mut counts = vec![0usize; col.levels.len()];
            for &r in rows {
                if let Some(&code) = col.codes.get(r) {
                    if let Some(c) = counts.get_mut(code as usize) {
                        *c += 1;
                    }
                }
            }
            let n = rows.len() as f64;
            let mut kept: Vec<(String, usize)> = col
                .levels
                .iter()
                .zip(&counts)
                .filter(|(_, &c)| c as f64 >= min_level_share * n && c > 0)
                .map(|(l, &c)| (l.to_string(), c))
                .collect();
            kept.sort();
            let other = rows.len() - kept.iter().map(|(_, c)| c).sum::<usize>();
            if kept.len() + usize::from(other > 0) < 2 {
                dropped.push(DroppedFeature {
                    name: name.clone(),
                    reason: "a single level in the training data".into(),
                });
                continue;
            }
            let mut shares: Vec<f64> = kept.iter().map(|(_, c)| *c as f64 / n).collect();
            shares.push(other as f64 / n);
            cats.push(CategoricalFeature {
                name: name.clone(),
                levels: kept.into_iter().map(|(l, _)| l).collect(),
                shares,
            });
        }
        if numeric.is_empty() && cats.is_empty() {
            return Err(Error::NoData(format!(
                "no usable feature: {}",
                dropped
                    .iter()
                    .map(|d| format!("{} ({})", d.name, d.reason))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(FittedFeatures {
            numeric,
            categorical: cats,
            dropped,
            min_level_share,
        })
    }

    /// Model-matrix column names: numerics, then `<categorical>=<level>` and `=other`.
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = self.numeric.iter().map(|f| f.name.clone()).collect();
        for c in &self.categorical {
            for l in &c.levels {
                out.push(format!("{}={l}", c.name));
            }
            out.push(format!("{}=other", c.name));
        }
        out
    }

    pub fn n_columns(&self) -> usize {
        self.numeric.len()
            + self
                .categorical
                .iter()
                .map(|c| c.levels.len() + 1)
                .sum::<usize>()
    }

    /// Training mean of every model column: 0 for standardised numerics, the level's
    /// share for one-hot columns. Reason codes measure contributions against it.
    pub fn column_centres(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.numeric.len()];
        for c in &self.categorical {
            out.extend(&c.shares);
        }
        out
    }

    /// The model matrix of the given clients (rows in that order).
    ///
    /// # Errors
    /// `Error::NoData` when a fitted feature is missing from the batch (a schema
    /// mismatch between training and this data).
    pub fn transform(
        &self,
        raw: &RawFeatures,
        categorical: &[(String, Option<&Coded>)],
        rows: &[usize],
    ) -> Result<Array2<f64>> {
        self.transform_into(
            raw,
            categorical,
            rows,
            Array2::zeros((rows.len(), self.n_columns())),
        )
    }

    /// `transform` laid out column by column, as linfa's logistic fit wants it: a model
    /// matrix built this way is not copied again before fitting.
    ///
    /// # Errors
    /// As `transform`.
    pub fn transform_by_column(
        &self,
        raw: &RawFeatures,
        categorical: &[(String, Option<&Coded>)],
        rows: &[usize],
    ) -> Result<Array2<f64>> {
        let zeros = Array2::zeros((rows.len(), self.n_columns()).f());
        self.transform_into(raw, categorical, rows, zeros)
    }

    fn transform_into(
        &self,
        raw: &RawFeatures,
        categorical: &[(String, Option<&Coded>)],
        rows: &[usize],
        mut x: Array2<f64>,
    ) -> Result<Array2<f64>> {
        let numeric = self
            .numeric
            .iter()
            .map(|f| {
                raw.column(&f.name)
                    .ok_or_else(|| super::missing_feature(&f.name))
            })
            .collect::<Result<Vec<&[f64]>>>()?;
        let coded = self
            .categorical
            .iter()
            .map(|c| {
                let col = categorical
                    .iter()
                    .find(|(n, _)| *n == c.name)
                    .and_then(|(_, col)| *col)
                    .ok_or_else(|| {
                        Error::NoData(format!(
                            "categorical feature '{}' of the model is missing from this data",
                            c.name
                        ))
                    })?;
                Ok(SlotsByCode::of(c, col, rows.len()))
            })
            .collect::<Result<Vec<_>>>()?;
        // Blocks of rows on both cores: every cell is the same whatever the split.
        const BLOCK: usize = 16_384;
        x.axis_chunks_iter_mut(Axis(0), BLOCK)
            .into_par_iter()
            .zip(rows.par_chunks(BLOCK))
            .for_each(|(block, rows)| self.fill(block, rows, &numeric, &coded));
        Ok(x)
    }

    /// Fills the model-matrix rows of `rows` (a zeroed block).
    fn fill(
        &self,
        mut x: ArrayViewMut2<f64>,
        rows: &[usize],
        numeric: &[&[f64]],
        coded: &[SlotsByCode],
    ) {
        for (j, (f, col)) in self.numeric.iter().zip(numeric).enumerate() {
            for (i, &r) in rows.iter().enumerate() {
                x[[i, j]] = f.standardise(col.get(r).copied().unwrap_or(f64::NAN));
            }
        }
        let mut j = self.numeric.len();
        for c in coded {
            for (i, &r) in rows.iter().enumerate() {
                x[[i, j + c.slot(r)]] = 1.0;
            }
            j += c.other + 1;
        }
    }
}

/// A categorical feature's model-matrix slot for a client of a coded column: each
/// level's slot found once per call when the column has no more levels than the rows
/// asked for, else each client's level looked up by hash; both as
/// `CategoricalFeature::slot` of the client's text.
struct SlotsByCode<'a> {
    col: &'a Coded,
    kept: std::collections::HashMap<&'a str, usize>,
    by_code: Option<Vec<usize>>,
    /// The `other` slot: unseen and missing levels.
    other: usize,
}

impl<'a> SlotsByCode<'a> {
    fn of(feature: &'a CategoricalFeature, col: &'a Coded, rows: usize) -> Self {
        let mut kept = std::collections::HashMap::with_capacity(feature.levels.len());
        for (slot, level) in feature.levels.iter().enumerate() {
            kept.entry(level.as_str()).or_insert(slot);
        }
        let other = feature.levels.len();
        let by_code = (col.levels.len() <= rows).then(|| {
            col.levels
                .iter()
                .map(|l| kept.get(l).copied().unwrap_or(other))
                .collect()
        });
        SlotsByCode {
            col,
            kept,
            by_code,
            other,
        }
    }

    fn slot(&self, client: usize) -> usize {
        match &self.by_code {
            Some(by_code) => self
                .col
                .codes
                .get(client)
                .and_then(|&code| by_code.get(code as usize))
                .copied(),
            None => self.col.get(client).and_then(|l| self.kept.get(l)).copied(),
        }
        .unwrap_or(self.other)
    }
}

/// Every numeric feature fitted on its own (a sort each), in parallel, kept in column
/// order; with the ones dropped and why.
fn fit_numerics(raw: &RawFeatures, rows: &[usize]) -> (Vec<NumericFeature>, Vec<DroppedFeature>) {
    let fits: Vec<_> = raw
        .names
        .par_iter()
        .zip(&raw.columns)
        .map(|(name, col)| (name, fit_numeric(name, col, rows)))
        .collect();
    let mut numeric = Vec::new();
    let mut dropped = Vec::new();
    for (name, fit) in fits {
        match fit {
            Ok(f) => numeric.push(f),
            Err(reason) => dropped.push(DroppedFeature {
                name: name.clone(),
                reason,
            }),
        }
    }
    (numeric, dropped)
}

fn fit_numeric(
    name: &str,
    col: &[f64],
    rows: &[usize],
) -> std::result::Result<NumericFeature, String> {
    let mut present: Vec<f64> = rows
        .iter()
        .filter_map(|&r| col.get(r).copied())
        .filter(|x| !x.is_nan())
        .collect();
    let missing_share = 1.0 - present.len() as f64 / rows.len() as f64;
    if present.is_empty() {
        return Err("missing for every training client".into());
    }
    present.sort_by(f64::total_cmp);
    let (mut lower, mut upper) = (
        stats::quantile_sorted(&present, CLIP_QUANTILES.0),
        stats::quantile_sorted(&present, CLIP_QUANTILES.1),
    );
    let (min, max) = (present[0], present[present.len() - 1]);
    if lower >= upper && min < max {
        // A count non-zero for fewer than 0.5% of clients (a rare complaint, a claim) would
        // be capped into a constant and dropped: such a feature is kept uncapped.
        (lower, upper) = (min, max);
    }
    let median = stats::quantile_sorted(&present, 0.5);
    let distribution = Distribution::fit_sorted(&present, missing_share);
    let clipped: Vec<f64> = present.iter().map(|x| x.clamp(lower, upper)).collect();
    let log = lower >= 0.0 && stats::skewness(&clipped) > LOG_SKEWNESS;
    // Imputed values count at the median, as the models will see them.
    let n_missing = rows.len() - present.len();
    let transform = |v: f64| if log { v.max(0.0).ln_1p() } else { v };
    let values = clipped
        .iter()
        .map(|&v| transform(v))
        .chain(std::iter::repeat_n(transform(median), n_missing));
    let (mean, sd) = stats::mean_sd(values);
    if sd.is_nan() || sd <= 1e-12 {
        return Err(if min < max {
            format!(
                "constant after capping at its {}% and {}% quantiles ({lower} to {upper})",
                CLIP_QUANTILES.0 * 100.0,
                CLIP_QUANTILES.1 * 100.0
            )
        } else {
            format!("constant ({median}) for every training client")
        });
    }
    Ok(NumericFeature {
        name: name.to_string(),
        lower,
        upper,
        log,
        median,
        mean,
        sd,
        missing_share,
        distribution,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;

    #[test]
    fn slots_by_code_are_the_slots_of_the_clients_texts() {
        let mut col = Coded::with_capacity(8);
        for v in ["b", "a", "", "c", "b"] {
            col.push(v);
        }
        col.push_missing();
        let feature = CategoricalFeature {
            name: "channel".into(),
            levels: vec!["b".into(), String::new(), "z".into()],
            shares: vec![0.4, 0.2, 0.1, 0.3],
        };
        // Clients past the column's end, too: `other`, as their missing text is.
        let clients = 0..8;
        // A table per code (levels <= rows) and a lookup per client (more levels).
        for rows in [8, 2] {
            let slots = SlotsByCode::of(&feature, &col, rows);
            assert_eq!(slots.by_code.is_some(), rows == 8);
            for c in clients.clone() {
                assert_eq!(
                    slots.slot(c),
                    feature.slot(col.get(c)),
                    "client {c}, {rows}"
                );
            }
        }
    }

    fn raw(cols: Vec<(&str, Vec<f64>)>) -> RawFeatures {
        let n = cols.first().map_or(0, |c| c.1.len());
        RawFeatures {
            cutoff: Date::from_ymd(2025, 1, 31).unwrap(),
            names: cols.iter().map(|c| c.0.to_string()).collect(),
            columns: cols.into_iter().map(|c| c.1).collect(),
            active: vec![true; n],
            facts: crate::features::Facts::default(),
        }
    }

    #[test]
    fn a_rare_count_survives_the_caps() {
        // Non-zero for 3 clients in 1,000 (0.3%): the 99.5% cap would make it 0 for all.
        let rare: Vec<f64> = (0..1000)
            .map(|i| if i % 333 == 7 { 2.0 } else { 0.0 })
            .collect();
        let r = raw(vec![("complaints", rare), ("zeros", vec![0.0; 1000])]);
        let rows: Vec<usize> = (0..1000).collect();
        let f = FittedFeatures::fit(&r, &[], &rows, 0.01).unwrap();
        assert_eq!(f.numeric.len(), 1);
        let kept = &f.numeric[0];
        assert_eq!(
            (kept.name.as_str(), kept.lower, kept.upper),
            ("complaints", 0.0, 2.0)
        );
        assert!(kept.sd > 0.0);
        assert_eq!(f.dropped.len(), 1);
        assert!(f.dropped[0]
            .reason
            .contains("constant (0) for every training client"));
    }

    #[test]
    fn constant_and_missing_features_are_dropped_and_the_rest_standardised() {
        let r = raw(vec![
            ("x", vec![1.0, 2.0, 3.0, f64::NAN]),
            ("constant", vec![5.0; 4]),
            ("empty", vec![f64::NAN; 4]),
        ]);
        let rows = [0, 1, 2, 3];
        let f = FittedFeatures::fit(&r, &[], &rows, 0.01).unwrap();
        assert_eq!(f.columns(), vec!["x"]);
        let names: Vec<_> = f.dropped.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["constant", "empty"]);
        let x = f.transform(&r, &[], &rows).unwrap();
        // The missing value is imputed at the median (2), which standardises to 0 here.
        assert!((x[[3, 0]]).abs() < 1e-12);
        assert!((x.column(0).sum()).abs() < 1e-9);
        // Statistics are reused, not refit: a new batch of one client keeps the scale.
        let one = raw(vec![("x", vec![3.0])]);
        let y = f.transform(&one, &[], &[0]).unwrap();
        assert!((y[[0, 0]] - x[[2, 0]]).abs() < 1e-12);
    }

    #[test]
    fn rare_and_unseen_levels_go_to_other() {
        let mut col = Coded::with_capacity(10);
        for v in ["a", "a", "a", "a", "b", "b", "b", "b", "c", "a"] {
            col.push(v);
        }
        col.freeze();
        let r = raw(vec![("x", (0..10).map(f64::from).collect())]);
        let cats = vec![("kind".to_string(), Some(&col))];
        let rows: Vec<usize> = (0..10).collect();
        let f = FittedFeatures::fit(&r, &cats, &rows, 0.15).unwrap();
        assert_eq!(f.columns(), vec!["x", "kind=a", "kind=b", "kind=other"]);
        let x = f.transform(&r, &cats, &rows).unwrap();
        assert_eq!(x.row(8).to_vec()[1..], [0.0, 0.0, 1.0]);
        assert!(FittedFeatures::fit(&raw(vec![("e", vec![f64::NAN])]), &[], &[0], 0.1).is_err());
    }
}
