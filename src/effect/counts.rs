//! What the effect readout counts per part, summed over parts like every labeling total:
//! per last month's action x segment x value tier, the treated and the held-out clients
//! and their outcomes since that run; per action and decile of last month's lapse
//! probability, the same for the targeting check. Counts add up exactly; premium sums
//! are floats added in part order.

use super::interval::RatioSums;
use crate::config::EffectSettings;
use crate::date::Date;
use crate::features::exit_kinds;
use crate::ingest::{Book, MISSING};
use crate::schema::Source;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happened to one client of last month's run by this run's date.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClientOutcome {
    /// Ended with nothing in force after a lapse or non-renewal (after a surrender).
    pub lapsed: bool,
    pub surrendered: bool,
    /// A policy started in the window.
    pub bought: bool,
    /// Annual premium in force at the previous run's date, and the part of it still in
    /// force now.
    pub premium_then: f64,
    pub premium_kept: f64,
}

/// Every client's outcome over `(start, end]` (relational mode: policies with dates);
/// `None` when the book cannot tell (other modes, a horizon past the data).
pub fn client_outcomes(book: &Book, start: Date, end: Date) -> Option<Vec<ClientOutcome>> {
    let (sy, sm, _) = start.ymd();
    let (ey, em, _) = end.ymd();
    let months = (ey - sy) * 12 + em as i32 - sm as i32;
    let exits = exit_kinds(book, start, months, end).ok()?;
    let t = book.table(Source::Policies)?;
    let (Some(starts), Some(premium)) = (t.dates("start_date"), t.numbers("annual_premium")) else {
        return None;
    };
    let ends = t.dates("end_date");
    let mut out = vec![ClientOutcome::default(); book.n_clients()];
    for (o, bits) in out.iter_mut().zip(&exits) {
        o.lapsed = bits & 1 != 0;
        o.surrendered = bits & 2 != 0;
    }
    for r in 0..t.len() {
        let (Some(s), ci) = (starts[r], t.client[r]) else {
            continue;
        };
        if ci == MISSING {
            continue;
        }
        let Some(o) = out.get_mut(ci as usize) else {
            continue;
        };
        let e = ends.and_then(|e| e[r]);
        if s > start && s <= end {
            o.bought = true;
        }
        let p = premium[r];
        if s <= start && e.is_none_or(|e| e > start) && p.is_finite() {
            o.premium_then += p;
            if e.is_none_or(|e| e > end) {
                o.premium_kept += p;
            }
        }
    }
    Some(out)
}

/// One arm of a cell: every client (for new policies), those in force last month (for
/// lapse and surrender) and their premium then and kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    pub clients: usize,
    pub bought: usize,
    pub in_force: usize,
    pub lapsed: usize,
    pub surrendered: usize,
    pub premium: RatioSums,
}

impl Arm {
    fn add(&mut self, scored: bool, o: &ClientOutcome) {
        self.clients += 1;
        self.bought += usize::from(o.bought);
        if scored {
            self.in_force += 1;
            self.lapsed += usize::from(o.lapsed);
            self.surrendered += usize::from(o.surrendered);
        }
        if o.premium_then > 0.0 {
            self.premium.add(o.premium_then, o.premium_kept);
        }
    }

    pub(super) fn merge(&mut self, o: &Arm) {
        self.clients += o.clients;
        self.bought += o.bought;
        self.in_force += o.in_force;
        self.lapsed += o.lapsed;
        self.surrendered += o.surrendered;
        self.premium.merge(&o.premium);
    }
}

/// A cell: last month's action words, segment id and value tier.
pub type CellKey = (String, u32, String);

/// The readout's counts, summed over parts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EffectCounts {
    /// The previous run's date and whether its labels carried the holdout column: set
    /// by every part compared with a previous run.
    pub previous_as_of: Option<Date>,
    pub randomised: bool,
    /// Why no outcome could be counted, when none could.
    pub unavailable: Option<String>,
    /// This run's settings (costs, flags) and action codes by words.
    pub settings: EffectSettings,
    pub codes: BTreeMap<String, String>,
    /// Actions whose rules call only on clients at risk (the targeting check's).
    pub retention: Vec<String>,
    /// Cell -> [treated, held out].
    #[serde(with = "crate::fsio::pairs")]
    pub cells: BTreeMap<CellKey, [Arm; 2]>,
    /// (action, decile of last month's probability) -> [treated, held out], scored
    /// clients only: (clients, lapsed or surrendered).
    #[serde(with = "crate::fsio::pairs")]
    pub deciles: BTreeMap<(String, usize), [(usize, usize); 2]>,
    /// The dates of the readouts these counts cover (this run's; a history's, several).
    #[serde(default)]
    pub months: Vec<Date>,
    /// Earlier readouts' summed counts (the previous run's `effect-history.json`): the
    /// same in every part, not summed over parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earlier: Option<Box<EffectCounts>>,
    /// The key buffer of `count`.
    #[serde(skip)]
    key: KeyBuffer,
}

