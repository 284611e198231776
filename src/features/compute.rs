//! Raw feature values per client as of a cut-off. Records dated after the cut-off are
//! never read: every loop goes through `rows_until`, which filters on the record's date.

use super::facts::{self, Facts};
use crate::date::Date;
use crate::ingest::{Book, Table, MISSING};
use crate::schema::Source;
use crate::vocab::feature::{Feature, TRANSACTIONS};

/// Unscaled features, one column per feature, NaN where a value is unknown.
#[derive(Clone, Debug)]
pub struct RawFeatures {
    pub cutoff: Date,
    pub names: Vec<String>,
    /// `columns[f][client]`.
    pub columns: Vec<Vec<f64>>,
    /// Client has at least one policy (or, in transactions mode, a transaction) by the cut-off.
    pub active: Vec<bool>,
    /// What the business labels read beside the features (relational mode; never a
    /// model input).
    pub facts: Facts,
}

impl RawFeatures {
    /// The column named like `feature` (`None` when the book has none). Features of the
    /// two modes that share a name (`tenure_years`) share the column of this book's mode.
    pub fn feature(&self, feature: Feature) -> Option<&[f64]> {
        self.column(feature.name())
    }

    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.columns[i].as_slice())
    }
}

fn days(from: Date, to: Date) -> f64 {
    f64::from(to.days() - from.days())
}

/// Per-client columns being filled, one per feature of the mode, each allocated when it
/// is first written (a run building features while its book loads holds only those of
/// the sources read so far). A feature of the other mode writes to a scratch column (a
/// debug assertion, and unit tests in debug builds, catch that mistake).
pub(super) struct Columns {
    features: &'static [Feature],
    /// Position of each `Feature` (by discriminant) in `data`.
    slot: Vec<Option<usize>>,
    n: usize,
    /// Each column's value until it is written.
    init: Vec<f64>,
    /// Empty until written.
    data: Vec<Vec<f64>>,
    scratch: Vec<f64>,
}

impl Columns {
    pub(super) fn new(features: &'static [Feature], n: usize, init: f64) -> Self {
        let mut slot = vec![None; Feature::ALL.len()];
        for (i, f) in features.iter().enumerate() {
            slot[*f as usize] = Some(i);
        }
        Columns {
            features,
            slot,
            n,
            init: vec![init; features.len()],
            data: features.iter().map(|_| Vec::new()).collect(),
            scratch: Vec::new(),
        }
    }

    /// Sets the value a column holds until written (before it is written).
    pub(super) fn start_at(&mut self, feature: Feature, value: f64) {
        if let Some(i) = self.slot.get(feature as usize).copied().flatten() {
            debug_assert!(self.data[i].is_empty(), "{feature:?} is written already");
            self.init[i] = value;
        }
    }

    pub(super) fn col(&mut self, feature: Feature) -> &mut Vec<f64> {
        let slot = self.slot.get(feature as usize).copied().flatten();
        debug_assert!(slot.is_some(), "{feature:?} is not a feature of this mode");
        let (column, init) = match slot {
            Some(i) => (&mut self.data[i], self.init[i]),
            None => (&mut self.scratch, 0.0),
        };
        if column.len() != self.n {
            *column = vec![init; self.n];
        }
        column
    }

    /// The column, moved out (`put` returns it).
    pub(super) fn take(&mut self, feature: Feature) -> Vec<f64> {
        std::mem::take(self.col(feature))
    }

    pub(super) fn put(&mut self, feature: Feature, column: Vec<f64>) {
        if let Some(i) = self.slot.get(feature as usize).copied().flatten() {
            self.data[i] = column;
        }
    }

    fn n_clients(&self) -> usize {
        self.n
    }

    pub(super) fn into_raw(mut self, cutoff: Date, active: Vec<bool>) -> RawFeatures {
        for (column, &init) in self.data.iter_mut().zip(&self.init) {
            if column.len() != self.n {
                *column = vec![init; self.n];
            }
        }
        RawFeatures {
            cutoff,
            names: self.features.iter().map(|f| f.name().to_string()).collect(),
            columns: self.data,
            active,
            facts: Facts::default(),
        }
    }
}

