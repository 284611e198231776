//! The lapse label: a client in force at the cut-off who, within the horizon, ends with
//! no policy in force after a lapse, surrender or non-renewal. Clients whose cover ends
//! only by maturity, death or another reason are left out, as are clients not in force.

// Row loops index several parallel columns of one table at once.
#![allow(clippy::needless_range_loop)]

use crate::config::Mode;
use crate::date::Date;
use crate::error::{Error, Result};
use crate::ingest::{Book, MISSING};
use crate::schema::Source;

/// A client's label for one cut-off and horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    Lapsed,
    Stayed,
    /// Not in force at the cut-off, or left for a reason that is not churn.
    Excluded,
}

use crate::vocab::LapseOutcome;

/// Labels every client of the book for `cutoff` and `horizon_months`, counting the
/// exits of `outcome` as leaving (relational mode; a client whose cover ended only by
/// other exits is left out).
///
/// # Errors
/// `Error::InvalidParameter` when the horizon runs past the data's last date, so that
/// nobody could be seen to lapse.
pub fn lapse_labels(
    book: &Book,
    cutoff: Date,
    horizon_months: i32,
    data_end: Date,
    outcome: LapseOutcome,
) -> Result<Vec<Label>> {
    let horizon_end = cutoff.month_end_offset(horizon_months);
    if horizon_end > data_end {
        return Err(Error::InvalidParameter(format!(
            "the label horizon runs to {horizon_end}, past the data's last date {data_end}: \
             choose an earlier --as-of or a shorter --horizon-months"
        )));
    }
    Ok(match book.mode {
        Mode::Flat => flat_labels(book),
        Mode::Transactions => transaction_labels(book, cutoff, horizon_end),
        Mode::Relational => policy_labels(book, cutoff, horizon_end, outcome.end_reasons()),
    })
}

/// Which exits took each client out within the horizon, as bits: 1 a lapse (or
/// non-renewal), 2 a surrender; 0 for a client who stayed, was not in force, or left
/// otherwise (relational mode; empty elsewhere). For reporting lapse and surrender
/// rates apart whatever the model's outcome.
///
/// # Errors
/// As `lapse_labels`.
pub fn exit_kinds(
    book: &Book,
    cutoff: Date,
    horizon_months: i32,
    data_end: Date,
) -> Result<Vec<u8>> {
    if book.mode != Mode::Relational {
        return Ok(Vec::new());
    }
    let lapse = lapse_labels(book, cutoff, horizon_months, data_end, LapseOutcome::Lapse)?;
    let surrender = lapse_labels(
        book,
        cutoff,
        horizon_months,
        data_end,
        LapseOutcome::Surrender,
    )?;
    Ok(lapse
        .iter()
        .zip(&surrender)
        .map(|(l, s)| u8::from(*l == Label::Lapsed) | u8::from(*s == Label::Lapsed) << 1)
        .collect())
}

/// Flat mode: the table's own label column.
fn flat_labels(book: &Book) -> Vec<Label> {
    book.flat
        .as_ref()
        .and_then(|f| f.label.as_ref())
        .map(|l| {
            l.iter()
                .map(|&y| if y { Label::Lapsed } else { Label::Stayed })
                .collect()
        })
        .unwrap_or_else(|| vec![Label::Excluded; book.n_clients()])
}

/// Transactions mode: a client who transacted by the cut-off lapses when no
/// transaction follows within the horizon.
fn transaction_labels(book: &Book, cutoff: Date, horizon_end: Date) -> Vec<Label> {
    let n = book.n_clients();
    let mut before = vec![false; n];
    let mut after = vec![false; n];
    if let Some(t) = book.table(Source::Transactions) {
        if let Some(date) = t.dates("date") {
            for r in 0..t.len() {
                let (Some(d), ci) = (date[r], t.client[r]) else {
                    continue;
                };
                if ci == MISSING {
                    continue;
                }
                if d <= cutoff {
                    before[ci as usize] = true;
                } else if d <= horizon_end {
                    after[ci as usize] = true;
                }
            }
        }
    }
    (0..n)
        .map(|i| match (before[i], after[i]) {
            (false, _) => Label::Excluded,
            (true, true) => Label::Stayed,
            (true, false) => Label::Lapsed,
        })
        .collect()
}

/// Relational mode: in force at the cut-off, and at the horizon's end nothing in force
/// after a policy ended by one of `exits` (lapse, surrender or non-renewal by default).
fn policy_labels(book: &Book, cutoff: Date, horizon_end: Date, exits: &[&str]) -> Vec<Label> {
    let n = book.n_clients();
    let mut in_force_at_cutoff = vec![false; n];
    let mut in_force_at_end = vec![false; n];
    let mut churn_ending = vec![false; n];
    let Some(t) = book.table(Source::Policies) else {
        return vec![Label::Excluded; n];
    };
    let (Some(start), end) = (t.dates("start_date"), t.dates("end_date")) else {
        return vec![Label::Excluded; n];
    };
    let reason = t.coded("end_reason");
    for r in 0..t.len() {
        let (Some(s), ci) = (start[r], t.client[r]) else {
            continue;
        };
        if ci == MISSING {
            continue;
        }
        let ci = ci as usize;
        let e = end.and_then(|e| e[r]);
        let alive = |d: Date| s <= d && e.is_none_or(|e| e > d);
        in_force_at_cutoff[ci] |= alive(cutoff);
        in_force_at_end[ci] |= alive(horizon_end);
        if e.is_some_and(|e| e > cutoff && e <= horizon_end) {
            let why = reason.and_then(|x| x.get(r)).unwrap_or("other");
            churn_ending[ci] |= exits.contains(&why);
        }
    }
    (0..n)
        .map(|i| {
            if !in_force_at_cutoff[i] {
                Label::Excluded
            } else if in_force_at_end[i] {
                Label::Stayed
            } else if churn_ending[i] {
                Label::Lapsed
            } else {
                Label::Excluded
            }
        })
        .collect()
}
