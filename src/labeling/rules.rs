//! The business labels: value tier, lifecycle stage and reason codes in words (the
//! recommended action comes from the config's checked `ActionTable`).

use crate::bundle::Bundle;
use crate::config::{Mode, StageSettings, TierBasis, TierSettings};
use crate::date::Date;
use crate::features::{CoverEnd, Facts, Feature, RawFeatures};
use crate::vocab::{ExitState, LapseOutcome, LifecycleStage, RiskBand, Signal, Signals, ValueTier};

/// Training quantiles the tier rules compare against (read from the stored
/// distributions), with the thresholds they were read for.
pub struct TierCuts {
    mode: Mode,
    settings: TierSettings,
    /// (low, high) cuts of the value measure: premium in force or 12-month spend.
    value: Option<(f64, f64)>,
    burden: Option<f64>,
    /// The premium burden from which a client is premium-stretched.
    stretched: Option<f64>,
}

impl TierCuts {
    /// Cuts given directly: (low, high) of the value measure and the burden cut.
    pub fn new(
        mode: Mode,
        settings: &TierSettings,
        value: Option<(f64, f64)>,
        burden: Option<f64>,
    ) -> Self {
        TierCuts {
            mode,
            settings: settings.clone(),
            value,
            burden,
            stretched: None,
        }
    }

    /// With the premium burden from which a client is premium-stretched.
    #[must_use]
    pub fn with_stretched(mut self, burden: Option<f64>) -> Self {
        self.stretched = burden;
        self
    }

    pub fn from_bundle(b: &Bundle, settings: &TierSettings) -> Self {
        let quantile = |feature: Feature, q: f64| {
            b.features
                .numeric
                .iter()
                .find(|f| f.name == feature.name())
                .and_then(|f| quantile_of(&f.distribution, q))
        };
        let value_feature = if b.config.mode == Mode::Transactions {
            Feature::Amount12m
        } else {
            Feature::PremiumInForce
        };
        let value = match (b.config.mode, settings.basis) {
            (Mode::Relational, TierBasis::LifetimeValue) => b
                .retention
                .as_ref()
                .and_then(|r| r.value_distribution.as_ref())
                .and_then(|d| {
                    quantile_of(d, settings.low_quantile)
                        .zip(quantile_of(d, settings.high_quantile))
                }),
            _ => quantile(value_feature, settings.low_quantile)
                .zip(quantile(value_feature, settings.high_quantile)),
        };
        TierCuts {
            mode: b.config.mode,
            settings: settings.clone(),
            value,
            burden: quantile(Feature::PremiumBurden, settings.potential_burden_quantile),
            stretched: quantile(Feature::PremiumBurden, settings.stretched_burden_quantile),
        }
    }
}

/// The `q` quantile of a stored training distribution: the first bin edge whose
/// cumulative share reaches `q` (the top edge past them all).
pub fn quantile_of(d: &crate::stats::Distribution, q: f64) -> Option<f64> {
    let mut cumulative = 0.0;
    for (edge, share) in d.edges.iter().zip(&d.shares) {
        cumulative += share;
        if cumulative >= q - 1e-9 {
            return Some(*edge);
        }
    }
    d.edges.last().copied()
}

/// Raw feature columns resolved once per batch, by `Feature` (for the rules) and in the
/// order of the model's numeric features (for the reasons): both are read for every
/// client, which must not mean a scan of the feature list each time.
pub struct FeatureColumns<'a> {
    by_feature: Vec<Option<&'a [f64]>>,
    model_numeric: Vec<Option<&'a [f64]>>,
    facts: &'a Facts,
    cutoff: Date,
}

impl<'a> FeatureColumns<'a> {
    /// The raw column of each of the model's numeric features, in model order.
    pub fn model_numeric_columns(&self) -> impl Iterator<Item = &Option<&'a [f64]>> + '_ {
        self.model_numeric.iter()
    }

    pub fn new(b: &Bundle, raw: &'a RawFeatures) -> Self {
        let mut columns = FeatureColumns::of_raw(b.config.mode, raw);
        columns.model_numeric = b
            .features
            .numeric
            .iter()
            .map(|f| raw.column(&f.name))
            .collect();
        columns
    }

