//! The lifecycle outputs of a training run, as of its cut-off: persistency (counted as
//! a labeling run counts it, with every client's segment from the fitted bundle) and
//! the cumulative incidence of each exit by segment (Aalen-Johansen, by policy year
//! since the client's first policy).

use super::competing::{Exit, ExitTable, Incidence};
use super::persistency::PersistencyCells;
use super::policies::CompactPolicies;
use crate::config::PersistencySettings;
use crate::date::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Policy years since a client's first policy over which the incidence is reported.
pub const INCIDENCE_YEARS: u32 = 10;

/// The causes drawn, in this order (`incidence.csv` holds every cause).
pub const DRAWN_CAUSES: [&str; 3] = ["lapse", "surrender", "death"];

/// What a training run reports of its book's lifecycle, as counts that add up over the
/// parts of a book (each client's policies lie in one part).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingLifecycle {
    pub persistency: PersistencyCells,
    /// All clients (`None`), then each segment id in order, with its clients' exits.
    pub exits: Vec<(Option<u32>, ExitTable)>,
}

impl TrainingLifecycle {
    /// Counts `policies` as of `as_of`; `segments`: every client's segment id (by
    /// client index).
    pub fn count(
        policies: &CompactPolicies,
        segments: &[u32],
        as_of: Date,
        settings: &PersistencySettings,
    ) -> Self {
        let mut persistency = PersistencyCells::default();
        let segment_of = |c: usize| segments.get(c).copied();
        crate::progress::timed("persistency", || {
            policies.count_persistency(&mut persistency, &segment_of, as_of, settings);
        });
        let exits = crate::progress::timed("exits by segment", || {
            let exits = policies.client_exits(as_of);
            exits_by_segment(&exits, segments, INCIDENCE_YEARS)
        });
        TrainingLifecycle { persistency, exits }
    }

    /// Adds another part's counts.
    pub fn merge(&mut self, other: TrainingLifecycle) {
        self.persistency.merge(other.persistency);
        for (group, table) in other.exits {
            match self.exits.binary_search_by(|(g, _)| g.cmp(&group)) {
                Ok(i) => self.exits[i].1.merge(table),
                Err(i) => self.exits.insert(i, (group, table)),
            }
        }
    }

    /// Aalen-Johansen incidence of every cause by policy year: all clients, then each
    /// segment with a client who held a policy.
    pub fn incidence(&self) -> Vec<(Option<u32>, Incidence)> {
        let months = year_ends(INCIDENCE_YEARS);
        self.exits
            .iter()
            .filter(|(g, t)| g.is_none() || t.policies > 0)
            .map(|(g, t)| (*g, t.incidence(&months)))
            .collect()
    }
}

/// The months read: the end of each policy year up to `years`.
pub fn year_ends(years: u32) -> Vec<u32> {
    (1..=years.max(1)).map(|y| 12 * y).collect()
}

/// Exits counted over every client with a policy (`None`), then per segment id in
/// order, up to `years` policy years.
pub fn exits_by_segment(
    exits: &[Option<Exit>],
    segments: &[u32],
    years: u32,
) -> Vec<(Option<u32>, ExitTable)> {
    let horizon = 12 * years.max(1);
    let mut all = ExitTable::of(&[], horizon);
    let mut by_segment: BTreeMap<u32, ExitTable> = BTreeMap::new();
    for (exit, segment) in exits
        .iter()
        .zip(segments.iter().map(Some).chain(std::iter::repeat(None)))
    {
        let Some(exit) = exit else { continue };
        all.add(exit);
        if let Some(&s) = segment {
            by_segment
                .entry(s)
                .or_insert_with(|| ExitTable::of(&[], horizon))
                .add(exit);
        }
    }
    std::iter::once((None, all))
        .chain(by_segment.into_iter().map(|(s, t)| (Some(s), t)))
        .collect()
}

/// `incidence.csv`: one row per group (`all` or a segment id) x cause x policy year.
pub fn incidence_csv(incidence: &[(Option<u32>, Incidence)]) -> String {
    let mut out = String::from("segment,clients,cause,policy_year,cumulative_incidence\n");
    for (segment, inc) in incidence {
        let group = segment.map_or_else(|| super::persistency::ALL.to_string(), |s| s.to_string());
        for (cause, values) in &inc.by_cause {
            for (m, v) in inc.months.iter().zip(values) {
                out.push_str(&format!(
                    "{group},{},{cause},{},{v:.6}\n",
                    inc.policies,
                    m / 12
                ));
            }
        }
    }
    out
}
