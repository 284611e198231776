//! The thresholds of the business labels (`[stages]` and `[tiers]` in the config): every
//! number a lifecycle-stage or value-tier rule compares against, with the documented
//! default (docs/domain.md) and a range checked at load.

use super::{ActionTable, Config};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// The checked rules every client is labelled by: stage and tier thresholds and the
/// action table, from the run's config (the same for the CLI, Python and Spark).
#[derive(Clone, Debug, PartialEq)]
pub struct LabelRules {
    pub stages: StageSettings,
    pub tiers: TierSettings,
    pub needs: NeedsSettings,
    pub actions: ActionTable,
    /// How persistency is counted in the run's aggregates.
    pub persistency: super::PersistencySettings,
    /// The words labels, charts and the report are written in (English by default).
    pub words: std::sync::Arc<crate::vocab::Vocabulary>,
    /// Holdouts per action and the readout of their effect.
    pub effect: super::EffectSettings,
    /// Lifetime value: discount rate, margin, horizon.
    pub value: super::ValueSettings,
}

impl LabelRules {
    /// The rules with the run's words.
    ///
    /// # Errors
    /// `Error::Config` naming the vocabulary file and key when it renames an action
    /// that is neither in the default table nor in this run's.
    pub fn with_words(mut self, words: std::sync::Arc<crate::vocab::Vocabulary>) -> Result<Self> {
        let codes = self.actions.codes();
        let defaults = ActionTable::defaults().codes();
        if let Some(code) = words
            .house_action_codes()
            .iter()
            .find(|c| !codes.contains(*c) && !defaults.contains(*c))
        {
            return Err(crate::error::Error::Config {
                path: words.origin().map(Into::into).unwrap_or_default(),
                message: format!(
                    "unknown key 'action.{code}': no action of the default table or of this \
                     run's [[actions]] has that code (codes: {})",
                    codes.into_iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        self.words = words;
        Ok(self)
    }

    /// Checks the config's `[stages]`, `[tiers]`, `[needs]` and `[[actions]]`.
    ///
    /// # Errors
    /// `Error::Config` naming the file and the key out of range; `Error::InvalidParameter`
    /// for an action rule with an unknown word.
    pub fn from_config(config: &Config) -> Result<Self> {
        config.check_label_settings()?;
        Ok(LabelRules {
            stages: config.stages.clone(),
            tiers: config.tiers.clone(),
            needs: config.needs.clone(),
            actions: ActionTable::check(&config.actions)?,
            persistency: config.persistency.clone(),
            words: crate::vocab::Vocabulary::english(),
            effect: config.effect.clone(),
            value: config.value.clone(),
        })
    }

    /// The defaults (docs/domain.md).
    pub fn defaults() -> Self {
        LabelRules {
            stages: StageSettings::default(),
            tiers: TierSettings::default(),
            needs: NeedsSettings::default(),
            actions: ActionTable::defaults(),
            persistency: super::PersistencySettings::default(),
            words: crate::vocab::Vocabulary::english(),
            effect: super::EffectSettings::default(),
            value: super::ValueSettings::default(),
        }
    }
}

/// `[stages]`: the lifecycle-stage thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StageSettings {
    /// A client is "new" while the first policy is younger than this many years (the
    /// first policy year: what 13th-month persistency measures).
    pub new_years: f64,
    /// "loyal" needs at least this many years since the first policy...
    pub loyal_years: f64,
    /// ...and at least this many policies taken out over the relationship (a second
    /// product, a renewal or a replacement: repeat purchase).
    pub loyal_min_policies: u32,
    /// "won back" lasts this many years after the client's return.
    pub won_back_years: f64,
    /// Premiums missed in the last 6 months that make a client "at risk".
    pub at_risk_missed_6m: u32,
    /// Days past its due date after which an unpaid premium counts as missed (for the
    /// stage and the `missed_premium` signal; the model's `missed_6m` feature counts
    /// every unpaid due). Late payers pay within weeks of the due date.
    #[serde(skip_serializing_if = "is_default_missed_days")]
    pub missed_premium_days: u32,
    /// Complaints in the last 6 months that make a client "at risk".
    pub at_risk_complaints_6m: u32,
    /// A policy that lapsed (premium unpaid) within this many years of the as-of date
    /// can still be reinstated (复效): the `reinstatable` signal.
    #[serde(skip_serializing_if = "is_default_reinstatement")]
    pub reinstatement_years: f64,
    /// A former client whose cover ended within this many years is `recently_left`: a
    /// win-back or maturity reinvestment offer is still timely; after it, no campaign.
    #[serde(skip_serializing_if = "is_default_win_back")]
    pub win_back_years: f64,
    /// Transactions mode: "lapsed" after this many days without a transaction.
    pub lapsed_days: f64,
    /// Transactions mode: "at risk" after this many days without a transaction.
    pub at_risk_days: f64,
}

/// The reinstatement period: two years from the suspension of the contract under the
/// PRC Insurance Law, art. 37 (US policies: commonly three to five years).
pub const DEFAULT_REINSTATEMENT_YEARS: f64 = 2.0;

// Kept out of a bundle's config at the default, so bundles made before the setting
// existed keep their content digest.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_default_reinstatement(years: &f64) -> bool {
    *years == DEFAULT_REINSTATEMENT_YEARS
}

/// An unpaid premium counts as missed 30 days after its due date: the usual grace period
/// of individual life contracts (31 days in most US states; PRC Insurance Law art. 36
/// allows 60), by when a late payer has paid.
pub const DEFAULT_MISSED_PREMIUM_DAYS: u32 = 30;

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_default_missed_days(days: &u32) -> bool {
    *days == DEFAULT_MISSED_PREMIUM_DAYS
}

/// The win-back window: three years after cover ended (see docs/domain.md).
pub const DEFAULT_WIN_BACK_YEARS: f64 = 3.0;

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_default_win_back(years: &f64) -> bool {
    *years == DEFAULT_WIN_BACK_YEARS
}

impl Default for StageSettings {
    fn default() -> Self {
        StageSettings {
            new_years: 1.0,
            loyal_years: 5.0,
            loyal_min_policies: 2,
            won_back_years: 1.0,
            reinstatement_years: DEFAULT_REINSTATEMENT_YEARS,
            win_back_years: DEFAULT_WIN_BACK_YEARS,
            at_risk_missed_6m: 1,
            missed_premium_days: DEFAULT_MISSED_PREMIUM_DAYS,
            at_risk_complaints_6m: 1,
            lapsed_days: 365.0,
            at_risk_days: 90.0,
        }
    }
}

/// `[tiers]`: the value-tier thresholds. Shares of the book are quantiles of the
/// training clients (read from the bundle's stored distribution).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TierSettings {
    /// The value measure of relational books: `premium` in force (the default) or the
    /// client's `lifetime_value`; the quantiles below are of the training clients' measure.
    #[serde(skip_serializing_if = "TierBasis::is_premium")]
    pub basis: TierBasis,
    /// "high" starts at this quantile of the value measure (premium in force or lifetime
    /// value; 12-month spend with transactions).
    pub high_quantile: f64,
    /// ...and needs a premium collection rate of at least this over 12 months...
    pub high_min_collection: f64,
    /// ...and a renewal rate (anniversaries reached / due) of at least this.
    pub high_min_renewal: f64,
    /// "low": at most this many policies in force...
    pub low_max_policies: u32,
    /// ...and a value measure below this quantile.
    pub low_quantile: f64,
    /// Claims paid over premiums paid above this ratio can make a client "low"...
    pub max_claims_ratio: f64,
    /// ...but only when claims were paid in at least this many distinct years: one paid
    /// claim is the product working, not low value.
    pub low_claim_years: u32,
    /// "potential": younger than this...
    pub potential_max_age: f64,
    /// ...with a premium burden (premium / income) below this quantile: under-insured
    /// for their income.
    pub potential_burden_quantile: f64,
    /// A premium burden at or above this quantile makes a client "premium-stretched"
    /// (the `stretched` signal: a lower sum assured may keep the cover).
    pub stretched_burden_quantile: f64,
    /// Transactions mode: "low" with at most this many transactions in 12 months.
    pub low_max_transactions: u32,
    /// Transactions mode: "potential" while the first transaction is under this many
    /// years old.
    pub potential_max_tenure: f64,
}

/// What a relational book's value tiers are cut on (`[tiers] basis`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierBasis {
    /// Annual premium in force.
    #[default]
    Premium,
    /// Expected discounted premium still to come (`lifetime_value` in the labels).
    LifetimeValue,
}

