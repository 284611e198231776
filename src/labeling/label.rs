//! Labeling one part of a book (the whole book, or one client part of it), chunk by
//! chunk: segment, score, band, tier, stage, reasons and action per client, written out
//! and summed into the run's aggregates and drift counts.

use super::client::{ClientLabel, LabelContext, PartOf};
use super::outcomes::{over_window, OutcomeCounts, PreviousClient, PreviousRun};
use super::output::{LabelChunk, LabelledRow, LabelledRows};
use super::totals::PartTotals;
use super::CHUNK;
use crate::bundle::Bundle;
use crate::config::LabelRules;
use crate::config::Mode;
use crate::date::Date;
use crate::effect::{
    client_outcomes, ClientOutcome, Comparison, Counted, EffectCounts, HoldoutPlan,
};
use crate::error::{Error, Result};
use crate::features::{lapse_labels, Label, RawFeatures};
use crate::ingest::{Book, Coded};
use crate::progress::Stage;
use crate::vocab::LifecycleStage;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use rayon::prelude::*;

/// Clients drawn for the 2-D projection chart.
const PROJECTION_SAMPLE: usize = 3_000;

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

/// One part of a book to label: its clients, their features as of the run's date, and
/// what the run knows beyond them.
pub struct Part<'a> {
    pub book: &'a Book,
    pub raw: &'a RawFeatures,
    pub cats: &'a [(String, Option<&'a Coded>)],
    /// Last month's labels (`--previous-run`).
    pub previous: Option<&'a PreviousRun>,
    pub of: PartOf,
}

fn is_active(raw: &RawFeatures, c: usize) -> bool {
    raw.active.get(c).copied().unwrap_or(false)
}

/// Labels every client of one part in chunks, handing each chunk of rows to `sink` and
/// adding to the run's totals.
///
/// # Errors
/// A bundle that does not fit the part's features, or the sink's error.
pub fn label_part<'a>(
    b: &Bundle,
    part: &Part<'a>,
    label_rules: &LabelRules,
    totals: &mut PartTotals,
    sink: &mut dyn FnMut(LabelledRows<'a>) -> Result<()>,
) -> Result<()> {
    let (book, raw) = (part.book, part.raw);
    let n = book.n_clients();
    totals.agg.clients += n;
    let plan = PartPlan::new(b, part, label_rules, totals)?;
    let (ctx, columns) = (&plan.ctx, &plan.columns);
    let mut present = std::collections::HashSet::new();
    let id_of = |c: usize| -> &'a str { book.client_ids.get(c).map_or("", String::as_str) };
    let stage = Stage::new("label", n.div_ceil(CHUNK) as u64);
    for start in (0..n).step_by(CHUNK) {
        let rows: Vec<usize> = (start..(start + CHUNK).min(n)).collect();
        let x = b.features.transform(raw, part.cats, &rows)?;
        let (seg_idx, dist) = b.segments.assign(x.view(), columns)?;
        let mut labelled = Vec::with_capacity(rows.len());
        let (mut scored, mut scored_segments, mut scored_p) = (Vec::new(), Vec::new(), Vec::new());
        let labels = label_clients(b, part, &plan, (&rows, x.view(), &seg_idx));
        for ((i, &c), label) in rows.iter().enumerate().zip(labels) {
            let row = x.row(i);
            let seg = &b.segments.segments[seg_idx[i]];
            let active = is_active(raw, c);
            let id = id_of(c);
            let last_month = part.previous.and_then(|m| {
                let hash = crate::ingest::partition::client_hash(id);
                present.insert(hash);
                Some((m, m.clients.get(&hash)?))
            });
            let prev = last_month.map(|(_, pc)| (pc, plan.exits.get(c).copied().flatten()));
            if let Some(last_month) = last_month {
                count_since_last_month(b, c, last_month, &plan, totals);
            }
            let sampled = (active && plan.in_sample[c])
                .then(|| plan.seg_cols.iter().map(|&j| row[j]).collect());
            totals
                .agg
                .count(ctx, (c, seg_idx[i], row), &label, prev, sampled);
            if let Some(p) = label.probability {
                scored.push(c);
                scored_segments.push(seg.id);
                scored_p.push(p);
            }
            labelled.push(LabelledRow {
                id,
                segment_id: seg.id,
                name: name_index(seg_idx[i], label.stage),
                distance: dist[i],
                label,
            });
        }
        totals
            .drift
            .add(b, raw, part.cats, &scored, &scored_segments, &scored_p);
        totals.agg.active_segments.extend(scored_segments);
        totals.agg.active_probabilities.extend(scored_p);
        let names = plan.segment_names.clone();
        sink(LabelledRows::new(
            label_rules.words.clone(),
            names,
            labelled,
        ))?;
        stage.inc();
    }
    stage.finish();
    if let Some(prev) = part.previous {
        totals.agg.count_missing(prev, &present, part.of);
    }
    crate::progress::timed("persistency", || {
        count_persistency(b, book, raw.cutoff, &label_rules.persistency, totals);
    });
    Ok(())
}

