//! The business vocabulary: value tiers, risk bands, lifecycle stages and the computed
//! features (`feature.rs`). Each is a closed
//! set, so each is a type; its words (as written in the labels, the action rules of a
//! config and the report) are defined here once. A misspelled tier in code does not
//! compile; in a config it is an error at load.

pub mod feature;

pub use feature::{Feature, CATEGORICAL};

use std::fmt;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
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

            /// The value a word names, if any.
            pub fn from_word(word: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == word)
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
    /// A client's value to the insurer (see README, "Labels").
    ValueTier {
        High = "high",
        Potential = "potential",
        General = "general",
        Low = "low",
        /// No value features are known (flat mode).
        NotApplicable = "n/a",
    }
}

vocabulary! {
    /// A scored client's lapse risk, from the model's probability and the stored cuts.
    RiskBand {
        High = "high",
        Medium = "medium",
        Low = "low",
    }
}

vocabulary! {
    /// Where a client stands on the path potential -> new -> loyal -> at risk -> lapsed.
    LifecycleStage {
        Potential = "potential",
        New = "new",
        Loyal = "loyal",
        AtRisk = "at risk",
        Lapsed = "lapsed",
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
        assert_eq!(RiskBand::from_word("none"), None);
        assert_eq!(band_word(None), "none");
    }
}
