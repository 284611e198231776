//! The business labels: value tier, lifecycle stage, reason codes in words, and the
//! recommended action from a rule table over tier x risk band x stage.

use crate::bundle::Bundle;
use crate::config::Mode;
use crate::error::{Error, Result};
use crate::features::RawFeatures;
use serde::{Deserialize, Serialize};

pub const TIERS: &[&str] = &["high", "potential", "general", "low", "n/a"];
pub const BANDS: &[&str] = &["high", "medium", "low", "none"];
pub const STAGES: &[&str] = &["potential", "new", "loyal", "at risk", "lapsed"];

/// One row of the action table: each of `tier`, `risk`, `stage` is `*` or a list of
/// values separated by `|`. The first matching rule gives the action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRule {
    #[serde(default = "any")]
    pub tier: String,
    #[serde(default = "any")]
    pub risk: String,
    #[serde(default = "any")]
    pub stage: String,
    pub action: String,
}

fn any() -> String {
    "*".into()
}

fn rule(tier: &str, risk: &str, stage: &str, action: &str) -> ActionRule {
    ActionRule {
        tier: tier.into(),
        risk: risk.into(),
        stage: stage.into(),
        action: action.into(),
    }
}

/// The default table, in the spirit of the insurer's practice: keep valuable clients at
/// risk personally, review cover with an agent for others at high risk, adjust price or
/// cover for low-value ones, win back the lapsed, grow the under-insured.
pub fn default_actions() -> Vec<ActionRule> {
    vec![
        rule("*", "*", "lapsed", "reactivation campaign"),
        rule("*", "*", "potential", "cross-sell"),
        rule("high", "high|medium", "*", "VIP retention call"),
        rule("potential|general|n/a", "high", "*", "agent policy review"),
        rule("low", "high", "*", "price/cover adjustment"),
        rule(
            "potential|general|n/a",
            "medium",
            "*",
            "health-management offer",
        ),
        rule("low", "medium", "*", "price/cover adjustment"),
        rule("high|potential", "low", "*", "cross-sell"),
        rule("*", "*", "*", "standard service"),
    ]
}

fn matches(pattern: &str, value: &str) -> bool {
    pattern == "*" || pattern.split('|').any(|p| p.trim() == value)
}

/// Checks every rule names known tiers, bands and stages, and that the last rule
/// catches everything (so no client is left without an action).
///
/// # Errors
/// `Error::InvalidParameter` naming the rule and the unknown value.
pub fn check_actions(rules: &[ActionRule]) -> Result<()> {
    for (i, r) in rules.iter().enumerate() {
        for (what, pattern, allowed) in [
            ("tier", &r.tier, TIERS),
            ("risk", &r.risk, BANDS),
            ("stage", &r.stage, STAGES),
        ] {
            if pattern == "*" {
                continue;
            }
            for p in pattern.split('|').map(str::trim) {
                if !allowed.contains(&p) {
                    return Err(Error::InvalidParameter(format!(
                        "action rule {} ({:?}): {what} '{p}' is not one of {allowed:?} or *",
                        i + 1,
                        r.action
                    )));
                }
            }
        }
        if r.action.trim().is_empty() {
            return Err(Error::InvalidParameter(format!(
                "action rule {} has no action",
                i + 1
            )));
        }
    }
    let last_catches_all = rules
        .last()
        .is_some_and(|r| r.tier == "*" && r.risk == "*" && r.stage == "*");
    if !last_catches_all {
        return Err(Error::InvalidParameter(
            "the last action rule must be tier = \"*\", risk = \"*\", stage = \"*\" so that \
             every client gets an action"
                .into(),
        ));
    }
    Ok(())
}

pub fn action<'a>(rules: &'a [ActionRule], tier: &str, risk: &str, stage: &str) -> &'a str {
    rules
        .iter()
        .find(|r| matches(&r.tier, tier) && matches(&r.risk, risk) && matches(&r.stage, stage))
        .map_or("standard service", |r| r.action.as_str())
}

/// Training quantiles the tier rules compare against (from the stored decile edges).
pub struct TierCuts {
    mode: Mode,
    /// (median, 80th percentile) of the value feature: premium in force or 12-month spend.
    value: Option<(f64, f64)>,
    burden_median: Option<f64>,
}

impl TierCuts {
    pub fn from_bundle(b: &Bundle) -> Self {
        let deciles = |name: &str| {
            b.features
                .numeric
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.distribution.edges.clone())
        };
        let at = |e: &Vec<f64>, i: usize| e.get(i).or(e.last()).copied();
        let value_feature = if b.config.mode == Mode::Transactions {
            "amount_12m"
        } else {
            "premium_in_force"
        };
        let value = deciles(value_feature).and_then(|e| Some((at(&e, 4)?, at(&e, 7)?)));
        TierCuts {
            mode: b.config.mode,
            value,
            burden_median: deciles("premium_burden").and_then(|e| at(&e, 4)),
        }
    }
}

/// Raw feature columns by name, resolved once per batch: the rules look features up by
/// name for every client, which must not mean a scan of the feature list each time.
pub struct FeatureColumns<'a> {
    by_name: std::collections::HashMap<&'a str, &'a [f64]>,
}

impl<'a> FeatureColumns<'a> {
    pub fn new(raw: &'a RawFeatures) -> Self {
        let by_name = raw
            .names
            .iter()
            .zip(&raw.columns)
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        FeatureColumns { by_name }
    }
}