/// The labels of a chunk's clients (`rows`, with their model-matrix rows `x` and segment
/// indices): each a pure function of its row, computed in parallel; the caller counts
/// them in client order, so totals do not depend on threads.
fn label_clients(
    b: &Bundle,
    part: &Part,
    plan: &PartPlan,
    (rows, x, seg_idx): (&[usize], ndarray::ArrayView2<f64>, &[usize]),
) -> Vec<ClientLabel> {
    let raw = part.raw;
    let id_of = |c: usize| part.book.client_ids.get(c).map_or("", String::as_str);
    rows.par_iter()
        .enumerate()
        .map(|(i, &c)| {
            let segment = b.segments.segments[seg_idx[i]].id;
            let mut label = plan
                .ctx
                .label_client(c, is_active(raw, c), x.row(i), segment);
            // Drawn after the action is chosen, and never changing it.
            label.holdout = plan.holdouts.held_out(id_of(c), &label.action_code);
            label
        })
        .collect()
}

/// What labeling one part needs beside the bundle, fixed before its first client.
struct PartPlan<'a> {
    /// The model matrix's columns, and the segment features' places among them.
    columns: Vec<String>,
    seg_cols: Vec<usize>,
    /// Clients in the projection chart's sample (this part's share of it).
    in_sample: Vec<bool>,
    ctx: LabelContext<'a>,
    /// The segments' names (`segment_names`).
    segment_names: std::sync::Arc<Vec<String>>,
    /// Since last month's run: realised outcomes, action outcomes, ended covers.
    outcome_labels: Option<(Vec<Label>, i32)>,
    effect_outcomes: Option<Vec<ClientOutcome>>,
    exits: Vec<Option<crate::lifecycle::ExitState>>,
    holdouts: HoldoutPlan,
}

impl<'a> PartPlan<'a> {
    fn new(
        b: &'a Bundle,
        part: &'a Part,
        label_rules: &'a LabelRules,
        totals: &mut PartTotals,
    ) -> Result<Self> {
        let (book, raw) = (part.book, part.raw);
        let columns = b.features.columns();
        let seg_cols = b.segments.column_indices(&columns)?;
        let quota = PROJECTION_SAMPLE.div_ceil(part.of.parts.max(1));
        let in_sample = projection_sample(b, raw, book.n_clients(), (part.of.index, quota));
        let ctx = LabelContext::new(b, raw, label_rules)?.with_holdings(book, raw.cutoff);
        let outcome_labels = part
            .previous
            .and_then(|prev| outcome_labels(b, book, raw.cutoff, prev, label_rules, totals));
        let effect_outcomes = part
            .previous
            .and_then(|prev| effect_outcomes(b, book, raw.cutoff, prev, label_rules, totals));
        let holdouts = HoldoutPlan::new(
            &label_rules.effect,
            label_rules.actions.default_code(),
            raw.cutoff,
        );
        Ok(PartPlan {
            columns,
            seg_cols,
            in_sample,
            segment_names: segment_names(b, &ctx),
            ctx,
            outcome_labels,
            effect_outcomes,
            exits: exits_since_last_month(b, part),
            holdouts,
        })
    }
}

/// How each client's cover ended since last month's run (relational books with a
/// dated previous run; empty otherwise).
fn exits_since_last_month(b: &Bundle, part: &Part) -> Vec<Option<crate::lifecycle::ExitState>> {
    part.previous
        .and_then(|prev| prev.as_of)
        .filter(|_| b.config.mode == Mode::Relational)
        .map(|since| {
            crate::progress::timed("exit states", || {
                crate::lifecycle::exits::cover_ended(part.book, since, part.raw.cutoff)
            })
        })
        .unwrap_or_default()
}

/// Counts client `c`'s realised outcome and its action's effect since last month's run.
#[inline]
fn count_since_last_month(
    b: &Bundle,
    c: usize,
    (run, pc): (&PreviousRun, &PreviousClient),
    plan: &PartPlan,
    totals: &mut PartTotals,
) {
    if let Some((labels, window)) = &plan.outcome_labels {
        let label = labels.get(c).copied();
        count_outcome(b, (run, pc), label, *window, &mut totals.agg.outcomes);
    }
    if let Some(outcomes) = &plan.effect_outcomes {
        count_effect(b, (run, pc), outcomes.get(c), &mut totals.agg.effect);
    }
}

