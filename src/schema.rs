//! The data contract: the one place that names each source's fields, their types and
//! whether they are required. A user's file names are mapped onto these by the config.

/// Which shape the input data has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Clients, policies, payments, claims and contacts tables (any subset).
    #[default]
    Relational,
    /// One table of (client id, date, amount).
    Transactions,
    /// One row per client with declared feature columns and, for training, a label.
    Flat,
}

impl Mode {
    /// The sources a book of this mode is read from (flat: its one table, configured
    /// apart).
    pub fn sources(self) -> &'static [Source] {
        match self {
            Mode::Relational => &Source::RELATIONAL,
            Mode::Transactions => &[Source::Transactions],
            Mode::Flat => &[],
        }
    }
}

/// The sources a book can be made of.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Clients,
    Policies,
    Payments,
    Claims,
    Contacts,
    Transactions,
    Flat,
}

impl Source {
    /// Every source, in contract order.
    pub const ALL: [Source; 7] = [
        Source::Clients,
        Source::Policies,
        Source::Payments,
        Source::Claims,
        Source::Contacts,
        Source::Transactions,
        Source::Flat,
    ];

    /// The source a table or file stem names (`"payments"`), if any.
    pub fn named(name: &str) -> Option<Source> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    pub const RELATIONAL: [Source; 5] = [
        Source::Clients,
        Source::Policies,
        Source::Payments,
        Source::Claims,
        Source::Contacts,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Source::Clients => "clients",
            Source::Policies => "policies",
            Source::Payments => "payments",
            Source::Claims => "claims",
            Source::Contacts => "contacts",
            Source::Transactions => "transactions",
            Source::Flat => "flat",
        }
    }

    /// The contract's fields for this source (flat tables are declared by the config).
    pub fn fields(self) -> &'static [Field] {
        match self {
            Source::Clients => CLIENT_FIELDS,
            Source::Policies => POLICY_FIELDS,
            Source::Payments => PAYMENT_FIELDS,
            Source::Claims => CLAIM_FIELDS,
            Source::Contacts => CONTACT_FIELDS,
            Source::Transactions => TRANSACTION_FIELDS,
            Source::Flat => &[],
        }
    }

    /// Sources whose file may hold a header and no rows (a quiet month, a new book):
    /// the book is defined by clients and policies, transactions or the flat table.
    pub fn may_be_empty(self) -> bool {
        matches!(self, Source::Payments | Source::Claims | Source::Contacts)
    }

    pub fn field(self, name: &str) -> Option<&'static Field> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// The dates that tell how far a source's data reaches: the latest of them over
    /// every source is the book's last date (`features::data_end`).
    pub fn end_dates(self) -> &'static [&'static str] {
        match self {
            Source::Policies => &["start_date", "end_date"],
            Source::Payments => &["due_date", "paid_date"],
            Source::Claims => &["claim_date"],
            Source::Contacts => &["contact_date"],
            Source::Transactions => &["date"],
            Source::Clients | Source::Flat => &[],
        }
    }

    /// What this source's rows are checked against when loaded, beyond each field's
    /// kind, how they link, and how long a run keeps them (ingest and the runs apply
    /// these; a new source states its rules here).
    pub fn rules(self) -> SourceRules {
        match self {
            Source::Clients => SourceRules {
                defines: Some("client_id"),
                ..SourceRules::NONE
            },
            Source::Policies => SourceRules {
                not_negative: &["annual_premium", "sum_assured"],
                ordered_dates: Some(("start_date", "end_date")),
                not_after_extract: &["start_date"],
                may_be_scheduled: Some("end_date"),
                defines: Some("policy_id"),
                ..SourceRules::NONE
            },
            Source::Payments => SourceRules {
                not_negative: &["amount"],
                not_after_extract: &["due_date", "paid_date"],
                read_for: ReadFor::Features,
                ..SourceRules::NONE
            },
            Source::Claims => SourceRules {
                not_negative: &["amount_claimed", "amount_paid"],
                not_after_extract: &["claim_date"],
                read_for: ReadFor::Features,
                ..SourceRules::NONE
            },
            Source::Contacts => SourceRules {
                not_after_extract: &["contact_date"],
                read_for: ReadFor::Features,
                ..SourceRules::NONE
            },
            Source::Transactions => SourceRules {
                not_negative: &["amount"],
                not_after_extract: &["date"],
                read_for: ReadFor::Outcomes,
                ..SourceRules::NONE
            },
            Source::Flat => SourceRules::NONE,
        }
    }
}

