//! What labeling adds up over the parts of a book: label aggregates and drift counts.
//! A part's totals can be computed anywhere (another thread, a Spark executor) and
//! added; the run's summary and drift report come from the sum.

use super::client::{ClientLabel, LabelContext};
use super::drift::{DriftCounts, DriftReport};
use super::outcomes::{OutcomeCounts, PreviousClient};
use super::summary::{summarise, RunSummary};
use crate::bundle::Bundle;
use crate::date::Date;
use crate::lifecycle::exits::ExitState;
use crate::vocab::band_word;
use ndarray::ArrayView1;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What labeling keeps about the whole book, summed over parts: segment and score of
/// each client in force (for the percentiles), aggregates, and a small sample for the
/// projection chart.
#[derive(Serialize, Deserialize)]
pub struct Aggregates {
    pub clients: usize,
    pub active_segments: Vec<u32>,
    pub active_probabilities: Vec<f64>,
    /// Per segment index: sum of each model column (standardised) and of each numeric
    /// feature in original units, over clients in force; and their count.
    pub column_sums: Vec<Vec<f64>>,
    pub original_sums: Vec<Vec<f64>>,
    pub counts: Vec<usize>,
    /// (tier, band) -> clients in force.
    #[serde(with = "pairs")]
    pub tier_band: BTreeMap<(String, String), usize>,
    /// (segment id, action) -> clients (all).
    #[serde(with = "pairs")]
    pub actions: BTreeMap<(u32, String), usize>,
    /// (segment id, action) -> clients in force: a segment's recommended focus.
    #[serde(with = "pairs")]
    pub active_actions: BTreeMap<(u32, String), usize>,
    pub stages: BTreeMap<String, usize>,
    /// (last month's segment, this month's segment) -> clients in both runs.
    #[serde(with = "pairs")]
    pub migration: BTreeMap<(u32, u32), usize>,
    /// (last month's stage code, this month's) -> clients in both runs whose labels
    /// carry stages; the same for value tiers.
    #[serde(default, with = "pairs")]
    pub stage_migration: BTreeMap<(String, String), usize>,
    #[serde(default, with = "pairs")]
    pub tier_migration: BTreeMap<(String, String), usize>,
    /// (segment id, segment-feature values) of the sampled clients.
    pub projection: Vec<(u32, Vec<f64>)>,
    pub imputed_clients: usize,
    /// How last month's predictions turned out (with a previous run).
    #[serde(default)]
    pub outcomes: OutcomeCounts,
    /// Per segment index and product model, over clients in force: holders, non-holders
    /// and the sum of the non-holders' propensities.
    #[serde(default)]
    pub products: Vec<Vec<(usize, usize, f64)>>,
    /// Next-best product -> clients offered it.
    #[serde(default)]
    pub next_products: BTreeMap<String, usize>,
    /// Per segment id and per value tier, over clients in force: annual premium in
    /// force and premium at risk (premium x lapse probability over the horizon).
    #[serde(default, with = "pairs")]
    pub premium_by_segment: BTreeMap<u32, [f64; 3]>,
    #[serde(default, with = "pairs")]
    pub premium_by_tier: BTreeMap<String, [f64; 3]>,
    /// Persistency counts of the part's policies (relational mode).
    #[serde(default)]
    pub persistency: crate::lifecycle::persistency::PersistencyCells,
    /// Win-back and second-purchase counts of the part's clients (relational mode).
    #[serde(default)]
    pub repeat: crate::lifecycle::RepeatCounts,
    /// Action -> [clients, held out] this month.
    #[serde(default)]
    pub holdouts: BTreeMap<String, [usize; 2]>,
    /// The effect readout's counts (with a previous run).
    #[serde(default)]
    pub effect: crate::effect::EffectCounts,
    /// Each client's segment id in this part, while it is labelled (for persistency by
    /// segment); never sent between parts.
    #[serde(skip)]
    pub(super) client_segments: Vec<u32>,
}