/// Rows of a table dated on or before the cut-off, with their client index: the one
/// place the point-in-time filter is applied.
fn rows_until<'a>(
    t: &'a Table,
    dates: &'a [Option<Date>],
    cutoff: Date,
) -> impl Iterator<Item = (usize, usize, Date)> + 'a {
    (0..t.len()).filter_map(move |r| {
        let d = dates.get(r).copied().flatten()?;
        let ci = *t.client.get(r)?;
        (d <= cutoff && ci != MISSING).then_some((r, ci as usize, d))
    })
}

/// Computes the features of every client in the book as of `cutoff`, from records dated
/// on or before it.
///
/// ```
/// use clientele::features::{compute, Feature};
/// use clientele::ingest::{load_from, Frames, Input, LoadOptions};
/// use clientele::schema::Source;
/// use clientele::{Config, Date};
/// use polars::prelude::*;
///
/// let clients = df!("client_id" => ["C1"])?;
/// let policies = df!(
///     "policy_id" => ["P1", "P2"],
///     "client_id" => ["C1", "C1"],
///     "product" => ["term_life", "medical"],
///     "start_date" => ["2020-01-15", "2026-06-01"],
///     "annual_premium" => [1200.0, 800.0],
/// )?;
/// let frames = Frames::new()
///     .with(Source::Clients, clients)
///     .with(Source::Policies, policies);
/// let config = Config::default();
/// let mut opts = LoadOptions::from_config(&config, false);
/// opts.extract_date = Date::parse("2026-09-30").unwrap();
/// let book = load_from(&config, Input::Frames(&frames), &opts, None)?.book;
///
/// // As of 2025-12-31 the second policy has not started yet.
/// let raw = compute(&book, Date::parse("2025-12-31").unwrap());
/// assert_eq!(raw.feature(Feature::Policies), Some(&[1.0][..]));
/// assert_eq!(raw.feature(Feature::PremiumInForce), Some(&[1200.0][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compute(book: &Book, cutoff: Date) -> RawFeatures {
    if book.mode == crate::config::Mode::Flat {
        return flat(book, cutoff);
    }
    compute_at(book, &[cutoff], super::BusinessFacts::Computed).remove(0)
}

/// The features of a relational or transactions book at each of `cutoffs` (in that
/// order), its tables fed to a `FeatureBuilder` in source order.
pub(super) fn compute_at(
    book: &Book,
    cutoffs: &[Date],
    facts: super::BusinessFacts,
) -> Vec<RawFeatures> {
    let builder = super::FeatureBuilder::new(book.mode, book.n_clients(), cutoffs);
    let mut builder = builder.with_facts(facts);
    let policies = book.table(Source::Policies);
    for (source, table) in &book.tables {
        // A book holds one table per source: the builder never refuses one.
        let fed = builder.add(*source, table, policies);
        debug_assert!(fed.is_ok(), "{fed:?}");
    }
    builder.finish()
}

/// Flat mode: the declared numeric columns as they are (the file is already per client
/// and as of its own date; there is nothing to filter by time).
fn flat(book: &Book, cutoff: Date) -> RawFeatures {
    let n = book.n_clients();
    let (names, columns) = match &book.flat {
        Some(f) => f
            .numeric
            .iter()
            .map(|name| {
                let col = f
                    .table
                    .numbers(name)
                    .map_or(vec![f64::NAN; n], <[f64]>::to_vec);
                (name.clone(), col)
            })
            .unzip(),
        None => (Vec::new(), Vec::new()),
    };
    RawFeatures {
        cutoff,
        names,
        columns,
        active: vec![true; n],
        facts: Facts::default(),
    }
}

/// The last date anything happened in the book (payments, claims, contacts, policy
/// starts and ends, transactions: `Source::end_dates`), or `None` when it holds no dated
/// record. Sources whose rows were handed to the features as they were loaded count by
/// the last date they held (`Book::released`).
pub fn data_end(book: &Book) -> Option<Date> {
    let held = book
        .tables
        .iter()
        .filter_map(|(source, t)| crate::ingest::last_date(*source, t));
    held.chain(book.released.values().flatten().copied()).max()
}