/// The names a part's clients' segments are shown under, two per segment (by index):
/// the run's words for it, and those for its prospects (else the bundle's name).
fn segment_names(b: &Bundle, ctx: &LabelContext) -> std::sync::Arc<Vec<String>> {
    let names = b.segments.segments.iter().enumerate().flat_map(|(k, seg)| {
        match ctx.segment_words.get(k) {
            Some(w) => [w.name.clone(), w.prospects.clone()],
            None => [seg.name.clone(), seg.name.clone()],
        }
    });
    std::sync::Arc::new(names.collect())
}

/// A client's place in `segment_names`: its segment's name, or its prospects' name.
fn name_index(segment: usize, stage: LifecycleStage) -> u32 {
    (2 * segment + usize::from(stage == LifecycleStage::Prospect)) as u32
}

/// The part's outcomes over the window since the previous run (lapsed, stayed or
/// excluded per client) and the window's months, after recording in `totals` which run
/// it was compared with; `None` when outcomes cannot be counted (and why is recorded).
fn outcome_labels(
    b: &Bundle,
    book: &Book,
    as_of: Date,
    prev: &PreviousRun,
    label_rules: &LabelRules,
    totals: &mut PartTotals,
) -> Option<(Vec<Label>, i32)> {
    let window = if b.config.mode == Mode::Flat {
        Err("flat data has no dates".to_string())
    } else {
        prev.window(as_of).and_then(|w| {
            let start = prev.as_of.unwrap_or(as_of);
            lapse_labels(book, start, w, as_of, b.config.lapse.outcome)
                .map(|labels| (labels, w))
                .map_err(|e| e.to_string())
        })
    };
    let counted = window.as_ref().map(|(_, w)| *w).map_err(Clone::clone);
    totals
        .agg
        .outcomes
        .compared_with(prev, counted, label_rules.actions.default_action());
    window.ok()
}

/// The part's outcomes since the previous run for the effect readout (relational mode),
/// after recording in `totals` which run it was compared with and whether that run had
/// randomised holdouts; `None` when they cannot be counted (and why is recorded).
fn effect_outcomes(
    b: &Bundle,
    book: &Book,
    as_of: Date,
    prev: &PreviousRun,
    label_rules: &LabelRules,
    totals: &mut PartTotals,
) -> Option<Vec<ClientOutcome>> {
    let outcomes = match (b.config.mode, prev.window(as_of)) {
        (Mode::Relational, Ok(_)) => prev
            .as_of
            .and_then(|start| client_outcomes(book, start, as_of))
            .ok_or_else(|| "the policies do not tell who lapsed or bought".to_string()),
        (Mode::Relational, Err(why)) => Err(why),
        _ => Err("outcomes need policies with dates (relational data)".to_string()),
    };
    let comparison = Comparison {
        previous_as_of: prev.as_of,
        as_of,
        randomised: prev.randomised,
        unavailable: outcomes.as_ref().err().cloned(),
        earlier: prev.effect_history.as_ref(),
    };
    totals
        .agg
        .effect
        .compared_with(comparison, &label_rules.effect, &label_rules.actions);
    outcomes.ok()
}

/// Counts a client of the previous run in the effect readout's cell and arm.
fn count_effect(
    b: &Bundle,
    (run, pc): (&PreviousRun, &PreviousClient),
    outcome: Option<&ClientOutcome>,
    counts: &mut EffectCounts,
) {
    let Some(outcome) = outcome else { return };
    let action = run
        .actions
        .get(pc.action as usize)
        .map_or("", String::as_str);
    let counted = Counted {
        action,
        segment: pc.segment,
        tier: pc
            .tier
            .map_or(UNKNOWN_TIER, crate::vocab::ValueTier::as_str),
        holdout: pc.holdout,
        decile: pc
            .probability
            .is_finite()
            .then(|| b.drift.score.bin(pc.probability)),
    };
    counts.count(&counted, outcome);
}

/// The tier of a previous client whose labels had no tier code.
const UNKNOWN_TIER: &str = "unknown";

