//! The recommended-action table (`[[actions]]` in the config): rules over value tier x
//! risk band x lifecycle stage, first match wins. Written as words in the config,
//! checked once into an `ActionTable` of typed patterns that labeling trusts.

use crate::error::{Error, Result};
use crate::vocab::{band_word, LifecycleStage, RiskBand, ValueTier, NO_BAND};
use serde::{Deserialize, Serialize};

/// One row of the action table as written: each of `tier`, `risk`, `stage` is `*` or a
/// list of values separated by `|`; `product` matches the client's next-best product
/// (`*`, product names, `none` for no next product).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRule {
    #[serde(default = "any")]
    pub tier: String,
    #[serde(default = "any")]
    pub risk: String,
    #[serde(default = "any")]
    pub stage: String,
    #[serde(default = "any", skip_serializing_if = "is_any")]
    pub product: String,
    pub action: String,
}

fn is_any(s: &str) -> bool {
    s == "*"
}

fn any() -> String {
    "*".into()
}

fn rule(tier: &str, risk: &str, stage: &str, action: &str) -> ActionRule {
    ActionRule {
        tier: tier.into(),
        risk: risk.into(),
        stage: stage.into(),
        product: any(),
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

/// A pattern over one vocabulary: any value, or one of a list.
#[derive(Clone, Debug, PartialEq)]
enum Pattern<T> {
    Any,
    OneOf(Vec<T>),
}

impl<T: PartialEq> Pattern<T> {
    fn matches(&self, value: &T) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::OneOf(values) => values.contains(value),
        }
    }

    /// Parses `*` or `a|b|c`, each word through `parse`.
    fn parse(
        text: &str,
        parse: impl Fn(&str) -> Option<T>,
        bad: impl Fn(&str) -> Error,
    ) -> Result<Self> {
        if text.trim() == "*" {
            return Ok(Pattern::Any);
        }
        text.split('|')
            .map(str::trim)
            .map(|w| parse(w).ok_or_else(|| bad(w)))
            .collect::<Result<Vec<T>>>()
            .map(Pattern::OneOf)
    }
}

#[derive(Clone, Debug, PartialEq)]
struct CheckedRule {
    tier: Pattern<ValueTier>,
    /// `None` stands for a client who is not scored (the word `none`).
    risk: Pattern<Option<RiskBand>>,
    stage: Pattern<LifecycleStage>,
    /// `None` stands for a client without a next-best product (the word `none`).
    product: Pattern<Option<String>>,
    action: String,
}

/// A checked action table: every word is a known tier, band or stage, every rule has an
/// action, and the last rule catches everyone.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionTable {
    rules: Vec<CheckedRule>,
}

impl ActionTable {
    /// Checks the rules as written (the defaults when `rules` is empty).
    ///
    /// # Errors
    /// `Error::InvalidParameter` naming the rule and the unknown word.
    pub fn check(rules: &[ActionRule]) -> Result<Self> {
        let defaults;
        let rules = if rules.is_empty() {
            defaults = default_actions();
            &defaults
        } else {
            rules
        };
        let checked = rules
            .iter()
            .enumerate()
            .map(|(i, r)| check_rule(i, r))
            .collect::<Result<Vec<_>>>()?;
        let last_catches_all = checked.last().is_some_and(|r| {
            r.tier == Pattern::Any
                && r.risk == Pattern::Any
                && r.stage == Pattern::Any
                && r.product == Pattern::Any
        });
        if !last_catches_all {
            return Err(Error::InvalidParameter(
                "the last action rule must be tier = \"*\", risk = \"*\", stage = \"*\" (and product = \"*\") so that \
                 every client gets an action"
                    .into(),
            ));
        }
        Ok(ActionTable { rules: checked })
    }

    /// The catch-all rule's action: what a client gets when no special rule applies.
    pub fn default_action(&self) -> &str {
        self.rules
            .last()
            .map_or("standard service", |r| r.action.as_str())
    }

    /// The first matching rule's action.
    pub fn action(&self, tier: ValueTier, band: Option<RiskBand>, stage: LifecycleStage) -> &str {
        self.action_for(tier, band, stage, None)
    }

    /// The first matching rule's action for a client whose next-best product is
    /// `product`.
    pub fn action_for(
        &self,
        tier: ValueTier,
        band: Option<RiskBand>,
        stage: LifecycleStage,
        product: Option<&str>,
    ) -> &str {
        let product_matches = |p: &Pattern<Option<String>>| match p {
            Pattern::Any => true,
            Pattern::OneOf(values) => values.iter().any(|v| v.as_deref() == product),
        };
        self.rules
            .iter()
            .find(|r| {
                r.tier.matches(&tier)
                    && r.risk.matches(&band)
                    && r.stage.matches(&stage)
                    && product_matches(&r.product)
            })
            .map_or("standard service", |r| r.action.as_str())
    }
}

fn check_rule(i: usize, r: &ActionRule) -> Result<CheckedRule> {
    let bad = |what: &'static str, allowed: Vec<&'static str>| {
        move |word: &str| {
            Error::InvalidParameter(format!(
                "action rule {} ({:?}): {what} '{word}' is not one of {allowed:?} or *",
                i + 1,
                r.action
            ))
        }
    };
    let mut bands = RiskBand::words();
    bands.push(NO_BAND);
    let band = |w: &str| {
        RiskBand::ALL
            .iter()
            .map(|b| Some(*b))
            .chain([None])
            .find(|b| band_word(*b) == w)
    };
    if r.action.trim().is_empty() {
        return Err(Error::InvalidParameter(format!(
            "action rule {} has no action",
            i + 1
        )));
    }
    Ok(CheckedRule {
        tier: Pattern::parse(
            &r.tier,
            ValueTier::from_word,
            bad("tier", ValueTier::words()),
        )?,
        risk: Pattern::parse(&r.risk, band, bad("risk", bands))?,
        stage: Pattern::parse(
            &r.stage,
            LifecycleStage::from_word,
            bad("stage", LifecycleStage::words()),
        )?,
        // Product names are the book's: any word is one (`none`: no next product).
        product: Pattern::parse(
            &r.product,
            |w| Some((w != "none").then(|| w.to_string())),
            bad("product", vec![]),
        )?,
        action: r.action.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{LifecycleStage as S, RiskBand as B, ValueTier as T};

    #[test]
    fn the_default_table_is_valid_and_first_match_wins() {
        let table = ActionTable::check(&[]).unwrap();
        assert_eq!(
            table.action(T::High, Some(B::High), S::Loyal),
            "VIP retention call"
        );
        assert_eq!(
            table.action(T::High, Some(B::High), S::Lapsed),
            "reactivation campaign"
        );
        assert_eq!(
            table.action(T::Low, Some(B::High), S::AtRisk),
            "price/cover adjustment"
        );
        assert_eq!(
            table.action(T::General, Some(B::Low), S::Loyal),
            "standard service"
        );
        assert_eq!(table.action(T::General, None, S::Loyal), "standard service");
        let bad = vec![rule("gold", "*", "*", "x"), rule("*", "*", "*", "y")];
        assert!(ActionTable::check(&bad)
            .unwrap_err()
            .to_string()
            .contains("tier 'gold'"));
        assert!(ActionTable::check(&[rule("high", "*", "*", "x")]).is_err());
        let unscored = vec![rule("*", "none", "*", "call"), rule("*", "*", "*", "y")];
        let t = ActionTable::check(&unscored).unwrap();
        assert_eq!(t.action(T::Low, None, S::Loyal), "call");
        assert_eq!(t.action(T::Low, Some(B::Low), S::Loyal), "y");
    }
}
