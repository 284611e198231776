//! The feature list and what each feature means, printed by
//! `clientele-train --explain-features` and documented in the README.

use crate::config::Mode;

/// One feature's name, the sources it needs and its meaning.
#[derive(Clone, Copy, Debug)]
pub struct FeatureInfo {
    pub name: &'static str,
    pub group: &'static str,
    pub meaning: &'static str,
}

const fn f(name: &'static str, group: &'static str, meaning: &'static str) -> FeatureInfo {
    FeatureInfo {
        name,
        group,
        meaning,
    }
}

/// Numeric features of the relational mode, in matrix order.
pub const RELATIONAL: &[FeatureInfo] = &[
    f(
        "age",
        "demographics",
        "age in years at the cut-off (birth date, else the age column)",
    ),
    f("dependents", "demographics", "number of dependants"),
    f(
        "log_income",
        "demographics",
        "ln(1 + annual income), after imputation and capping",
    ),
    f(
        "premium_in_force",
        "value",
        "annual premium of the policies in force at the cut-off",
    ),
    f(
        "premium_burden",
        "value",
        "premium in force / annual income (price sensitivity)",
    ),
    f("n_policies", "value", "policies in force at the cut-off"),
    f("n_products", "value", "distinct product lines in force"),
    f(
        "tenure_years",
        "value",
        "years since the client's first policy started",
    ),
    f(
        "has_protection",
        "product mix",
        "holds whole life, term life, critical illness or accident cover",
    ),
    f(
        "has_savings",
        "product mix",
        "holds an annuity, education or universal/investment-linked policy",
    ),
    f(
        "has_health",
        "product mix",
        "holds medical or critical illness cover",
    ),
    f(
        "renewal_rate_12m",
        "value",
        "premiums paid by the cut-off / premiums due in the last 12 months",
    ),
    f(
        "claims_ratio",
        "value",
        "claims paid / premiums paid, over the whole history before the cut-off",
    ),
    f(
        "missed_6m",
        "behaviour",
        "premiums due in the last 6 months and unpaid at the cut-off",
    ),
    f(
        "missed_12m",
        "behaviour",
        "premiums due in the last 12 months and unpaid at the cut-off",
    ),
    f(
        "days_since_payment",
        "RFM recency",
        "days since the last premium was paid",
    ),
    f(
        "payments_36m",
        "RFM frequency",
        "premiums paid in the last 3 years",
    ),
    f(
        "paid_12m",
        "RFM monetary",
        "amount paid in the last 12 months",
    ),
    f(
        "claims_12m",
        "behaviour",
        "claims made in the last 12 months",
    ),
    f(
        "complaints_6m",
        "behaviour",
        "complaints in the last 6 months",
    ),
    f(
        "service_contacts_6m",
        "behaviour",
        "service calls, reviews and agent visits in the last 6 months",
    ),
    f(
        "logins_6m",
        "digital engagement",
        "app logins in the last 6 months",
    ),
    f(
        "days_since_contact",
        "behaviour",
        "days since the last contact of any kind",
    ),
];

/// Numeric features of the transactions-only mode.
pub const TRANSACTIONS: &[FeatureInfo] = &[
    f(
        "days_since_transaction",
        "RFM recency",
        "days since the last transaction",
    ),
    f(
        "transactions_12m",
        "RFM frequency",
        "transactions in the last 12 months",
    ),
    f(
        "transactions_36m",
        "RFM frequency",
        "transactions in the last 3 years",
    ),
    f("amount_12m", "RFM monetary", "amount in the last 12 months"),
    f(
        "mean_amount",
        "RFM monetary",
        "mean transaction amount over the history",
    ),
    f("tenure_years", "value", "years since the first transaction"),
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

/// The numeric features of a mode (flat mode's are declared in the config).
pub fn catalogue(mode: Mode) -> &'static [FeatureInfo] {
    match mode {
        Mode::Relational => RELATIONAL,
        Mode::Transactions => TRANSACTIONS,
        Mode::Flat => &[],
    }
}
