//! Persistency: for an issue cohort, the share of policies still in force at month k
//! (13, 25, 37, 49, 61) with that month's premium paid within grace, by count and by
//! annualised premium (UK FCA Handbook SUP 16.8; the 13th/25th-month persistency of the
//! Indian and Saudi regulators' reports).
//!
//! - A policy persists at month k when it is in force at its (k-1)-month anniversary plus
//!   the grace period: a premium unpaid past grace has lapsed the policy by then.
//! - The denominator is the issued cohort less policies ended by death or maturity before
//!   that date, and policies cancelled within the free-look period; single-premium
//!   policies have no month-k premium and are left out.
//! - Only cohorts old enough are counted: a policy whose month-k date (plus grace) lies
//!   after the as-of date is censored, never counted as lapsed.

use crate::date::Date;
use std::collections::{BTreeMap, HashMap};

pub use crate::config::{CohortPeriod, PersistencySettings};

fn cohort_key(period: CohortPeriod, d: Date) -> String {
    let (y, m, _) = d.ymd();
    match period {
        CohortPeriod::Month => format!("{y:04}-{m:02}"),
        CohortPeriod::Quarter => format!("{y:04}Q{}", (m - 1) / 3 + 1),
    }
}

/// What persistency needs of one policy.
#[derive(Clone, Debug)]
pub struct PolicyFacts {
    pub start: Date,
    pub end: Option<Date>,
    /// Ended by death or maturity: not churn, out of the denominator from then on.
    pub ended_naturally: bool,
    pub single_premium: bool,
    pub annual_premium: f64,
    /// The policy's value of each grouping, in `GROUPINGS` order.
    pub groups: [String; GROUPINGS.len()],
}

/// The groupings persistency is reported by, besides the issue cohort.
pub const GROUPINGS: [&str; 4] = ["channel", "product", "payment_frequency", "segment"];
/// Marks the total over a grouping.
pub const ALL: &str = "all";

/// Count or premium basis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Basis {
    Count,
    Premium,
}

impl Basis {
    pub fn name(self) -> &'static str {
        match self {
            Basis::Count => "count",
            Basis::Premium => "premium",
        }
    }
}

/// One reported cell: a cohort (or `all`), one grouping's value (or every grouping at
/// `all`), a month and a basis.
#[derive(Clone, Debug, PartialEq)]
pub struct PersistencyRow {
    pub cohort: String,
    /// One value per grouping of `GROUPINGS`; at most one is not `all`.
    pub groups: [String; GROUPINGS.len()],
    pub month: u32,
    pub basis: Basis,
    pub denominator: f64,
    pub persisting: f64,
}

impl PersistencyRow {
    pub fn rate(&self) -> Option<f64> {
        (self.denominator > 0.0).then(|| self.persisting / self.denominator)
    }
}

/// Where one policy stands at month k.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    /// Too young, single premium, or left the denominator (death, maturity, free look).
    Out,
    Persisting,
    Lapsed,
}

fn standing(p: &Counted, month: u32, as_of: Date, s: &PersistencySettings) -> Standing {
    if p.single_premium {
        return Standing::Out;
    }
    let at = p
        .start
        .add_months(month as i32 - 1)
        .add_days(s.grace_days as i32);
    if at > as_of {
        return Standing::Out;
    }
    match p.end {
        Some(e) if e <= p.start.add_days(s.free_look_days as i32) => Standing::Out,
        Some(e) if e <= at && p.ended_naturally => Standing::Out,
        Some(e) if e <= at => Standing::Lapsed,
        _ => Standing::Persisting,
    }
}

/// What persistency reads of one policy: `PolicyFacts` with each grouping's value as an
/// index into a table of texts (so a book's policies are counted without a string each).
#[derive(Clone, Copy, Debug)]
pub struct Counted {
    pub start: Date,
    pub end: Option<Date>,
    pub ended_naturally: bool,
    pub single_premium: bool,
    pub annual_premium: f64,
    pub groups: [u32; GROUPINGS.len()],
}

/// Persistency of `policies` as of `as_of`: for every month, basis, cohort (and `all`)
/// and grouping value (and `all`), in a stable order. Cells with no policy in the
/// denominator are left out.
pub fn persistency(
    policies: &[PolicyFacts],
    as_of: Date,
    settings: &PersistencySettings,
) -> Vec<PersistencyRow> {
    let mut cells = PersistencyCells::default();
    cells.add(policies, as_of, settings);
    cells.rows()
}

/// (cohort, grouping index, value, month): `GROUPINGS.len()` as the index stands for
/// "every grouping at all".
type CellKey = (String, usize, String, u32);

/// One (cohort, groupings, month) combination of policies and its sums: count,
/// persisting, premium, persisting premium.
type Combination = ((u32, [u32; GROUPINGS.len()], u32), [f64; 4]);

