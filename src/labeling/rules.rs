//! The business labels: value tier, lifecycle stage and reason codes in words (the
//! recommended action comes from the config's checked `ActionTable`).

use crate::bundle::Bundle;
use crate::config::Mode;
use crate::features::{Feature, RawFeatures};
use crate::vocab::{LifecycleStage, RiskBand, ValueTier};

/// Training quantiles the tier rules compare against (from the stored decile edges).
pub struct TierCuts {
    mode: Mode,
    /// (median, 80th percentile) of the value feature: premium in force or 12-month spend.
    value: Option<(f64, f64)>,
    burden_median: Option<f64>,
}

impl TierCuts {
    pub fn from_bundle(b: &Bundle) -> Self {
        let deciles = |feature: Feature| {
            b.features
                .numeric
                .iter()
                .find(|f| f.name == feature.name())
                .map(|f| f.distribution.edges.clone())
        };
        let at = |e: &Vec<f64>, i: usize| e.get(i).or(e.last()).copied();
        let value_feature = if b.config.mode == Mode::Transactions {
            Feature::Amount12m
        } else {
            Feature::PremiumInForce
        };
        let value = deciles(value_feature).and_then(|e| Some((at(&e, 4)?, at(&e, 7)?)));
        TierCuts {
            mode: b.config.mode,
            value,
            burden_median: deciles(Feature::PremiumBurden).and_then(|e| at(&e, 4)),
        }
    }
}

/// Raw feature columns resolved once per batch, by `Feature` (for the rules) and in the
/// order of the model's numeric features (for the reasons): both are read for every
/// client, which must not mean a scan of the feature list each time.
pub struct FeatureColumns<'a> {
    by_feature: Vec<Option<&'a [f64]>>,
    model_numeric: Vec<Option<&'a [f64]>>,
}

impl<'a> FeatureColumns<'a> {
    /// The raw column of each of the model's numeric features, in model order.
    pub fn model_numeric_columns(&self) -> impl Iterator<Item = &Option<&'a [f64]>> + '_ {
        self.model_numeric.iter()
    }

    pub fn new(b: &Bundle, raw: &'a RawFeatures) -> Self {
        let mut by_feature = vec![None; Feature::ALL.len()];
        for (name, column) in raw.names.iter().zip(&raw.columns) {
            if let Some(f) = Feature::in_mode(b.config.mode, name) {
                by_feature[f as usize] = Some(column.as_slice());
            }
        }
        let model_numeric = b
            .features
            .numeric
            .iter()
            .map(|f| raw.column(&f.name))
            .collect();
        FeatureColumns {
            by_feature,
            model_numeric,
        }
    }
}

/// One client's raw features.
pub struct ClientView<'a> {
    pub columns: &'a FeatureColumns<'a>,
    pub client: usize,
}

impl ClientView<'_> {
    /// The client's raw value of a feature (NaN when missing or not computed).
    pub fn get(&self, feature: Feature) -> f64 {
        self.columns
            .by_feature
            .get(feature as usize)
            .copied()
            .flatten()
            .and_then(|c| c.get(self.client))
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// The client's raw value of the model's `j`th numeric feature (NaN when missing).
    pub fn model_numeric(&self, j: usize) -> f64 {
        self.columns
            .model_numeric
            .get(j)
            .copied()
            .flatten()
            .and_then(|c| c.get(self.client))
            .copied()
            .unwrap_or(f64::NAN)
    }
}

/// Value tier (documented in the README):
/// relational: high = premium in force in the training top 20% with renewal rate >= 90%
/// and claims ratio <= 1; low = at most one policy with premium below the training median,
/// or claims above premiums paid; potential = under 40 with a premium burden below the
/// training median (under-insured for their income); general = the rest.
/// Transactions: the same on 12-month spend, with "low" = at most one transaction in 12
/// months and "potential" = tenure under 2 years. Flat: n/a (no value features known).
pub fn value_tier(cuts: &TierCuts, c: &ClientView) -> ValueTier {
    let Some((median, p80)) = cuts.value else {
        return ValueTier::NotApplicable;
    };
    match cuts.mode {
        Mode::Flat => ValueTier::NotApplicable,
        Mode::Transactions => {
            let spend = c.get(Feature::Amount12m);
            if spend >= p80 {
                ValueTier::High
            } else if c.get(Feature::Transactions12m) <= 1.0 {
                ValueTier::Low
            } else if c.get(Feature::TransactionTenure) < 2.0 {
                ValueTier::Potential
            } else {
                ValueTier::General
            }
        }
        Mode::Relational => {
            let premium = c.get(Feature::PremiumInForce);
            let renewal = c.get(Feature::RenewalRate12m);
            let claims = c.get(Feature::ClaimsRatio);
            let renews = renewal.is_nan() || renewal >= 0.9;
            let claims_ok = claims.is_nan() || claims <= 1.0;
            if premium >= p80 && renews && claims_ok {
                ValueTier::High
            } else if (c.get(Feature::Policies) <= 1.0 && premium < median) || !claims_ok {
                ValueTier::Low
            } else if c.get(Feature::Age) < 40.0
                && cuts
                    .burden_median
                    .is_some_and(|m| c.get(Feature::PremiumBurden) < m)
            {
                ValueTier::Potential
            } else {
                ValueTier::General
            }
        }
    }
}