/// Counts a client the previous run scored, against its outcome over the window.
fn count_outcome(
    b: &Bundle,
    (run, pc): (&PreviousRun, &PreviousClient),
    label: Option<Label>,
    window: i32,
    counts: &mut OutcomeCounts,
) {
    if !pc.probability.is_finite() {
        return;
    }
    let predicted = over_window(pc.probability, window, b.horizon_months);
    let action = run
        .actions
        .get(pc.action as usize)
        .map_or("", String::as_str);
    let bin = b.drift.score.bin(pc.probability);
    counts.count(
        pc,
        action,
        label.unwrap_or(Label::Excluded),
        (predicted, bin),
    );
}

/// A labelled part held in memory: every client's labels (the columns and types of
/// `labels.parquet`, one chunk per labelled chunk of clients), and what the part adds to
/// the run's totals.
pub struct LabelledPart {
    pub labels: polars::prelude::DataFrame,
    pub totals: PartTotals,
}

/// Labels a book (or one client part of it) in memory as of `as_of`, with the bundle's
/// fitted statistics unchanged: the engine of `clientele-infer` without files. Parts'
/// totals add up (`PartTotals::add`) to the whole book's summary.
///
/// ```
/// use clientele::config::{Config, FlatConfig, LabelRules, Mode};
/// use clientele::ingest::{load_from, Frames, Input, LoadOptions};
/// use clientele::labeling::{label_book, PartOf, PartTotals};
/// use clientele::schema::Source;
/// use clientele::train::{fit, FitOptions};
/// use polars::prelude::*;
///
/// // A per-client table; labeling reads no label column, so the same shape serves both.
/// let book = |n: usize| -> PolarsResult<DataFrame> {
///     let ids: Vec<String> = (0..n).map(|i| format!("C{i}")).collect();
///     let missed: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
///     let tenure: Vec<f64> = (0..n).map(|i| ((i * 7) % 23) as f64).collect();
///     let lapsed: Vec<&str> = (0..n).map(|i| if (i % 5) * 3 + (i % 7) > 9 { "1" } else { "0" }).collect();
///     df!("id" => ids, "missed" => missed, "tenure" => tenure, "lapsed" => lapsed)
/// };
/// let mut config = Config::default();
/// config.mode = Mode::Flat;
/// config.flat = Some(FlatConfig {
///     path: "clients.csv".into(),
///     id: "id".into(),
///     label: Some("lapsed".into()),
///     positive: None,
///     numeric: vec!["missed".into(), "tenure".into()].into(),
///     categorical: vec![],
///     exclude: vec![],
/// });
/// let train = Frames::new().with(Source::Flat, book(400)?);
/// let mut loaded = load_from(&config, Input::Frames(&train), &LoadOptions::from_config(&config, true), None)?;
/// let bundle = fit(&config, &mut loaded, &FitOptions::from_config(&config)?, None)?.bundle;
///
/// // This month's book, in two client parts labelled separately and added up.
/// let rules = LabelRules::from_config(&bundle.config)?;
/// let month = book(300)?;
/// let mut totals = PartTotals::new(&bundle);
/// for (index, rows) in [(0, month.slice(0, 150)), (1, month.slice(150, 150))] {
///     let frames = Frames::new().with(Source::Flat, rows);
///     let opts = LoadOptions::from_config(&config, false);
///     let part = load_from(&config, Input::Frames(&frames), &opts, Some(&bundle.cleaning))?;
///     let labelled = label_book(&bundle, &part.book, bundle.cutoff, &rules, PartOf { index, parts: 2 })?;
///     assert_eq!(labelled.labels.height(), 150);
///     totals.add(labelled.totals);
/// }
/// let (summary, _drift) = totals.summarise(&bundle, "in-memory".as_ref(), bundle.cutoff, false, 10);
/// assert_eq!(summary.clients, 300);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// A book of another mode, or lacking a source the model was trained with; a bundle that
/// does not fit the book's features.
pub fn label_book(
    b: &Bundle,
    book: &Book,
    as_of: Date,
    label_rules: &LabelRules,
    of: PartOf,
) -> Result<LabelledPart> {
    label_book_since(b, book, as_of, label_rules, of, None)
}

/// `label_book` with last month's labels (as `--previous-run` reads them): the totals
/// then count the segment migration and how last month's predictions turned out.
///
/// # Errors
/// As `label_book`.
pub fn label_book_since(
    b: &Bundle,
    book: &Book,
    as_of: Date,
    label_rules: &LabelRules,
    of: PartOf,
    previous: Option<&PreviousRun>,
) -> Result<LabelledPart> {
    check_book(b, book)?;
    check_whole(book)?;
    let raw = crate::features::compute(book, as_of);
    label_with_features(b, book, &raw, label_rules, (of, previous))
}