impl Aggregates {
    pub fn new(b: &Bundle) -> Self {
        let k = b.segments.segments.len();
        let p = b.features.n_columns();
        Aggregates {
            clients: 0,
            active_segments: Vec::new(),
            active_probabilities: Vec::new(),
            column_sums: vec![vec![0.0; p]; k],
            original_sums: vec![vec![0.0; b.features.numeric.len()]; k],
            counts: vec![0; k],
            tier_band: BTreeMap::new(),
            actions: BTreeMap::new(),
            active_actions: BTreeMap::new(),
            stages: BTreeMap::new(),
            migration: BTreeMap::new(),
            stage_migration: BTreeMap::new(),
            tier_migration: BTreeMap::new(),
            projection: Vec::new(),
            imputed_clients: 0,
            outcomes: OutcomeCounts::new(b.drift.score.edges.len() + 1),
            products: vec![vec![(0, 0, 0.0); b.products.as_ref().map_or(0, |p| p.models.len())]; k],
            next_products: BTreeMap::new(),
            premium_by_segment: BTreeMap::new(),
            premium_by_tier: BTreeMap::new(),
            persistency: Default::default(),
            repeat: Default::default(),
            holdouts: BTreeMap::new(),
            effect: Default::default(),
            client_segments: Vec::new(),
        }
    }
}

impl Aggregates {
    /// Adds one labelled client: `segment` is its segment's index, `previous` its
    /// labels last month and how its cover ended since (an exit state replaces its new
    /// stage in the stage migration), `sampled` its segment-feature values when it is
    /// in the projection sample.
    pub(super) fn count(
        &mut self,
        ctx: &LabelContext,
        (c, segment, row): (usize, usize, ArrayView1<f64>),
        l: &ClientLabel,
        previous: Option<(&PreviousClient, Option<ExitState>)>,
        sampled: Option<Vec<f64>>,
    ) {
        let id = ctx.b.segments.segments[segment].id;
        if self.client_segments.len() <= c {
            self.client_segments.resize(c + 1, u32::MAX);
        }
        self.client_segments[c] = id;
        if l.imputed {
            self.imputed_clients += 1;
        }
        if let Some(previous) = previous {
            self.count_migration(id, l, previous);
        }
        *self.actions.entry((id, l.action.clone())).or_default() += 1;
        // Looked up before inserting: no copy of the action's words per client.
        let held = match self.holdouts.get_mut(&l.action) {
            Some(held) => held,
            None => self.holdouts.entry(l.action.clone()).or_default(),
        };
        held[0] += 1;
        held[1] += usize::from(l.holdout);
        *self.stages.entry(l.stage.as_str().to_string()).or_default() += 1;
        // Prospects, unscored, are offered a first policy from their needs: counted too.
        if let Some((name, _)) = &l.next_product {
            *self.next_products.entry(name.clone()).or_default() += 1;
        }
        let Some(p) = l.probability else {
            return;
        };
        let premium = ctx.premium_in_force(c);
        if premium.is_finite() {
            for cell in [
                self.premium_by_segment.entry(id).or_default(),
                self.premium_by_tier
                    .entry(l.tier.as_str().to_string())
                    .or_default(),
            ] {
                cell[0] += premium;
                cell[1] += premium * p;
                cell[2] += l.lifetime_value.unwrap_or(0.0);
            }
        }
        *self
            .active_actions
            .entry((id, l.action.clone()))
            .or_default() += 1;
        self.counts[segment] += 1;
        for (acc, v) in self.column_sums[segment].iter_mut().zip(row.iter()) {
            *acc += v;
        }
        for (acc, v) in self.original_sums[segment]
            .iter_mut()
            .zip(ctx.cleaned_originals(c))
        {
            *acc += v;
        }
        *self
            .tier_band
            .entry((l.tier.as_str().to_string(), band_word(l.band).to_string()))
            .or_default() += 1;
        if let Some(values) = sampled {
            self.projection.push((id, values));
        }
        self.count_propensities(segment, l);
    }

