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
use crate::vocab::band_word;
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
    (part, quota): (u64, usize),
) -> Result<()> {
    let n = book.n_clients();
    agg.clients += n;
    let columns = b.features.columns();
    let seg_cols = b.segments.column_indices(&columns)?;
    let cuts = rules::TierCuts::from_bundle(b);
    // The projection sample: seeded, so the chart is the same for the same inputs.
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
    let raw_numeric: Vec<Option<&[f64]>> = b
        .features
        .numeric
        .iter()
        .map(|f| raw.column(&f.name))
        .collect();
    let feature_columns = rules::FeatureColumns::new(raw);
    let stage = Stage::new("label", n.div_ceil(CHUNK) as u64);
    for start in (0..n).step_by(CHUNK) {
        let rows: Vec<usize> = (start..(start + CHUNK).min(n)).collect();
        let x = b.features.transform(raw, cats, &rows)?;
        let (seg_idx, dist) = b.segments.assign(x.view(), &columns)?;
        let mut chunk = LabelChunk::default();
        let mut chunk_active = Vec::new();
        let mut chunk_segments = Vec::new();
        let mut chunk_probabilities = Vec::new();
        for (i, &c) in rows.iter().enumerate() {
            let row = x.row(i);
            let seg = &b.segments.segments[seg_idx[i]];
            let active = raw.active.get(c).copied().unwrap_or(false);
            let view = rules::ClientView {
                columns: &feature_columns,
                client: c,
            };
            let p = active.then(|| b.lapse.probability(row));
            let band = p.map(|p| b.lapse.bands.band(p));
            let tier = rules::value_tier(&cuts, &view);
            let stage_name = rules::lifecycle(b.config.mode, &view, active, band);
            let action = actions.action(tier, band, stage_name).to_string();
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
                .zip(&raw_numeric)
                .filter(|(_, col)| col.and_then(|col| col.get(c)).is_none_or(|v| v.is_nan()))
                .map(|(f, _)| f.name.as_str())
                .collect();
            let mut notes = Vec::new();
            if !active {
                notes.push(match b.config.mode {
                    Mode::Transactions => {
                        "no transaction by the as-of date: not scored".to_string()
                    }
                    _ => "no policy in force at the as-of date: not scored".to_string(),
                });
            }
            if !imputed.is_empty() && active {
                agg.imputed_clients += 1;
                notes.push(format!("imputed: {}", imputed.join(" ")));
            }
            let id = book.client_ids.get(c).map_or("", String::as_str);
            if let Some(prev) =
                previous.and_then(|m| m.get(&crate::ingest::partition::client_hash(id)))
            {
                *agg.migration.entry((*prev, seg.id)).or_default() += 1;
            }
            *agg.actions.entry((seg.id, action.clone())).or_default() += 1;
            *agg.stages
                .entry(stage_name.as_str().to_string())
                .or_default() += 1;
            if let Some(p) = p {
                let s = seg_idx[i];
                *agg.active_actions
                    .entry((seg.id, action.clone()))
                    .or_default() += 1;
                chunk_active.push(c);
                chunk_segments.push(seg.id);
                chunk_probabilities.push(p);
                agg.counts[s] += 1;
                for (acc, v) in agg.column_sums[s].iter_mut().zip(row.iter()) {
                    *acc += v;
                }
                for ((acc, f), col) in agg.original_sums[s]
                    .iter_mut()
                    .zip(&b.features.numeric)
                    .zip(&raw_numeric)
                {
                    *acc += f.clean(col.and_then(|col| col.get(c)).copied().unwrap_or(f64::NAN));
                }
                *agg.tier_band
                    .entry((tier.as_str().to_string(), band_word(band).to_string()))
                    .or_default() += 1;
                if in_sample[c] {
                    agg.projection
                        .push((seg.id, seg_cols.iter().map(|&j| row[j]).collect()));
                }
            }
            chunk.client_id.push(id.to_string());
            chunk.segment_id.push(seg.id);
            chunk.segment_name.push(seg.name.clone());
            chunk.segment_distance.push(dist[i]);
            chunk.lapse_probability.push(p);
            chunk.risk_band.push(band);
            chunk.value_tier.push(tier);
            chunk.lifecycle_stage.push(stage_name);
            for (slot, r) in chunk
                .reasons
                .iter_mut()
                .zip(reasons.into_iter().map(Some).chain(std::iter::repeat(None)))
            {
                slot.push(r);
            }
            chunk.action.push(action);
            chunk
                .note
                .push((!notes.is_empty()).then(|| notes.join("; ")));
        }
        drift_counts.add(
            b,
            raw,
            cats,
            &chunk_active,
            &chunk_segments,
            &chunk_probabilities,
        );
        agg.active_segments.extend(chunk_segments);
        agg.active_probabilities.extend(chunk_probabilities);
        writer.write(&chunk)?;
        stage.inc();
    }
    stage.finish();
    Ok(())
}