fn product_group(product: &str) -> (bool, bool, bool) {
    let protection = matches!(
        product,
        "whole_life" | "term_life" | "critical_illness" | "accident"
    );
    let savings = matches!(product, "annuity" | "education" | "universal_life");
    let health = matches!(product, "medical" | "critical_illness");
    (protection, savings, health)
}

/// The start of the 12-month window: a month-end cut-off looks back to the month end.
fn year_before(c: Date) -> Date {
    c.month_end_offset(-12).max(c.add_months(-12))
}

pub(super) fn client_attributes(t: &Table, c: Date, cols: &mut Columns) {
    let birth = t.dates("birth_date");
    let age = t.numbers("age");
    let deps = t.numbers("dependents");
    let income = t.numbers("annual_income");
    for i in 0..cols.n_clients().min(t.len()) {
        let from_birth = birth.and_then(|b| b[i]).map(|b| c.years_since(b));
        cols.col(Feature::Age)[i] = from_birth.or_else(|| age.map(|a| a[i])).unwrap_or(f64::NAN);
        cols.col(Feature::Dependents)[i] = deps.map_or(f64::NAN, |d| d[i]);
        cols.col(Feature::LogIncome)[i] = income.map_or(f64::NAN, |x| x[i].max(0.0).ln_1p());
    }
}

/// What the payments pass leaves for the end, when every source is read.
pub(super) struct PaymentsRead {
    /// The premiums due in the last 6 months and unpaid at the cut-off, as (client, due
    /// date), in no particular order.
    pub unpaid: Vec<(usize, Date)>,
    /// Clients with instalments paid in 36 months whose policy's frequency is unknown:
    /// (client, instalments, dues in 12 months), by client. `paid_years` weighs them by
    /// the client's policies in force.
    pub unknown_frequency: Vec<(usize, f64, f64)>,
}

/// RFM and payment behaviour; adds each client's premiums paid to `premiums_paid` (the
/// claims ratio's denominator). `frequency`: the policies' payment frequencies, by policy
/// row (the payments' `policy` link). `PaidYears36m` is finished by `paid_years`.
pub(super) fn payments(
    t: &Table,
    c: Date,
    frequency: Option<&crate::ingest::Coded>,
    cols: &mut Columns,
    premiums_paid: &mut [f64],
) -> PaymentsRead {
    let n = premiums_paid.len();
    let mut dues_12 = vec![0.0; n];
    let mut last_paid: Vec<Option<Date>> = vec![None; n];
    // Instalments paid in 36 months whose policy's frequency is unknown: weighed at the
    // end by the client's own number of dues a year.
    let mut unknown_36 = vec![0.0; n];
    let summed = [
        Feature::PaidYears36m,
        Feature::Paid12m,
        Feature::Missed12m,
        Feature::Missed6m,
    ];
    let [mut paid_years, mut paid_12m, mut missed_12m, mut missed_6m] =
        summed.map(|f| cols.take(f));
    let sums = PaymentSums {
        from: 0,
        premiums_paid,
        last_paid: &mut last_paid,
        dues_12: &mut dues_12,
        unknown_36: &mut unknown_36,
        paid_years: &mut paid_years,
        paid_12m: &mut paid_12m,
        missed_12m: &mut missed_12m,
        missed_6m: &mut missed_6m,
        unpaid: Vec::new(),
    };
    // Two client halves side by side: each client's rows are still summed in file order
    // by one thread, so every sum is the one a single pass gives.
    let (mut low, mut high) = sums.split(n / 2);
    rayon::join(
        || low.add_rows(t, c, frequency),
        || high.add_rows(t, c, frequency),
    );
    let mut unpaid = std::mem::take(&mut low.unpaid);
    unpaid.append(&mut high.unpaid);
    for (f, column) in summed
        .into_iter()
        .zip([paid_years, paid_12m, missed_12m, missed_6m])
    {
        cols.put(f, column);
    }
    let mut unknown_frequency = Vec::new();
    for i in 0..n {
        if dues_12[i] > 0.0 {
            cols.col(Feature::CollectionRate12m)[i] =
                1.0 - cols.col(Feature::Missed12m)[i] / dues_12[i];
        }
        if unknown_36[i] > 0.0 {
            unknown_frequency.push((i, unknown_36[i], dues_12[i]));
        }
        if let Some(p) = last_paid[i] {
            cols.col(Feature::DaysSincePayment)[i] = days(p, c);
        }
    }
    PaymentsRead {
        unpaid,
        unknown_frequency,
    }
}

