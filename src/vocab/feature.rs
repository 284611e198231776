//! The one definition of every computed feature: its column name, group, meaning (printed
//! by `clientele-train --explain-features`), and the words segment names use for a high
//! or a low value. Code refers to features by `Feature`, so a misspelled feature does not
//! compile; flat mode's features are the config's columns and stay names.

use crate::schema::Mode;

macro_rules! features {
    ($($variant:ident => $name:literal, $group:literal, $meaning:literal, ($high:literal, $low:literal);)*) => {
        /// A feature computed by clientele (relational or transactions mode).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Feature {
            $($variant,)*
        }

        impl Feature {
            /// Every feature, in declaration order.
            pub const ALL: &'static [Feature] = &[$(Feature::$variant,)*];

            /// The model column name (also the name in bundles, labels and reports).
            pub fn name(self) -> &'static str {
                match self {
                    $(Feature::$variant => $name,)*
                }
            }

            /// The kind of information, e.g. "RFM recency".
            pub fn group(self) -> &'static str {
                match self {
                    $(Feature::$variant => $group,)*
                }
            }

            /// What the value is, in one line.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Feature::$variant => $meaning,)*
                }
            }

            /// Words for a segment that is high / low on this feature.
            pub fn words(self) -> (&'static str, &'static str) {
                match self {
                    $(Feature::$variant => ($high, $low),)*
                }
            }
        }
    };
}

features! {
    Age => "age", "demographics",
        "age in years at the cut-off (birth date, else the age column)", ("older", "younger");
    Dependents => "dependents", "demographics",
        "number of dependants", ("larger families", "few dependants");
    LogIncome => "log_income", "demographics",
        "ln(1 + annual income), after imputation and capping", ("high income", "low income");
    PremiumInForce => "premium_in_force", "value",
        "annual premium of the policies in force at the cut-off", ("high premium", "low premium");
    PremiumBurden => "premium_burden", "value",
        "premium in force / annual income (price sensitivity)",
        ("premium-stretched", "light premium burden");
    Policies => "n_policies", "value",
        "policies in force at the cut-off", ("many policies", "few policies");
    Products => "n_products", "value",
        "distinct product lines in force", ("multi-product", "single product");
    TenureYears => "tenure_years", "value",
        "years since the client's first policy started", ("long tenure", "short tenure");
    HasProtection => "has_protection", "product mix",
        "holds whole life, term life, critical illness or accident cover",
        ("protection cover", "little protection");
    HasSavings => "has_savings", "product mix",
        "holds an annuity, education or universal/investment-linked policy",
        ("savings products", "no savings products");
    HasHealth => "has_health", "product mix",
        "holds medical or critical illness cover", ("health cover", "no health cover");
    CollectionRate12m => "collection_rate_12m", "value",
        "premium collection rate: premiums paid by the cut-off / premiums due in the last 12 months",
        ("pays on time", "patchy payer");
    RenewalRate => "renewal_rate", "value",
        "policy anniversaries reached / anniversaries due, over the relationship (a policy ended by maturity or death is not due again)",
        ("renews", "lets policies go");
    ClaimsRatio => "claims_ratio", "value",
        "claims paid / premiums paid, over the whole history before the cut-off",
        ("heavy claimers", "light claimers");
    Missed6m => "missed_6m", "behaviour",
        "premiums due in the last 6 months and unpaid at the cut-off",
        ("missed premiums", "never misses");
    Missed12m => "missed_12m", "behaviour",
        "premiums due in the last 12 months and unpaid at the cut-off",
        ("missed premiums", "never misses");
    DaysSincePayment => "days_since_payment", "RFM recency",
        "days since the last premium was paid", ("long since paying", "recent payer");
    PaidYears36m => "paid_years_36m", "RFM frequency",
        "years of premium paid in the last 3 years: each instalment counts 1 / the instalments a year of its policy's payment_frequency (estimated from the client's dues when unknown), so a monthly and an annual payer of the same policy count alike",
        ("steady payer", "few premium years");
    Paid12m => "paid_12m", "RFM monetary",
        "amount paid in the last 12 months", ("high spend", "low spend");
    Claims12m => "claims_12m", "behaviour",
        "claims made in the last 12 months", ("recent claims", "no recent claims");
    Complaints6m => "complaints_6m", "behaviour",
        "complaints in the last 6 months", ("complaining", "no complaints");
    ServiceContacts6m => "service_contacts_6m", "behaviour",
        "service calls, reviews and agent visits in the last 6 months",
        ("agent-served", "little service contact");
    Logins6m => "logins_6m", "digital engagement",
        "app logins in the last 6 months", ("digital", "offline");
    DaysSinceContact => "days_since_contact", "behaviour",
        "days since the last contact of any kind", ("dormant", "recently in touch");
    DaysSinceTransaction => "days_since_transaction", "RFM recency",
        "days since the last transaction", ("lapsing buyer", "recent buyer");
    Transactions12m => "transactions_12m", "RFM frequency",
        "transactions in the last 12 months", ("frequent buyer", "occasional buyer");
    Transactions36m => "transactions_36m", "RFM frequency",
        "transactions in the last 3 years", ("frequent buyer", "occasional buyer");
    Amount12m => "amount_12m", "RFM monetary",
        "amount in the last 12 months", ("big spender", "small spender");
    MeanAmount => "mean_amount", "RFM monetary",
        "mean transaction amount over the history", ("big spender", "small spender");
    // Same column name as `TenureYears`, measured from transactions.
    TransactionTenure => "tenure_years", "value",
        "years since the first transaction", ("long tenure", "short tenure");
}