/// A scratch key: never part of what makes two counts equal.
#[derive(Clone, Debug, Default)]
struct KeyBuffer(CellKey);

impl PartialEq for KeyBuffer {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// What a part is compared with: the previous run, and this run's date.
pub struct Comparison<'a> {
    pub previous_as_of: Option<Date>,
    pub as_of: Date,
    /// Whether last month's labels carried the holdout column.
    pub randomised: bool,
    /// Why no outcome can be counted, when none can.
    pub unavailable: Option<String>,
    /// Earlier readouts' summed counts, when the previous run kept them.
    pub earlier: Option<&'a EffectCounts>,
}

/// One client of the previous run as the readout sees it.
pub struct Counted<'a> {
    pub action: &'a str,
    pub segment: u32,
    pub tier: &'a str,
    /// `None` when last month's labels had no holdout column.
    pub holdout: Option<bool>,
    /// Decile of last month's lapse probability, for a client scored then.
    pub decile: Option<usize>,
}

impl EffectCounts {
    /// Records the comparison a part makes (every part records the same).
    pub fn compared_with(
        &mut self,
        c: Comparison,
        settings: &EffectSettings,
        actions: &crate::config::ActionTable,
    ) {
        self.previous_as_of = c.previous_as_of;
        self.randomised = c.randomised;
        self.unavailable = c.unavailable;
        self.settings = settings.clone();
        self.codes = actions.codes_by_words();
        self.retention = actions.retention_actions();
        self.months = vec![c.as_of];
        self.earlier = c.earlier.map(|e| Box::new(e.clone()));
    }

    /// Counts one client of the previous run against its outcome.
    pub fn count(&mut self, c: &Counted, o: &ClientOutcome) {
        let arm = usize::from(c.holdout == Some(true));
        // The key is built in a buffer kept between clients: a new cell allocates, a
        // known one (nearly every client) does not.
        let mut key = std::mem::take(&mut self.key.0);
        key.0.clear();
        key.0.push_str(c.action);
        key.1 = c.segment;
        key.2.clear();
        key.2.push_str(c.tier);
        match self.cells.get_mut(&key) {
            Some(cell) => cell[arm].add(c.decile.is_some(), o),
            None => self.cells.entry(key.clone()).or_default()[arm].add(c.decile.is_some(), o),
        }
        if let Some(d) = c.decile {
            let decile = (std::mem::take(&mut key.0), d);
            let cell = match self.deciles.get_mut(&decile) {
                Some(cell) => cell,
                None => self.deciles.entry(decile.clone()).or_default(),
            };
            cell[arm].0 += 1;
            cell[arm].1 += usize::from(o.lapsed || o.surrendered);
            key.0 = decile.0;
        }
        self.key.0 = key;
    }

    pub fn merge(&mut self, other: EffectCounts) {
        // A part whose clients had no row in last month's labels cannot tell whether they
        // carried the holdout column; any part that saw one can.
        self.randomised |= other.randomised;
        if self.previous_as_of.is_none() && self.unavailable.is_none() {
            self.previous_as_of = other.previous_as_of;
            self.unavailable = other.unavailable;
            self.settings = other.settings;
            self.codes = other.codes;
            self.retention = other.retention;
            self.months = other.months;
            self.earlier = other.earlier;
        }
        self.add_counts(other.cells, other.deciles);
    }

    fn add_counts(
        &mut self,
        cells: BTreeMap<CellKey, [Arm; 2]>,
        deciles: BTreeMap<(String, usize), [(usize, usize); 2]>,
    ) {
        for (k, v) in cells {
            let e = self.cells.entry(k).or_default();
            e[0].merge(&v[0]);
            e[1].merge(&v[1]);
        }
        for (k, v) in deciles {
            let e = self.deciles.entry(k).or_default();
            for (a, b) in e.iter_mut().zip(v) {
                a.0 += b.0;
                a.1 += b.1;
            }
        }
    }

    /// Every randomised readout so far: the earlier ones' counts and this one's (an
    /// earlier readout of this run's date, a rerun, is not added twice). `None` when this
    /// readout is not randomised or counted nothing.
    pub fn history(&self) -> Option<EffectCounts> {
        if !self.randomised || self.unavailable.is_some() || self.months.is_empty() {
            return None;
        }
        let mut all = self.clone();
        all.earlier = None;
        if let Some(e) = self.earlier.as_deref() {
            if !e.months.iter().any(|m| self.months.contains(m)) {
                all.months = e.months.iter().chain(&self.months).copied().collect();
                all.add_counts(e.cells.clone(), e.deciles.clone());
            }
        }
        Some(all)
    }

    /// Whether a part recorded a comparison with a previous run.
    pub fn compared(&self) -> bool {
        self.previous_as_of.is_some() || self.unavailable.is_some()
    }
}