    /// The columns the stage and tier rules read, without a model (no reasons).
    pub fn of_raw(mode: Mode, raw: &'a RawFeatures) -> Self {
        let mut by_feature = vec![None; Feature::ALL.len()];
        for (name, column) in raw.names.iter().zip(&raw.columns) {
            if let Some(f) = Feature::in_mode(mode, name) {
                by_feature[f as usize] = Some(column.as_slice());
            }
        }
        FeatureColumns {
            by_feature,
            model_numeric: Vec::new(),
            facts: &raw.facts,
            cutoff: raw.cutoff,
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

    /// The client's relationship facts.
    pub fn facts(&self) -> &Facts {
        self.columns.facts
    }

    /// Years from the client's return after a lapse to the cut-off, if it returned.
    pub fn years_since_return(&self) -> Option<f64> {
        let returned = self.columns.facts.returned(self.client)?;
        Some(self.columns.cutoff.years_since(returned))
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

/// Value tier (docs/domain.md, "Value tier"). Relational: high = value measure at or
/// above the high quantile with collection and renewal rates at or above their minimums
/// and no heavy claims; low = few policies with the value measure below the low quantile, or heavy
/// claims (above the claims ratio in several distinct years: one claim is the product
/// working); potential = young with a premium burden below its quantile; general = the
/// rest. Transactions: high on 12-month spend, low = few transactions, potential = short
/// tenure. Flat: n/a.
///
/// `lifetime_value`: the client's (none when not scored); the value measure with
/// `[tiers] basis = "lifetime_value"` (a client without one has none to come: 0).
pub fn value_tier(cuts: &TierCuts, c: &ClientView, lifetime_value: Option<f64>) -> ValueTier {
    let Some((low_cut, high_cut)) = cuts.value else {
        return ValueTier::NotApplicable;
    };
    let t = &cuts.settings;
    match cuts.mode {
        Mode::Flat => ValueTier::NotApplicable,
        Mode::Transactions => {
            if c.get(Feature::Amount12m) >= high_cut {
                ValueTier::High
            } else if c.get(Feature::Transactions12m) <= f64::from(t.low_max_transactions) {
                ValueTier::Low
            } else if c.get(Feature::TransactionTenure) < t.potential_max_tenure {
                ValueTier::Potential
            } else {
                ValueTier::General
            }
        }
        Mode::Relational => {
            let value = match t.basis {
                TierBasis::Premium => c.get(Feature::PremiumInForce),
                TierBasis::LifetimeValue => lifetime_value.unwrap_or(0.0),
            };
            let collection = c.get(Feature::CollectionRate12m);
            let collects = collection.is_nan() || collection >= t.high_min_collection;
            let renewal = c.get(Feature::RenewalRate);
            let renews = renewal.is_nan() || renewal >= t.high_min_renewal;
            let claims = c.get(Feature::ClaimsRatio);
            let heavy_claims =
                claims > t.max_claims_ratio && c.facts().claim_years(c.client) >= t.low_claim_years;
            let few_policies = c.get(Feature::Policies) <= f64::from(t.low_max_policies);
            if value >= high_cut && collects && renews && !heavy_claims {
                ValueTier::High
            } else if (few_policies && value < low_cut) || heavy_claims {
                ValueTier::Low
            } else if c.get(Feature::Age) < t.potential_max_age
                && cuts
                    .burden
                    .is_some_and(|m| c.get(Feature::PremiumBurden) < m)
            {
                ValueTier::Potential
            } else {
                ValueTier::General
            }
        }
    }
}

/// Lifecycle stage (docs/domain.md, "Lifecycle stage"), the first that applies:
/// a former client's (deceased, matured, surrendered, lapsed), prospect, at risk, new,
/// won back, loyal, established. Flat: at risk (high band) or established.
pub fn lifecycle(
    mode: Mode,
    s: &StageSettings,
    c: &ClientView,
    active: bool,
    band: Option<RiskBand>,
) -> LifecycleStage {
    let high = band == Some(RiskBand::High);
    match mode {
        Mode::Flat => {
            if high {
                LifecycleStage::AtRisk
            } else {
                LifecycleStage::Established
            }
        }
        Mode::Transactions => {
            let recency = c.get(Feature::DaysSinceTransaction);
            let tenure = c.get(Feature::TransactionTenure);
            let repeat = c.get(Feature::Transactions36m) >= f64::from(s.loyal_min_policies);
            if recency.is_nan() {
                LifecycleStage::Prospect
            } else if !active || recency > s.lapsed_days {
                LifecycleStage::Lapsed
            } else if high || recency > s.at_risk_days {
                LifecycleStage::AtRisk
            } else if tenure < s.new_years {
                LifecycleStage::New
            } else if tenure >= s.loyal_years && repeat {
                LifecycleStage::Loyal
            } else {
                LifecycleStage::Established
            }
        }
        Mode::Relational => relational_stage(s, c, active, high),
    }
}

fn relational_stage(s: &StageSettings, c: &ClientView, active: bool, high: bool) -> LifecycleStage {
    let tenure = c.get(Feature::TenureYears);
    if !active {
        return if tenure.is_nan() {
            LifecycleStage::Prospect
        } else {
            former_client_stage(c.facts().cover_ended(c.client))
        };
    }
    let missed = missed_premiums(s, c) >= s.at_risk_missed_6m;
    let complained = c.get(Feature::Complaints6m) >= f64::from(s.at_risk_complaints_6m);
    let repeat = c.facts().policies_started(c.client) >= s.loyal_min_policies;
    if high || missed || complained {
        LifecycleStage::AtRisk
    } else if tenure < s.new_years {
        LifecycleStage::New
    } else if c.years_since_return().is_some_and(|y| y < s.won_back_years) {
        LifecycleStage::WonBack
    } else if tenure >= s.loyal_years && repeat {
        LifecycleStage::Loyal
    } else {
        LifecycleStage::Established
    }
}

/// Premiums due in the last 6 months, unpaid at the as-of date and past due by at least
/// `missed_premium_days`.
fn missed_premiums(s: &StageSettings, c: &ClientView) -> u32 {
    c.facts()
        .unpaid_6m
        .missed(c.client, c.columns.cutoff, s.missed_premium_days)
}

/// A former client's stage: how the cover ended (a death claim on any policy first, then
/// the policy that ended last).
fn former_client_stage(end: Option<CoverEnd>) -> LifecycleStage {
    match end.and_then(|e| e.state) {
        Some(ExitState::Died) => LifecycleStage::Deceased,
        Some(ExitState::Matured) => LifecycleStage::Matured,
        Some(ExitState::Surrendered) => LifecycleStage::Surrendered,
        _ => LifecycleStage::Lapsed,
    }
}

/// The client's signals (docs/domain.md, "Signals"): what its situation says about
/// which remedy fits. `outcome`: what the model scored the client for (`None` when not
/// scored). Relational mode only; none elsewhere.
pub fn signals(
    mode: Mode,
    s: &StageSettings,
    cuts: &TierCuts,
    c: &ClientView,
    outcome: Option<LapseOutcome>,
) -> Signals {
    if mode != Mode::Relational {
        return Signals::NONE;
    }
    let facts = c.facts();
    let burden = c.get(Feature::PremiumBurden);
    Signals::NONE
        .with(
            Signal::MissedPremium,
            missed_premiums(s, c) >= s.at_risk_missed_6m,
        )
        .with(
            Signal::Complaint,
            c.get(Feature::Complaints6m) >= f64::from(s.at_risk_complaints_6m),
        )
        .with(
            Signal::Stretched,
            cuts.stretched.is_some_and(|cut| burden >= cut),
        )
        .with(Signal::CashValue, facts.cash_value(c.client))
        .with(Signal::AnnualPayer, facts.annual_payer(c.client))
        .with(
            Signal::SurrenderRisk,
            outcome == Some(LapseOutcome::Surrender),
        )
        .with_cover_end(facts.cover_ended(c.client), c.columns.cutoff, s)
}

impl Signals {
    /// A former client's signals: whether the policy that ended last can be reinstated,
    /// and whether it ended recently enough for a win-back.
    fn with_cover_end(self, end: Option<CoverEnd>, as_of: Date, s: &StageSettings) -> Self {
        let Some(end) = end else { return self };
        let years = as_of.years_since(end.date);
        self.with(
            Signal::Reinstatable,
            end.by_lapse && years <= s.reinstatement_years,
        )
        .with(Signal::RecentlyLeft, years <= s.win_back_years)
    }
}

/// The top `n` risk-raising reasons in words, from the exact log-odds contributions.
/// One-hot columns of the same categorical are summed into one reason. Ties in
/// contribution go to the alphabetically first wording.
pub fn reasons(
    words: &ReasonWords,
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
    // Pair contributions follow every model-matrix column's.
    let base = fitted.n_columns();
    for (p, contrib) in contributions.iter().skip(base).enumerate() {
        if *contrib > 0.0 {
            items.push((*contrib, Reason::Pair(p)));
        }
    }
    items.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Everything tied with the n-th contribution competes on its wording.
    let last = items.get(n.saturating_sub(1)).map(|item| item.0);
    let mut worded: Vec<(f64, String)> = items
        .into_iter()
        .take_while(|(contrib, _)| last.is_some_and(|l| contrib.total_cmp(&l).is_ge()))
        .map(|(contrib, reason)| (contrib, words.of(reason, b, c, row)))
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
    /// A pairwise term of the lapse model (its index): the client's cell, both sides.
    Pair(usize),
}

/// Every wording a reason can take that does not depend on the client's own value, put
/// into words once per run rather than once per client (filling the templates for each
/// of a million clients was half of labeling's time): a binned feature's reason for each
/// bin, a categorical's for each level, and a linear feature's template with its name,
/// direction, missing-value word and typical value filled in.
pub struct ReasonWords {
    w: std::sync::Arc<crate::vocab::Vocabulary>,
    numeric: Vec<NumericWords>,
    /// `[k][own]`: categorical `k` with the client's level `own` (last: "other").
    levels: Vec<Vec<String>>,
}

/// The wordings of one numeric feature's reason; `[missing as usize]` indexes each.
enum NumericWords {
    /// `[bin][missing]`: the whole reason for a client in that bin.
    Binned(Vec<[String; 2]>),
    /// `[high]`: the template with `{feature}` and `{direction}` filled in, `{value}`,
    /// `{missing}` and `{typical}` still to fill, in that order (as `Vocabulary::fill`
    /// does, so the words are the same); with the missing and typical words.
    Linear {
        templates: [String; 2],
        missing: [String; 2],
        typical: String,
    },
}

impl ReasonWords {
    pub fn new(w: std::sync::Arc<crate::vocab::Vocabulary>, b: &Bundle) -> Self {
        let fitted = &b.features;
        let numeric = (0..fitted.numeric.len())
            .map(|j| NumericWords::new(&w, b, j))
            .collect();
        let levels = fitted
            .categorical
            .iter()
            .enumerate()
            .map(|(k, cat)| {
                (0..=cat.levels.len())
                    .map(|own| level_words(&w, b, k, own))
                    .collect()
            })
            .collect();
        ReasonWords { w, numeric, levels }
    }

    /// The reason in words for client `c`.
    fn of(&self, reason: Reason, b: &Bundle, c: &ClientView, row: &[f64]) -> String {
        match reason {
            Reason::Numeric(j) => {
                let Some((f, words)) = b.features.numeric.get(j).zip(self.numeric.get(j)) else {
                    return String::new();
                };
                let v = c.model_numeric(j);
                let shown = if v.is_nan() { f.median } else { v };
                let missing = usize::from(v.is_nan());
                match words {
                    NumericWords::Binned(bins) => {
                        let bin = b
                            .lapse
                            .form
                            .binned_column(j)
                            .map_or(0, |bins| bins.bin_of(f.standardise(shown)));
                        bins.get(bin).map_or_else(
                            || binned_words(&self.w, b, j, bin, missing),
                            |text| text[missing].clone(),
                        )
                    }
                    NumericWords::Linear {
                        templates,
                        missing: missing_words,
                        typical,
                    } => {
                        let high = usize::from(f.standardise(shown) >= 0.0);
                        templates[high]
                            .replace("{value}", &number(shown))
                            .replace("{missing}", &missing_words[missing])
                            .replace("{typical}", typical)
                    }
                }
            }
            Reason::Level(k, own) => self
                .levels
                .get(k)
                .and_then(|levels| levels.get(own))
                .cloned()
                .unwrap_or_default(),
            Reason::Pair(p) => {
                let Some(pair) = b.lapse.form.pairs.get(p) else {
                    return String::new();
                };
                let row = ndarray::ArrayView1::from(row);
                let first = side_words(&self.w, b, &pair.first, pair.first.cell(row));
                let second = side_words(&self.w, b, &pair.second, pair.second.cell(row));
                self.w
                    .fill("reason.pair", &[("first", &first), ("second", &second)])
            }
        }
    }
}

/// One side of a pair in words at cell `i`: "missed 12m: 3 or more", "channel is online".
pub fn side_words(
    w: &crate::vocab::Vocabulary,
    b: &Bundle,
    side: &crate::lapse::PairSide,
    i: usize,
) -> String {
    let fitted = &b.features;
    match side {
        crate::lapse::PairSide::Bins(bins) => {
            let Some(f) = fitted.numeric.get(bins.column) else {
                return String::new();
            };
            let bin = crate::lapse::bin_words_in(w, f, bins, i);
            w.fill(
                "reason.pair_bin",
                &[("feature", &w.feature(&f.name)), ("bin", &bin)],
            )
        }
        crate::lapse::PairSide::Levels { feature, .. } => level_words(w, b, *feature, i),
    }
}

impl NumericWords {
    fn new(w: &crate::vocab::Vocabulary, b: &Bundle, j: usize) -> Self {
        let Some(f) = b.features.numeric.get(j) else {
            return NumericWords::Binned(Vec::new());
        };
        if let Some(bins) = b.lapse.form.binned_column(j) {
            let texts = (0..bins.width())
                .map(|i| [0, 1].map(|missing| binned_words(w, b, j, i, missing)))
                .collect();
            return NumericWords::Binned(texts);
        }
        let feature = w.feature(&f.name);
        let templates = [w.word("reason.low"), w.word("reason.high")].map(|direction| {
            w.word("reason.numeric")
                .replace("{feature}", &feature)
                .replace("{direction}", direction)
        });
        NumericWords::Linear {
            templates,
            missing: [String::new(), w.word("reason.missing").to_string()],
            typical: number(f.median),
        }
    }
}

/// The reason of binned feature `j` for a client in bin `i`, `missing` (1) or not (0).
fn binned_words(
    w: &crate::vocab::Vocabulary,
    b: &Bundle,
    j: usize,
    i: usize,
    missing: usize,
) -> String {
    let Some((f, bins)) = b.features.numeric.get(j).zip(b.lapse.form.binned_column(j)) else {
        return String::new();
    };
    let bin = crate::lapse::bin_words_in(w, f, bins, i);
    let missing = if missing == 1 {
        w.word("reason.missing")
    } else {
        ""
    };
    let args: [(&str, &dyn std::fmt::Display); 4] = [
        ("feature", &w.feature(&f.name)),
        ("bin", &bin),
        ("missing", &missing),
        ("typical", &number(f.median)),
    ];
    w.fill("reason.binned", &args)
}

/// The reason of categorical `k` for a client at level `own` (past the end: "other").
fn level_words(w: &crate::vocab::Vocabulary, b: &Bundle, k: usize, own: usize) -> String {
    let Some(cat) = b.features.categorical.get(k) else {
        return String::new();
    };
    let level = cat
        .levels
        .get(own)
        .map_or(w.word("reason.other"), String::as_str);
    w.fill(
        "reason.level",
        &[("feature", &w.feature(&cat.name)), ("level", &level)],
    )
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Distribution;

    #[test]
    fn quantiles_come_from_the_cumulative_shares_not_the_edge_index() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let d = Distribution::fit_sorted(&values, 0.0);
        // The stored edges are the training deciles (interpolated between values).
        assert_eq!(quantile_of(&d, 0.5), Some(50.5));
        assert!(quantile_of(&d, 0.8).is_some_and(|q| (q - 80.2).abs() < 1e-9));
        // Half the book at one value: deciles collapse, the median is still that value.
        let mut tied = vec![0.0; 60];
        tied.extend((1..=40).map(f64::from));
        let d = Distribution::fit_sorted(&tied, 0.0);
        assert!(d.edges.len() < 9, "{:?}", d.edges);
        assert_eq!(quantile_of(&d, 0.5), Some(0.0));
        assert!(quantile_of(&d, 0.8).is_some_and(|q| q > 0.0));
    }
}
