//! Facts about each client's relationship that the business labels read and the model
//! does not: how many policies were ever taken out, when cover came back after a lapse,
//! in how many years claims were paid. Computed from records dated on or before the
//! cut-off, like the features.

use crate::date::Date;
use crate::ingest::{Table, MISSING};
use crate::vocab::ExitState;

/// The end reasons that are churn: a policy that ends so has been lost, not completed.
pub const CHURN_REASONS: &[&str] = &["lapse", "surrender", "non_renewal"];

/// Per-client relationship facts (empty vectors when the book has no such records).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// Policies started by the cut-off, in force or not (repeat purchase).
    pub policies_started: Vec<u32>,
    /// The start of the latest policy taken out while nothing was in force, after cover
    /// had been lost to a lapse, surrender or non-renewal: the client's return.
    pub returned: Vec<Option<Date>>,
    /// Distinct calendar years in which a claim was paid.
    pub claim_years: Vec<u32>,
    /// Holds a policy with a cash value in force (whole life, universal life, annuity,
    /// education): what a premium holiday, a paid-up conversion or a policy loan needs.
    pub cash_value: Vec<bool>,
    /// Every in-force policy with a known payment frequency is paid annually or
    /// semiannually (and there is one): a switch to monthly instalments can help.
    pub annual_payer: Vec<bool>,
    /// Death sum assured in force (whole life, term life, universal life); NaN when such
    /// a policy has no sum assured.
    pub death_cover: Vec<f64>,
    /// Product lines in force, as bits of `PRODUCT_LINES` order.
    pub lines_held: Vec<u16>,
    /// Annual income as reported (NaN when missing: cleaning's imputed median is not
    /// a client's income).
    pub income: Vec<f64>,
    /// Dependants as reported (NaN when missing).
    pub dependants: Vec<f64>,
    /// The age is known (a birth date, or an age as reported), not the imputed median.
    pub age_known: Vec<bool>,
    /// With no policy in force at the cut-off: how the policy that ended last ended.
    pub cover_ended: Vec<Option<CoverEnd>>,
    /// Premiums due in the 6 months before the cut-off and unpaid at it.
    pub unpaid_6m: UnpaidDues,
}

/// Per client, the due dates of premiums due in the 6 months before the cut-off and
/// unpaid at it (grouped by client: offsets into one list of dates).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnpaidDues {
    offsets: Vec<u32>,
    due: Vec<Date>,
}

