//! What the lifecycle outputs read of a book's policies, kept compact: a training run
//! takes it before the event tables are dropped, and fills in segments once they are
//! fitted. Labeling reads the same facts, so training and labeling count alike.

use super::exits::ExitState;
use super::persistency::{Counted, PersistencyCells};
use crate::config::PersistencySettings;
use crate::date::Date;
use crate::ingest::{Book, Coded, MISSING};
use crate::schema::Source;
use std::collections::HashMap;

/// One policy: its client (`MISSING`: none), dates, reason and premium, and its
/// channel, product and payment frequency as indices into `CompactPolicies::levels`.
#[derive(Clone, Copy, Debug)]
struct Compact {
    client: u32,
    start: Date,
    end: Option<Date>,
    reason: Option<ExitState>,
    single_premium: bool,
    annual_premium: f64,
    groups: [u32; 3],
}

/// The policies of a book, with a start date, in the book's order.
#[derive(Clone, Debug, Default)]
pub struct CompactPolicies {
    policies: Vec<Compact>,
    levels: Vec<String>,
    clients: usize,
}

/// Interns texts: each distinct text once.
#[derive(Default)]
struct Interner {
    index: HashMap<String, u32>,
    levels: Vec<String>,
}

impl Interner {
    fn of(&mut self, text: Option<&str>) -> u32 {
        let text = text.unwrap_or("unknown");
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        let i = self.levels.len() as u32;
        self.levels.push(text.to_string());
        self.index.insert(text.to_string(), i);
        i
    }

    /// The interned index of every row of a coded column (missing: `unknown`), each
    /// level interned once.
    fn column(&mut self, column: Option<&Coded>, rows: usize) -> Vec<u32> {
        let unknown = self.of(None);
        let Some(column) = column else {
            return vec![unknown; rows];
        };
        let by_code: Vec<u32> = column.levels.iter().map(|l| self.of(Some(l))).collect();
        (0..rows)
            .map(|r| match column.codes.get(r) {
                Some(&c) if c != MISSING => by_code.get(c as usize).copied().unwrap_or(unknown),
                _ => unknown,
            })
            .collect()
    }
}

impl CompactPolicies {
    /// Reads `book`'s policies (none without a policies table or start dates).
    pub fn of(book: &Book) -> Self {
        let clients = book.n_clients();
        let Some(t) = book.table(Source::Policies) else {
            return CompactPolicies {
                clients,
                ..Default::default()
            };
        };
        let Some(start) = t.dates("start_date") else {
            return CompactPolicies {
                clients,
                ..Default::default()
            };
        };
        let end = t.dates("end_date");
        let reason = t.coded("end_reason");
        let product = t.coded("product");
        let frequency = t.coded("payment_frequency");
        let premium = t.numbers("annual_premium");
        let channel = book.table(Source::Clients).and_then(|c| c.coded("channel"));
        let mut words = Interner::default();
        let products = words.column(product, t.len());
        let frequencies = words.column(frequency, t.len());
        let channels = words.column(channel, clients);
        let single = frequency.and_then(|f| f.levels.iter().position(|l| l == "single"));
        let states: Vec<Option<ExitState>> = reason
            .map(|x| x.levels.iter().map(ExitState::of_reason).collect())
            .unwrap_or_default();
        let code = |c: Option<&Coded>, r: usize| {
            c.and_then(|c| c.codes.get(r).copied())
                .filter(|&c| c != MISSING)
                .map(|c| c as usize)
        };
        let unknown = words.of(None);
        let mut policies = Vec::with_capacity(t.len());
        for r in 0..t.len() {
            let Some(s) = start[r] else { continue };
            let client = t.client.get(r).copied().unwrap_or(MISSING);
            let channel = (client != MISSING)
                .then(|| channels.get(client as usize).copied())
                .flatten()
                .unwrap_or(unknown);
            policies.push(Compact {
                client,
                start: s,
                end: end.and_then(|e| e[r]),
                reason: code(reason, r).and_then(|c| states.get(c).copied().flatten()),
                single_premium: single.is_some() && code(frequency, r) == single,
                annual_premium: premium.map_or(0.0, |p| p[r]).max(0.0),
                groups: [channel, products[r], frequencies[r]],
            });
        }
        CompactPolicies {
            policies,
            levels: words.levels,
            clients,
        }
    }