/// What a run reads a source for beyond the point-in-time features: once those are
/// computed, a run frees the sources it no longer reads (a 1M-client book's 30M payment
/// and contact rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFor {
    /// Only the features: freed once they are computed.
    Features,
    /// The features and the lapse outcome: kept by a labeling run, which measures the
    /// realised outcomes of the previous run's labels after its features.
    Outcomes,
    /// The whole run (the clients; the policies for holdings, persistency and exits).
    Everything,
}

/// The row rules of one source, as data: a row breaking one is quarantined with the
/// reason, except a scheduled date, which is cleared.
#[derive(Clone, Copy, Debug)]
pub struct SourceRules {
    /// Numbers that may not be negative.
    pub not_negative: &'static [&'static str],
    /// A start and an end date: an end before the start breaks the row.
    pub ordered_dates: Option<(&'static str, &'static str)>,
    /// Dates that may not fall after the extract date.
    pub not_after_extract: &'static [&'static str],
    /// A date that may fall after the extract (a scheduled expiry, a 9999-12-31 "open"
    /// placeholder): it has not happened yet, and is cleared, as is one before 1900.
    pub may_be_scheduled: Option<&'static str>,
    /// The id this source defines, one row each (a repeat is quarantined): other
    /// sources' rows link to it, so it is loaded before them.
    pub defines: Option<&'static str>,
    /// How long a run keeps the source's rows.
    pub read_for: ReadFor,
}

impl SourceRules {
    /// No rules beyond the fields' kinds; kept for the whole run.
    pub const NONE: SourceRules = SourceRules {
        not_negative: &[],
        ordered_dates: None,
        not_after_extract: &[],
        may_be_scheduled: None,
        defines: None,
        read_for: ReadFor::Everything,
    };
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a field's values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An identifier, kept as text.
    Id,
    /// A category; spellings are normalised (trim, case, aliases).
    Category,
    /// A number (integers and decimals).
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

impl Kind {
    pub fn expected(self) -> &'static str {
        match self {
            Kind::Id => "an identifier",
            Kind::Category => "a category label",
            Kind::Number => "a number",
            Kind::Date => "a date as YYYY-MM-DD",
        }
    }
}

/// One field of the contract.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub meaning: &'static str,
}

const fn req(name: &'static str, kind: Kind, meaning: &'static str) -> Field {
    Field {
        name,
        kind,
        required: true,
        meaning,
    }
}

const fn opt(name: &'static str, kind: Kind, meaning: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        meaning,
    }
}

pub const CLIENT_FIELDS: &[Field] = &[
    req("client_id", Kind::Id, "unique client identifier"),
    opt(
        "birth_date",
        Kind::Date,
        "date of birth (age is derived at the cut-off)",
    ),
    opt(
        "age",
        Kind::Number,
        "age in years, when no birth date is held",
    ),
    opt("gender", Kind::Category, "gender"),
    opt(
        "marital_status",
        Kind::Category,
        "single, married, divorced, widowed",
    ),
    opt("dependents", Kind::Number, "number of dependants"),
    opt("annual_income", Kind::Number, "annual income"),
    opt("education", Kind::Category, "highest education"),
    opt("occupation", Kind::Category, "occupation group"),
    opt("region", Kind::Category, "region"),
    opt(
        "city_tier",
        Kind::Category,
        "city tier (1 = largest cities)",
    ),
    opt(
        "channel",
        Kind::Category,
        "acquisition channel (agent, bank, broker, online...)",
    ),
    opt(
        "first_known_date",
        Kind::Date,
        "date the client first became known",
    ),
];

pub const POLICY_FIELDS: &[Field] = &[
    req("policy_id", Kind::Id, "unique policy identifier"),
    req("client_id", Kind::Id, "policy holder"),
    req("product", Kind::Category, "product line"),
    req("start_date", Kind::Date, "inception date"),
    opt(
        "end_date",
        Kind::Date,
        "date the policy stopped being in force (empty while in force)",
    ),
    opt(
        "end_reason",
        Kind::Category,
        "lapse, surrender, non_renewal, maturity, death_claim, other",
    ),
    req("annual_premium", Kind::Number, "annualised premium"),
    opt("sum_assured", Kind::Number, "sum assured"),
    opt(
        "payment_frequency",
        Kind::Category,
        "annual, semiannual, quarterly, monthly, single",
    ),
];

