//! The recommended-action table (`[[actions]]` in the config): rules over value tier x
//! risk band x lifecycle stage x the client's signals, first match wins. Written as words in the config,
//! checked once into an `ActionTable` of typed patterns that labeling trusts.

use crate::error::{Error, Result};
use crate::vocab::{band_word, LifecycleStage, RiskBand, Signal, Signals, ValueTier, NO_BAND};
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
    /// The client's signals: `*`, alternatives separated by `|`, each one signal or
    /// several joined by `+` (all needed), or `none` for a client without signals.
    #[serde(default = "any", skip_serializing_if = "is_any")]
    pub signal: String,
    pub action: String,
    /// The stable code written beside the action's words (`action_code`); default: the
    /// words in lower case with `_` for every run of other characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
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
        signal: any(),
        action: action.into(),
        code: None,
    }
}

fn when(signal: &str, rule: ActionRule) -> ActionRule {
    ActionRule {
        signal: signal.into(),
        ..rule
    }
}

/// The code of an action's words: lower-case ASCII letters and digits, `_` between.
pub fn action_code(words: &str) -> String {
    let mut code = String::new();
    for ch in words.chars() {
        if ch.is_ascii_alphanumeric() {
            code.push(ch.to_ascii_lowercase());
        } else if !code.is_empty() && !code.ends_with('_') {
            code.push('_');
        }
    }
    code.trim_end_matches('_').to_string()
}

/// The code no rule may give a prospect: a person without a policy has nothing to
/// cross-sell to.
pub const CROSS_SELL: &str = "cross_sell";

/// The start of every code a deceased client may get: no sales contact after a death.
/// Never held out of (there is nothing to withhold).
pub const NO_CONTACT: &str = "no_contact";

/// Never a sales contact after a death: first in the default table, and put first in a
/// table that names no rule for the stage.
fn deceased_rule() -> ActionRule {
    rule("*", "*", "deceased", "no contact (deceased)")
}

/// The default table, with life insurance's own remedies: keep valuable clients at risk
/// personally; for others at risk, the remedy their situation calls for (payment
/// difficulty: a premium holiday or monthly instalments; cover too dear: a lower sum
/// assured; a cash need on a policy with a cash value: a policy loan or partial
/// withdrawal instead of a surrender; low value: a paid-up conversion; a complaint: a
/// follow-up call; a missed premium: a reminder); former clients by how their cover ended
/// (never contact the deceased; reinstate a lapse within the reinstatement period;
/// reinvest a maturity; otherwise a new policy), offer prospects a first policy, grow the
/// under-insured.
pub fn default_actions() -> Vec<ActionRule> {
    let at_risk = "high|medium";
    let not_low = "potential|general|n/a";
    vec![
        deceased_rule(),
        when(
            "reinstatable",
            rule("*", "*", "lapsed", "reinstatement offer"),
        ),
        when(
            "recently_left",
            rule("*", "*", "matured", "maturity reinvestment offer"),
        ),
        when(
            "recently_left",
            rule("*", "*", "lapsed|surrendered", "win-back offer"),
        ),
        rule("*", "*", "prospect", "first-policy offer"),
        rule("high", at_risk, "*", "VIP retention call"),
        when(
            "surrender_risk",
            rule("*", at_risk, "*", "policy loan or partial withdrawal"),
        ),
        when(
            "missed_premium+cash_value",
            rule("*", at_risk, "*", "premium holiday"),
        ),
        when(
            "missed_premium+annual_payer",
            rule("*", at_risk, "*", "change to monthly premiums"),
        ),
        when("stretched", rule("*", at_risk, "*", "reduce sum assured")),
        when(
            "cash_value",
            rule("low", at_risk, "*", "paid-up conversion"),
        ),
        when(
            "cash_value",
            rule("*", at_risk, "*", "policy loan or partial withdrawal"),
        ),
        when(
            "complaint",
            rule("*", "*", "at_risk", "complaint follow-up call"),
        ),
        when(
            "missed_premium",
            rule("*", "*", "at_risk", "payment reminder"),
        ),
        rule(not_low, "high", "*", "agent policy review"),
        rule(not_low, "medium", "*", "health-management offer"),
        rule("low", at_risk, "*", "payment reminder"),
        rule("high|potential", "low", "*", "cross-sell"),
        rule("*", "*", "*", "standard service"),
    ]
}