impl TierBasis {
    fn is_premium(&self) -> bool {
        *self == TierBasis::Premium
    }
}

impl Default for TierSettings {
    fn default() -> Self {
        TierSettings {
            basis: TierBasis::Premium,
            high_quantile: 0.8,
            high_min_collection: 0.9,
            high_min_renewal: 0.9,
            low_max_policies: 1,
            low_quantile: 0.5,
            max_claims_ratio: 1.0,
            low_claim_years: 3,
            potential_max_age: 40.0,
            potential_burden_quantile: 0.5,
            stretched_burden_quantile: 0.8,
            low_max_transactions: 1,
            potential_max_tenure: 2.0,
        }
    }
}

/// `[needs]`: the needs-tag rules and the protection gap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NeedsSettings {
    /// The protection need is this multiple of annual income (the income-multiple rule).
    pub income_multiple: f64,
    /// Coverage (death cover / need) below this share is "low", below 1 "partial".
    pub low_coverage: f64,
    /// Protection is a need for clients with dependants younger than this.
    pub protection_max_age: f64,
    /// Retirement is a need from this age...
    pub retirement_min_age: f64,
    /// ...up to this age, for clients without an annuity.
    pub retirement_max_age: f64,
    /// Education funding is a need for clients with dependants younger than this, without
    /// an education plan (no education plan at 75).
    pub education_max_age: f64,
    /// Health cover is a need for clients younger than this without medical or critical
    /// illness cover.
    pub health_max_age: f64,
    /// Wealth is a need for clients whose income is at or above this quantile of the
    /// training book, without a savings product.
    pub wealth_income_quantile: f64,
}