pub const PAYMENT_FIELDS: &[Field] = &[
    req("client_id", Kind::Id, "payer"),
    opt("policy_id", Kind::Id, "policy the premium is for"),
    req(
        "due_date",
        Kind::Date,
        "date the premium fell due (or the transaction date)",
    ),
    opt("paid_date", Kind::Date, "date it was paid; empty = missed"),
    req("amount", Kind::Number, "amount due"),
];

pub const CLAIM_FIELDS: &[Field] = &[
    opt("claim_id", Kind::Id, "claim identifier"),
    opt("policy_id", Kind::Id, "policy claimed on"),
    req("client_id", Kind::Id, "claimant"),
    req("claim_date", Kind::Date, "date of the claim"),
    req("amount_claimed", Kind::Number, "amount claimed"),
    opt("amount_paid", Kind::Number, "amount paid out"),
    opt("status", Kind::Category, "paid, rejected, open..."),
];

pub const CONTACT_FIELDS: &[Field] = &[
    req("client_id", Kind::Id, "client"),
    req("contact_date", Kind::Date, "date of the contact"),
    req(
        "kind",
        Kind::Category,
        "service_call, complaint, policy_review, app_login, agent_visit...",
    ),
];

pub const TRANSACTION_FIELDS: &[Field] = &[
    req("client_id", Kind::Id, "client"),
    req("date", Kind::Date, "transaction date"),
    req("amount", Kind::Number, "amount"),
];

/// Product lines of the contract; other values map to `other`.
pub const PRODUCT_LINES: &[&str] = &[
    "whole_life",
    "term_life",
    "annuity",
    "critical_illness",
    "medical",
    "accident",
    "education",
    "universal_life",
];

/// Reasons a policy ends; `lapse`, `surrender` and `non_renewal` are churn.
pub const END_REASONS: &[&str] = &[
    "lapse",
    "surrender",
    "non_renewal",
    "maturity",
    "death_claim",
    "other",
];

pub const PAYMENT_FREQUENCIES: &[&str] =
    &["annual", "semiannual", "quarterly", "monthly", "single"];

/// Built-in spellings for the contract's categories, applied after trimming and
/// lower-casing. The config adds to these.
pub fn builtin_aliases(field: &str) -> &'static [(&'static str, &'static str)] {
    match field {
        "gender" => &[
            ("m", "male"),
            ("man", "male"),
            ("f", "female"),
            ("woman", "female"),
        ],
        "marital_status" => &[
            ("s", "single"),
            ("m", "married"),
            ("d", "divorced"),
            ("w", "widowed"),
        ],
        "product" => &[
            ("whole life", "whole_life"),
            ("term", "term_life"),
            ("term life", "term_life"),
            ("ci", "critical_illness"),
            ("critical illness", "critical_illness"),
            ("health", "medical"),
            ("universal", "universal_life"),
            ("investment_linked", "universal_life"),
            ("investment-linked", "universal_life"),
            ("unit_linked", "universal_life"),
        ],
        "end_reason" => &[
            ("lapsed", "lapse"),
            ("surrendered", "surrender"),
            ("non-renewal", "non_renewal"),
            ("not renewed", "non_renewal"),
            ("matured", "maturity"),
            ("death", "death_claim"),
        ],
        "payment_frequency" => &[
            ("yearly", "annual"),
            ("semi-annual", "semiannual"),
            ("half-yearly", "semiannual"),
            ("month", "monthly"),
        ],
        _ => &[],
    }
}

/// Closed vocabularies: values outside them become `other` (and are counted).
pub fn vocabulary(source: Source, field: &str) -> Option<&'static [&'static str]> {
    match (source, field) {
        (Source::Policies, "product") => Some(PRODUCT_LINES),
        (Source::Policies, "end_reason") => Some(END_REASONS),
        (Source::Policies, "payment_frequency") => Some(PAYMENT_FREQUENCIES),
        _ => None,
    }
}