/// A signal pattern: any client, or alternatives each needing all of its signals
/// (`Signals::NONE` stands for `none`: a client without signals).
#[derive(Clone, Debug, PartialEq)]
enum SignalPattern {
    Any,
    OneOf(Vec<Signals>),
}

impl SignalPattern {
    fn matches(&self, client: Signals) -> bool {
        match self {
            SignalPattern::Any => true,
            SignalPattern::OneOf(alternatives) => alternatives.iter().any(|&all| {
                if all.is_empty() {
                    client.is_empty()
                } else {
                    client.contains(all)
                }
            }),
        }
    }

    fn parse(text: &str, bad: impl Fn(&str) -> Error) -> Result<Self> {
        if text.trim() == "*" {
            return Ok(SignalPattern::Any);
        }
        let mut alternatives = Vec::new();
        for alternative in text.split('|').map(str::trim) {
            if alternative == NO_SIGNAL {
                alternatives.push(Signals::NONE);
                continue;
            }
            let mut all = Signals::NONE;
            for word in alternative.split('+').map(str::trim) {
                let signal = Signal::ALL
                    .iter()
                    .copied()
                    .find(|s| s.code() == word)
                    .ok_or_else(|| bad(word))?;
                all = all.with(signal, true);
            }
            alternatives.push(all);
        }
        Ok(SignalPattern::OneOf(alternatives))
    }
}

/// The signal word for a client without signals.
const NO_SIGNAL: &str = "none";

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
    signal: SignalPattern,
    action: Action,
}

/// A recommended action: its words and its stable code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub code: String,
    pub words: String,
}

impl CheckedRule {
    fn catches_all(&self) -> bool {
        self.tier == Pattern::Any
            && self.risk == Pattern::Any
            && self.stage == Pattern::Any
            && self.product == Pattern::Any
            && self.signal == SignalPattern::Any
    }
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
        if !checked.last().is_some_and(CheckedRule::catches_all) {
            return Err(Error::InvalidParameter(
                "the last action rule must be tier = \"*\", risk = \"*\", stage = \"*\" (and product and \
                 signal \"*\") so that every client gets an action"
                    .into(),
            ));
        }
        no_cross_sell_to_prospects(&checked)?;
        let mut checked = checked;
        if names_deceased(&checked) {
            no_contact_after_death(&checked)?;
        } else {
            // A table written without the stage (or before it existed) still never
            // contacts the deceased: the default rule goes first.
            checked.insert(0, check_rule(0, &deceased_rule())?);
        }
        Ok(ActionTable { rules: checked })
    }

    /// The default table, checked.
    pub fn defaults() -> Self {
        // The default rules are words of this module's own vocabulary: checked by a test.
        ActionTable::check(&[]).unwrap_or(ActionTable { rules: Vec::new() })
    }

    /// The code of every action of the table.
    pub fn codes(&self) -> std::collections::BTreeSet<String> {
        self.rules.iter().map(|r| r.action.code.clone()).collect()
    }

    /// The code of the action written with these words, if the table has it.
    pub fn code_of(&self, words: &str) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| r.action.words == words)
            .map(|r| r.action.code.as_str())
    }

    /// The catch-all rule's action: what a client gets when no special rule applies.
    pub fn default_action(&self) -> &str {
        self.rules
            .last()
            .map_or("standard service", |r| r.action.words.as_str())
    }

    /// The catch-all rule's action code.
    pub fn default_code(&self) -> &str {
        self.rules
            .last()
            .map_or("standard_service", |r| r.action.code.as_str())
    }

    /// Every action's code by its words.
    pub fn codes_by_words(&self) -> std::collections::BTreeMap<String, String> {
        self.rules
            .iter()
            .map(|r| (r.action.words.clone(), r.action.code.clone()))
            .collect()
    }

    /// Retention actions: those whose every rule asks for a scored client at medium or
    /// high risk, or for the stage at risk (what the effect readout's targeting check is
    /// for).
    pub fn retention_actions(&self) -> Vec<String> {
        let at_risk = |r: &CheckedRule| {
            let band = match &r.risk {
                Pattern::Any => false,
                Pattern::OneOf(bands) => bands
                    .iter()
                    .all(|b| matches!(b, Some(RiskBand::Medium | RiskBand::High))),
            };
            band || r.stage == Pattern::OneOf(vec![LifecycleStage::AtRisk])
        };
        let mut out: Vec<String> = Vec::new();
        for r in &self.rules {
            let words = &r.action.words;
            let all = self.rules.iter().filter(|o| &o.action.words == words);
            if !out.contains(words) && all.clone().all(at_risk) {
                out.push(words.clone());
            }
        }
        out
    }

    /// The first matching rule's action for a client without signals or next product.
    pub fn action(&self, tier: ValueTier, band: Option<RiskBand>, stage: LifecycleStage) -> &str {
        &self
            .action_for(tier, band, stage, None, Signals::NONE)
            .words
    }

    /// The first matching rule's action for a client whose next-best product is
    /// `product` and whose situation gives `signals`.
    pub fn action_for(
        &self,
        tier: ValueTier,
        band: Option<RiskBand>,
        stage: LifecycleStage,
        product: Option<&str>,
        signals: Signals,
    ) -> &Action {
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
                    && r.signal.matches(signals)
            })
            .or(self.rules.last())
            .map_or(&FALLBACK, |r| &r.action)
    }
}

