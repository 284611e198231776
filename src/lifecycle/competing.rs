//! Exits as competing risks: a policy ends by lapse, surrender, non-renewal, maturity,
//! death or another reason, whichever comes first, or is still in force (censored) at
//! the as-of date. The cumulative incidence of each cause is the Aalen-Johansen
//! estimate, not one minus a Kaplan-Meier curve per cause (which would count a policy
//! that died as if it could still lapse, and overstate every cause).
//!
//! On policy durations in whole months: with n at risk and d_c exits of cause c in month
//! t, overall survival S(t) = S(t-1) (1 - d/n) and CIF_c(t) = CIF_c(t-1) + S(t-1) d_c / n.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One policy: its duration in months, and the cause it ended by (`None`: in force at
/// the as-of date, censored then).
#[derive(Clone, Debug, PartialEq)]
pub struct Exit {
    pub months: u32,
    pub cause: Option<String>,
}

/// Cumulative incidence of each cause at each requested month.
#[derive(Clone, Debug, PartialEq)]
pub struct Incidence {
    /// Cause -> CIF at each month of `months`.
    pub by_cause: BTreeMap<String, Vec<f64>>,
    pub months: Vec<u32>,
    /// Policies at risk at the start.
    pub policies: usize,
}

/// Aalen-Johansen cumulative incidence of every cause in `exits`, read at `months`.
pub fn cumulative_incidence(exits: &[Exit], months: &[u32]) -> Incidence {
    let horizon = months.iter().copied().max().unwrap_or(0);
    ExitTable::of(exits, horizon).incidence(months)
}

/// Exits counted by month and cause up to a horizon: all the Aalen-Johansen estimate
/// reads, and counts that add up over the parts of a book.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExitTable {
    /// Policies at risk at the start.
    pub policies: usize,
    /// Every cause met, also beyond the horizon (each gets a curve).
    causes: BTreeSet<String>,
    /// Month -> (exits by cause, censored), months up to `horizon` only.
    events: BTreeMap<u32, (BTreeMap<String, usize>, usize)>,
    horizon: u32,
}

impl ExitTable {
    /// Counts `exits` up to `horizon` months.
    pub fn of(exits: &[Exit], horizon: u32) -> Self {
        let mut table = ExitTable {
            horizon,
            ..ExitTable::default()
        };
        for e in exits {
            table.add(e);
        }
        table
    }

    pub fn add(&mut self, e: &Exit) {
        self.policies += 1;
        if let Some(c) = &e.cause {
            if !self.causes.contains(c) {
                self.causes.insert(c.clone());
            }
        }
        if e.months > self.horizon {
            return;
        }
        let slot = self.events.entry(e.months).or_default();
        match &e.cause {
            Some(c) => *slot.0.entry(c.clone()).or_insert(0) += 1,
            None => slot.1 += 1,
        }
    }

    /// Adds another part's counts (made with the same horizon).
    pub fn merge(&mut self, other: ExitTable) {
        self.policies += other.policies;
        self.causes.extend(other.causes);
        self.horizon = self.horizon.max(other.horizon);
        for (month, (by_cause, censored)) in other.events {
            let slot = self.events.entry(month).or_default();
            for (c, n) in by_cause {
                *slot.0.entry(c).or_insert(0) += n;
            }
            slot.1 += censored;
        }
    }

