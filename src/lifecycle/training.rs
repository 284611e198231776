//! The lifecycle outputs of a training run, as of its cut-off: persistency (counted as
//! a labeling run counts it, with every client's segment from the fitted bundle) and
//! the cumulative incidence of each exit by segment (Aalen-Johansen, by policy year
//! since the client's first policy).

use super::competing::{cumulative_incidence, Exit, Incidence};
use super::persistency::PersistencyCells;
use super::policies::CompactPolicies;
use crate::config::PersistencySettings;
use crate::date::Date;

/// Policy years since a client's first policy over which the incidence is reported.
pub const INCIDENCE_YEARS: u32 = 10;

/// The causes drawn, in this order (`incidence.csv` holds every cause).
pub const DRAWN_CAUSES: [&str; 3] = ["lapse", "surrender", "death"];

/// What a training run reports of its book's lifecycle.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingLifecycle {
    pub persistency: PersistencyCells,
    /// All clients (`None`), then each segment id in order, with its clients' incidence.
    pub incidence: Vec<(Option<u32>, Incidence)>,
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
        let incidence = crate::progress::timed("exits by segment", || {
            let exits = policies.client_exits(as_of);
            incidence_by_segment(&exits, segments, INCIDENCE_YEARS)
        });
        TrainingLifecycle {
            persistency,
            incidence,
        }
    }
}

/// The months read: the end of each policy year up to `years`.
pub fn year_ends(years: u32) -> Vec<u32> {
    (1..=years.max(1)).map(|y| 12 * y).collect()
}

/// Aalen-Johansen incidence over every client with a policy, then per segment id.
pub fn incidence_by_segment(
    exits: &[Option<Exit>],
    segments: &[u32],
    years: u32,
) -> Vec<(Option<u32>, Incidence)> {
    let months = year_ends(years);
    let all: Vec<Exit> = exits.iter().flatten().cloned().collect();
    let mut out = vec![(None, cumulative_incidence(&all, &months))];
    let mut ids: Vec<u32> = segments.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let of_segment: Vec<Exit> = exits
            .iter()
            .zip(segments)
            .filter(|(_, s)| **s == id)
            .filter_map(|(e, _)| e.clone())
            .collect();
        if !of_segment.is_empty() {
            out.push((Some(id), cumulative_incidence(&of_segment, &months)));
        }
    }
    out
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