/// Never reached: a checked table ends with a catch-all rule.
static FALLBACK: Action = Action {
    code: String::new(),
    words: String::new(),
};

/// The rules clients of `stage` can reach, in order, up to the first that catches them
/// all (a rule before a later one that catches every such client shields it).
fn reachable(
    rules: &[CheckedRule],
    stage: LifecycleStage,
) -> impl Iterator<Item = (usize, &CheckedRule)> {
    let mut shielded = false;
    rules
        .iter()
        .enumerate()
        .filter(move |(_, r)| r.stage.matches(&stage))
        .take_while(move |(_, r)| {
            let reach = !shielded;
            shielded = r.tier == Pattern::Any
                && r.risk == Pattern::Any
                && r.product == Pattern::Any
                && r.signal == SignalPattern::Any;
            reach
        })
}

/// No rule a prospect can reach recommends cross-selling.
fn no_cross_sell_to_prospects(rules: &[CheckedRule]) -> Result<()> {
    match reachable(rules, LifecycleStage::Prospect).find(|(_, r)| r.action.code == CROSS_SELL) {
        Some((i, r)) => Err(Error::InvalidParameter(format!(
            "action rule {} ({:?}) would cross-sell to prospects, who hold no policy: \
             give prospects their own rule before it (stage = \"prospect\", e.g. a \
             first-policy offer), or leave \"prospect\" out of its stage",
            i + 1,
            r.action.words
        ))),
        None => Ok(()),
    }
}

/// Whether a rule names the stage `deceased` (rather than reaching it through `*`).
fn names_deceased(rules: &[CheckedRule]) -> bool {
    rules.iter().any(|r| match &r.stage {
        Pattern::Any => false,
        Pattern::OneOf(stages) => stages.contains(&LifecycleStage::Deceased),
    })
}

/// No rule a deceased client can reach recommends a contact: every such rule's code
/// starts with `no_contact`.
fn no_contact_after_death(rules: &[CheckedRule]) -> Result<()> {
    let contact = reachable(rules, LifecycleStage::Deceased)
        .find(|(_, r)| !r.action.code.starts_with(NO_CONTACT));
    match contact {
        Some((i, r)) => Err(Error::InvalidParameter(format!(
            "action rule {} ({:?}) would contact deceased clients: give them their own rule \
             before it (stage = \"deceased\", an action whose code starts with \
             \"{NO_CONTACT}\", e.g. \"no contact (deceased)\"), or leave \"deceased\" out of \
             its stage",
            i + 1,
            r.action.words
        ))),
        None => Ok(()),
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
        signal: SignalPattern::parse(&r.signal, {
            let mut words: Vec<&'static str> = Signal::ALL.iter().map(|s| s.code()).collect();
            words.push(NO_SIGNAL);
            bad("signal", words)
        })?,
        action: Action {
            code: match &r.code {
                Some(code) => checked_code(i, r, code)?,
                None => action_code(&r.action),
            },
            words: r.action.clone(),
        },
    })
}