    /// The cumulative incidence of every cause, read at `months` (at most the horizon).
    pub fn incidence(&self, months: &[u32]) -> Incidence {
        let causes: Vec<&String> = self.causes.iter().collect();
        let mut at_risk = self.policies as f64;
        let mut survival = 1.0;
        let mut cif = vec![0.0; causes.len()];
        let mut reads: Vec<Vec<f64>> = vec![Vec::with_capacity(months.len()); causes.len()];
        let mut next_read = {
            let mut m = months.to_vec();
            m.sort_unstable();
            m.into_iter().peekable()
        };
        let mut record = |upto: u32, cif: &[f64], reads: &mut Vec<Vec<f64>>| {
            while let Some(&m) = next_read.peek() {
                if m >= upto {
                    break;
                }
                for (r, c) in reads.iter_mut().zip(cif) {
                    r.push(*c);
                }
                next_read.next();
            }
        };
        for (&t, (by_cause, censored)) in &self.events {
            record(t, &cif, &mut reads);
            if at_risk <= 0.0 {
                break;
            }
            let d: usize = by_cause.values().sum();
            for (c, cause) in cif.iter_mut().zip(&causes) {
                let dc = by_cause.get(*cause).copied().unwrap_or(0);
                *c += survival * dc as f64 / at_risk;
            }
            survival *= 1.0 - d as f64 / at_risk;
            at_risk -= (d + censored) as f64;
        }
        record(u32::MAX, &cif, &mut reads);
        // Read in sorted order; restore the caller's order.
        let mut sorted: Vec<u32> = months.to_vec();
        sorted.sort_unstable();
        let by_cause = causes
            .into_iter()
            .zip(reads)
            .map(|(c, r)| {
                let in_order = months
                    .iter()
                    .map(|m| r[sorted.binary_search(m).unwrap_or(0)])
                    .collect();
                (c.clone(), in_order)
            })
            .collect();
        Incidence {
            by_cause,
            months: months.to_vec(),
            policies: self.policies,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(months: u32, cause: Option<&str>) -> Exit {
        Exit {
            months,
            cause: cause.map(String::from),
        }
    }

    #[test]
    fn without_censoring_incidence_is_the_share_that_left_by_each_cause() {
        let exits = vec![
            exit(3, Some("lapse")),
            exit(5, Some("surrender")),
            exit(14, Some("lapse")),
            exit(20, Some("death_claim")),
            exit(30, Some("lapse")),
        ];
        let inc = cumulative_incidence(&exits, &[12, 24, 36]);
        let close =
            |got: &[f64], want: [f64; 3]| got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-12);
        assert!(close(&inc.by_cause["lapse"], [0.2, 0.4, 0.6]));
        assert!(close(&inc.by_cause["surrender"], [0.2, 0.2, 0.2]));
        assert!(close(&inc.by_cause["death_claim"], [0.0, 0.2, 0.2]));
    }

    #[test]
    fn tables_of_parts_add_up_to_the_table_of_the_whole() {
        let exits: Vec<Exit> = (0..40u32)
            .map(|i| {
                let cause = ["lapse", "surrender", "death"][(i % 3) as usize];
                exit((i * 7) % 50, (i % 4 != 0).then_some(cause))
            })
            .collect();
        let whole = ExitTable::of(&exits, 36);
        let mut parts = ExitTable::of(&exits[..13], 36);
        parts.merge(ExitTable::of(&exits[13..], 36));
        assert_eq!(parts, whole);
        let months = [12, 24, 36];
        assert_eq!(
            parts.incidence(&months),
            cumulative_incidence(&exits, &months)
        );
        // A cause met only after the horizon still gets its (zero) curve.
        assert_eq!(whole.incidence(&months).by_cause.len(), 3);
    }

    #[test]
    fn censored_policies_leave_the_risk_set_without_counting_as_exits() {
        // 4 policies: one lapses at 2; one is censored at 4; one surrenders at 6, one
        // lapses at 8. By hand: S after 2 = 3/4; lapse CIF = 1/4; at 6 at risk 2:
        // surrender CIF = 3/4 * 1/2 = 3/8, S = 3/8; at 8: lapse += 3/8 * 1/1.
        let exits = vec![
            exit(2, Some("lapse")),
            exit(4, None),
            exit(6, Some("surrender")),
            exit(8, Some("lapse")),
        ];
        let inc = cumulative_incidence(&exits, &[12, 5]);
        assert!((inc.by_cause["lapse"][0] - 0.625).abs() < 1e-12);
        assert!((inc.by_cause["lapse"][1] - 0.25).abs() < 1e-12);
        assert!((inc.by_cause["surrender"][0] - 0.375).abs() < 1e-12);
        assert_eq!(inc.by_cause["surrender"][1], 0.0);
        // Every policy ends by some cause here: the CIFs add up to one.
        let total: f64 = inc.by_cause.values().map(|v| v[0]).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
}