impl Default for NeedsSettings {
    fn default() -> Self {
        NeedsSettings {
            income_multiple: 10.0,
            low_coverage: 0.5,
            protection_max_age: 65.0,
            retirement_min_age: 45.0,
            retirement_max_age: 70.0,
            education_max_age: 55.0,
            health_max_age: 70.0,
            wealth_income_quantile: 0.8,
        }
    }
}

impl NeedsSettings {
    pub(crate) fn check(&self) -> Result<(), OutOfRange> {
        let s = "needs";
        let m = self.income_multiple;
        within(
            s,
            "income_multiple",
            m,
            m > 0.0 && m <= 50.0,
            "a multiple in (0, 50]",
        )?;
        let c = self.low_coverage;
        within(
            s,
            "low_coverage",
            c,
            c > 0.0 && c <= 1.0,
            "a share in (0, 1]",
        )?;
        let q = self.wealth_income_quantile;
        let ok = (0.0..=1.0).contains(&q);
        within(s, "wealth_income_quantile", q, ok, "a share in [0, 1]")?;
        let age = |k, v: f64| within(s, k, v, (0.0..=120.0).contains(&v), "an age in [0, 120]");
        age("protection_max_age", self.protection_max_age)?;
        age("retirement_min_age", self.retirement_min_age)?;
        age("retirement_max_age", self.retirement_max_age)?;
        age("education_max_age", self.education_max_age)?;
        age("health_max_age", self.health_max_age)?;
        if self.retirement_min_age > self.retirement_max_age {
            return within(
                s,
                "retirement_min_age",
                self.retirement_min_age,
                false,
                "at most retirement_max_age",
            );
        }
        Ok(())
    }
}

/// One setting out of its range: `[section] key`, the value and what is allowed.
pub(crate) struct OutOfRange {
    pub key: String,
    pub value: String,
    pub allowed: &'static str,
}

impl OutOfRange {
    pub(crate) fn message(&self) -> String {
        format!(
            "{} = {} is out of range: expected {}",
            self.key, self.value, self.allowed
        )
    }
}

fn within(
    section: &str,
    key: &str,
    v: f64,
    ok: bool,
    allowed: &'static str,
) -> Result<(), OutOfRange> {
    if ok && v.is_finite() {
        Ok(())
    } else {
        Err(OutOfRange {
            key: format!("[{section}] {key}"),
            value: v.to_string(),
            allowed,
        })
    }
}

