//! Win-back and second-purchase rates of a book at an as-of date: how often a client
//! whose cover was lost buys again, and how often a new client buys a second policy,
//! each within `repeat_months` (docs/domain.md, "Win-back and second purchase").
//!
//! Only events observed for the whole period count (censoring): a loss of cover or a
//! first purchase less than `repeat_months` before the as-of date is too recent to say,
//! and is left out rather than counted as "not yet". Events are counted per client, so
//! parts (clients never split) add up exactly.

use crate::config::PersistencySettings;
use crate::date::Date;
use crate::ingest::{Book, MISSING};
use crate::schema::Source;
use serde::{Deserialize, Serialize};

/// Events observed for the whole period (`eligible`) and those followed by a purchase
/// within it (`bought`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateCount {
    pub eligible: u64,
    pub bought: u64,
}

impl RateCount {
    /// `bought / eligible`; `None` without eligible events.
    pub fn rate(&self) -> Option<f64> {
        (self.eligible > 0).then(|| self.bought as f64 / self.eligible as f64)
    }

    fn record(&mut self, bought: bool) {
        self.eligible += 1;
        self.bought += u64::from(bought);
    }
}

/// Win-back and second-purchase counts of a book, summed over parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatCounts {
    /// The period a purchase had to follow within (`repeat_months`).
    pub months: u32,
    /// Losses of cover (a policy ended by lapse, surrender or non-renewal with nothing
    /// else in force) followed by a new policy within the period.
    pub win_back: RateCount,
    /// First policies followed by another policy starting within the period.
    pub second_purchase: RateCount,
}

impl RepeatCounts {
    pub fn merge(&mut self, other: RepeatCounts) {
        self.months = self.months.max(other.months);
        for (a, b) in [
            (&mut self.win_back, other.win_back),
            (&mut self.second_purchase, other.second_purchase),
        ] {
            a.eligible += b.eligible;
            a.bought += b.bought;
        }
    }

    /// Counts the book's clients as of `as_of`: events in the `repeat_window_years`
    /// before the last fully observed date (`as_of` less `repeat_months`).
    pub fn count(book: &Book, as_of: Date, s: &PersistencySettings) -> Self {
        let mut out = RepeatCounts {
            months: s.repeat_months,
            ..RepeatCounts::default()
        };
        let months = s.repeat_months as i32;
        let observed_until = as_of.add_months(-months);
        let window_start = observed_until.add_months(-12 * s.repeat_window_years as i32);
        let in_window = |d: Date| d > window_start && d <= observed_until;
        for policies in client_policies(book, as_of) {
            let Some(first) = policies.iter().map(|p| p.start).min() else {
                continue;
            };
            let bought_within = |from: Date| {
                let until = from.add_months(months);
                policies.iter().any(|p| p.start > from && p.start <= until)
            };
            if in_window(first) {
                out.second_purchase.record(bought_within(first));
            }
            for lost in losses_of_cover(&policies) {
                if in_window(lost) {
                    out.win_back.record(bought_within(lost));
                }
            }
        }
        out
    }
}

/// One policy as these rates see it.
#[derive(Clone, Copy)]
struct Held {
    start: Date,
    end: Option<Date>,
    /// Ended by lapse, surrender or non-renewal (not death, maturity or other).
    lost: bool,
}

/// Each client's policies started by `as_of`, ends after it read as still in force.
fn client_policies(book: &Book, as_of: Date) -> Vec<Vec<Held>> {
    let mut out = vec![Vec::new(); book.client_ids.len()];
    let Some(t) = book.table(Source::Policies) else {
        return out;
    };
    let Some(start) = t.dates("start_date") else {
        return out;
    };
    let end = t.dates("end_date");
    let reason = t.coded("end_reason");
    for r in 0..t.len() {
        let client = t.client.get(r).copied().unwrap_or(MISSING);
        // A row without a client (MISSING) has no list.
        let (Some(s), Some(list)) = (start[r], out.get_mut(client as usize)) else {
            continue;
        };
        if s > as_of {
            continue;
        }
        let e = end.and_then(|e| e[r]).filter(|e| *e <= as_of);
        let why = reason.and_then(|x| x.get(r));
        list.push(Held {
            start: s,
            end: e,
            lost: e.is_some() && matches!(why, Some("lapse" | "surrender" | "non_renewal")),
        });
    }
    out
}

/// Dates on which a client lost cover: a policy ended by lapse, surrender or
/// non-renewal and nothing else was in force that day (a policy starting that day is a
/// replacement, not a loss). Each date once.
fn losses_of_cover(policies: &[Held]) -> Vec<Date> {
    let mut dates: Vec<Date> = policies
        .iter()
        .filter(|p| p.lost)
        .filter_map(|p| p.end)
        .filter(|&e| {
            !policies
                .iter()
                .any(|q| q.start <= e && q.end.is_none_or(|qe| qe > e))
        })
        .collect();
    dates.sort_unstable();
    dates.dedup();
    dates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    fn held(start: &str, end: Option<&str>, lost: bool) -> Held {
        Held {
            start: d(start),
            end: end.map(d),
            lost,
        }
    }

    #[test]
    fn a_loss_is_only_when_nothing_else_is_in_force() {
        // Lapsed while another policy ran: no loss of cover.
        let covered = [
            held("2020-01-01", Some("2023-03-31"), true),
            held("2021-01-01", None, false),
        ];
        assert!(losses_of_cover(&covered).is_empty());
        // Replaced the same day: no loss either.
        let replaced = [
            held("2020-01-01", Some("2023-03-31"), true),
            held("2023-03-31", None, false),
        ];
        assert!(losses_of_cover(&replaced).is_empty());
        // Two policies lost the same day: one loss; a maturity is never one.
        let both = [
            held("2020-01-01", Some("2023-03-31"), true),
            held("2021-01-01", Some("2023-03-31"), true),
            held("2010-01-01", Some("2015-01-01"), false),
        ];
        assert_eq!(losses_of_cover(&both), vec![d("2023-03-31")]);
    }
}