    /// Last month's segment, stage and tier against this month's.
    #[inline]
    fn count_migration(
        &mut self,
        id: u32,
        l: &ClientLabel,
        (prev, exit): (&PreviousClient, Option<ExitState>),
    ) {
        *self.migration.entry((prev.segment, id)).or_default() += 1;
        if let Some(stage) = prev.stage {
            let now = exit.map_or(l.stage.code(), ExitState::code);
            let key = (stage.code().to_string(), now.to_string());
            *self.stage_migration.entry(key).or_default() += 1;
        }
        if let Some(tier) = prev.tier {
            let key = (tier.code().to_string(), l.tier.code().to_string());
            *self.tier_migration.entry(key).or_default() += 1;
        }
    }

    /// Per segment and product: clients holding it, and the propensities of the others.
    #[inline]
    fn count_propensities(&mut self, segment: usize, l: &ClientLabel) {
        if let Some(sums) = self.products.get_mut(segment) {
            for (acc, propensity) in sums.iter_mut().zip(&l.propensities) {
                match propensity {
                    None => acc.0 += 1,
                    Some(p) => {
                        acc.1 += 1;
                        acc.2 += p;
                    }
                }
            }
        }
    }
}

impl Aggregates {
    /// Counts the clients of last month's labels with a stage that belong to this part
    /// (`of`) but are missing from its book (`present`: the hashes of its clients'
    /// ids) as moved to "not in the book".
    pub(super) fn count_missing(
        &mut self,
        previous: &super::outcomes::PreviousRun,
        present: &std::collections::HashSet<u64>,
        of: super::client::PartOf,
    ) {
        let parts = of.parts.max(1) as u64;
        for (hash, pc) in &previous.clients {
            if hash % parts != of.index || present.contains(hash) {
                continue;
            }
            if let Some(stage) = pc.stage {
                let key = (
                    stage.code().to_string(),
                    ExitState::NotInBook.code().to_string(),
                );
                *self.stage_migration.entry(key).or_default() += 1;
            }
        }
    }

    /// Adds another part's aggregates to these.
    pub fn merge(&mut self, other: Aggregates) {
        fn add_maps<K: Ord>(into: &mut BTreeMap<K, usize>, from: BTreeMap<K, usize>) {
            for (k, n) in from {
                *into.entry(k).or_default() += n;
            }
        }
        fn add_rows(into: &mut [Vec<f64>], from: &[Vec<f64>]) {
            for (a, b) in into.iter_mut().zip(from) {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
            }
        }
        self.clients += other.clients;
        self.active_segments.extend(other.active_segments);
        self.active_probabilities.extend(other.active_probabilities);
        add_rows(&mut self.column_sums, &other.column_sums);
        add_rows(&mut self.original_sums, &other.original_sums);
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        add_maps(&mut self.tier_band, other.tier_band);
        add_maps(&mut self.actions, other.actions);
        add_maps(&mut self.active_actions, other.active_actions);
        add_maps(&mut self.stages, other.stages);
        add_maps(&mut self.migration, other.migration);
        add_maps(&mut self.stage_migration, other.stage_migration);
        add_maps(&mut self.tier_migration, other.tier_migration);
        self.projection.extend(other.projection);
        self.imputed_clients += other.imputed_clients;
        self.outcomes.merge(other.outcomes);
        for (a, b) in self.products.iter_mut().zip(other.products) {
            for (x, y) in a.iter_mut().zip(b) {
                x.0 += y.0;
                x.1 += y.1;
                x.2 += y.2;
            }
        }
        add_maps(&mut self.next_products, other.next_products);
        self.persistency.merge(other.persistency);
        self.repeat.merge(other.repeat);
        for (k, v) in other.holdouts {
            let cell = self.holdouts.entry(k).or_default();
            cell[0] += v[0];
            cell[1] += v[1];
        }
        self.effect.merge(other.effect);
        for (k, v) in other.premium_by_segment {
            let cell = self.premium_by_segment.entry(k).or_default();
            for (a, b) in cell.iter_mut().zip(v) {
                *a += b;
            }
        }
        for (k, v) in other.premium_by_tier {
            let cell = self.premium_by_tier.entry(k).or_default();
            for (a, b) in cell.iter_mut().zip(v) {
                *a += b;
            }
        }
    }
}