/// Lifecycle stage (documented in the README): lapsed = no policy in force (or, with
/// transactions, none in 12 months), potential = known but never held a policy, new =
/// first policy within the last year, at risk = a missed premium or a complaint in the last
/// 6 months or a high risk band, loyal = the rest. Flat: at risk (high band) or loyal.
pub fn lifecycle(
    mode: Mode,
    c: &ClientView,
    active: bool,
    band: Option<RiskBand>,
) -> LifecycleStage {
    match mode {
        Mode::Flat => {
            if band == Some(RiskBand::High) {
                LifecycleStage::AtRisk
            } else {
                LifecycleStage::Loyal
            }
        }
        Mode::Transactions => {
            let recency = c.get(Feature::DaysSinceTransaction);
            if !active || recency.is_nan() || recency > 365.0 {
                LifecycleStage::Lapsed
            } else if c.get(Feature::TransactionTenure) < 1.0 {
                LifecycleStage::New
            } else if band == Some(RiskBand::High) || c.get(Feature::DaysSinceTransaction) > 90.0 {
                LifecycleStage::AtRisk
            } else {
                LifecycleStage::Loyal
            }
        }
        Mode::Relational => {
            let tenure = c.get(Feature::TenureYears);
            if !active {
                if tenure.is_nan() {
                    LifecycleStage::Potential
                } else {
                    LifecycleStage::Lapsed
                }
            } else if tenure < 1.0 {
                LifecycleStage::New
            } else if band == Some(RiskBand::High)
                || c.get(Feature::Missed6m) > 0.0
                || c.get(Feature::Complaints6m) > 0.0
            {
                LifecycleStage::AtRisk
            } else {
                LifecycleStage::Loyal
            }
        }
    }
}

/// The top `n` risk-raising reasons in words, from the exact log-odds contributions.
/// One-hot columns of the same categorical are summed into one reason. Ties in
/// contribution go to the alphabetically first wording.
pub fn reasons(
    b: &Bundle,
    row: &[f64],
    contributions: &[f64],
    c: &ClientView,
    n: usize,
) -> Vec<String> {
    let fitted = &b.features;
    // Ranked on the numbers first; only the few that can make the top `n` are put into
    // words (wording every positive contribution of every client cost a third of labeling).
    let mut items: Vec<(f64, Reason)> = Vec::new();
    for (j, contrib) in contributions.iter().take(fitted.numeric.len()).enumerate() {
        if *contrib > 0.0 {
            items.push((*contrib, Reason::Numeric(j)));
        }
    }
    let mut j = fitted.numeric.len();
    for (k, cat) in fitted.categorical.iter().enumerate() {
        let width = cat.levels.len() + 1;
        let slice = contributions.get(j..j + width).unwrap_or(&[]);
        let total: f64 = slice.iter().sum();
        if total > 0.0 {
            let own = row
                .get(j..j + width)
                .and_then(|r| r.iter().position(|&v| v == 1.0))
                .unwrap_or(cat.levels.len());
            items.push((total, Reason::Level(k, own)));
        }
        j += width;
    }
    items.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Everything tied with the n-th contribution competes on its wording.
    let last = items.get(n.saturating_sub(1)).map(|item| item.0);
    let mut worded: Vec<(f64, String)> = items
        .into_iter()
        .take_while(|(contrib, _)| last.is_some_and(|l| contrib.total_cmp(&l).is_ge()))
        .map(|(contrib, reason)| (contrib, reason.words(b, c)))
        .collect();
    worded.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    worded.into_iter().take(n).map(|(_, s)| s).collect()
}

/// A reason before it is put into words.
#[derive(Clone, Copy)]
enum Reason {
    /// A numeric model column (its index among the numeric features).
    Numeric(usize),
    /// A categorical feature (its index) and the client's level (index; past the end for
    /// the pooled "other").
    Level(usize, usize),
}

impl Reason {
    fn words(self, b: &Bundle, c: &ClientView) -> String {
        let fitted = &b.features;
        match self {
            Reason::Numeric(j) => {
                let Some(f) = fitted.numeric.get(j) else {
                    return String::new();
                };
                let v = c.model_numeric(j);
                let shown = if v.is_nan() { f.median } else { v };
                let missing = if v.is_nan() { ", missing" } else { "" };
                if let Some(bins) = b.lapse.form.binned_column(j) {
                    // A scorecard model explains a client by the bin it falls in.
                    let bin = bins.bin_of(f.standardise(shown));
                    return format!(
                        "{}: {}{missing} (typical {})",
                        f.name.replace('_', " "),
                        crate::lapse::bin_words(f, bins, bin),
                        number(f.median)
                    );
                }
                let direction = if f.standardise(shown) >= 0.0 {
                    "high"
                } else {
                    "low"
                };
                format!(
                    "{} {direction} ({}{missing}; typical {})",
                    f.name.replace('_', " "),
                    number(shown),
                    number(f.median)
                )
            }
            Reason::Level(k, own) => {
                let Some(cat) = fitted.categorical.get(k) else {
                    return String::new();
                };
                let level = cat.levels.get(own).map_or("other", String::as_str);
                format!("{} is {level}", cat.name.replace('_', " "))
            }
        }
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
