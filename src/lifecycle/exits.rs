//! How a client's cover ended between two runs: the exit states of the stage migration
//! (docs/domain.md, "Exit states of the stage migration").
//!
//! A client of last month's labels is in an exit state this month when it had a policy
//! in force at last month's date and has none in force at this month's: its state is
//! how the policy that ended last ended (lapse or non-renewal: lapsed; surrender;
//! death claim: died; maturity), or died when any policy ended by a death claim since. A client of last month's labels missing from this
//! month's book is "not in the book". Ended for another reason (or none recorded): no
//! exit state, the client counts under its new stage.

use crate::date::Date;
use crate::ingest::{Book, MISSING};
use crate::schema::Source;

pub use crate::vocab::ExitState;

/// Per client of `book`: how its cover ended between `since` (exclusive) and `as_of`
/// (inclusive), when it had a policy in force at `since` and none at `as_of`; empty
/// when the book has no policies with start dates.
pub fn cover_ended(book: &Book, since: Date, as_of: Date) -> Vec<Option<ExitState>> {
    let n = book.n_clients();
    let Some(t) = book.table(Source::Policies) else {
        return Vec::new();
    };
    let Some(start) = t.dates("start_date") else {
        return Vec::new();
    };
    let end = t.dates("end_date");
    let reason = t.coded("end_reason");
    let in_force = |r: usize, at: Date| {
        start[r].is_some_and(|s| s <= at) && end.and_then(|e| e[r]).is_none_or(|e| e > at)
    };
    // Per client: in force last month, in force now, the last ending (date, state).
    let mut was = vec![false; n];
    let mut is = vec![false; n];
    let mut last: Vec<Option<(Date, Option<ExitState>)>> = vec![None; n];
    // A death claim in the window: died, whatever ended after it.
    let mut died = vec![false; n];
    for r in 0..t.len() {
        let c = t.client.get(r).copied().unwrap_or(MISSING);
        if c == MISSING || c as usize >= n {
            continue;
        }
        let c = c as usize;
        was[c] |= in_force(r, since);
        is[c] |= in_force(r, as_of);
        let Some(e) = end.and_then(|e| e[r]).filter(|&e| e > since && e <= as_of) else {
            continue;
        };
        let state = reason.and_then(|x| x.get(r)).and_then(ExitState::of_reason);
        died[c] |= state == Some(ExitState::Died);
        last[c] = match last[c] {
            Some((d, s)) if (d, ExitState::rank(s)) >= (e, ExitState::rank(state)) => Some((d, s)),
            _ => Some((e, state)),
        };
    }
    (0..n)
        .map(|c| {
            if was[c] && !is[c] && died[c] {
                Some(ExitState::Died)
            } else if was[c] && !is[c] {
                last[c].and_then(|(_, s)| s)
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_map_to_states_and_codes_read_back() {
        assert_eq!(ExitState::of_reason("non_renewal"), Some(ExitState::Lapsed));
        assert_eq!(ExitState::of_reason("death_claim"), Some(ExitState::Died));
        assert_eq!(ExitState::of_reason("other"), None);
        for e in ExitState::ALL {
            assert_eq!(ExitState::from_code(e.code()), Some(e));
        }
        assert_eq!(ExitState::from_code("lapsed"), None);
    }
}
