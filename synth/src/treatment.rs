//! A treatment model with known truth, for testing the effect readout: given last
//! month's labels (client id, action, segment, holdout) and a table of true effects per
//! action x segment, the outcomes of the month after are changed for the treated
//! clients only (not held out). An effect is a probability:
//! - protective (`change < 0`): a treated client who would have lapsed in the window
//!   keeps its policies with probability `-change`;
//! - harmful (`change > 0`): a treated client in force through the window lapses in it
//!   with probability `change` (every policy ends on one day, by lapse).
//!
//! Every listed client gets both potential outcomes (`PotentialOutcome`), drawn from its
//! own seed: a cell's true effect is the mean of (treated - untreated) over its clients,
//! whichever arm they are in. The outcome is the readout's "lapse": in force at the
//! window's start, nothing in force at its end, a policy ended in it by lapse or
//! non-renewal (clientele's `LapseOutcome::Lapse`).

use super::model::PolicyRec;
use super::SynthBook;
use clientele::Date;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::HashMap;

/// One client of last month's labels.
#[derive(Clone, Debug)]
pub struct Assignment {
    pub client_id: String,
    pub action: String,
    pub segment: String,
    pub holdout: bool,
}

/// The true effect of an action on one segment's lapses in the window.
#[derive(Clone, Debug)]
pub struct TrueEffect {
    pub action: String,
    pub segment: String,
    /// In (-1, 1]: see the module's notes.
    pub change: f64,
}

/// One client's outcome without and with the action.
#[derive(Clone, Debug, PartialEq)]
pub struct PotentialOutcome {
    pub client_id: String,
    pub in_force_at_start: bool,
    pub untreated: bool,
    pub treated: bool,
}

/// End reasons that count as a lapse (`model::END_REASONS`: lapse, non-renewal).
const LAPSE_REASONS: [u8; 2] = [0, 2];
const CHURN_REASONS: [u8; 3] = [0, 1, 2];
/// Maturity: the reason of a policy whose end is unset again.
const NO_EXIT: u8 = 3;

fn alive(p: &PolicyRec, d: Date) -> bool {
    p.start <= d && p.end.is_none_or(|e| e > d)
}

/// The readout's lapse outcome over `(start, end]` for one client's policies.
fn lapsed(policies: &[PolicyRec], (start, end): (Date, Date)) -> bool {
    policies.iter().any(|p| alive(p, start))
        && !policies.iter().any(|p| alive(p, end))
        && policies.iter().any(|p| {
            p.end.is_some_and(|e| e > start && e <= end) && LAPSE_REASONS.contains(&p.reason)
        })
}

/// The client's policies with the action's effect applied, for a draw `u` in [0, 1).
fn treated(policies: &[PolicyRec], window: (Date, Date), change: f64, u: f64) -> Vec<PolicyRec> {
    let (start, end) = window;
    let mut out = policies.to_vec();
    if change < 0.0 && lapsed(policies, window) && u < -change {
        for p in &mut out {
            let churned = p.end.is_some_and(|e| e > start && e <= end);
            if churned && CHURN_REASONS.contains(&p.reason) {
                p.end = None;
                p.reason = NO_EXIT;
            }
        }
    } else if change > 0.0 && policies.iter().any(|p| alive(p, start)) && u < change {
        let days = (end.days() - start.days()).max(1);
        let day = start.add_days(1 + (u / change * f64::from(days - 1).max(0.0)) as i32);
        for p in &mut out {
            if alive(p, day) {
                p.end = Some(day);
                p.reason = 0;
            } else if p.start > day && p.start <= end {
                // Not sold after the client left.
                p.end = Some(p.start);
                p.reason = 0;
            }
        }
    }
    out
}

/// Applies the effects to the book's policies for the treated clients of `labels` over
/// the window `(start, end]` (the book must be simulated to `end`), and returns every
/// listed client's potential outcomes. Clients of no listed action x segment keep their
/// outcome (untreated = treated).
pub fn apply_treatment(
    book: &mut SynthBook,
    labels: &[Assignment],
    effects: &[TrueEffect],
    window: (Date, Date),
    seed: u64,
) -> Vec<PotentialOutcome> {
    let change: HashMap<(&str, &str), f64> = effects
        .iter()
        .map(|e| ((e.action.as_str(), e.segment.as_str()), e.change))
        .collect();
    let mut by_client: HashMap<u32, Vec<usize>> = HashMap::new();
    for (k, p) in book.block.policies.iter().enumerate() {
        by_client.entry(p.client).or_default().push(k);
    }
    let mut out = Vec::with_capacity(labels.len());
    for a in labels {
        let Some(index) = client_index(&a.client_id) else {
            continue;
        };
        let rows = by_client.get(&index).cloned().unwrap_or_default();
        let policies: Vec<PolicyRec> = rows
            .iter()
            .map(|&k| book.block.policies[k].clone())
            .collect();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(
            seed ^ u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let u: f64 = rng.gen();
        let c = change
            .get(&(a.action.as_str(), a.segment.as_str()))
            .copied()
            .unwrap_or(0.0);
        let after = treated(&policies, window, c, u);
        out.push(PotentialOutcome {
            client_id: a.client_id.clone(),
            in_force_at_start: policies.iter().any(|p| alive(p, window.0)),
            untreated: lapsed(&policies, window),
            treated: lapsed(&after, window),
        });
        if !a.holdout {
            for (&k, p) in rows.iter().zip(after) {
                book.block.policies[k] = p;
            }
        }
    }
    out
}

/// The generator's index of a client id (`C0000001` is client 0).
fn client_index(id: &str) -> Option<u32> {
    id.trim()
        .strip_prefix('C')?
        .parse::<u32>()
        .ok()?
        .checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn policy(end: Option<&str>, reason: u8) -> PolicyRec {
        PolicyRec {
            client: 0,
            product: 0,
            start: d("2020-01-01"),
            end: end.map(d),
            reason,
            premium: 1000.0,
            sum_assured: 1e5,
            freq: 0,
        }
    }

    #[test]
    fn effects_change_the_outcome_they_say() {
        let w = (d("2026-09-30"), d("2026-10-31"));
        let lapsing = vec![policy(Some("2026-10-12"), 0)];
        let staying = vec![policy(None, NO_EXIT)];
        assert!(lapsed(&lapsing, w) && !lapsed(&staying, w));
        // A surrender is not a lapse.
        assert!(!lapsed(&[policy(Some("2026-10-12"), 1)], w));
        // Protective: kept with probability 0.5.
        assert!(!lapsed(&treated(&lapsing, w, -0.5, 0.3), w));
        assert!(lapsed(&treated(&lapsing, w, -0.5, 0.7), w));
        // Harmful: lapses with probability 0.2, inside the window.
        let hit = treated(&staying, w, 0.2, 0.1);
        assert!(lapsed(&hit, w), "{hit:?}");
        assert!(hit[0].end.unwrap() > w.0 && hit[0].end.unwrap() <= w.1);
        assert!(!lapsed(&treated(&staying, w, 0.2, 0.5), w));
        assert_eq!(client_index("C0000001"), Some(0));
        assert_eq!(client_index("X1"), None);
    }
}