/// Everything a labelled part adds to the run: aggregates and drift counts. Serialisable
/// (JSON, floats exact), so a part labelled elsewhere can be added here.
#[derive(Serialize, Deserialize)]
pub struct PartTotals {
    pub agg: Aggregates,
    pub drift: DriftCounts,
}

impl PartTotals {
    pub fn new(b: &Bundle) -> Self {
        PartTotals {
            agg: Aggregates::new(b),
            drift: DriftCounts::new(b),
        }
    }

    /// Whether these totals have the shape of `b`'s (segments, model columns, features):
    /// totals from another model must not be added.
    pub fn fits(&self, b: &Bundle) -> bool {
        let k = b.segments.segments.len();
        let agg = &self.agg;
        agg.counts.len() == k
            && agg.column_sums.len() == k
            && agg.original_sums.len() == k
            && agg
                .column_sums
                .iter()
                .all(|r| r.len() == b.features.n_columns())
            && agg
                .original_sums
                .iter()
                .all(|r| r.len() == b.features.numeric.len())
            && agg.active_segments.len() == agg.active_probabilities.len()
            && self.drift.fits(b)
    }

    /// Adds another part's totals. Counts add up exactly; the segment profiles are sums
    /// of floats, so parts labelled apart and added agree with the whole book's to
    /// rounding (~1e-15 relative), and parts added in the same order agree to the bit.
    pub fn add(&mut self, other: PartTotals) {
        self.agg.merge(other.agg);
        self.drift.merge(other.drift);
    }

    /// The run's summary and drift report from everything added so far. `model_dir` is
    /// where the bundle was loaded from (named in the summary); with `with_previous`,
    /// the summary holds the segment migration since last month.
    pub fn summarise(
        &self,
        b: &Bundle,
        model_dir: &Path,
        as_of: Date,
        with_previous: bool,
        min_report_count: usize,
    ) -> (RunSummary, DriftReport) {
        let agg = &self.agg;
        let mean_p = agg.active_probabilities.iter().sum::<f64>()
            / agg.active_probabilities.len().max(1) as f64;
        let drift = self.drift.finish(b, mean_p);
        let migration = with_previous.then(|| {
            agg.migration
                .iter()
                .map(|(&(a, c), &n)| (a, c, n))
                .collect()
        });
        let mut summary = summarise(b, model_dir, as_of, agg, migration, min_report_count);
        let flows = |m: &BTreeMap<(String, String), usize>| {
            (with_previous && !m.is_empty()).then(|| {
                m.iter()
                    .map(|((a, c), &n)| (a.clone(), c.clone(), n))
                    .collect()
            })
        };
        summary.premium_at_risk = super::summary::premium_at_risk(b, agg);
        summary.stage_migration = flows(&agg.stage_migration);
        summary.tier_migration = flows(&agg.tier_migration);
        summary.outcomes =
            with_previous.then(|| super::outcomes::summarise(&agg.outcomes, &b.version));
        if let Some(o) = summary.outcomes.as_mut() {
            // Clients matched last month's, but its labels carried no stage or tier code.
            if !agg.migration.is_empty() && agg.stage_migration.is_empty() {
                o.notes
                    .push("no stage moves: last month's labels have no stage_code column".into());
            }
            if !agg.migration.is_empty() && agg.tier_migration.is_empty() {
                o.notes
                    .push("no tier moves: last month's labels have no tier_code column".into());
            }
        }
        summary.products = super::summary::products(b, agg);
        summary.holdouts = crate::effect::output::holdout_sizes(&agg.holdouts);
        summary.effect =
            (with_previous && agg.effect.compared()).then(|| crate::effect::readout(&agg.effect));
        summary.effect_history = agg
            .effect
            .history()
            .filter(|h| with_previous && h.months.len() > 1)
            .map(|h| crate::effect::readout(&h));
        (summary, drift)
    }
}

/// Maps with tuple keys as lists of (key, value) pairs (`fsio::pairs`).
pub(super) use crate::fsio::pairs;