impl UnpaidDues {
    /// From (client, due date) pairs of `n` clients.
    pub fn of(n: usize, mut pairs: Vec<(usize, Date)>) -> Self {
        pairs.sort_unstable();
        let mut offsets = vec![0u32; n + 1];
        for &(c, _) in &pairs {
            if c < n {
                offsets[c + 1] += 1;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let due = pairs
            .into_iter()
            .filter(|&(c, _)| c < n)
            .map(|(_, d)| d)
            .collect();
        UnpaidDues { offsets, due }
    }

    /// Premiums the client has missed as of `as_of`: due in the 6 months before it,
    /// unpaid, and at least `days` past due (late payers pay within weeks of the due
    /// date; a premium a few days overdue is not yet a missed one).
    pub fn missed(&self, client: usize, as_of: Date, days: u32) -> u32 {
        let (Some(&from), Some(&to)) = (self.offsets.get(client), self.offsets.get(client + 1))
        else {
            return 0;
        };
        let days = i32::try_from(days).unwrap_or(i32::MAX);
        let overdue = |d: &&Date| d.add_days(days) <= as_of;
        let n = self.due[from as usize..to as usize]
            .iter()
            .filter(overdue)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// How a former client's cover ended: the policy that ended last (on a tie, the end whose
/// reason names the state: death, maturity, surrender, lapse); `Died` whenever any of the
/// client's policies ended by a death claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoverEnd {
    pub date: Date,
    /// `None`: another or no reason recorded.
    pub state: Option<ExitState>,
    /// Ended by `lapse` (unpaid premium): a policy that can be reinstated (复效) within
    /// the reinstatement period; a non-renewal or surrender cannot.
    pub by_lapse: bool,
}

impl Facts {
    pub fn policies_started(&self, c: usize) -> u32 {
        self.policies_started.get(c).copied().unwrap_or(0)
    }

    pub fn returned(&self, c: usize) -> Option<Date> {
        self.returned.get(c).copied().flatten()
    }

    pub fn cover_ended(&self, c: usize) -> Option<CoverEnd> {
        self.cover_ended.get(c).copied().flatten()
    }

    pub fn claim_years(&self, c: usize) -> u32 {
        self.claim_years.get(c).copied().unwrap_or(0)
    }

    pub fn cash_value(&self, c: usize) -> bool {
        self.cash_value.get(c).copied().unwrap_or(false)
    }

    pub fn annual_payer(&self, c: usize) -> bool {
        self.annual_payer.get(c).copied().unwrap_or(false)
    }

    pub fn death_cover(&self, c: usize) -> f64 {
        self.death_cover.get(c).copied().unwrap_or(0.0)
    }

    /// Whether the client holds `line` (a `PRODUCT_LINES` name) in force.
    pub fn holds(&self, c: usize, line: &str) -> bool {
        let bits = self.lines_held.get(c).copied().unwrap_or(0);
        crate::schema::PRODUCT_LINES
            .iter()
            .position(|l| *l == line)
            .is_some_and(|i| bits & 1 << i != 0)
    }

    pub fn income(&self, c: usize) -> f64 {
        self.income.get(c).copied().unwrap_or(f64::NAN)
    }

    pub fn dependants(&self, c: usize) -> f64 {
        self.dependants.get(c).copied().unwrap_or(f64::NAN)
    }

    pub fn age_known(&self, c: usize) -> bool {
        self.age_known.get(c).copied().unwrap_or(false)
    }
}

/// Product lines whose sum assured is paid on death.
pub const DEATH_COVER_PRODUCTS: &[&str] = &["whole_life", "term_life", "universal_life"];

/// Annual incomes and dependants of the clients table as reported: before cleaning
/// imputed (NaN where missing) or capped them.
pub fn client_facts(t: &Table, n: usize, facts: &mut Facts) {
    let reported = |field: &str| {
        let mut out = vec![f64::NAN; n];
        if let Some(values) = t.reported(field) {
            for (o, x) in out.iter_mut().zip(values) {
                *o = *x;
            }
        }
        out
    };
    facts.income = reported("annual_income");
    facts.dependants = reported("dependents");
    let age = reported("age");
    let birth = t.dates("birth_date");
    facts.age_known = (0..n)
        .map(|i| age[i].is_finite() || birth.and_then(|b| b.get(i).copied().flatten()).is_some())
        .collect();
}

/// Product lines that build a cash (surrender) value.
pub const CASH_VALUE_PRODUCTS: &[&str] = &["whole_life", "universal_life", "annuity", "education"];

/// How often a premium is paid: instalments per year (`None` for a single premium or an
/// unknown frequency).
pub fn instalments_per_year(frequency: &str) -> Option<f64> {
    match frequency {
        "annual" => Some(1.0),
        "semiannual" => Some(2.0),
        "quarterly" => Some(4.0),
        "monthly" => Some(12.0),
        _ => None,
    }
}

/// A policy's anniversaries (reached, due) by the cut-off. Each anniversary before the
/// policy ended (or before the cut-off while in force) was reached; the first one after
/// an ending by lapse, surrender or non-renewal was due and missed, once it has come by
/// the cut-off. An ending by maturity or death leaves nothing due.
pub fn anniversaries(start: Date, ended: Option<Date>, churned: bool, cutoff: Date) -> (u32, u32) {
    let limit = ended.unwrap_or(cutoff);
    // Anniversaries strictly before an ending, on or before the cut-off while in force.
    let reached_by = |k: i32| {
        let a = start.add_months(12 * k);
        if ended.is_some() {
            a < limit
        } else {
            a <= limit
        }
    };
    let (y0, _, _) = start.ymd();
    let (y1, _, _) = limit.ymd();
    let mut k = (y1 - y0).max(0);
    while k > 0 && !reached_by(k) {
        k -= 1;
    }
    while reached_by(k + 1) {
        k += 1;
    }
    let reached = u32::try_from(k).unwrap_or(0);
    let missed = ended.is_some() && churned && start.add_months(12 * (k + 1)) <= cutoff;
    (reached, reached + u32::from(missed))
}

/// What the in-force policies say: cash value held, whether every known regular
/// frequency is annual or semiannual (`None`: no known frequency), death cover, lines.
#[derive(Clone, Copy, Default)]
struct InForce {
    cash_value: bool,
    yearly: Option<bool>,
    death_cover: f64,
    lines: u16,
}

/// One policy as the return rule sees it.
#[derive(Clone, Copy)]
struct Spell {
    start: Date,
    /// `None` while in force (or ended after the cut-off).
    end: Option<Date>,
    churned: bool,
}

/// The rows passing `keep`, grouped by client (a counting sort): client `c`'s rows are
/// `grouped[offsets[c]..offsets[c + 1]]`, in table order.
fn rows_by_client(t: &Table, n: usize, keep: impl Fn(usize) -> bool) -> (Vec<usize>, Vec<usize>) {
    let mut offsets = vec![0usize; n + 1];
    let mut rows = Vec::new();
    for r in 0..t.len() {
        let Some(&ci) = t.client.get(r) else { continue };
        if ci != MISSING && (ci as usize) < n && keep(r) {
            offsets[ci as usize + 1] += 1;
            rows.push(r);
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut next = offsets.clone();
    let mut grouped = vec![0usize; rows.len()];
    for &r in &rows {
        let ci = t.client[r] as usize;
        grouped[next[ci]] = r;
        next[ci] += 1;
    }
    (offsets, grouped)
}

/// Policy facts as of `cutoff`: policies started and the date of the latest return.
pub fn policy_facts(t: &Table, cutoff: Date, n: usize, facts: &mut Facts) {
    facts.policies_started = vec![0; n];
    facts.returned = vec![None; n];
    facts.cash_value = vec![false; n];
    facts.annual_payer = vec![false; n];
    facts.death_cover = vec![0.0; n];
    facts.lines_held = vec![0; n];
    facts.cover_ended = vec![None; n];
    let sum_assured = t.numbers("sum_assured");
    let Some(start) = t.dates("start_date") else {
        return;
    };
    let end = t.dates("end_date");
    let reason = t.coded("end_reason");
    let product = t.coded("product");
    let frequency = t.coded("payment_frequency");
    let (offsets, grouped) = rows_by_client(t, n, |r| {
        start.get(r).copied().flatten().is_some_and(|s| s <= cutoff)
    });
    let mut spells = Vec::new();
    for ci in 0..n {
        spells.clear();
        let mut held = InForce::default();
        let (mut in_force, mut last, mut death_claim) = (false, None::<CoverEnd>, false);
        for &r in &grouped[offsets[ci]..offsets[ci + 1]] {
            let Some(s) = start.get(r).copied().flatten() else {
                continue;
            };
            let e = end
                .and_then(|e| e.get(r).copied().flatten())
                .filter(|e| *e <= cutoff);
            if e.is_none() {
                in_force = true;
                let line = product.and_then(|p| p.get(r)).unwrap_or("");
                held.cash_value |= CASH_VALUE_PRODUCTS.contains(&line);
                if let Some(i) = crate::schema::PRODUCT_LINES.iter().position(|l| *l == line) {
                    held.lines |= 1 << i;
                }
                if DEATH_COVER_PRODUCTS.contains(&line) {
                    held.death_cover += sum_assured
                        .and_then(|v| v.get(r))
                        .copied()
                        .unwrap_or(f64::NAN);
                }
                let per_year = frequency
                    .and_then(|f| f.get(r))
                    .and_then(instalments_per_year);
                if let Some(k) = per_year {
                    held.yearly = Some(held.yearly.unwrap_or(true) && k <= 2.0);
                }
            }
            let why = reason.and_then(|x| x.get(r)).unwrap_or("");
            if let Some(e) = e {
                last = Some(later_end(last, e, why));
                death_claim |= why == "death_claim";
            }
            spells.push(Spell {
                start: s,
                end: e,
                churned: e.is_some() && CHURN_REASONS.contains(&why),
            });
        }
        facts.policies_started[ci] = u32::try_from(spells.len()).unwrap_or(u32::MAX);
        facts.returned[ci] = latest_return(&mut spells);
        facts.cash_value[ci] = held.cash_value;
        facts.death_cover[ci] = held.death_cover;
        facts.lines_held[ci] = held.lines;
        facts.annual_payer[ci] = held.yearly == Some(true);
        facts.cover_ended[ci] =
            last.filter(|_| !in_force)
                .map(|end| if death_claim { end.after_death() } else { end });
    }
}

impl CoverEnd {
    /// A death claim on any policy means the client died: a later end (a policy nobody
    /// paid for afterwards) does not make a deceased client a lapsed one.
    fn after_death(self) -> CoverEnd {
        CoverEnd {
            state: Some(ExitState::Died),
            by_lapse: false,
            ..self
        }
    }
}

/// The later of `last` and an end on `date` for `reason` (on the same day, the end whose
/// state takes precedence).
fn later_end(last: Option<CoverEnd>, date: Date, reason: &str) -> CoverEnd {
    let this = CoverEnd {
        date,
        state: ExitState::of_reason(reason),
        by_lapse: reason == "lapse",
    };
    let key = |c: &CoverEnd| (c.date, ExitState::rank(c.state));
    match last {
        Some(l) if key(&l) >= key(&this) => l,
        _ => this,
    }
}

/// The start of the latest spell that began with nothing in force, after the spell that
/// ended last before it (the one whose end lost the cover) ended by churn.
fn latest_return(spells: &mut [Spell]) -> Option<Date> {
    spells.sort_by_key(|s| (s.start, s.end.is_none(), s.end));
    let mut returned = None;
    // The latest end so far (`None` = something still in force) and whether it churned.
    let mut cover: Option<(Option<Date>, bool)> = None;
    for s in spells.iter() {
        if let Some((Some(lost), churned)) = cover {
            if lost <= s.start && churned {
                returned = Some(s.start);
            }
        }
        cover = match cover {
            None => Some((s.end, s.churned)),
            Some((None, c)) => Some((None, c)),
            Some((Some(e), c)) => match s.end {
                None => Some((None, s.churned)),
                Some(se) if se > e || (se == e && s.churned) => Some((Some(se), s.churned)),
                Some(_) => Some((Some(e), c)),
            },
        };
    }
    returned
}

/// Distinct calendar years with a paid claim (amount paid above zero) by the cut-off.
pub fn claim_facts(t: &Table, cutoff: Date, n: usize, facts: &mut Facts) {
    facts.claim_years = vec![0; n];
    let (Some(date), Some(paid)) = (t.dates("claim_date"), t.numbers("amount_paid")) else {
        return;
    };
    let mut years: Vec<(u32, i32)> = (0..t.len())
        .filter_map(|r| {
            let d = date.get(r).copied().flatten().filter(|d| *d <= cutoff)?;
            let ci = *t.client.get(r)?;
            let paid = paid.get(r).is_some_and(|p| *p > 0.0);
            (paid && ci != MISSING && (ci as usize) < n).then_some((ci, d.ymd().0))
        })
        .collect();
    years.sort_unstable();
    years.dedup();
    for (ci, _) in years {
        facts.claim_years[ci as usize] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn spell(start: &str, end: Option<&str>, churned: bool) -> Spell {
        Spell {
            start: d(start),
            end: end.map(d),
            churned,
        }
    }

    #[test]
    fn anniversaries_reached_and_due() {
        let c = d("2026-09-30");
        // In force since 2020-03-01: six anniversaries reached, six due.
        assert_eq!(anniversaries(d("2020-03-01"), None, false, c), (6, 6));
        // Lapsed in 2023-05 after three anniversaries: the fourth was due and missed.
        assert_eq!(
            anniversaries(d("2020-03-01"), Some(d("2023-05-31")), true, c),
            (3, 4)
        );
        // Not renewed at its anniversary: that anniversary was not reached.
        assert_eq!(
            anniversaries(d("2020-03-01"), Some(d("2023-03-01")), true, c),
            (2, 3)
        );
        // Matured: nothing more was due.
        assert_eq!(
            anniversaries(d("2000-03-01"), Some(d("2020-03-01")), false, c),
            (19, 19)
        );
        // Lapsed last month before its first anniversary comes: nothing due yet.
        assert_eq!(
            anniversaries(d("2026-03-01"), Some(d("2026-08-31")), true, c),
            (0, 0)
        );
    }

    #[test]
    fn a_return_needs_lost_cover_and_a_churn_ending() {
        // Lapsed in 2020, bought again in 2022: a return.
        let mut s = [
            spell("2022-03-01", None, false),
            spell("2015-01-01", Some("2020-06-30"), true),
        ];
        assert_eq!(latest_return(&mut s), Some(d("2022-03-01")));
        // A second policy bought while the first was still in force is no return.
        let mut s = [
            spell("2015-01-01", Some("2023-06-30"), true),
            spell("2022-03-01", None, false),
        ];
        assert_eq!(latest_return(&mut s), None);
        // Cover that ended by maturity is not lost to churn.
        let mut s = [
            spell("2000-01-01", Some("2020-01-01"), false),
            spell("2021-01-01", None, false),
        ];
        assert_eq!(latest_return(&mut s), None);
        // The latest end decides: a lapse covered by a later maturity is no loss to churn.
        let mut s = [
            spell("2010-01-01", Some("2018-01-01"), true),
            spell("2011-01-01", Some("2019-01-01"), false),
            spell("2020-01-01", None, false),
        ];
        assert_eq!(latest_return(&mut s), None);
    }
}