/// Finishes `PaidYears36m` (summed in months of premium by `payments`) once the policies
/// in force are known: adds the instalments of unknown frequency, each weighed by its
/// client's dues a year per policy in force, and turns months into years.
pub(super) fn paid_years(cols: &mut Columns, unknown_frequency: &[(usize, f64, f64)]) {
    let policies = cols.take(Feature::Policies);
    let mut paid = cols.take(Feature::PaidYears36m);
    let mut unknown = unknown_frequency.iter().peekable();
    for (i, years) in paid.iter_mut().enumerate() {
        if let Some(&(_, instalments, dues_12)) = unknown.next_if(|u| u.0 == i) {
            // Dues a year per policy in force, between 1 (annual) and 12 (monthly).
            let k = (dues_12 / policies[i].max(1.0)).clamp(1.0, 12.0);
            *years += instalments * 12.0 / k;
        }
        *years /= 12.0;
    }
    cols.put(Feature::Policies, policies);
    cols.put(Feature::PaidYears36m, paid);
}

/// The per-client sums of the payments loop for clients `from..from + len` (slot `i`
/// is client `from + i`), and the unpaid dues it found.
struct PaymentSums<'a> {
    from: usize,
    premiums_paid: &'a mut [f64],
    last_paid: &'a mut [Option<Date>],
    dues_12: &'a mut [f64],
    unknown_36: &'a mut [f64],
    paid_years: &'a mut [f64],
    paid_12m: &'a mut [f64],
    missed_12m: &'a mut [f64],
    missed_6m: &'a mut [f64],
    unpaid: Vec<(usize, Date)>,
}

impl<'a> PaymentSums<'a> {
    /// The sums of clients before `at` and from `at` on.
    fn split(self, at: usize) -> (Self, Self) {
        let at = at.saturating_sub(self.from).min(self.premiums_paid.len());
        let (pp, pp2) = self.premiums_paid.split_at_mut(at);
        let (lp, lp2) = self.last_paid.split_at_mut(at);
        let (d, d2) = self.dues_12.split_at_mut(at);
        let (u, u2) = self.unknown_36.split_at_mut(at);
        let (py, py2) = self.paid_years.split_at_mut(at);
        let (p12, p122) = self.paid_12m.split_at_mut(at);
        let (m12, m122) = self.missed_12m.split_at_mut(at);
        let (m6, m62) = self.missed_6m.split_at_mut(at);
        let part = |from, (premiums_paid, last_paid, dues_12, unknown_36), more| {
            let (paid_years, paid_12m, missed_12m, missed_6m) = more;
            PaymentSums {
                from,
                premiums_paid,
                last_paid,
                dues_12,
                unknown_36,
                paid_years,
                paid_12m,
                missed_12m,
                missed_6m,
                unpaid: Vec::new(),
            }
        };
        (
            part(self.from, (pp, lp, d, u), (py, p12, m12, m6)),
            part(self.from + at, (pp2, lp2, d2, u2), (py2, p122, m122, m62)),
        )
    }