impl StageSettings {
    pub(crate) fn check(&self) -> Result<(), OutOfRange> {
        let s = "stages";
        let years = |k, v: f64| within(s, k, v, v > 0.0 && v <= 100.0, "years in (0, 100]");
        years("new_years", self.new_years)?;
        years("loyal_years", self.loyal_years)?;
        years("won_back_years", self.won_back_years)?;
        years("reinstatement_years", self.reinstatement_years)?;
        years("win_back_years", self.win_back_years)?;
        let count = |k, v: u32| {
            let v = f64::from(v);
            within(s, k, v, (1.0..=1000.0).contains(&v), "a count in 1..=1000")
        };
        count("loyal_min_policies", self.loyal_min_policies)?;
        count("at_risk_missed_6m", self.at_risk_missed_6m)?;
        count("at_risk_complaints_6m", self.at_risk_complaints_6m)?;
        let missed = f64::from(self.missed_premium_days);
        within(
            s,
            "missed_premium_days",
            missed,
            missed <= 180.0,
            "days in 0..=180 (within the 6 months counted)",
        )?;
        let days = |k, v: f64| within(s, k, v, v > 0.0 && v <= 3660.0, "days in (0, 3660]");
        days("lapsed_days", self.lapsed_days)?;
        days("at_risk_days", self.at_risk_days)?;
        if self.at_risk_days > self.lapsed_days {
            return within(
                s,
                "at_risk_days",
                self.at_risk_days,
                false,
                "at most lapsed_days (a client is at risk before being lapsed)",
            );
        }
        Ok(())
    }
}

impl TierSettings {
    pub(crate) fn check(&self) -> Result<(), OutOfRange> {
        let s = "tiers";
        let share = |k, v: f64| within(s, k, v, (0.0..=1.0).contains(&v), "a share in [0, 1]");
        share("high_quantile", self.high_quantile)?;
        share("high_min_collection", self.high_min_collection)?;
        share("high_min_renewal", self.high_min_renewal)?;
        share("low_quantile", self.low_quantile)?;
        share("potential_burden_quantile", self.potential_burden_quantile)?;
        share("stretched_burden_quantile", self.stretched_burden_quantile)?;
        if self.low_quantile > self.high_quantile {
            return within(
                s,
                "low_quantile",
                self.low_quantile,
                false,
                "at most high_quantile",
            );
        }
        let ratio = self.max_claims_ratio;
        within(s, "max_claims_ratio", ratio, ratio >= 0.0, "a ratio >= 0")?;
        let age = self.potential_max_age;
        let ok = (0.0..=120.0).contains(&age);
        within(s, "potential_max_age", age, ok, "an age in [0, 120]")?;
        let tenure = self.potential_max_tenure;
        let ok = (0.0..=100.0).contains(&tenure);
        within(s, "potential_max_tenure", tenure, ok, "years in [0, 100]")?;
        let count = |k, v: u32| {
            let v = f64::from(v);
            within(s, k, v, v <= 1000.0, "a count in 0..=1000")
        };
        count("low_max_policies", self.low_max_policies)?;
        count("low_max_transactions", self.low_max_transactions)?;
        let years = f64::from(self.low_claim_years);
        let ok = (1.0..=100.0).contains(&years);
        within(
            s,
            "low_claim_years",
            years,
            ok,
            "a count of years in 1..=100",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_ranges_are_enforced() {
        StageSettings::default().check().ok().unwrap();
        TierSettings::default().check().ok().unwrap();
        let stages = StageSettings {
            new_years: -1.0,
            ..StageSettings::default()
        };
        let err = stages.check().err().unwrap().message();
        assert!(err.contains("[stages] new_years = -1"), "{err}");
        let tiers = TierSettings {
            high_quantile: 1.5,
            ..TierSettings::default()
        };
        let err = tiers.check().err().unwrap().message();
        assert!(err.contains("[tiers] high_quantile = 1.5"), "{err}");
        let tiers = TierSettings {
            low_quantile: 0.9,
            ..TierSettings::default()
        };
        assert!(tiers.check().is_err());
        let stages = StageSettings {
            loyal_min_policies: 0,
            ..StageSettings::default()
        };
        assert!(stages.check().is_err());
    }
}
