//! Labeling one part of a book (the whole book, or one client part of it), chunk by
//! chunk: segment, score, band, tier, stage, reasons and action per client, written out
//! and summed into the run's aggregates and drift counts.

use super::drift;
use super::output::{LabelChunk, LabelWriter};
use super::rules;
use super::CHUNK;
use crate::bundle::Bundle;
use crate::config::ActionTable;
use crate::config::Mode;
use crate::error::Result;
use crate::features::RawFeatures;
use crate::progress::Stage;
use crate::vocab::{band_word, LifecycleStage, RiskBand, ValueTier};
use ndarray::ArrayView1;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use std::collections::BTreeMap;

/// What labeling keeps about the whole book, summed over parts: segment and score of
/// each client in force (for the percentiles), aggregates, and a small sample for the
/// projection chart.
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
    pub tier_band: BTreeMap<(String, String), usize>,
    /// (segment id, action) -> clients (all).
    pub actions: BTreeMap<(u32, String), usize>,
    /// (segment id, action) -> clients in force: a segment's recommended focus.
    pub active_actions: BTreeMap<(u32, String), usize>,
    pub stages: BTreeMap<String, usize>,
    /// (last month's segment, this month's segment) -> clients in both runs.
    pub migration: BTreeMap<(u32, u32), usize>,
    /// (segment id, segment-feature values) of the sampled clients.
    pub projection: Vec<(u32, Vec<f64>)>,
    pub imputed_clients: usize,
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
            projection: Vec::new(),
            imputed_clients: 0,
        }
    }
}

/// Everything labeling says about one client.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientLabel {
    /// `None` when the client is not in force (labelled, not scored).
    pub probability: Option<f64>,
    pub band: Option<RiskBand>,
    pub tier: ValueTier,
    pub stage: LifecycleStage,
    /// Up to three risk-raising reasons in words (scored clients only).
    pub reasons: Vec<String>,
    pub action: String,
    /// A scored client with at least one imputed feature.
    pub imputed: bool,
    pub note: Option<String>,
}

/// What every client of a part is labelled with: the bundle, the tier cuts, the
/// action table, and the part's raw features resolved by name once.
pub struct LabelContext<'a> {
    b: &'a Bundle,
    actions: &'a ActionTable,
    cuts: rules::TierCuts,
    columns: rules::FeatureColumns<'a>,
    raw_numeric: Vec<Option<&'a [f64]>>,
}

impl<'a> LabelContext<'a> {
    pub fn new(b: &'a Bundle, raw: &'a RawFeatures, actions: &'a ActionTable) -> Self {
        LabelContext {
            b,
            actions,
            cuts: rules::TierCuts::from_bundle(b),
            columns: rules::FeatureColumns::new(b, raw),
            raw_numeric: b
                .features
                .numeric
                .iter()
                .map(|f| raw.column(&f.name))
                .collect(),
        }
    }

    /// Labels client `c` from its model-matrix row: a pure function of the bundle, the
    /// client's features and whether it is in force.
    pub fn label_client(&self, c: usize, active: bool, row: ArrayView1<f64>) -> ClientLabel {
        let b = self.b;
        let view = rules::ClientView {
            columns: &self.columns,
            client: c,
        };
        let probability = active.then(|| b.lapse.probability(row));
        let band = probability.map(|p| b.lapse.bands.band(p));
        let tier = rules::value_tier(&self.cuts, &view);
        let stage = rules::lifecycle(b.config.mode, &view, active, band);
        let action = self.actions.action(tier, band, stage).to_string();
        let reasons = if active {
            let row_vec = row.to_vec();
            rules::reasons(b, &row_vec, &b.lapse.contributions(row), &view, 3)
        } else {
            Vec::new()
        };
        let imputed: Vec<&str> = b
            .features
            .numeric
            .iter()
            .zip(&self.raw_numeric)
            .filter(|(_, col)| col.and_then(|col| col.get(c)).is_none_or(|v| v.is_nan()))
            .map(|(f, _)| f.name.as_str())
            .collect();
        let mut notes = Vec::new();
        if !active {
            notes.push(match b.config.mode {
                Mode::Transactions => "no transaction by the as-of date: not scored".to_string(),
                _ => "no policy in force at the as-of date: not scored".to_string(),
            });
        }
        let imputed_scored = !imputed.is_empty() && active;
        if imputed_scored {
            notes.push(format!("imputed: {}", imputed.join(" ")));
        }
        ClientLabel {
            probability,
            band,
            tier,
            stage,
            reasons,
            action,
            imputed: imputed_scored,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        }
    }