/// Numeric features of the relational mode, in matrix order.
pub const RELATIONAL: &[Feature] = &[
    Feature::Age,
    Feature::Dependents,
    Feature::LogIncome,
    Feature::PremiumInForce,
    Feature::PremiumBurden,
    Feature::Policies,
    Feature::Products,
    Feature::TenureYears,
    Feature::HasProtection,
    Feature::HasSavings,
    Feature::HasHealth,
    Feature::CollectionRate12m,
    Feature::RenewalRate,
    Feature::ClaimsRatio,
    Feature::Missed6m,
    Feature::Missed12m,
    Feature::DaysSincePayment,
    Feature::PaidYears36m,
    Feature::Paid12m,
    Feature::Claims12m,
    Feature::Complaints6m,
    Feature::ServiceContacts6m,
    Feature::Logins6m,
    Feature::DaysSinceContact,
];

/// Numeric features of the transactions-only mode, in matrix order.
pub const TRANSACTIONS: &[Feature] = &[
    Feature::DaysSinceTransaction,
    Feature::Transactions12m,
    Feature::Transactions36m,
    Feature::Amount12m,
    Feature::MeanAmount,
    Feature::TransactionTenure,
];

/// Categorical client attributes (relational mode), one-hot encoded with an "other"
/// bucket for rare or unseen levels.
pub const CATEGORICAL: &[&str] = &[
    "gender",
    "marital_status",
    "education",
    "occupation",
    "region",
    "city_tier",
    "channel",
];

impl Feature {
    /// The numeric features a mode computes (flat mode's are declared in the config).
    pub fn catalogue(mode: Mode) -> &'static [Feature] {
        match mode {
            Mode::Relational => RELATIONAL,
            Mode::Transactions => TRANSACTIONS,
            Mode::Flat => &[],
        }
    }

    /// Feature names earlier versions computed with another meaning, and what replaced
    /// them: a model that names one is refused rather than fed a different quantity.
    pub const RETIRED: &'static [(&'static str, &'static str)] = &[
        (
            "renewal_rate_12m",
            "collection_rate_12m (it was premiums paid / premiums due: a collection rate, not renewal)",
        ),
        (
            "payments_36m",
            "paid_years_36m (it counted instalments, so a monthly payer looked 12 times as frequent as an annual one)",
        ),
    ];

    /// The mode's feature with this column name (`None` for flat mode's own columns).
    pub fn in_mode(mode: Mode, name: &str) -> Option<Feature> {
        Feature::catalogue(mode)
            .iter()
            .copied()
            .find(|f| f.name() == name)
    }

    /// Any computed feature with this column name (features sharing a name share their
    /// words, so the first is as good as any).
    pub fn from_name(name: &str) -> Option<Feature> {
        Feature::ALL.iter().copied().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_belongs_to_one_mode_and_names_are_unique_within_it() {
        for f in Feature::ALL {
            let in_modes = [RELATIONAL, TRANSACTIONS]
                .iter()
                .filter(|m| m.contains(f))
                .count();
            assert_eq!(in_modes, 1, "{f:?}");
        }
        for mode in [RELATIONAL, TRANSACTIONS] {
            let mut names: Vec<&str> = mode.iter().map(|f| f.name()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), mode.len());
        }
    }

    #[test]
    fn names_resolve_back_to_their_feature() {
        assert_eq!(
            Feature::in_mode(Mode::Relational, "age"),
            Some(Feature::Age)
        );
        assert_eq!(
            Feature::in_mode(Mode::Transactions, "tenure_years"),
            Some(Feature::TransactionTenure)
        );
        assert_eq!(Feature::in_mode(Mode::Flat, "age"), None);
        assert_eq!(Feature::from_name("agee"), None);
        assert_eq!(
            Feature::from_name("missed_6m")
                .map(Feature::words)
                .map(|w| w.0),
            Some("missed premiums")
        );
    }
}