/// The sums of `policies` per (cohort, groupings, month) combination, sorted by it, and
/// the cohorts' names by index.
fn sum_combinations(
    policies: impl IntoIterator<Item = Counted>,
    as_of: Date,
    settings: &PersistencySettings,
) -> (Vec<Combination>, Vec<String>) {
    // A fast hash, one lookup per policy: a 1M book's 1.8M policies each add to the
    // cells of up to 5 months, held side by side (`sums`, one slot per distinct month)
    // under their (cohort, groupings) key. Each cell still sums its policies in their
    // order, and the combinations are sorted below, so the hash's order never shows.
    type Fast = foldhash::fast::FixedState;
    let mut months: Vec<u32> = Vec::new();
    for &m in &settings.months {
        if !months.contains(&m) {
            months.push(m);
        }
    }
    let slot_of: Vec<usize> = settings
        .months
        .iter()
        .map(|m| months.iter().position(|x| x == m).unwrap_or(0))
        .collect();
    let mut cohorts: HashMap<(i32, u32), u32, Fast> = HashMap::default();
    let mut cohort_names: Vec<String> = Vec::new();
    let mut keys: HashMap<(u32, [u32; GROUPINGS.len()]), usize, Fast> = HashMap::default();
    // Per key, per month slot: the sums, and whether any policy counted there.
    let mut sums: Vec<([f64; 4], bool)> = Vec::new();
    for p in policies {
        let (y, m, _) = p.start.ymd();
        let period = match settings.cohort {
            CohortPeriod::Month => m,
            CohortPeriod::Quarter => (m - 1) / 3 + 1,
        };
        let cohort = *cohorts.entry((y, period)).or_insert_with(|| {
            cohort_names.push(cohort_key(settings.cohort, p.start));
            cohort_names.len() as u32 - 1
        });
        let mut base = None;
        for (&month, &slot) in settings.months.iter().zip(&slot_of) {
            let st = standing(&p, month, as_of, settings);
            if st == Standing::Out {
                continue;
            }
            let at = *base.get_or_insert_with(|| {
                *keys.entry((cohort, p.groups)).or_insert_with(|| {
                    sums.extend(months.iter().map(|_| ([0.0; 4], false)));
                    sums.len() - months.len()
                })
            });
            let kept = f64::from(u8::from(st == Standing::Persisting));
            let add = [1.0, kept, p.annual_premium, kept * p.annual_premium];
            let (cell, counted) = &mut sums[at + slot];
            *counted = true;
            for (acc, v) in cell.iter_mut().zip(add) {
                *acc += v;
            }
        }
    }
    let mut combos: Vec<Combination> = keys
        .into_iter()
        .flat_map(|((cohort, groups), at)| {
            let sums = &sums;
            months.iter().enumerate().filter_map(move |(i, &month)| {
                let (cell, counted) = sums[at + i];
                counted.then_some(((cohort, groups, month), cell))
            })
        })
        .collect();
    combos.sort_by_key(|(k, _)| *k);
    (combos, cohort_names)
}

/// Persistency counts that add up over the parts of a book (each client's policies lie
/// in one part): policies and premium in the denominator, and those persisting.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PersistencyCells {
    #[serde(with = "cell_pairs")]
    cells: BTreeMap<CellKey, [f64; 4]>,
}

impl PersistencyCells {
    pub fn add(&mut self, policies: &[PolicyFacts], as_of: Date, settings: &PersistencySettings) {
        let mut texts: Vec<String> = Vec::new();
        let mut index: HashMap<&str, u32> = HashMap::new();
        let counted: Vec<Counted> = policies
            .iter()
            .map(|p| Counted {
                start: p.start,
                end: p.end,
                ended_naturally: p.ended_naturally,
                single_premium: p.single_premium,
                annual_premium: p.annual_premium,
                groups: std::array::from_fn(|g| {
                    let text = p.groups[g].as_str();
                    *index.entry(text).or_insert_with(|| {
                        texts.push(text.to_string());
                        texts.len() as u32 - 1
                    })
                }),
            })
            .collect();
        self.add_counted(counted, &texts, as_of, settings);
    }

    /// Adds `policies` whose grouping values index `texts`. Policies are summed per
    /// combination of cohort, groupings and month first (`sum_combinations`), then each
    /// combination into its cohort-or-all x grouping-or-all cells, in a fixed order.
    pub fn add_counted(
        &mut self,
        policies: impl IntoIterator<Item = Counted>,
        texts: &[String],
        as_of: Date,
        settings: &PersistencySettings,
    ) {
        let (combos, cohort_names) = sum_combinations(policies, as_of, settings);
        let text = |i: u32| texts.get(i as usize).map_or("unknown", String::as_str);
        for ((cohort, groups, month), add) in combos {
            let cohort = cohort_names[cohort as usize].as_str();
            for c in [cohort, ALL] {
                for g in 0..=GROUPINGS.len() {
                    let value = groups.get(g).map_or(ALL, |&v| text(v));
                    let cell = self
                        .cells
                        .entry((c.to_string(), g, value.to_string(), month))
                        .or_insert([0.0; 4]);
                    for (acc, v) in cell.iter_mut().zip(add) {
                        *acc += v;
                    }
                }
            }
        }
    }