/// One client's raw features.
pub struct ClientView<'a> {
    pub columns: &'a FeatureColumns<'a>,
    pub client: usize,
}

impl ClientView<'_> {
    /// The client's raw value of a feature (NaN when missing or not computed).
    pub fn get(&self, name: &str) -> f64 {
        self.columns
            .by_name
            .get(name)
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
pub fn value_tier(cuts: &TierCuts, c: &ClientView) -> &'static str {
    let Some((median, p80)) = cuts.value else {
        return "n/a";
    };
    match cuts.mode {
        Mode::Flat => "n/a",
        Mode::Transactions => {
            let spend = c.get("amount_12m");
            if spend >= p80 {
                "high"
            } else if c.get("transactions_12m") <= 1.0 {
                "low"
            } else if c.get("tenure_years") < 2.0 {
                "potential"
            } else {
                "general"
            }
        }
        Mode::Relational => {
            let premium = c.get("premium_in_force");
            let renewal = c.get("renewal_rate_12m");
            let claims = c.get("claims_ratio");
            let renews = renewal.is_nan() || renewal >= 0.9;
            let claims_ok = claims.is_nan() || claims <= 1.0;
            if premium >= p80 && renews && claims_ok {
                "high"
            } else if (c.get("n_policies") <= 1.0 && premium < median) || !claims_ok {
                "low"
            } else if c.get("age") < 40.0
                && cuts
                    .burden_median
                    .is_some_and(|m| c.get("premium_burden") < m)
            {
                "potential"
            } else {
                "general"
            }
        }
    }
}

/// Lifecycle stage (documented in the README): lapsed = no policy in force (or, with
/// transactions, none in 12 months), potential = known but never held a policy, new =
/// first policy within the last year, at risk = a missed premium or a complaint in the last
/// 6 months or a high risk band, loyal = the rest. Flat: at risk (high band) or loyal.
pub fn lifecycle(mode: Mode, c: &ClientView, active: bool, band: &str) -> &'static str {
    match mode {
        Mode::Flat => {
            if band == "high" {
                "at risk"
            } else {
                "loyal"
            }
        }
        Mode::Transactions => {
            let recency = c.get("days_since_transaction");
            if !active || recency.is_nan() || recency > 365.0 {
                "lapsed"
            } else if c.get("tenure_years") < 1.0 {
                "new"
            } else if band == "high" || c.get("days_since_transaction") > 90.0 {
                "at risk"
            } else {
                "loyal"
            }
        }
        Mode::Relational => {
            let tenure = c.get("tenure_years");
            if !active {
                if tenure.is_nan() {
                    "potential"
                } else {
                    "lapsed"
                }
            } else if tenure < 1.0 {
                "new"
            } else if band == "high" || c.get("missed_6m") > 0.0 || c.get("complaints_6m") > 0.0 {
                "at risk"
            } else {
                "loyal"
            }
        }
    }
}

/// The top `n` risk-raising reasons in words, from the exact log-odds contributions.
/// One-hot columns of the same categorical are summed into one reason.
pub fn reasons(
    b: &Bundle,
    row: &[f64],
    contributions: &[f64],
    c: &ClientView,
    n: usize,
) -> Vec<String> {
    let fitted = &b.features;
    let mut items: Vec<(f64, String)> = Vec::new();
    for (j, f) in fitted.numeric.iter().enumerate() {
        let contrib = contributions.get(j).copied().unwrap_or(0.0);
        if contrib <= 0.0 {
            continue;
        }
        let v = c.get(&f.name);
        let shown = if v.is_nan() { f.median } else { v };
        let direction = if f.standardise(shown) >= 0.0 {
            "high"
        } else {
            "low"
        };
        let missing = if v.is_nan() { ", missing" } else { "" };
        items.push((
            contrib,
            format!(
                "{} {direction} ({}{missing}; typical {})",
                f.name.replace('_', " "),
                number(shown),
                number(f.median)
            ),
        ));
    }
    let mut j = fitted.numeric.len();
    for cat in &fitted.categorical {
        let width = cat.levels.len() + 1;
        let slice = contributions.get(j..j + width).unwrap_or(&[]);
        let total: f64 = slice.iter().sum();
        if total > 0.0 {
            let own = row
                .get(j..j + width)
                .and_then(|r| r.iter().position(|&v| v == 1.0))
                .unwrap_or(cat.levels.len());
            let level = cat.levels.get(own).map_or("other", String::as_str);
            items.push((total, format!("{} is {level}", cat.name.replace('_', " "))));
        }
        j += width;
    }
    items.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    items.into_iter().take(n).map(|(_, s)| s).collect()
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

    #[test]
    fn the_default_table_is_valid_and_first_match_wins() {
        let rules = default_actions();
        check_actions(&rules).unwrap();
        assert_eq!(
            action(&rules, "high", "high", "loyal"),
            "VIP retention call"
        );
        assert_eq!(
            action(&rules, "high", "high", "lapsed"),
            "reactivation campaign"
        );
        assert_eq!(
            action(&rules, "low", "high", "at risk"),
            "price/cover adjustment"
        );
        assert_eq!(
            action(&rules, "general", "low", "loyal"),
            "standard service"
        );
        let bad = vec![rule("gold", "*", "*", "x"), rule("*", "*", "*", "y")];
        assert!(check_actions(&bad)
            .unwrap_err()
            .to_string()
            .contains("tier 'gold'"));
        assert!(check_actions(&[rule("high", "*", "*", "x")]).is_err());
    }
}