    /// Adds the payments of this part's clients due by the cut-off `c`.
    fn add_rows(&mut self, t: &Table, c: Date, frequency: Option<&crate::ingest::Coded>) {
        let (y12, m6, y36) = (year_before(c), c.add_months(-6), c.add_months(-36));
        let (due, paid, amount) = (
            t.dates("due_date"),
            t.dates("paid_date"),
            t.numbers("amount"),
        );
        let (Some(due), Some(amount)) = (due, amount) else {
            return;
        };
        let per_year = |r: usize| {
            let policy = t.policy.get(r).copied().filter(|&p| p != MISSING)?;
            let f = frequency?.get(policy as usize)?;
            if f == "single" {
                return Some(1.0);
            }
            facts::instalments_per_year(f)
        };
        let len = self.premiums_paid.len();
        for (r, ci, d) in rows_until(t, due, c) {
            let Some(i) = ci.checked_sub(self.from).filter(|&i| i < len) else {
                continue;
            };
            let p = paid.and_then(|p| p[r]).filter(|p| *p <= c);
            if let Some(p) = p {
                self.premiums_paid[i] += amount[r];
                self.last_paid[i] = self.last_paid[i].max(Some(p));
                if p > y36 {
                    // Counted in months of premium (12 / instalments a year), exact in
                    // floating point; years at the end.
                    match per_year(r) {
                        Some(k) => self.paid_years[i] += 12.0 / k,
                        None => self.unknown_36[i] += 1.0,
                    }
                }
                if p > y12 {
                    self.paid_12m[i] += amount[r];
                }
            }
            if d > y12 {
                self.dues_12[i] += 1.0;
                if p.is_none() {
                    self.missed_12m[i] += 1.0;
                    if d > m6 {
                        self.missed_6m[i] += 1.0;
                        self.unpaid.push((ci, d));
                    }
                }
            }
        }
    }
}

/// Counts each client's claims of the last 12 months; returns each client's claims paid
/// by the cut-off (`claims_ratio` divides them by the premiums paid).
pub(super) fn claims(t: &Table, c: Date, cols: &mut Columns, n: usize) -> Vec<f64> {
    let y12 = year_before(c);
    let mut claims_paid = vec![0.0; n];
    if let Some(date) = t.dates("claim_date") {
        let paid = t.numbers("amount_paid");
        for (r, ci, d) in rows_until(t, date, c) {
            claims_paid[ci] += paid.map_or(0.0, |p| if p[r].is_nan() { 0.0 } else { p[r] });
            if d > y12 {
                cols.col(Feature::Claims12m)[ci] += 1.0;
            }
        }
    }
    claims_paid
}

/// Claims paid over premiums paid, for clients who paid any premium.
pub(super) fn claims_ratio(claims_paid: &[f64], premiums_paid: &[f64], cols: &mut Columns) {
    for (i, &premiums) in premiums_paid.iter().enumerate() {
        if premiums > 0.0 {
            cols.col(Feature::ClaimsRatio)[i] = claims_paid[i] / premiums;
        }
    }
}

pub(super) fn policies(t: &Table, c: Date, cols: &mut Columns, active: &mut [bool]) {
    let (Some(start), Some(premium)) = (t.dates("start_date"), t.numbers("annual_premium")) else {
        return;
    };
    let end = t.dates("end_date");
    let product = t.coded("product");
    let reason = t.coded("end_reason");
    let mut first_start: Vec<Option<Date>> = vec![None; active.len()];
    let mut products: Vec<u64> = vec![0; active.len()];
    let mut anniversaries = vec![(0u32, 0u32); active.len()];
    for (r, ci, s) in rows_until(t, start, c) {
        first_start[ci] = Some(first_start[ci].map_or(s, |f| f.min(s)));
        let ended = end.and_then(|e| e[r]).filter(|e| *e <= c);
        let churned = reason
            .and_then(|x| x.get(r))
            .is_some_and(|why| facts::CHURN_REASONS.contains(&why));
        let (reached, due) = facts::anniversaries(s, ended, churned, c);
        anniversaries[ci].0 += reached;
        anniversaries[ci].1 += due;
        let in_force = end.and_then(|e| e[r]).is_none_or(|e| e > c);
        if !in_force {
            continue;
        }
        active[ci] = true;
        cols.col(Feature::PremiumInForce)[ci] += premium[r];
        cols.col(Feature::Policies)[ci] += 1.0;
        if let Some(p) = product {
            let code = p.codes[r];
            if code != MISSING && code < 64 {
                products[ci] |= 1 << code;
            }
            let (protection, savings, health) = product_group(p.get(r).unwrap_or(""));
            if protection {
                cols.col(Feature::HasProtection)[ci] = 1.0;
            }
            if savings {
                cols.col(Feature::HasSavings)[ci] = 1.0;
            }
            if health {
                cols.col(Feature::HasHealth)[ci] = 1.0;
            }
        }
    }
    for (i, f) in first_start.iter().enumerate() {
        if let Some(f) = f {
            cols.col(Feature::TenureYears)[i] = c.years_since(*f);
        }
        let (reached, due) = anniversaries[i];
        if due > 0 {
            cols.col(Feature::RenewalRate)[i] = f64::from(reached) / f64::from(due);
        }
        cols.col(Feature::Products)[i] = f64::from(products[i].count_ones());
    }
}

