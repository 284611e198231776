//! The monthly labeling run: apply a published bundle, unchanged, to a new book and write
//! per-client labels, drift alarms, charts and a report into one output directory that
//! appears complete or not at all.

pub mod drift;
pub mod output;
pub mod rules;
mod summary;

pub use summary::{RunSummary, SegmentSummary};

use crate::bundle::{Bundle, Located};
use crate::config::Mode;
use crate::date::Date;
use crate::error::{Error, Result};
use crate::features::{self, RawFeatures};
use crate::pipeline::DataSpec;
use crate::progress::Stage;
use drift::DriftReport;
use output::{LabelChunk, LabelWriter};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use std::path::{Path, PathBuf};

/// Clients labelled per chunk: bounds the memory of the model matrix and the labels.
pub const CHUNK: usize = 100_000;
/// Clients drawn for the 2-D projection chart.
const PROJECTION_SAMPLE: usize = 3_000;

#[derive(Clone, Debug)]
pub struct InferOptions {
    pub as_of: Option<Date>,
    /// Output directory; default `<out_root>/<as-of>/`.
    pub out: Option<PathBuf>,
    pub out_root: PathBuf,
    pub overwrite: bool,
    pub previous_run: Option<PathBuf>,
    /// Segments with fewer clients are suppressed in the report and charts.
    pub min_report_count: usize,
}

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            as_of: None,
            out: None,
            out_root: PathBuf::from("notebooks-out"),
            overwrite: false,
            previous_run: None,
            min_report_count: 10,
        }
    }
}

pub struct InferOutcome {
    pub out_dir: PathBuf,
    pub summary: RunSummary,
    pub drift: DriftReport,
}

/// The as-of date of a run: `--as-of`, else the data's last full month.
///
/// # Errors
/// `Error::InvalidParameter` when it falls before the model's training cut-off.
pub fn choose_as_of(book: &crate::ingest::Book, b: &Bundle, as_of: Option<Date>) -> Result<Date> {
    let d = match (as_of, book.mode) {
        (Some(d), _) => d,
        (None, Mode::Flat) => book.extract_date,
        (None, _) => features::data_end(book)
            .map(Date::last_full_month_end)
            .ok_or_else(|| Error::NoData("the data holds no dated record".into()))?,
    };
    if d < b.cutoff {
        return Err(Error::InvalidParameter(format!(
            "--as-of {d} is before the model's training cut-off {}: a model cannot label the \
             past it was trained on; use an as-of on or after {}",
            b.cutoff, b.cutoff
        )));
    }
    Ok(d)
}

/// Refuses to write into a non-empty directory unless asked to replace it.
fn check_output(dir: &Path, overwrite: bool) -> Result<()> {
    let non_empty = std::fs::read_dir(dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if non_empty && !overwrite {
        return Err(Error::Exists {
            path: dir.to_path_buf(),
            hint: ": pass --overwrite to replace it, or --out to write elsewhere".into(),
        });
    }
    Ok(())
}

/// Sources the model was trained with must all be present: a feature computed from an
/// absent source would silently be zero.
fn check_sources(b: &Bundle, book: &crate::ingest::Book) -> Result<()> {
    let present = |name: &str| match name {
        "clients" => book.clients.is_some(),
        "policies" => book.policies.is_some(),
        "payments" => book.payments.is_some(),
        "claims" => book.claims.is_some(),
        "contacts" => book.contacts.is_some(),
        "transactions" => book.transactions.is_some(),
        "flat" => book.flat.is_some(),
        _ => true,
    };
    let missing: Vec<&str> = b
        .data
        .files
        .iter()
        .map(|f| f.source.as_str())
        .filter(|s| !present(s))
        .collect();
    if !missing.is_empty() {
        return Err(Error::InvalidParameter(format!(
            "the model was trained with source(s) {missing:?}, which this data lacks: its \
             features would be wrong; provide them or retrain without them"
        )));
    }
    Ok(())
}

/// Runs labeling end to end.
///
/// # Errors
/// Bad bundle, data or flags (exit 2) and I/O failures (exit 1).
pub fn infer(located: &Located, spec: &DataSpec, opts: &InferOptions) -> Result<InferOutcome> {
    let b = &located.bundle;
    if spec.config.mode != b.config.mode {
        return Err(Error::InvalidParameter(format!(
            "the model was trained in {:?} mode, the config describes {:?} data",
            b.config.mode, spec.config.mode
        )));
    }
    let rules_table = if spec.config.actions.is_empty() {
        rules::default_actions()
    } else {
        spec.config.actions.clone()
    };
    rules::check_actions(&rules_table)?;
    if let Some(out) = &opts.out {
        check_output(out, opts.overwrite)?;
    }
    let stage = Stage::new("load", 1);
    let loaded = spec.load(false, Some(&b.cleaning))?;
    stage.finish();
    loaded.check_thresholds()?;
    let book = &loaded.book;
    check_sources(b, book)?;
    let as_of = choose_as_of(book, b, opts.as_of)?;
    let out_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| opts.out_root.join(as_of.to_string()));
    check_output(&out_dir, opts.overwrite)?;
    let previous = opts
        .previous_run
        .as_deref()
        .map(output::read_previous_segments)
        .transpose()?;

    let stage = Stage::new("features", 1);
    let raw = features::compute(book, as_of);
    let cats = features::categorical_columns(book);
    stage.finish();

    let tmp = staging_dir(&out_dir)?;
    let result = (|| {
        let agg = label_all(b, book, &raw, &cats, &rules_table, &tmp)?;
        let drift = drift::drift(
            b,
            &raw,
            &cats,
            &agg.active_rows,
            &agg.active_segments,
            &agg.active_probabilities,
        );
        let migration = previous.as_ref().map(|prev| migration(book, &agg, prev));
        let summary = summary::summarise(
            b,
            located,
            as_of,
            &agg,
            migration,
            opts.min_report_count,
            &loaded.report,
        );
        crate::pipeline::write_quality(&loaded, &tmp)?;
        write_json(&tmp.join("drift.json"), &drift)?;
        write_json(&tmp.join("summary.json"), &summary)?;
        let stage = Stage::new("charts", 1);
        let charts =
            crate::charts::labeling::draw_all(b, &summary, &agg.projection, &tmp.join("charts"))?;
        stage.finish();
        crate::report::write(
            b,
            &summary,
            &drift,
            &loaded.report,
            &charts,
            &tmp.join("report.html"),
        )?;
        Ok((summary, drift))
    })();
    let (summary, drift) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    publish_dir(&tmp, &out_dir)?;
    Ok(InferOutcome {
        out_dir,
        summary,
        drift,
    })
}