    /// Adds another part's cells.
    pub fn merge(&mut self, other: PersistencyCells) {
        for (k, v) in other.cells {
            let cell = self.cells.entry(k).or_insert([0.0; 4]);
            for (acc, x) in cell.iter_mut().zip(v) {
                *acc += x;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// One row per cell and basis, in a stable order.
    pub fn rows(&self) -> Vec<PersistencyRow> {
        let mut rows = Vec::with_capacity(self.cells.len() * 2);
        for ((cohort, g, value, month), &[n, kept, premium, kept_premium]) in &self.cells {
            let (g, month) = (*g, *month);
            let groups: [String; GROUPINGS.len()] = std::array::from_fn(|i| {
                if i == g {
                    value.clone()
                } else {
                    ALL.to_string()
                }
            });
            for (basis, denominator, persisting) in [
                (Basis::Count, n, kept),
                (Basis::Premium, premium, kept_premium),
            ] {
                rows.push(PersistencyRow {
                    cohort: cohort.clone(),
                    groups: groups.clone(),
                    month,
                    basis,
                    denominator,
                    persisting,
                });
            }
        }
        rows
    }
}

/// The cells as a list of (key, counts) pairs: JSON keys must be text.
mod cell_pairs {
    use super::CellKey;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<CellKey, [f64; 4]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<CellKey, [f64; 4]>, D::Error> {
        Vec::<(CellKey, [f64; 4])>::deserialize(d).map(|pairs| pairs.into_iter().collect())
    }
}

/// `persistency.csv`: one row per cohort x grouping value x month x basis.
pub fn to_csv(rows: &[PersistencyRow]) -> String {
    use crate::fsio::csv_field;
    let mut out = String::from("cohort");
    for g in GROUPINGS {
        out.push(',');
        out.push_str(g);
    }
    out.push_str(",month,basis,denominator,persisting,rate\n");
    for r in rows {
        out.push_str(&csv_field(&r.cohort));
        for g in &r.groups {
            out.push(',');
            out.push_str(&crate::fsio::csv_cell_for_people(g));
        }
        let rate = r.rate().map_or(String::new(), |v| format!("{v:.6}"));
        out.push_str(&format!(
            ",{},{},{},{},{rate}\n",
            r.month,
            r.basis.name(),
            round(r.denominator),
            round(r.persisting)
        ));
    }
    out
}

fn round(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(
        start: &str,
        end: Option<&str>,
        natural: bool,
        premium: f64,
        product: &str,
    ) -> PolicyFacts {
        PolicyFacts {
            start: Date::parse(start).unwrap(),
            end: end.map(|e| Date::parse(e).unwrap()),
            ended_naturally: natural,
            single_premium: false,
            annual_premium: premium,
            groups: [
                "agent".into(),
                product.into(),
                "annual".into(),
                "unassigned".into(),
            ],
        }
    }

    fn cell<'a>(
        rows: &'a [PersistencyRow],
        cohort: &str,
        product: &str,
        month: u32,
        basis: Basis,
    ) -> &'a PersistencyRow {
        rows.iter()
            .find(|r| {
                r.cohort == cohort
                    && r.groups[1] == product
                    && r.groups.iter().enumerate().all(|(i, g)| i == 1 || g == ALL)
                    && r.month == month
                    && r.basis == basis
            })
            .unwrap()
    }

    #[test]
    fn month_13_persistency_excludes_death_maturity_free_look_and_censors_young_cohorts() {
        let as_of = Date::parse("2026-09-30").unwrap();
        let policies = vec![
            // In force: persists.
            policy("2024-01-10", None, false, 1000.0, "Life"),
            // Lapsed at month 8: does not persist.
            policy("2024-02-01", Some("2024-10-01"), false, 3000.0, "Life"),
            // Lapsed after month 13 + grace: persisted at 13, not at 25.
            policy("2024-03-01", Some("2025-06-01"), false, 500.0, "Life"),
            // Died at month 5: out of the denominator.
            policy("2024-03-05", Some("2024-08-01"), true, 700.0, "Life"),
            // Cancelled within the free look (10 days): out.
            policy("2024-01-20", Some("2024-01-30"), false, 900.0, "Life"),
            // Issued 2026-01: month 13 not reached yet: censored.
            policy("2026-01-15", None, false, 800.0, "Life"),
        ];
        let rows = persistency(&policies, as_of, &PersistencySettings::default());
        let c13 = cell(&rows, ALL, ALL, 13, Basis::Count);
        assert_eq!((c13.denominator, c13.persisting), (3.0, 2.0));
        let p13 = cell(&rows, ALL, ALL, 13, Basis::Premium);
        assert_eq!((p13.denominator, p13.persisting), (4500.0, 1500.0));
        let c25 = cell(&rows, "2024Q1", "Life", 25, Basis::Count);
        assert_eq!((c25.denominator, c25.persisting), (3.0, 1.0));
        // Month 37 of a 2024 cohort lies after the as-of date: no cell at all.
        assert!(!rows.iter().any(|r| r.month == 37));
        let csv = to_csv(&rows);
        assert!(csv.starts_with("cohort,channel,product,payment_frequency,segment,month,basis,"));
        assert!(
            csv.contains("all,all,all,all,all,13,count,3,2,0.666667"),
            "{csv}"
        );
    }
}