    /// Each policy as (client index or `MISSING`, start, end, how it ended), in the
    /// book's order.
    pub(super) fn each(
        &self,
    ) -> impl Iterator<Item = (u32, Date, Option<Date>, Option<ExitState>)> + '_ {
        self.policies
            .iter()
            .map(|p| (p.client, p.start, p.end, p.reason))
    }

    /// Clients in the book the policies were read from.
    pub(super) fn clients(&self) -> usize {
        self.clients
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Adds the policies to persistency `cells`, each client's segment id from
    /// `segment_of` (clients without one are `unassigned`).
    pub fn count_persistency(
        &self,
        cells: &mut PersistencyCells,
        segment_of: &dyn Fn(usize) -> Option<u32>,
        as_of: Date,
        settings: &PersistencySettings,
    ) {
        // The texts: the policies' levels, then `unassigned`, then each segment id met.
        let mut texts = self.levels.clone();
        texts.push("unassigned".to_string());
        let unassigned = texts.len() as u32 - 1;
        let mut segment_text: HashMap<u32, u32> = HashMap::new();
        let client_text: Vec<u32> = (0..self.clients)
            .map(|c| {
                segment_of(c).map_or(unassigned, |id| {
                    *segment_text.entry(id).or_insert_with(|| {
                        texts.push(id.to_string());
                        texts.len() as u32 - 1
                    })
                })
            })
            .collect();
        let counted = self.policies.iter().map(|p| Counted {
            start: p.start,
            end: p.end,
            ended_naturally: matches!(p.reason, Some(ExitState::Died | ExitState::Matured)),
            single_premium: p.single_premium,
            annual_premium: p.annual_premium,
            groups: [
                p.groups[0],
                p.groups[1],
                p.groups[2],
                client_text
                    .get(p.client as usize)
                    .copied()
                    .unwrap_or(unassigned),
            ],
        });
        cells.add_counted(counted, &texts, as_of, settings);
    }

    /// Each client's exit as of `as_of`, as a competing risk in whole months since its
    /// first policy started: the cause is how the policy that ended last ended when no
    /// policy is in force at `as_of`; otherwise censored at `as_of`. Clients without a
    /// policy started by then: `None`.
    pub fn client_exits(&self, as_of: Date) -> Vec<Option<super::Exit>> {
        // Per client: first start, in force at as_of, the last ending (date, cause).
        let mut first: Vec<Option<Date>> = vec![None; self.clients];
        let mut in_force = vec![false; self.clients];
        let mut last: Vec<Option<(Date, Option<ExitState>)>> = vec![None; self.clients];
        for p in &self.policies {
            let c = p.client as usize;
            if p.client == MISSING || c >= self.clients || p.start > as_of {
                continue;
            }
            first[c] = Some(first[c].map_or(p.start, |f| f.min(p.start)));
            let Some(e) = p.end.filter(|&e| e <= as_of) else {
                in_force[c] = true;
                continue;
            };
            last[c] = match last[c] {
                Some((d, s)) if (d, ExitState::rank(s)) >= (e, ExitState::rank(p.reason)) => {
                    Some((d, s))
                }
                _ => Some((e, p.reason)),
            };
        }
        (0..self.clients)
            .map(|c| {
                let from = first[c]?;
                let ended = last[c].filter(|_| !in_force[c]);
                let until = ended.map_or(as_of, |(d, _)| d);
                Some(super::Exit {
                    months: months_between(from, until),
                    cause: ended.map(|(_, s)| s.map_or("other", ExitState::cause).to_string()),
                })
            })
            .collect()
    }
}

/// Whole months from `from` to `to` (a month counts once its day is reached).
pub fn months_between(from: Date, to: Date) -> u32 {
    let ((y0, m0, d0), (y1, m1, d1)) = (from.ymd(), to.ymd());
    let months = (y1 - y0) * 12 + m1 as i32 - m0 as i32 - i32::from(d1 < d0);
    months.max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_between_counts_whole_months() {
        let d = |s: &str| Date::parse(s).unwrap();
        assert_eq!(months_between(d("2024-01-15"), d("2024-02-14")), 0);
        assert_eq!(months_between(d("2024-01-15"), d("2024-02-15")), 1);
        assert_eq!(months_between(d("2024-01-31"), d("2025-01-30")), 11);
        assert_eq!(months_between(d("2024-03-01"), d("2024-01-01")), 0);
    }
}
