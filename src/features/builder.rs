//! Features built one source table at a time, for one or several cut-offs: a run can
//! hand each event source's table over as soon as it is loaded and free its rows
//! (`features::FeatureStream`). `compute` feeds a whole book through the same builder,
//! so both give the same values bit for bit.

use super::compute::{self, Columns, RawFeatures, TransactionSums};
use super::facts::{self, Facts};
use crate::config::Mode;
use crate::date::Date;
use crate::error::{Error, Result};
use crate::ingest::{Coded, Table};
use crate::schema::Source;
use crate::vocab::feature::{Feature, RELATIONAL};
use rayon::prelude::*;

/// The features of a relational or transactions book being built, at each cut-off.
///
/// Sources come in any order; the features that combine several (the claims ratio,
/// the premium burden, the years of premium paid by policy in force) are made by
/// `finish`. A column is allocated when its source comes, so a builder fed a book's
/// event sources as they load holds only their columns until the rest come. Sources a
/// mode does not read are ignored; a source fed twice is refused.
///
/// ```
/// use clientele::config::Mode;
/// use clientele::features::{compute, Feature, FeatureBuilder};
/// use clientele::ingest::{load_from, Frames, Input, LoadOptions};
/// use clientele::schema::Source;
/// use clientele::{Config, Date};
/// use polars::prelude::*;
///
/// let clients = df!("client_id" => ["C1"])?;
/// let policies = df!(
///     "policy_id" => ["P1"],
///     "client_id" => ["C1"],
///     "product" => ["term_life"],
///     "start_date" => ["2020-01-15"],
///     "annual_premium" => [1200.0],
/// )?;
/// let frames = Frames::new()
///     .with(Source::Clients, clients)
///     .with(Source::Policies, policies);
/// let config = Config::default();
/// let mut opts = LoadOptions::from_config(&config, false);
/// opts.extract_date = Date::parse("2026-09-30").unwrap();
/// let book = load_from(&config, Input::Frames(&frames), &opts, None)?.book;
///
/// let cutoffs = [Date::parse("2025-12-31").unwrap(), Date::parse("2026-06-30").unwrap()];
/// let mut builder = FeatureBuilder::new(Mode::Relational, book.n_clients(), &cutoffs);
/// for (source, table) in &book.tables {
///     builder.add(*source, table, book.table(Source::Policies))?;
/// }
/// let raws = builder.finish();
/// // The same values as `compute` (NaN where it has NaN).
/// let whole = compute(&book, cutoffs[1]);
/// assert_eq!(format!("{:?}", raws[1].columns), format!("{:?}", whole.columns));
/// // As of 2025-12-31 the policy is in force: one policy, 1,200 of premium.
/// assert_eq!(raws[0].feature(Feature::PremiumInForce), Some(&[1200.0][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FeatureBuilder {
    facts: BusinessFacts,
    n: usize,
    snapshots: Vec<Partial>,
    fed: Vec<Source>,
}

/// What a builder computes beside the features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BusinessFacts {
    /// The facts the business labels read (`RawFeatures::facts`): labeling.
    #[default]
    Computed,
    /// None (`Facts::default()`): training, which models the features only (two
    /// snapshots' facts were 0.1 GB of a 1M book's training peak).
    Skipped,
}

/// One cut-off's features so far.
enum Partial {
    Relational(Box<Relational>),
    Transactions(Box<TransactionSums>),
}

impl FeatureBuilder {
    /// A builder for `n_clients` clients of a `mode` book (relational or transactions;
    /// flat books are per client already, see `compute`) at each of `cutoffs`.
    pub fn new(mode: Mode, n_clients: usize, cutoffs: &[Date]) -> Self {
        let snapshots = cutoffs
            .iter()
            .map(|&c| match mode {
                Mode::Transactions => {
                    Partial::Transactions(Box::new(TransactionSums::new(n_clients, c)))
                }
                _ => Partial::Relational(Box::new(Relational::new(n_clients, c))),
            })
            .collect();
        FeatureBuilder {
            facts: BusinessFacts::Computed,
            n: n_clients,
            snapshots,
            fed: Vec::new(),
        }
    }

    /// Computes the business facts, or not (before any source is added).
    #[must_use]
    pub fn with_facts(mut self, facts: BusinessFacts) -> Self {
        self.facts = facts;
        self
    }

    /// The cut-offs being built.
    pub fn cutoffs(&self) -> Vec<Date> {
        self.snapshots
            .iter()
            .map(|p| match p {
                Partial::Relational(r) => r.cutoff,
                Partial::Transactions(t) => t.cutoff,
            })
            .collect()
    }