    /// Client `c`'s numeric features in original units, cleaned as the model sees them.
    fn cleaned_originals(&self, c: usize) -> impl Iterator<Item = f64> + '_ {
        self.b
            .features
            .numeric
            .iter()
            .zip(&self.raw_numeric)
            .map(move |(f, col)| {
                f.clean(col.and_then(|col| col.get(c)).copied().unwrap_or(f64::NAN))
            })
    }
}

impl Aggregates {
    /// Adds one labelled client: `segment` is its segment's index, `previous` its
    /// segment last month, `sampled` its segment-feature values when it is in the
    /// projection sample.
    fn count(
        &mut self,
        ctx: &LabelContext,
        (c, segment, row): (usize, usize, ArrayView1<f64>),
        l: &ClientLabel,
        previous: Option<u32>,
        sampled: Option<Vec<f64>>,
    ) {
        let id = ctx.b.segments.segments[segment].id;
        if l.imputed {
            self.imputed_clients += 1;
        }
        if let Some(prev) = previous {
            *self.migration.entry((prev, id)).or_default() += 1;
        }
        *self.actions.entry((id, l.action.clone())).or_default() += 1;
        *self.stages.entry(l.stage.as_str().to_string()).or_default() += 1;
        if l.probability.is_none() {
            return;
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
    }
}

/// Clients of a part drawn for the projection chart: seeded, so the chart is the same
/// for the same inputs.
fn projection_sample(
    b: &Bundle,
    raw: &RawFeatures,
    n: usize,
    (part, quota): (u64, usize),
) -> Vec<bool> {
    let active_all: Vec<usize> = (0..n)
        .filter(|&i| raw.active.get(i).copied().unwrap_or(false))
        .collect();
    let mut in_sample = vec![false; n];
    if !active_all.is_empty() {
        let mut rng = Xoshiro256Plus::seed_from_u64(b.seed ^ 0x9CA ^ part);
        let m = quota.min(active_all.len());
        for i in rand::seq::index::sample(&mut rng, active_all.len(), m) {
            in_sample[active_all[i]] = true;
        }
    }
    in_sample
}

/// Labels every client of one part (a whole book, or one client part of it) in chunks,
/// writing the rows and adding to the run's aggregates and drift counts.
#[allow(clippy::too_many_arguments)]
pub fn label_part(
    b: &Bundle,
    book: &crate::ingest::Book,
    raw: &RawFeatures,
    cats: &[(String, Option<&crate::ingest::Coded>)],
    actions: &ActionTable,
    writer: &mut LabelWriter,
    agg: &mut Aggregates,
    drift_counts: &mut drift::DriftCounts,
    previous: Option<&std::collections::HashMap<u64, u32>>,
    sample: (u64, usize),
) -> Result<()> {
    let n = book.n_clients();
    agg.clients += n;
    let columns = b.features.columns();
    let seg_cols = b.segments.column_indices(&columns)?;
    let in_sample = projection_sample(b, raw, n, sample);
    let ctx = LabelContext::new(b, raw, actions);
    let stage = Stage::new("label", n.div_ceil(CHUNK) as u64);
    for start in (0..n).step_by(CHUNK) {
        let rows: Vec<usize> = (start..(start + CHUNK).min(n)).collect();
        let x = b.features.transform(raw, cats, &rows)?;
        let (seg_idx, dist) = b.segments.assign(x.view(), &columns)?;
        let mut chunk = LabelChunk::default();
        let (mut scored, mut scored_segments, mut scored_p) = (Vec::new(), Vec::new(), Vec::new());
        for (i, &c) in rows.iter().enumerate() {
            let row = x.row(i);
            let seg = &b.segments.segments[seg_idx[i]];
            let active = raw.active.get(c).copied().unwrap_or(false);
            let label = ctx.label_client(c, active, row);
            let id = book.client_ids.get(c).map_or("", String::as_str);
            let prev = previous
                .and_then(|m| m.get(&crate::ingest::partition::client_hash(id)))
                .copied();
            let sampled =
                (active && in_sample[c]).then(|| seg_cols.iter().map(|&j| row[j]).collect());
            agg.count(&ctx, (c, seg_idx[i], row), &label, prev, sampled);
            if let Some(p) = label.probability {
                scored.push(c);
                scored_segments.push(seg.id);
                scored_p.push(p);
            }
            chunk.push(id, seg, dist[i], label);
        }
        drift_counts.add(b, raw, cats, &scored, &scored_segments, &scored_p);
        agg.active_segments.extend(scored_segments);
        agg.active_probabilities.extend(scored_p);
        writer.write(&chunk)?;
        stage.inc();
    }
    stage.finish();
    Ok(())
}