/// A fresh staging directory beside `out`, on the same file system so rename is atomic.
fn staging_dir(out: &Path) -> Result<PathBuf> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| Error::Write {
        path: tmp.clone(),
        source: e,
    })?;
    Ok(tmp)
}

/// Moves the finished staging directory to its final name (replacing an old run only
/// when the caller allowed it, checked before).
fn publish_dir(tmp: &Path, out: &Path) -> Result<()> {
    let err = |e| Error::Write {
        path: out.to_path_buf(),
        source: e,
    };
    let old = tmp.with_extension("old");
    let had_old = out.exists();
    if had_old {
        std::fs::rename(out, &old).map_err(err)?;
    }
    if let Err(e) = std::fs::rename(tmp, out) {
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        return Err(err(e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Runtime(format!("cannot encode {}: {e}", path.display())))?;
    crate::fsio::write_atomic(path, &json)
}

/// What labeling keeps about the whole book: per-client segment and score of the clients
/// in force (for drift and charts), aggregates, and a small sample for the projection.
pub struct Aggregates {
    pub clients: usize,
    pub active_rows: Vec<usize>,
    pub active_segments: Vec<u32>,
    pub active_probabilities: Vec<f64>,
    /// Segment id of every client (for migration), by client index.
    pub segment_of: Vec<u32>,
    /// Per segment index: sum of each model column (standardised) and of each numeric
    /// feature in original units, over clients in force; and their count.
    pub column_sums: Vec<Vec<f64>>,
    pub original_sums: Vec<Vec<f64>>,
    pub counts: Vec<usize>,
    /// (tier, band) -> clients in force.
    pub tier_band: std::collections::BTreeMap<(String, String), usize>,
    /// (segment id, action) -> clients (all).
    pub actions: std::collections::BTreeMap<(u32, String), usize>,
    /// (segment id, action) -> clients in force: a segment's recommended focus.
    pub active_actions: std::collections::BTreeMap<(u32, String), usize>,
    pub stages: std::collections::BTreeMap<String, usize>,
    /// (segment id, projected point) for the sampled clients; the projection is fitted later.
    pub projection: Vec<(u32, Vec<f64>)>,
    pub imputed_clients: usize,
}

fn label_all(
    b: &Bundle,
    book: &crate::ingest::Book,
    raw: &RawFeatures,
    cats: &[(String, Option<&crate::ingest::Coded>)],
    rules_table: &[rules::ActionRule],
    dir: &Path,
) -> Result<Aggregates> {
    let n = book.n_clients();
    let columns = b.features.columns();
    let seg_cols = b.segments.column_indices(&columns)?;
    let k = b.segments.segments.len();
    let cuts = rules::TierCuts::from_bundle(b);
    // The projection sample: seeded, so the chart is the same for the same inputs.
    let active_all: Vec<usize> = (0..n)
        .filter(|&i| raw.active.get(i).copied().unwrap_or(false))
        .collect();
    let mut in_sample = vec![false; n];
    if !active_all.is_empty() {
        let mut rng = Xoshiro256Plus::seed_from_u64(b.seed ^ 0x9CA);
        let m = PROJECTION_SAMPLE.min(active_all.len());
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
    let mut agg = Aggregates {
        clients: n,
        active_rows: Vec::with_capacity(active_all.len()),
        active_segments: Vec::with_capacity(active_all.len()),
        active_probabilities: Vec::with_capacity(active_all.len()),
        segment_of: vec![0; n],
        column_sums: vec![vec![0.0; columns.len()]; k],
        original_sums: vec![vec![0.0; b.features.numeric.len()]; k],
        counts: vec![0; k],
        tier_band: Default::default(),
        actions: Default::default(),
        active_actions: Default::default(),
        stages: Default::default(),
        projection: Vec::new(),
        imputed_clients: 0,
    };
    let mut writer = LabelWriter::create(dir)?;
    let stage = Stage::new("label", n.div_ceil(CHUNK) as u64);
    for start in (0..n).step_by(CHUNK) {
        let rows: Vec<usize> = (start..(start + CHUNK).min(n)).collect();
        let x = b.features.transform(raw, cats, &rows)?;
        let (seg_idx, dist) = b.segments.assign(x.view(), &columns)?;
        let mut chunk = LabelChunk::default();
        for (i, &c) in rows.iter().enumerate() {
            let row = x.row(i);
            let seg = &b.segments.segments[seg_idx[i]];
            let active = raw.active.get(c).copied().unwrap_or(false);
            let view = rules::ClientView { raw, client: c };
            let p = active.then(|| b.lapse.probability(row));
            let band = p.map(|p| b.lapse.bands.band(p));
            let tier = rules::value_tier(&cuts, &view);
            let stage_name = rules::lifecycle(b.config.mode, &view, active, band.unwrap_or("none"));
            let action =
                rules::action(rules_table, tier, band.unwrap_or("none"), stage_name).to_string();
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
            agg.segment_of[c] = seg.id;
            *agg.actions.entry((seg.id, action.clone())).or_default() += 1;
            *agg.stages.entry(stage_name.to_string()).or_default() += 1;
            if let Some(p) = p {
                let s = seg_idx[i];
                *agg.active_actions
                    .entry((seg.id, action.clone()))
                    .or_default() += 1;
                agg.active_rows.push(c);
                agg.active_segments.push(seg.id);
                agg.active_probabilities.push(p);
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
                    .entry((tier.to_string(), band.unwrap_or("none").to_string()))
                    .or_default() += 1;
                if in_sample[c] {
                    agg.projection
                        .push((seg.id, seg_cols.iter().map(|&j| row[j]).collect()));
                }
            }
            chunk
                .client_id
                .push(book.client_ids.get(c).cloned().unwrap_or_default());
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
        writer.write(&chunk)?;
        stage.inc();
    }
    writer.finish()?;
    stage.finish();
    Ok(agg)
}

/// Clients per (last month's segment, this month's segment), for clients in both runs.
fn migration(
    book: &crate::ingest::Book,
    agg: &Aggregates,
    previous: &[(String, u32)],
) -> Vec<(u32, u32, usize)> {
    let index: std::collections::HashMap<&str, usize> = book
        .client_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut counts: std::collections::BTreeMap<(u32, u32), usize> = Default::default();
    for (id, prev) in previous {
        if let Some(&i) = index.get(id.as_str()) {
            *counts.entry((*prev, agg.segment_of[i])).or_default() += 1;
        }
    }
    counts.into_iter().map(|((a, b), c)| (a, b, c)).collect()
}

/// The console summary of a run.
pub fn console(o: &InferOutcome) -> String {
    use std::fmt::Write as _;
    let s = &o.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nclientele-infer: {} clients as of {} with model {} (cut-off {})",
        s.clients, s.as_of, s.model_version, s.model_cutoff
    );
    let _ = writeln!(
        out,
        "scored    {} in force; {} not in force (labelled, not scored); {} with imputed values",
        s.scored, s.not_scored, s.imputed_clients
    );
    let _ = writeln!(
        out,
        "          {:>4}  {:<44} {:>7} {:>10} {:>9}",
        "id", "segment", "share", "mean risk", "high risk"
    );
    for g in &s.segments {
        let _ = writeln!(
            out,
            "          {:>4}  {:<44} {:>6.1}% {:>9.1}% {:>8.1}%",
            g.id,
            crate::charts::short(&g.name, 44),
            g.share * 100.0,
            g.mean_probability * 100.0,
            g.high_risk_share * 100.0
        );
    }
    let _ = writeln!(out, "drift     {}", o.drift.status.word());
    for i in o.drift.worst(3) {
        let _ = writeln!(
            out,
            "          {:<26} PSI {:.3} {}",
            i.name,
            i.psi,
            i.status.word()
        );
    }
    let _ = writeln!(out, "output    {}", o.out_dir.display());
    out
}
