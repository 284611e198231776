//! The business vocabulary: value tiers, risk bands, lifecycle stages and the computed
//! features (`feature.rs`). Each is a closed
//! set, so each is a type; its words (as written in the labels, the action rules of a
//! config and the report) are defined here once. A misspelled tier in code does not
//! compile; in a config it is an error at load.

pub mod exit;
pub mod feature;
pub mod words;

pub use exit::ExitState;
pub use feature::{Feature, CATEGORICAL};
pub use words::{ChartFont, Vocabulary};

use std::fmt;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = ($code:literal, $word:literal)),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in the order the report lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word used in labels, configs and reports.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// The stable code written beside the word in the labels (`*_code` columns):
            /// ASCII, never translated or renamed, for joins downstream.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// The value a word (or its code) names, if any.
            pub fn from_word(word: &str) -> Option<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == word || v.code() == word)
            }

            /// Every word, for error messages.
            pub fn words() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// A client's value to the insurer (rules and sources: docs/domain.md).
    ValueTier {
        High = ("high", "high"),
        /// Growth potential (潜力客户): under-insured for their means. Only a tier.
        Potential = ("potential", "potential"),
        General = ("general", "general"),
        Low = ("low", "low"),
        /// No value features are known (flat mode).
        NotApplicable = ("na", "n/a"),
    }
}

vocabulary! {
    /// A scored client's lapse risk, from the model's probability and the stored cuts.
    RiskBand {
        High = ("high", "high"),
        Medium = ("medium", "medium"),
        Low = ("low", "low"),
    }
}

vocabulary! {
    /// Where a client stands in the relationship, in order of precedence: the first
    /// that applies is the client's stage (rules and sources: docs/domain.md).
    LifecycleStage {
        /// Held a policy, none in force now, and a policy ended by a death claim: never
        /// contacted for sales.
        Deceased = ("deceased", "deceased"),
        /// Held a policy, none in force now; the policy that ended last matured (its term
        /// ran out): not churn, a benefit to reinvest (满期客户).
        Matured = ("matured", "matured"),
        /// Held a policy, none in force now; the policy that ended last was surrendered
        /// (the client took the cash value, 退保): churn, nothing left to reinstate.
        Surrendered = ("surrendered", "surrendered"),
        /// Held a policy, none in force now; the policy that ended last lapsed (premium
        /// unpaid, 失效), was not renewed, or ended for another or no recorded reason.
        Lapsed = ("lapsed", "lapsed"),
        /// Known, never held a policy (潜在客户): a first-policy offer, never a cross-sell.
        Prospect = ("prospect", "prospect"),
        /// In force with a missed premium, a complaint or a high risk band; outranks
        /// "new" (first-year lapse is the largest lapse spike).
        AtRisk = ("at_risk", "at risk"),
        /// In the first policy year.
        New = ("new", "new"),
        /// In force again after cover was lost to a lapse, surrender or non-renewal.
        WonBack = ("won_back", "won back"),
        /// Long tenure and repeat purchase.
        Loyal = ("loyal", "loyal"),
        /// In force, none of the above.
        Established = ("established", "established"),
    }
}

vocabulary! {
    /// What a client's situation says about which retention remedy fits (action rules
    /// match on these as `signal`; rules in docs/domain.md).
    Signal {
        /// A premium missed in the last 6 months: payment difficulty.
        MissedPremium = ("missed_premium", "missed premium"),
        /// A complaint in the last 6 months.
        Complaint = ("complaint", "complaint"),
        /// Premium burden in the training book's top share: the cover costs too much.
        Stretched = ("stretched", "premium-stretched"),
        /// Holds a policy with a cash value.
        CashValue = ("cash_value", "cash value"),
        /// Pays every regular premium annually or semiannually.
        AnnualPayer = ("annual_payer", "annual payer"),
        /// Scored by a model of surrender (`[lapse] outcome = "surrender"`): the risk is a
        /// cash need, not payment difficulty.
        SurrenderRisk = ("surrender_risk", "surrender risk"),
        /// No policy in force; the last one lapsed (premium unpaid) within the
        /// reinstatement period: it can be reinstated (复效).
        Reinstatable = ("reinstatable", "reinstatable"),
        /// No policy in force; the cover ended within the win-back window: an offer to
        /// come back (or to reinvest a maturity) is still timely.
        RecentlyLeft = ("recently_left", "recently left"),
    }
}