/// `label_book_since` on a book it owns: the sources only the point-in-time features
/// read (payments, claims, contacts) are freed once the features are computed, as the
/// CLI frees them, so a batch's 30M payment and contact rows are not held beside its
/// labels.
///
/// # Errors
/// As `label_book`.
pub fn label_owned_book_since(
    b: &Bundle,
    mut book: Book,
    as_of: Date,
    label_rules: &LabelRules,
    of: PartOf,
    previous: Option<&PreviousRun>,
) -> Result<LabelledPart> {
    check_book(b, &book)?;
    check_whole(&book)?;
    let raw = crate::features::compute(&book, as_of);
    book.release_after_features(true);
    crate::allocator::reuse_freed_memory();
    label_with_features(b, &book, &raw, label_rules, (of, previous))
}

/// A book whose features are computed here must hold every source it was read with:
/// one whose rows went to the features as it loaded (`Book::released`) has its features
/// from there.
fn check_whole(book: &Book) -> Result<()> {
    match book.released.keys().next() {
        None => Ok(()),
        Some(source) => Err(Error::Runtime(format!(
            "the book's {source} were freed as it loaded: label it with the features computed then"
        ))),
    }
}

/// Labels a book whose point-in-time features are computed, into one table.
fn label_with_features(
    b: &Bundle,
    book: &Book,
    raw: &RawFeatures,
    label_rules: &LabelRules,
    (of, previous): (PartOf, Option<&PreviousRun>),
) -> Result<LabelledPart> {
    let cats = crate::features::categorical_columns(book);
    let part = Part {
        book,
        raw,
        cats: &cats,
        previous,
        of,
    };
    let mut totals = PartTotals::new(b);
    // Each chunk becomes a table on a second thread while the next chunk is labelled (as
    // the CLI writes chunks beside labeling); the tables are stacked, not copied.
    let labels = std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel::<LabelledRows>(1);
        let built = scope.spawn(move || {
            let mut labels = LabelChunk::default().frame()?;
            for rows in receive {
                labels.vstack_mut_owned(rows.into_chunk().frame()?)?;
            }
            Ok::<_, polars::error::PolarsError>(labels)
        });
        let labelled = label_part(b, &part, label_rules, &mut totals, &mut |chunk| {
            send.send(chunk)
                .map_err(|_| Error::Runtime("the labels table builder stopped".into()))
        });
        drop(send);
        let labels = built
            .join()
            .map_err(|_| Error::Runtime("the labels table builder failed unexpectedly".into()))?
            .map_err(|e| Error::Runtime(format!("cannot build the labels table: {e}")));
        labelled.and(labels)
    })?;
    Ok(LabelledPart { labels, totals })
}

/// Adds the part's policies to the persistency counts, by each client's segment.
fn count_persistency(
    b: &Bundle,
    book: &Book,
    as_of: Date,
    settings: &crate::lifecycle::PersistencySettings,
    totals: &mut PartTotals,
) {
    let segments = std::mem::take(&mut totals.agg.client_segments);
    let known: std::collections::BTreeSet<u32> = b.segments.segments.iter().map(|s| s.id).collect();
    let segment_of = |c: usize| segments.get(c).filter(|id| known.contains(id)).copied();
    let policies = crate::lifecycle::CompactPolicies::of(book);
    // Independent counts of the same policies: side by side on the two cores.
    let persistency = &mut totals.agg.persistency;
    let ((), repeat) = rayon::join(
        || policies.count_persistency(persistency, &segment_of, as_of, settings),
        || crate::lifecycle::RepeatCounts::count(&policies, as_of, settings),
    );
    totals.agg.repeat.merge(repeat);
}

/// A book can be labelled by a bundle when it is of the bundle's mode and holds every
/// source the model was trained with: a feature computed from an absent source would
/// silently be zero.
///
/// # Errors
/// `Error::InvalidParameter` naming the mode or the missing sources.
pub fn check_book(b: &Bundle, book: &Book) -> Result<()> {
    if book.mode != b.config.mode {
        return Err(Error::InvalidParameter(format!(
            "the model was trained in {:?} mode, the data is {:?}",
            b.config.mode, book.mode
        )));
    }
    let present = |name: &str| match crate::schema::Source::named(name) {
        Some(crate::schema::Source::Flat) => book.flat.is_some(),
        Some(source) => book.has(source),
        None => true,
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
             features would be wrong; provide them (a file with only the header line is fine \
             for a month without such records) or retrain without them"
        )));
    }
    Ok(())
}