pub(super) fn contacts(t: &Table, c: Date, cols: &mut Columns) {
    let (Some(date), Some(kind)) = (t.dates("contact_date"), t.coded("kind")) else {
        return;
    };
    let m6 = c.add_months(-6);
    let mut last: Vec<Option<Date>> = vec![None; cols.n_clients()];
    for (r, ci, d) in rows_until(t, date, c) {
        last[ci] = last[ci].max(Some(d));
        if d <= m6 {
            continue;
        }
        match kind.get(r).unwrap_or("") {
            "complaint" => cols.col(Feature::Complaints6m)[ci] += 1.0,
            "app_login" => cols.col(Feature::Logins6m)[ci] += 1.0,
            _ => cols.col(Feature::ServiceContacts6m)[ci] += 1.0,
        }
    }
    for (i, l) in last.iter().enumerate() {
        if let Some(l) = l {
            cols.col(Feature::DaysSinceContact)[i] = days(*l, c);
        }
    }
}

/// A transactions book's per-client sums at one cut-off; the features at the end.
pub(super) struct TransactionSums {
    pub(super) cutoff: Date,
    cols: Columns,
    active: Vec<bool>,
    last: Vec<Option<Date>>,
    first: Vec<Option<Date>>,
    total: Vec<f64>,
    count: Vec<f64>,
}

impl TransactionSums {
    pub(super) fn new(n: usize, cutoff: Date) -> Self {
        TransactionSums {
            cutoff,
            cols: Columns::new(TRANSACTIONS, n, 0.0),
            active: vec![false; n],
            last: vec![None; n],
            first: vec![None; n],
            total: vec![0.0; n],
            count: vec![0.0; n],
        }
    }

    /// Adds the transactions dated by the cut-off.
    pub(super) fn add(&mut self, t: &Table) {
        let c = self.cutoff;
        let (y12, y36) = (c.add_months(-12), c.add_months(-36));
        let (Some(date), Some(amount)) = (t.dates("date"), t.numbers("amount")) else {
            return;
        };
        for (r, ci, d) in rows_until(t, date, c) {
            self.active[ci] = true;
            self.last[ci] = self.last[ci].max(Some(d));
            self.first[ci] = Some(self.first[ci].map_or(d, |f| f.min(d)));
            self.total[ci] += amount[r];
            self.count[ci] += 1.0;
            if d > y12 {
                self.cols.col(Feature::Transactions12m)[ci] += 1.0;
                self.cols.col(Feature::Amount12m)[ci] += amount[r];
            }
            if d > y36 {
                self.cols.col(Feature::Transactions36m)[ci] += 1.0;
            }
        }
    }

    pub(super) fn finish(mut self) -> RawFeatures {
        let c = self.cutoff;
        for i in 0..self.active.len() {
            let (last, first) = (self.last[i], self.first[i]);
            self.cols.col(Feature::DaysSinceTransaction)[i] = last.map_or(f64::NAN, |l| days(l, c));
            self.cols.col(Feature::TransactionTenure)[i] =
                first.map_or(f64::NAN, |f| c.years_since(f));
            self.cols.col(Feature::MeanAmount)[i] = if self.count[i] > 0.0 {
                self.total[i] / self.count[i]
            } else {
                f64::NAN
            };
        }
        self.cols.into_raw(c, self.active)
    }
}