    /// Adds what one source's table tells, at every cut-off (the cut-offs side by side).
    /// `policies`: the policies table the rows link to (`Table::policy`; the payments
    /// read each policy's payment frequency).
    ///
    /// # Errors
    /// `Error::Runtime` when the source was fed already (a caller's mistake: its rows
    /// would count twice).
    pub fn add(&mut self, source: Source, t: &Table, policies: Option<&Table>) -> Result<()> {
        if self.fed.contains(&source) {
            return Err(Error::Runtime(format!(
                "the features were given the {source} twice"
            )));
        }
        self.fed.push(source);
        let frequency = policies.and_then(|p| p.coded("payment_frequency"));
        let (n, with_facts) = (self.n, self.facts == BusinessFacts::Computed);
        self.snapshots.par_iter_mut().for_each(|p| match p {
            Partial::Relational(r) => r.add(source, t, (n, with_facts), frequency),
            Partial::Transactions(s) if source == Source::Transactions => s.add(t),
            Partial::Transactions(_) => {}
        });
        Ok(())
    }

    /// The features at each cut-off, in the order given.
    pub fn finish(self) -> Vec<RawFeatures> {
        let (n, with_facts) = (self.n, self.facts == BusinessFacts::Computed);
        self.snapshots
            .into_par_iter()
            .map(|p| match p {
                Partial::Relational(r) => r.finish(n, with_facts),
                Partial::Transactions(s) => s.finish(),
            })
            .collect()
    }
}

/// A relational book's features at one cut-off, with what `finish` needs.
struct Relational {
    cutoff: Date,
    cols: Columns,
    active: Vec<bool>,
    /// Each client's premiums paid by the cut-off (the claims ratio's denominator), and
    /// what else the payments leave for the end; once the payments are read.
    payments: Option<(Vec<f64>, compute::PaymentsRead)>,
    /// Each client's claims paid, once the claims are read.
    claims_paid: Option<Vec<f64>>,
    facts: Facts,
}

impl Relational {
    fn new(n: usize, cutoff: Date) -> Self {
        let mut cols = Columns::new(RELATIONAL, n, 0.0);
        for unknown_until_seen in [
            Feature::Age,
            Feature::Dependents,
            Feature::LogIncome,
            Feature::PremiumBurden,
            Feature::TenureYears,
            Feature::CollectionRate12m,
            Feature::RenewalRate,
            Feature::ClaimsRatio,
            Feature::DaysSincePayment,
            Feature::DaysSinceContact,
        ] {
            cols.start_at(unknown_until_seen, f64::NAN);
        }
        Relational {
            cutoff,
            cols,
            active: vec![false; n],
            payments: None,
            claims_paid: None,
            facts: Facts::default(),
        }
    }

    /// `with_facts`: also the business facts.
    fn add(
        &mut self,
        source: Source,
        t: &Table,
        (n, with_facts): (usize, bool),
        frequency: Option<&Coded>,
    ) {
        let c = self.cutoff;
        match source {
            Source::Clients => {
                compute::client_attributes(t, c, &mut self.cols);
                if with_facts {
                    facts::client_facts(t, n, &mut self.facts);
                }
            }
            Source::Policies => {
                compute::policies(t, c, &mut self.cols, &mut self.active);
                if with_facts {
                    facts::policy_facts(t, c, n, &mut self.facts);
                }
            }
            Source::Payments => {
                let mut premiums_paid = vec![0.0; n];
                let read = compute::payments(t, c, frequency, &mut self.cols, &mut premiums_paid);
                self.payments = Some((premiums_paid, read));
            }
            Source::Claims => {
                self.claims_paid = Some(compute::claims(t, c, &mut self.cols, n));
                if with_facts {
                    facts::claim_facts(t, c, n, &mut self.facts);
                }
            }
            Source::Contacts => compute::contacts(t, c, &mut self.cols),
            Source::Transactions | Source::Flat => {}
        }
    }

    /// The features that combine sources (claims ratio, premium burden, years of premium
    /// paid) and the facts.
    fn finish(mut self, n: usize, with_facts: bool) -> RawFeatures {
        let mut unpaid = Vec::new();
        if let Some((premiums_paid, read)) = self.payments.take() {
            compute::paid_years(&mut self.cols, &read.unknown_frequency);
            if let Some(claims_paid) = &self.claims_paid {
                compute::claims_ratio(claims_paid, &premiums_paid, &mut self.cols);
            }
            unpaid = read.unpaid;
        }
        let income = self.cols.col(Feature::LogIncome).clone();
        for (i, li) in income.iter().enumerate() {
            let premium = self.cols.col(Feature::PremiumInForce)[i];
            if li.is_finite() && *li > 0.0 {
                self.cols.col(Feature::PremiumBurden)[i] = premium / li.exp_m1().max(1.0);
            }
        }
        let mut raw = self.cols.into_raw(self.cutoff, self.active);
        if !with_facts {
            return raw;
        }
        let facts = &mut self.facts;
        if facts.income.len() != n {
            // No clients table: nothing reported.
            facts.income = vec![f64::NAN; n];
            facts.dependants = vec![f64::NAN; n];
            facts.age_known = vec![false; n];
        }
        facts.unpaid_6m = facts::UnpaidDues::of(n, unpaid);
        raw.facts = self.facts;
        raw
    }
}