fn checked_code(i: usize, r: &ActionRule, code: &str) -> Result<String> {
    let ok = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(code.to_string())
    } else {
        Err(Error::InvalidParameter(format!(
            "action rule {} ({:?}): code '{code}' must be lower-case ASCII letters, digits and _",
            i + 1,
            r.action
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{LifecycleStage as S, RiskBand as B, Signal, Signals, ValueTier as T};

    #[test]
    fn the_default_table_is_valid_and_first_match_wins() {
        let table = ActionTable::check(&[]).unwrap();
        assert_eq!(
            table.action(T::High, Some(B::High), S::Loyal),
            "VIP retention call"
        );
        // A former client (never scored) by how the cover ended, and when.
        assert_eq!(table.action(T::High, None, S::Lapsed), "standard service");
        let former = |stage: S, signals: &[Signal]| {
            let set = signals.iter().fold(Signals::NONE, |s, &x| s.with(x, true));
            table
                .action_for(T::General, None, stage, None, set)
                .words
                .clone()
        };
        assert_eq!(
            former(S::Lapsed, &[Signal::Reinstatable]),
            "reinstatement offer"
        );
        let recent = [Signal::RecentlyLeft];
        assert_eq!(former(S::Lapsed, &recent), "win-back offer");
        assert_eq!(former(S::Matured, &recent), "maturity reinvestment offer");
        assert_eq!(former(S::Surrendered, &recent), "win-back offer");
        // Left long ago: no campaign.
        for stage in [S::Lapsed, S::Matured, S::Surrendered] {
            assert_eq!(former(stage, &[]), "standard service");
        }
        assert_eq!(
            former(S::Deceased, &[Signal::Reinstatable]),
            "no contact (deceased)"
        );
        // At risk by a complaint or a missed premium alone (a low model band): an action
        // for it, never "standard service".
        let at_risk = |band, signal| {
            let set = Signals::NONE.with(signal, true);
            table
                .action_for(T::General, Some(band), S::AtRisk, None, set)
                .words
                .clone()
        };
        assert_eq!(
            at_risk(B::Low, Signal::Complaint),
            "complaint follow-up call"
        );
        assert_eq!(
            at_risk(B::Medium, Signal::Complaint),
            "complaint follow-up call"
        );
        assert_eq!(at_risk(B::Low, Signal::MissedPremium), "payment reminder");
        assert_eq!(
            table.action(T::Low, Some(B::High), S::AtRisk),
            "payment reminder"
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

    #[test]
    fn prospects_get_a_first_policy_offer_and_never_a_cross_sell() {
        let table = ActionTable::defaults();
        for tier in T::ALL {
            for band in [None, Some(B::High), Some(B::Medium), Some(B::Low)] {
                let a =
                    table.action_for(*tier, band, S::Prospect, Some("term_life"), Signals::NONE);
                assert_eq!(a.code, "first_policy_offer");
                assert_ne!(a.code, CROSS_SELL);
            }
        }
        // A table that could cross-sell to a prospect is refused at load...
        let bad = vec![
            rule("high", "*", "*", "Cross-sell"),
            rule("*", "*", "*", "y"),
        ];
        let err = ActionTable::check(&bad).unwrap_err().to_string();
        assert!(err.contains("rule 1") && err.contains("prospects"), "{err}");
        // ...unless an earlier rule catches every prospect.
        let ok = vec![
            rule("*", "*", "prospect", "welcome call"),
            rule("high", "*", "*", "cross-sell"),
            rule("*", "*", "*", "y"),
        ];
        assert_eq!(
            ActionTable::check(&ok)
                .unwrap()
                .action_for(T::High, None, S::Prospect, None, Signals::NONE)
                .code,
            "welcome_call"
        );
    }

    #[test]
    fn the_deceased_are_never_contacted() {
        // A table written without the stage gets the default rule first...
        let t = ActionTable::check(&[rule("*", "*", "*", "call everyone")]).unwrap();
        let deceased = t.action_for(T::High, Some(B::High), S::Deceased, None, Signals::NONE);
        assert_eq!(deceased.code, "no_contact_deceased");
        assert_eq!(t.action(T::High, Some(B::High), S::Lapsed), "call everyone");
        // ...a table that names it must give them a no-contact action first...
        let bad = vec![
            rule("*", "*", "deceased|lapsed", "win-back offer"),
            rule("*", "*", "*", "y"),
        ];
        let err = ActionTable::check(&bad).unwrap_err().to_string();
        assert!(err.contains("rule 1") && err.contains("deceased"), "{err}");
        let ok = vec![
            rule("*", "*", "deceased", "no contact (estate)"),
            rule("*", "*", "*", "y"),
        ];
        let t = ActionTable::check(&ok).unwrap();
        assert_eq!(t.action(T::Low, None, S::Deceased), "no contact (estate)");
        assert_eq!(t.codes().len(), 2);
    }

    #[test]
    fn life_insurance_remedies_follow_the_clients_situation() {
        use crate::vocab::Signal as G;
        let table = ActionTable::defaults();
        let code = |tier, signals: &[G]| {
            let s = signals.iter().fold(Signals::NONE, |s, &g| s.with(g, true));
            table
                .action_for(tier, Some(B::High), S::AtRisk, None, s)
                .code
                .clone()
        };
        let g = T::General;
        assert_eq!(
            code(g, &[G::MissedPremium, G::CashValue]),
            "premium_holiday"
        );
        assert_eq!(
            code(g, &[G::MissedPremium, G::AnnualPayer]),
            "change_to_monthly_premiums"
        );
        assert_eq!(code(g, &[G::Stretched]), "reduce_sum_assured");
        assert_eq!(code(T::Low, &[G::CashValue]), "paid_up_conversion");
        assert_eq!(
            code(g, &[G::CashValue]),
            "policy_loan_or_partial_withdrawal"
        );
        assert_eq!(code(g, &[]), "agent_policy_review");
        assert_eq!(code(T::High, &[G::MissedPremium]), "vip_retention_call");
        // No motor-insurance remedy is left in the defaults.
        for r in default_actions() {
            assert!(!r.action.contains("price"), "{}", r.action);
        }
        // Signal patterns are checked words; `none` is a client without signals.
        let mut r = rule("*", "*", "*", "x");
        r.signal = "missed_premium+cashvalue".into();
        let err = ActionTable::check(&[r, rule("*", "*", "*", "y")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("signal 'cashvalue'"), "{err}");
        let none = vec![
            when("none", rule("*", "*", "*", "quiet")),
            rule("*", "*", "*", "y"),
        ];
        let t = ActionTable::check(&none).unwrap();
        assert_eq!(t.action(T::Low, None, S::Loyal), "quiet");
        let complaint = Signals::NONE.with(G::Complaint, true);
        assert_eq!(
            t.action_for(T::Low, None, S::Loyal, None, complaint).words,
            "y"
        );
    }

    #[test]
    fn action_codes_are_stable_slugs_or_given() {
        assert_eq!(action_code("VIP retention call"), "vip_retention_call");
        assert_eq!(
            action_code("price/cover adjustment"),
            "price_cover_adjustment"
        );
        assert_eq!(action_code("  Premium holiday! "), "premium_holiday");
        let mut r = rule("*", "*", "*", "续保提醒");
        r.code = Some("renewal_reminder".into());
        let t = ActionTable::check(&[r.clone()]).unwrap();
        assert_eq!(
            t.action_for(T::Low, None, S::Loyal, None, Signals::NONE)
                .code,
            "renewal_reminder"
        );
        r.code = Some("Renewal Reminder".into());
        assert!(ActionTable::check(&[r]).is_err());
    }

    #[test]
    fn retention_actions_are_those_given_only_at_risk() {
        let t = ActionTable::defaults();
        let r = t.retention_actions();
        assert!(r.contains(&"VIP retention call".to_string()), "{r:?}");
        assert!(r.contains(&"payment reminder".to_string()), "{r:?}");
        assert!(r.contains(&"complaint follow-up call".to_string()), "{r:?}");
        for not in ["cross-sell", "standard service", "reinstatement offer"] {
            assert!(!r.contains(&not.to_string()), "{r:?}");
        }
        assert_eq!(t.default_code(), "standard_service");
        assert_eq!(
            t.codes_by_words()["VIP retention call"],
            "vip_retention_call"
        );
    }
}