vocabulary! {
    /// What the lapse model predicts: the policy exits it treats as leaving (docs/domain.md,
    /// "Lapse and surrender").
    LapseOutcome {
        /// Lapse, surrender or non-renewal, pooled (the default).
        Any = ("lapse_or_surrender", "lapse or surrender"),
        /// Lapse or non-renewal: the premium stopped (payment difficulty).
        Lapse = ("lapse", "lapse"),
        /// Surrender: the client took the cash value (a cash need, rates elsewhere).
        Surrender = ("surrender", "surrender"),
    }
}

impl LapseOutcome {
    /// The end reasons that count as this outcome.
    pub fn end_reasons(self) -> &'static [&'static str] {
        match self {
            LapseOutcome::Any => &["lapse", "surrender", "non_renewal"],
            LapseOutcome::Lapse => &["lapse", "non_renewal"],
            LapseOutcome::Surrender => &["surrender"],
        }
    }
}

// The vocabulary macro owns the enum's derives, so the default is written out.
#[allow(clippy::derivable_impls)]
impl Default for LapseOutcome {
    fn default() -> Self {
        LapseOutcome::Any
    }
}

impl serde::Serialize for LapseOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for LapseOutcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        LapseOutcome::ALL
            .iter()
            .copied()
            .find(|o| o.code() == word)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "outcome = {word:?}: expected one of \"lapse_or_surrender\", \"lapse\", \"surrender\""
                ))
            })
    }
}

vocabulary! {
    /// A need a client's situation shows (docs/domain.md, "Needs"), in the order a first
    /// policy is chosen from them.
    Need {
        Protection = ("protection", "protection"),
        Health = ("health", "health"),
        Education = ("education", "education"),
        Retirement = ("retirement", "retirement"),
        Wealth = ("wealth", "wealth"),
    }
}

impl Need {
    /// The product line that answers the need first.
    pub fn product(self) -> &'static str {
        match self {
            Need::Protection => "term_life",
            Need::Health => "medical",
            Need::Education => "education",
            Need::Retirement => "annuity",
            Need::Wealth => "universal_life",
        }
    }
}

vocabulary! {
    /// Death cover in force against the protection need (income multiple x income).
    CoverageBand {
        NoCover = ("none", "none"),
        Low = ("low", "low"),
        Partial = ("partial", "partial"),
        Adequate = ("adequate", "adequate"),
        /// Income (or a sum assured) is missing: the gap cannot be known.
        Unknown = ("unknown", "unknown"),
    }
}

/// A client's signals as bits (`1 << Signal as u8`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Signals(u16);

impl Signals {
    pub const NONE: Signals = Signals(0);

    #[must_use]
    pub fn with(self, signal: Signal, on: bool) -> Self {
        if on {
            Signals(self.0 | 1 << signal as u16)
        } else {
            self
        }
    }

    pub fn has(self, signal: Signal) -> bool {
        self.0 & 1 << signal as u16 != 0
    }

    /// Every signal of `required` is set here.
    pub fn contains(self, required: Signals) -> bool {
        self.0 & required.0 == required.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The word action rules use for a client who is not scored (no band).
pub const NO_BAND: &str = "none";

/// A client's band as a rule word: the band, or `none` when not scored.
pub fn band_word(band: Option<RiskBand>) -> &'static str {
    band.map_or(NO_BAND, RiskBand::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for t in ValueTier::ALL {
            assert_eq!(ValueTier::from_word(t.as_str()), Some(*t));
        }
        assert_eq!(
            LifecycleStage::from_word("at risk"),
            Some(LifecycleStage::AtRisk)
        );
        assert_eq!(
            LifecycleStage::from_word("won_back"),
            Some(LifecycleStage::WonBack)
        );
        assert_eq!(LifecycleStage::from_word("potential"), None);
        assert_eq!(ValueTier::NotApplicable.code(), "na");
        for s in LifecycleStage::ALL {
            assert!(s
                .code()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert_eq!(RiskBand::from_word("none"), None);
        assert_eq!(band_word(None), "none");
        let s = Signals::NONE
            .with(Signal::CashValue, true)
            .with(Signal::Complaint, false);
        assert!(s.has(Signal::CashValue) && !s.has(Signal::Complaint));
        assert!(s.contains(Signals::NONE.with(Signal::CashValue, true)));
        assert!(!s.contains(Signals::NONE.with(Signal::MissedPremium, true)));
    }
}
