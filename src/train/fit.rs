//! Fitting a bundle from a loaded book, in memory: the cut-off, point-in-time features
//! and labels, the train/test split, the feature transform, the segments, the lapse model
//! and its held-out and out-of-time metrics. Nothing here reads or writes a file except
//! an optional names file; `train` around it loads, publishes and draws.

use crate::bundle::{self, Bundle, DataFingerprint, DriftReference, Located};
use crate::bundle::{OutOfTime, TrainMetrics};
use crate::config::{Config, Mode};
use crate::date::{Date, DateChoice};
use crate::error::{Error, Result};
use crate::features::{self, FittedFeatures, Label, RawFeatures};
use crate::ingest::{Book, Loaded};
use crate::lapse::{self, metrics::Confusion, LapseParams};
use crate::lifecycle::{CompactPolicies, TrainingLifecycle};
use crate::params::{Checked, Horizon};
use crate::progress::Stage;
use crate::schema::Source;
use crate::segment::{self, SegmentModel, SegmentParams};
use crate::stats::Distribution;
use ndarray::{Array2, ShapeBuilder};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What fitting needs beyond the book: the run's choices and checked model parameters.
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// The cut-off; `None` = the data's last full month minus the horizon.
    pub as_of: Option<Date>,
    pub horizon: Horizon,
    pub seed: u64,
    pub segments: Checked<SegmentParams>,
    pub lapse: Checked<LapseParams>,
    /// A names file (`id = "name"`) applied to the new segments.
    pub names: Option<PathBuf>,
    /// Keep every active client's training-time result (`Fitted::scores_csv`).
    pub keep_scores: bool,
}

impl FitOptions {
    /// The defaults of the config (segments, lapse) with a 12-month horizon and seed 42.
    ///
    /// # Errors
    /// The config's model parameters out of range.
    pub fn from_config(config: &Config) -> Result<Self> {
        Ok(FitOptions {
            as_of: None,
            horizon: Horizon::months(12)?,
            seed: 42,
            segments: config.segments.clone().check()?,
            lapse: config.lapse.clone().check()?,
            names: None,
            keep_scores: false,
        })
    }
}

/// A fitted, not yet published bundle (no version, no creation time, no file
/// fingerprints), with why the cut-off is what it is.
pub struct Fitted {
    pub bundle: Bundle,
    pub cutoff_why: String,
    scored: Option<Vec<Scored>>,
    /// Persistency and exits as competing risks at the cut-off (relational mode, when
    /// fitted on the whole book).
    pub lifecycle: Option<TrainingLifecycle>,
}

impl Fitted {
    /// Every active client's training-time split, label, segment and probability as CSV,
    /// when `keep_scores` was asked for.
    /// `client_ids`: the id of each row of the fitted snapshot (the book's clients).
    pub fn scores_csv(&self, client_ids: &[String]) -> Option<String> {
        self.scored.as_deref().map(|s| scores_csv(client_ids, s))
    }
}

/// Fits a bundle on a loaded book; with `previous`, segment ids and names carry over.
///
/// Train from a per-client feature table held in memory (flat mode):
///
/// ```
/// use clientele::config::{Config, FlatConfig, Mode};
/// use clientele::ingest::{load_from, Frames, Input, LoadOptions};
/// use clientele::schema::Source;
/// use clientele::train::{fit, FitOptions};
/// use polars::prelude::*;
///
/// // 400 clients: those who miss payments lapse more often.
/// let n = 400;
/// let ids: Vec<String> = (0..n).map(|i| format!("C{i}")).collect();
/// let missed: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
/// let tenure: Vec<f64> = (0..n).map(|i| ((i * 7) % 23) as f64).collect();
/// let lapsed: Vec<&str> = (0..n).map(|i| if (i % 5) * 3 + (i % 7) > 9 { "yes" } else { "no" }).collect();
/// let table = df!("id" => ids, "missed" => missed, "tenure" => tenure, "lapsed" => lapsed)?;
///
/// let mut config = Config::default();
/// config.mode = Mode::Flat;
/// config.flat = Some(FlatConfig {
///     path: "clients.csv".into(), // where a file would be; unused for frames
///     id: "id".into(),
///     label: Some("lapsed".into()),
///     positive: None,
///     numeric: vec!["missed".into(), "tenure".into()].into(),
///     categorical: vec![],
///     exclude: vec![],
/// });
/// config.check()?;
/// let frames = Frames::new().with(Source::Flat, table);
/// let mut loaded = load_from(&config, Input::Frames(&frames), &LoadOptions::from_config(&config, true), None)?;
/// let fitted = fit(&config, &mut loaded, &FitOptions::from_config(&config)?, None)?;
/// assert!(fitted.bundle.metrics.test.roc_auc > 0.7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// No client in force, a single class among labelled clients, a cut-off outside the
/// data, or a failed fit.
pub fn fit(
    config: &Config,
    loaded: &mut Loaded,
    opts: &FitOptions,
    previous: Option<&Located>,
) -> Result<Fitted> {
    fit_with(config, loaded, opts, previous, None)
}

/// `fit` with the raw features of its two snapshots computed already (`snapshot_cutoffs`,
/// in that order; `features::FeatureStream` built them while the book loaded, freeing
/// the sources only they read).
///
/// # Errors
/// As `fit`; `Error::Runtime` when `raws` are not at the cut-offs the book gives, or are
/// missing for a book whose sources were freed.
pub fn fit_with(
    config: &Config,
    loaded: &mut Loaded,
    opts: &FitOptions,
    previous: Option<&Located>,
    raws: Option<Vec<RawFeatures>>,
) -> Result<Fitted> {
    let book = &loaded.book;
    let horizon = opts.horizon.get();
    let outcome = config.lapse.outcome;
    check_outcome(config, book)?;
    let cutoff_choice = choose_cutoff(book, opts.as_of, horizon)?;
    let cutoff = cutoff_choice.date;
    let stage = Stage::new("features", 1);
    let end = label_end(book, cutoff, horizon);
    let early_cutoff = cutoff.month_end_offset(-horizon);
    let (raw, early_raw) = given_raws(book, raws, [cutoff, early_cutoff])?;
    // The out-of-time check's snapshot is taken now, beside the run's, so that the event
    // tables can go before the fits (they were a third of the run's peak memory).
    let (snap, early) = rayon::join(
        || {
            crate::progress::timed("snapshot at the cut-off", || {
                snapshot_of(book, raw, (cutoff, horizon, end), outcome)
            })
        },
        || match book.mode {
            Mode::Flat => Err("flat data has no dates: no out-of-time check".to_string()),
            _ => snapshot_of(book, early_raw, (early_cutoff, horizon, cutoff), outcome)
                .map_err(|e| e.to_string()),
        },
    );
    let snap = snap?;
    // The snapshots hold all the events tell; what follows reads the policies only.
    // Dropped now, not after the policies' summaries, so that those are not counted
    // beside every payment and contact (the training run's peak).
    loaded.book.release_after_features(false);
    let book = &loaded.book;
    let products = crate::progress::timed("product facts", || {
        (book.mode == Mode::Relational)
            .then(|| crate::features::products::product_facts(book, cutoff, end, None))
            .flatten()
    });
    // What the lifecycle outputs need of the policies, compact, before they go.
    let policies = crate::progress::timed("compact policies", || {
        (book.mode == Mode::Relational).then(|| CompactPolicies::of(book))
    });
    stage.finish();
    loaded.book.release_events();
    let book = &loaded.book;
    let input = FitInput {
        clients: book.n_clients(),
        cats: features::categorical_columns(book),
        snap,
        early,
        products,
        policies,
    };
    fit_input(
        config,
        input,
        &loaded.cleaning,
        cutoff_choice,
        opts,
        previous,
    )
}

/// What fitting reads: every modelled client's snapshot at the cut-off, their
/// categorical traits (rows as in the snapshot), and the out-of-time check's earlier
/// snapshot. The rows are the whole book (`fit`) or a sample of it
/// (`parts::fit_sampled`).
pub(super) struct FitInput<'a> {
    /// Clients of the whole book (reported; the snapshot may hold a sample of them).
    pub clients: usize,
    pub cats: Vec<(String, Option<&'a crate::ingest::Coded>)>,
    pub snap: Snapshot,
    /// The out-of-time check's snapshot at the cut-off minus the horizon (labels ending
    /// at the cut-off), with the same rows as `snap`; or why there is none.
    pub early: std::result::Result<Snapshot, String>,
    /// Products held at the cut-off and acquired within the horizon, per snapshot row
    /// (relational mode): the next-best product models are fitted on them.
    pub products: Option<crate::features::products::ProductFacts>,
    /// The book's policies (relational mode, the whole book): the lifecycle outputs
    /// are counted on them once the segments are fitted.
    pub policies: Option<CompactPolicies>,
}

pub(super) fn fit_input(
    config: &Config,
    input: FitInput,
    cleaning: &crate::ingest::CleaningStats,
    cutoff_choice: DateChoice,
    opts: &FitOptions,
    previous: Option<&Located>,
) -> Result<Fitted> {
    let horizon = opts.horizon.get();
    let cutoff = cutoff_choice.date;
    let (clients, cats, snap) = (input.clients, input.cats, input.snap);
    let split = Split::of(&snap, opts.lapse.test_share, opts.seed)?;
    let design = Design::fit(&snap, &cats, &split)?;
    let oot_input = OutOfTimeInput {
        early: input.early,
        score_snap: &snap,
        cats: &cats,
    };
    let models = Models {
        design: &design,
        snap: &snap,
        cats: &cats,
        split: &split,
    };
    let lifecycle = LifecycleInput::of(input.policies, clients, cutoff, &config.persistency);
    let (segs, products, lifecycle, (lapse_fit, oot)) =
        models.fit((input.products, lifecycle), oot_input, opts, previous)?;
    let mut metrics = train_metrics(
        (clients, &snap, &split, &design),
        &segs.model,
        &lapse_fit,
        oot,
        horizon,
    );
    if let Some(p) = &products {
        metrics.products = p.metrics();
        metrics.products_skipped.clone_from(&p.skipped);
    }
    let retention = (config.mode == Mode::Relational)
        .then(|| retention(&snap, &segs, horizon))
        .flatten()
        .map(|model| with_values(model, &snap, &segs, &lapse_fit.probabilities, &config.value));
    let scored = opts
        .keep_scores
        .then(|| scored_clients(&snap, &split, &segs, &lapse_fit.probabilities));
    let bundle = Bundle {
        format_version: bundle::FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: String::new(),
        version: String::new(),
        content_sha256: String::new(),
        parent: None,
        seed: opts.seed,
        config: config.rooted_in_data_dir(),
        cutoff,
        horizon_months: horizon,
        data: DataFingerprint {
            files: Vec::new(),
            clients,
            active_clients: snap.active.len(),
            labelled_clients: split.labelled.len(),
        },
        cleaning: cleaning.clone(),
        features: design.fitted,
        drift: drift_reference(&segs.model, &lapse_fit.probabilities),
        segments: segs.model,
        lapse: lapse_fit.model,
        products,
        retention,
        metrics,
    };
    Ok(Fitted {
        bundle,
        cutoff_why: cutoff_choice.why,
        scored,
        lifecycle,
    })
}

/// What the segments, the lapse model and the product models are fitted on.
struct Models<'a, 'b> {
    design: &'b Design,
    snap: &'b Snapshot,
    cats: &'b [(String, Option<&'a crate::ingest::Coded>)],
    split: &'b Split,
}

type LapseAndOutOfTime = (LapseFit, std::result::Result<OutOfTime, String>);

/// What the models' two arms return: the segments, the product models and the
/// lifecycle counts (which need the segments), and the lapse model with its
/// out-of-time check.
type Arms = (
    Segments,
    Option<crate::products::ProductModels>,
    Option<TrainingLifecycle>,
    LapseAndOutOfTime,
);

impl Models<'_, '_> {
    /// The segments, then the product models and lifecycle counts, beside the lapse
    /// model: each has its own seeds (results do not depend on threads), and each leaves
    /// a core idle in its serial steps (the lapse model's final fits and out-of-time
    /// check, the final k-means, the lifecycle counts).
    fn fit(
        &self,
        (products, lifecycle): (
            Option<crate::features::products::ProductFacts>,
            Option<LifecycleInput>,
        ),
        oot_input: OutOfTimeInput,
        opts: &FitOptions,
        previous: Option<&Located>,
    ) -> Result<Arms> {
        let (segment_arm, lapse) = rayon::join(
            || {
                let segs = fit_segments(self.design, self.snap, self.cats, opts, previous)?;
                let products = products
                    .map(|facts| fit_products(&facts, self.design, self.snap, opts))
                    .transpose()?;
                let fitted = (&self.design.fitted, &segs.model);
                let lifecycle = lifecycle
                    .map(|input| count_lifecycle(&input, fitted, (self.snap, self.cats)))
                    .transpose()?;
                Ok::<_, Error>((segs, products, lifecycle))
            },
            || fit_lapse(self.design, self.split, oot_input, opts),
        );
        let (segs, products, lifecycle) = segment_arm?;
        Ok((segs, products, lifecycle, lapse?))
    }
}

/// The lapse model, then the out-of-time check, which needs only the chosen form and
/// penalty: it runs after the final fit, once that fit's matrices are freed (the fits
/// use both cores, and two expanded matrices held at once were the run's peak, ~1 GB
/// more on a 1M book).
fn fit_lapse(
    design: &Design,
    split: &Split,
    oot_input: OutOfTimeInput,
    opts: &FitOptions,
) -> Result<(LapseFit, std::result::Result<OutOfTime, String>)> {
    let stage = Stage::new("lapse+oot", lapse::progress_steps(&opts.lapse));
    let lapse_fit = LapseFit::fit(design, split, &opts.lapse, opts.seed, &stage)?;
    let oot = crate::progress::timed("out-of-time check", || {
        let model = &lapse_fit.model;
        out_of_time(oot_input, opts, &model.form, model.alpha)
    });
    stage.finish();
    Ok((lapse_fit, oot))
}

/// The next-best product models, on the lapse model's own model matrix.
fn fit_products(
    facts: &crate::features::products::ProductFacts,
    design: &Design,
    snap: &Snapshot,
    opts: &FitOptions,
) -> Result<crate::products::ProductModels> {
    let stage = Stage::new("products", 1);
    let input = crate::products::ProductInput {
        x: design.x.view(),
        active: &snap.active,
        columns: &design.columns,
        numeric: &design.fitted.numeric,
        facts,
    };
    let fitted = crate::progress::timed("next-best product models", || {
        crate::products::fit(&input, &opts.lapse, opts.seed)
    });
    stage.finish();
    fitted
}

/// What the lifecycle outputs of training are counted on (relational mode).
struct LifecycleInput<'c> {
    /// The book's policies.
    policies: CompactPolicies,
    /// Clients of the whole book.
    clients: usize,
    cutoff: Date,
    settings: &'c crate::config::PersistencySettings,
}

impl<'c> LifecycleInput<'c> {
    fn of(
        policies: Option<CompactPolicies>,
        clients: usize,
        cutoff: Date,
        settings: &'c crate::config::PersistencySettings,
    ) -> Option<Self> {
        policies.map(|policies| LifecycleInput {
            policies,
            clients,
            cutoff,
            settings,
        })
    }
}

/// The lifecycle outputs of training (persistency, incidence), counted on the book's
/// policies with every client's segment under the fitted features and segments.
fn count_lifecycle(
    input: &LifecycleInput,
    fitted: (&FittedFeatures, &SegmentModel),
    (snap, cats): (&Snapshot, &[(String, Option<&crate::ingest::Coded>)]),
) -> Result<TrainingLifecycle> {
    let stage = Stage::new("lifecycle", 1);
    let segments = crate::progress::timed("segments of every client", || {
        every_client_segment(fitted, &snap.raw, cats, input.clients)
    })?;
    let counted =
        TrainingLifecycle::count(&input.policies, &segments, input.cutoff, input.settings);
    stage.finish();
    Ok(counted)
}

/// Retention models for lifetime value from the labelled clients' tenure and outcome
/// (relational mode: the whole book and a sample of feature rows alike); `None` where
/// they cannot be fitted (the values are then left out,
/// never made up).
fn retention(
    snap: &Snapshot,
    segs: &Segments,
    horizon: i32,
) -> Option<crate::lifecycle::RetentionModel> {
    let tenure = snap.raw.feature(crate::vocab::Feature::TenureYears)?;
    let rows: Vec<crate::lifecycle::RetentionRow> = snap
        .active
        .iter()
        .enumerate()
        .filter(|&(_, &c)| is_labelled(snap.labels[c]))
        .map(|(r, &c)| crate::lifecycle::RetentionRow {
            tenure_years: tenure[c],
            left: snap.labels[c] == Label::Lapsed,
            segment: segs.model.segments[segs.index[r]].id,
        })
        .collect();
    crate::lifecycle::RetentionModel::fit(&rows, horizon).ok()
}

/// The retention models with the distribution of the lifetime value of the clients in
/// force at the cut-off (their fitted lapse probability, the training `[value]`).
fn with_values(
    mut model: crate::lifecycle::RetentionModel,
    snap: &Snapshot,
    segs: &Segments,
    probabilities: &[f64],
    settings: &crate::config::ValueSettings,
) -> crate::lifecycle::RetentionModel {
    use crate::vocab::Feature;
    let column = |f: Feature| snap.raw.feature(f);
    let (Some(premium), Some(tenure), Some(age)) = (
        column(Feature::PremiumInForce),
        column(Feature::TenureYears),
        column(Feature::Age),
    ) else {
        return model;
    };
    let mut values: Vec<f64> = snap
        .active
        .iter()
        .enumerate()
        .filter(|&(_, &c)| premium[c].is_finite())
        .filter_map(|(r, &c)| {
            let input = crate::lifecycle::ValueInput {
                segment: segs.model.segments[segs.index[r]].id,
                annual_premium: premium[c],
                tenure_years: tenure[c],
                age: age[c],
                p: probabilities[r],
            };
            model.lifetime_value(&input, settings).ok()
        })
        .collect();
    if !values.is_empty() {
        values.sort_by(f64::total_cmp);
        model.value_distribution = Some(Distribution::fit_sorted(&values, 0.0));
    }
    model
}

/// Every client's segment id at the cut-off, assigned by the fitted bundle as a labeling
/// run assigns them (in chunks, as labeling does).
pub(crate) fn every_client_segment(
    (features, segments): (&FittedFeatures, &SegmentModel),
    raw: &RawFeatures,
    cats: &[(String, Option<&crate::ingest::Coded>)],
    clients: usize,
) -> Result<Vec<u32>> {
    let columns = features.columns();
    let mut out = Vec::with_capacity(clients);
    const CHUNK: usize = 100_000;
    for start in (0..clients).step_by(CHUNK) {
        let rows: Vec<usize> = (start..(start + CHUNK).min(clients)).collect();
        let x = features.transform(raw, cats, &rows)?;
        let (index, _) = segments.assign(x.view(), &columns)?;
        out.extend(index.iter().map(|&i| segments.segments[i].id));
    }
    Ok(out)
}

/// The training book's segment shares and score distribution, which labeling runs are
/// compared against.
fn drift_reference(segments: &SegmentModel, probabilities: &[f64]) -> DriftReference {
    let mut sorted_p = probabilities.to_vec();
    sorted_p.sort_by(f64::total_cmp);
    DriftReference {
        segment_shares: segments.segments.iter().map(|s| (s.id, s.share)).collect(),
        score: Distribution::fit_sorted(&sorted_p, 0.0),
    }
}

/// Levels held by fewer training clients than this share go to `other`.
pub const MIN_LEVEL_SHARE: f64 = 0.01;
/// Out-of-time check needs at least this many clients of each class.
const OOT_MIN_CLASS: usize = 20;
/// One client's training-time result, as saved in `scores.csv`.
struct Scored {
    client: usize,
    split: &'static str,
    label: Label,
    segment: u32,
    distance: f64,
    probability: f64,
}

/// The cut-off a run uses: `--as-of`, else the data's last full month minus the horizon
/// (in flat mode: the extract date), with where it came from.
///
/// # Errors
/// `Error::InvalidParameter` when the cut-off lies after the extract date or outside the
/// data's dates.
pub fn choose_cutoff(book: &Book, as_of: Option<Date>, horizon_months: i32) -> Result<DateChoice> {
    choose_cutoff_in(
        book.mode,
        book.extract_date,
        DataSpan::of(book),
        as_of,
        horizon_months,
    )
}

/// The first and last dated records of a book (`None` when it holds none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSpan {
    pub first: Option<Date>,
    pub last: Option<Date>,
}

impl DataSpan {
    pub fn of(book: &Book) -> Self {
        DataSpan {
            first: data_start(book),
            last: features::data_end(book),
        }
    }

    /// The span of two parts of one book together.
    #[must_use]
    pub fn merge(self, other: DataSpan) -> Self {
        let pick = |a: Option<Date>, b: Option<Date>, f: fn(Date, Date) -> Date| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, b) => a.or(b),
        };
        DataSpan {
            first: pick(self.first, other.first, std::cmp::min),
            last: pick(self.last, other.last, std::cmp::max),
        }
    }
}

/// `choose_cutoff` for a book known by its mode, extract date and span (the parts of a
/// split book merge their spans).
///
/// # Errors
/// As `choose_cutoff`.
pub fn choose_cutoff_in(
    mode: Mode,
    extract_date: Date,
    span: DataSpan,
    as_of: Option<Date>,
    horizon_months: i32,
) -> Result<DateChoice> {
    if let Some(d) = as_of.filter(|&d| d > extract_date) {
        return Err(Error::InvalidParameter(format!(
            "--as-of {d} is after the data's extract date {extract_date}"
        )));
    }
    let given = |date| DateChoice {
        date,
        why: "set by --as-of".into(),
    };
    if mode == Mode::Flat {
        return Ok(as_of.map_or_else(
            || DateChoice {
                date: extract_date,
                why: "the extract date (flat data has no dates)".into(),
            },
            given,
        ));
    }
    let end = span
        .last
        .ok_or_else(|| Error::NoData("the data holds no dated record".into()))?;
    let start = span.first.unwrap_or(end);
    let choice = as_of.map_or_else(
        || {
            let month_end = end.last_full_month_end();
            DateChoice {
                date: month_end.month_end_offset(-horizon_months),
                why: format!(
                    "the data's last full month end {month_end} (latest record {end}) minus \
                     the {horizon_months}-month horizon"
                ),
            }
        },
        given,
    );
    if choice.date < start || choice.date > end {
        return Err(Error::InvalidParameter(format!(
            "the cut-off {} lies outside the data, which runs from {start} to {end}",
            choice.date
        )));
    }
    Ok(choice)
}

fn data_start(book: &Book) -> Option<Date> {
    let from = |t: Option<&crate::ingest::Table>, f: &str| {
        t.and_then(|t| t.dates(f))
            .and_then(|d| d.iter().flatten().min().copied())
    };
    [
        from(book.table(Source::Policies), "start_date"),
        from(book.table(Source::Transactions), "date"),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// Every client's features and labels at one cut-off.
pub(super) struct Snapshot {
    pub raw: RawFeatures,
    pub labels: Vec<Label>,
    /// Each client's exits within the horizon (`features::exit_kinds`; empty when not
    /// known).
    pub exits: Vec<u8>,
    /// Clients in force (or transacting) at the cut-off: the book that is modelled.
    pub active: Vec<usize>,
}

impl Snapshot {
    /// A snapshot of computed features and labels (one per row of `raw`).
    pub fn of(raw: RawFeatures, labels: Vec<Label>) -> Self {
        let active = (0..labels.len()).filter(|&i| raw.active[i]).collect();
        Snapshot {
            raw,
            labels,
            exits: Vec::new(),
            active,
        }
    }
}

/// The features at `cutoff` and the labels of `outcome` over `horizon` months (the
/// labels' window ending by `data_end`).
pub(super) fn snapshot(
    book: &Book,
    at: (Date, i32, Date),
    outcome: crate::vocab::LapseOutcome,
) -> Result<Snapshot> {
    snapshot_of(book, None, at, outcome)
}

/// `snapshot` with its raw features computed already, when given.
fn snapshot_of(
    book: &Book,
    raw: Option<RawFeatures>,
    (cutoff, horizon, data_end): (Date, i32, Date),
    outcome: crate::vocab::LapseOutcome,
) -> Result<Snapshot> {
    let raw = raw.unwrap_or_else(|| {
        let mut raw = features::compute(book, cutoff);
        // Training models the features only (`BusinessFacts::Skipped`).
        raw.facts = features::Facts::default();
        raw
    });
    let labels = features::lapse_labels(book, cutoff, horizon, data_end, outcome)?;
    let mut snap = Snapshot::of(raw, labels);
    snap.exits = features::exit_kinds(book, cutoff, horizon, data_end)?;
    Ok(snap)
}

/// The cut-offs of training's two snapshots (the run's and the out-of-time check's) as
/// guessed while a book loads (`features::FeatureStream`): `as_of`, else the last full
/// month end of the data read so far minus the horizon (`choose_cutoff`'s rule).
pub fn cutoff_guess(mode: Mode, as_of: Option<Date>, horizon: i32) -> features::CutoffGuess {
    Box::new(move |end: Option<Date>| {
        if mode == Mode::Flat {
            return None;
        }
        let cutoff = match as_of {
            Some(date) => date,
            None => end?.last_full_month_end().month_end_offset(-horizon),
        };
        Some(vec![cutoff, cutoff.month_end_offset(-horizon)])
    })
}

/// The cut-offs `fit` takes its two snapshots at for this book (as `cutoff_guess`
/// orders them); `None` in flat mode, or when `fit` will refuse the cut-off.
pub fn snapshot_cutoffs(book: &Book, as_of: Option<Date>, horizon: i32) -> Option<Vec<Date>> {
    if book.mode == Mode::Flat {
        return None;
    }
    let cutoff = choose_cutoff(book, as_of, horizon).ok()?.date;
    Some(vec![cutoff, cutoff.month_end_offset(-horizon)])
}

/// The raw features given for the snapshots at `cutoffs`, checked to be theirs; none
/// given: computed from the book, which must then hold every source.
fn given_raws(
    book: &Book,
    raws: Option<Vec<RawFeatures>>,
    cutoffs: [Date; 2],
) -> Result<(Option<RawFeatures>, Option<RawFeatures>)> {
    let Some(raws) = raws else {
        if book.released.is_empty() || book.mode == Mode::Flat {
            return Ok((None, None));
        }
        return Err(Error::Runtime(
            "the book's event sources were freed before their features were given".into(),
        ));
    };
    let at: Vec<Date> = raws.iter().map(|r| r.cutoff).collect();
    if at != cutoffs {
        return Err(Error::Runtime(format!(
            "features were given as of {at:?}, the snapshots are as of {cutoffs:?}"
        )));
    }
    let mut raws = raws.into_iter();
    Ok((raws.next(), raws.next()))
}

/// A lapse-only or surrender-only target needs policies ending so: otherwise nobody
/// could be labelled as leaving, and the model would learn nothing.
///
/// # Errors
/// `Error::Config` naming the config and `[lapse] outcome`.
pub(super) fn check_outcome(config: &Config, book: &Book) -> Result<()> {
    let outcome = config.lapse.outcome;
    if outcome == crate::vocab::LapseOutcome::Any || book.mode != Mode::Relational {
        return Ok(());
    }
    let reasons = book
        .table(Source::Policies)
        .and_then(|t| t.coded("end_reason"));
    let found = reasons.is_some_and(|r| {
        (0..r.codes.len()).any(|i| r.get(i).is_some_and(|w| outcome.end_reasons().contains(&w)))
    });
    if found {
        return Ok(());
    }
    Err(Error::Config {
        path: config
            .origin
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from("<defaults>")),
        message: format!(
            "[lapse] outcome = \"{}\", but no policy in the policies source has an end_reason \
             of {}: nothing to learn; use \"lapse_or_surrender\" or check the end_reason \
             spellings (the data-quality report counts unknown ones)",
            outcome.code(),
            outcome.end_reasons().join(" or ")
        ),
    })
}

fn is_labelled(l: Label) -> bool {
    matches!(l, Label::Lapsed | Label::Stayed)
}

impl Snapshot {
    /// Labelled clients in force, and whether each lapsed.
    fn labelled(&self) -> (Vec<usize>, Vec<bool>) {
        let rows: Vec<usize> = self
            .active
            .iter()
            .copied()
            .filter(|&i| is_labelled(self.labels[i]))
            .collect();
        let y = rows
            .iter()
            .map(|&i| self.labels[i] == Label::Lapsed)
            .collect();
        (rows, y)
    }
}

/// Where the lapse label's window ends: the data's last full month (flat: the horizon).
fn label_end(book: &Book, cutoff: Date, horizon_months: i32) -> Date {
    label_end_in(book.mode, features::data_end(book), cutoff, horizon_months)
}

/// `label_end` for a book known by its mode and last dated record.
pub(super) fn label_end_in(
    mode: Mode,
    data_end: Option<Date>,
    cutoff: Date,
    horizon_months: i32,
) -> Date {
    if mode == Mode::Flat {
        cutoff.month_end_offset(horizon_months)
    } else {
        data_end.map_or(cutoff, Date::last_full_month_end)
    }
}

/// The labelled clients in force at the cut-off, split stratified into train and test.
struct Split {
    /// Client index of each labelled client.
    labelled: Vec<usize>,
    /// Whether each labelled client lapsed.
    y: Vec<bool>,
    lapsed: usize,
    /// Positions in `labelled`.
    train: Vec<usize>,
    test: Vec<usize>,
    /// By client index.
    is_test: Vec<bool>,
}

impl Split {
    fn of(snap: &Snapshot, test_share: f64, seed: u64) -> Result<Self> {
        let cutoff = snap.raw.cutoff;
        if snap.active.is_empty() {
            return Err(Error::NoData(format!(
                "no client is in force at the cut-off {cutoff}"
            )));
        }
        let (labelled, y) = snap.labelled();
        let lapsed = y.iter().filter(|&&v| v).count();
        if lapsed == 0 || lapsed == y.len() {
            return Err(Error::NoData(format!(
                "all {} labelled clients at the cut-off {cutoff} {}: a lapse model needs both \
                 classes (try another --as-of or --horizon-months)",
                y.len(),
                if lapsed == 0 { "stayed" } else { "lapsed" }
            )));
        }
        let (train, test) = lapse::stratified_split(&y, test_share, seed);
        let mut is_test = vec![false; snap.labels.len()];
        for &p in &test {
            is_test[labelled[p]] = true;
        }
        Ok(Split {
            labelled,
            y,
            lapsed,
            train,
            test,
            is_test,
        })
    }

    fn lapse_rate(&self) -> f64 {
        self.lapsed as f64 / self.y.len() as f64
    }
}

/// The feature transform fitted on the training part, and the model matrix of every
/// client in force.
struct Design {
    fitted: FittedFeatures,
    columns: Vec<String>,
    x: Array2<f64>,
    /// Row of each client (by index) in `x`.
    row_of: Vec<usize>,
}

impl Design {
    fn fit(
        snap: &Snapshot,
        cats: &[(String, Option<&crate::ingest::Coded>)],
        split: &Split,
    ) -> Result<Self> {
        let fit_rows: Vec<usize> = snap
            .active
            .iter()
            .copied()
            .filter(|&i| !split.is_test[i])
            .collect();
        let fitted = FittedFeatures::fit(&snap.raw, cats, &fit_rows, MIN_LEVEL_SHARE)?;
        let columns = fitted.columns();
        let x = fitted.transform(&snap.raw, cats, &snap.active)?;
        let mut row_of = vec![usize::MAX; split.is_test.len()];
        for (r, &c) in snap.active.iter().enumerate() {
            row_of[c] = r;
        }
        Ok(Design {
            fitted,
            columns,
            x,
            row_of,
        })
    }

    /// Rows of `x` of the labelled clients at `positions`.
    fn rows(&self, split: &Split, positions: &[usize]) -> Vec<usize> {
        positions
            .iter()
            .map(|&p| self.row_of[split.labelled[p]])
            .collect()
    }
}

/// The segment model with each active client's segment (index) and distance.
struct Segments {
    model: SegmentModel,
    index: Vec<usize>,
    distance: Vec<f64>,
}

/// Fits the segments, carries ids and names over from the previous model, applies the
/// names file.
fn fit_segments(
    d: &Design,
    snap: &Snapshot,
    cats: &[(String, Option<&crate::ingest::Coded>)],
    opts: &FitOptions,
    previous: Option<&Located>,
) -> Result<Segments> {
    let stage = Stage::new(
        "segments",
        segment::progress_steps(&opts.segments, snap.active.len()),
    );
    let input = segment::SegmentInput {
        fitted: &d.fitted,
        raw: &snap.raw,
        x: d.x.view(),
        rows: &snap.active,
        labels: &snap.labels,
        exits: &snap.exits,
    };
    let mut model = segment::fit_with_progress(&input, &opts.segments, opts.seed, &stage.ticker())?;
    let (index, distance) = model.assign(d.x.view(), &d.columns)?;
    if let Some(prev) = previous {
        let prev_ids = previous_assignment(&prev.bundle, &snap.raw, cats, &snap.active);
        segment::carry_over(
            &mut model,
            &prev.bundle.segments,
            &prev.bundle.version,
            &d.fitted,
            &index,
            prev_ids.as_deref(),
        )?;
    }
    if let Some(path) = &opts.names {
        let ids: Vec<u32> = model.segments.iter().map(|s| s.id).collect();
        let names = segment::read_names_file(path, &ids)?;
        segment::apply_names(&mut model, &names)?;
    }
    stage.finish();
    Ok(Segments {
        model,
        index,
        distance,
    })
}

/// The lapse model fitted on the training part, every active client's probability, and
/// the held-out metrics.
struct LapseFit {
    model: lapse::LapseModel,
    probabilities: Vec<f64>,
    test: lapse::Metrics,
    test_top10: Confusion,
}

impl LapseFit {
    /// Fits the lapse model on the training part and scores every active client.
    fn fit(
        d: &Design,
        split: &Split,
        params: &Checked<LapseParams>,
        seed: u64,
        stage: &Stage,
    ) -> Result<Self> {
        // Column-major from the start: the fit would otherwise copy it into that layout.
        let rows = d.rows(split, &split.train);
        let mut xtr = Array2::zeros((rows.len(), d.x.ncols()).f());
        for (mut to, &r) in xtr.rows_mut().into_iter().zip(&rows) {
            to.assign(&d.x.row(r));
        }
        let ytr: Vec<bool> = split.train.iter().map(|&p| split.y[p]).collect();
        let ticker = stage.ticker();
        let data = lapse::TrainingPart {
            x: xtr.into(),
            y: &ytr,
            columns: &d.columns,
            numeric: &d.fitted.numeric,
            categorical: &d.fitted.categorical,
        };
        let model = lapse::fit_with_progress(data, params, seed, &ticker)?;
        let probabilities = model.probabilities(d.x.view());
        let p_test: Vec<f64> = d
            .rows(split, &split.test)
            .iter()
            .map(|&r| probabilities[r])
            .collect();
        let y_test: Vec<bool> = split.test.iter().map(|&p| split.y[p]).collect();
        let test = lapse::metrics::evaluate(&p_test, &y_test, model.threshold);
        let test_top10 = Confusion::at(
            &p_test,
            &y_test,
            lapse::metrics::top_share_threshold(&p_test, 0.10),
        );
        let fit = LapseFit {
            model,
            probabilities,
            test,
            test_top10,
        };
        Ok(fit)
    }
}

#[allow(clippy::too_many_arguments)]
fn train_metrics(
    (clients, snap, split, design): (usize, &Snapshot, &Split, &Design),
    segments: &SegmentModel,
    fit: &LapseFit,
    oot: std::result::Result<OutOfTime, String>,
    horizon_months: i32,
) -> TrainMetrics {
    let cutoff = snap.raw.cutoff;
    let model = &fit.model;
    let cv_roc_auc = model
        .cv
        .iter()
        .find(|c| {
            c.alpha == model.alpha
                && c.bins == model.form.bins
                && c.smooth == model.form.smooth
                && c.pairs == model.form.pairs.len()
                && c.pair_bins == model.form.pair_bins
                && c.pair_penalty == model.form.pair_penalty
        })
        .map_or(f64::NAN, |c| c.roc_auc);
    let (out_of_time, out_of_time_skipped) = match oot {
        Ok(o) => (Some(o), None),
        Err(reason) => (None, Some(reason)),
    };
    TrainMetrics {
        cutoff,
        horizon_months,
        clients,
        active_clients: snap.active.len(),
        labelled_clients: split.labelled.len(),
        train_clients: split.train.len(),
        test_clients: split.test.len(),
        lapse_rate: split.lapse_rate(),
        class_imbalance: format!(
            "not reweighted or resampled: probabilities stay calibrated to the {:.1}% lapse \
             rate; the imbalance is handled by the decision threshold",
            100.0 * split.lapse_rate()
        ),
        alpha: model.alpha,
        lapse_form: model.form.describe(),
        cv: model.cv.clone(),
        cv_roc_auc,
        threshold_rule: match model.threshold_rule {
            lapse::ThresholdRule::BestF1 => "best F1 on out-of-fold predictions".into(),
            lapse::ThresholdRule::TopShare(s) => format!("riskiest {:.0}% of clients", s * 100.0),
        },
        test: fit.test.clone(),
        test_top10: fit.test_top10.clone(),
        out_of_time,
        out_of_time_skipped,
        k: segments.k(),
        k_reason: segments.k_reason.clone(),
        k_choice: segments.choice.clone(),
        dropped_features: design.fitted.dropped.clone(),
        products: Vec::new(),
        products_skipped: Vec::new(),
    }
}

/// Every active client's training-time result, for `scores.csv`.
fn scored_clients(
    snap: &Snapshot,
    split: &Split,
    segs: &Segments,
    probabilities: &[f64],
) -> Vec<Scored> {
    let (model, index, distance) = (&segs.model, &segs.index, &segs.distance);
    snap.active
        .iter()
        .enumerate()
        .map(|(r, &c)| Scored {
            client: c,
            split: if split.is_test[c] {
                "test"
            } else if is_labelled(snap.labels[c]) {
                "train"
            } else {
                "unlabelled"
            },
            label: snap.labels[c],
            segment: model.segments[index[r]].id,
            distance: distance[r],
            probability: probabilities[r],
        })
        .collect()
}

/// The previous model's segment id of every active client, when its features can be
/// computed on this book.
fn previous_assignment(
    prev: &Bundle,
    raw: &RawFeatures,
    cats: &[(String, Option<&crate::ingest::Coded>)],
    rows: &[usize],
) -> Option<Vec<u32>> {
    let x = prev.features.transform(raw, cats, rows).ok()?;
    let (idx, _) = prev
        .segments
        .assign(x.view(), &prev.features.columns())
        .ok()?;
    Some(idx.iter().map(|&i| prev.segments.segments[i].id).collect())
}

/// What the out-of-time check reads.
struct OutOfTimeInput<'a, 'b> {
    early: std::result::Result<Snapshot, String>,
    /// The run's own snapshot at the cut-off (features and labels reused).
    score_snap: &'b Snapshot,
    cats: &'b [(String, Option<&'a crate::ingest::Coded>)],
}

/// Fit at cut-off minus the horizon (labels end at the cut-off), score at the cut-off:
/// the lapse model's `form` refitted, its bins, at most its number of pairs (screened
/// anew) on axes of its size, at its pair penalty.
fn out_of_time(
    input: OutOfTimeInput,
    opts: &FitOptions,
    form: &lapse::Form,
    alpha: f64,
) -> std::result::Result<OutOfTime, String> {
    let OutOfTimeInput {
        early,
        score_snap,
        cats,
    } = input;
    let fit_snap = early?;
    let cutoff = score_snap.raw.cutoff;
    let early_cutoff = cutoff.month_end_offset(-opts.horizon.get());
    let early = early_cutoff;
    let (fit_rows, fit_y) = fit_snap.labelled();
    let fit_lapsed = fit_y.iter().filter(|&&v| v).count();
    if fit_lapsed < OOT_MIN_CLASS || fit_y.len() - fit_lapsed < OOT_MIN_CLASS {
        return Err(format!(
            "the history before {early} gives {fit_lapsed} lapsed of {} labelled clients: too \
             few for an out-of-time fit",
            fit_y.len()
        ));
    }
    let fitted = FittedFeatures::fit(&fit_snap.raw, cats, &fit_snap.active, MIN_LEVEL_SHARE)
        .map_err(|e| e.to_string())?;
    let x = fitted
        .transform_by_column(&fit_snap.raw, cats, &fit_rows)
        .map_err(|e| e.to_string())?;
    // Keep only what is used: the fit below expands this matrix.
    drop(fit_snap);
    let pair_bins = if form.pair_bins == 0 {
        opts.lapse.pair_bins.clone()
    } else {
        vec![form.pair_bins]
    };
    let fixed = lapse::LapseParams {
        alphas: vec![alpha],
        // The model's own form: its bins, smoothed or not.
        bins: if form.smooth { vec![] } else { vec![form.bins] },
        smooth_bins: if form.smooth { vec![form.bins] } else { vec![] },
        // At most the pairs the model kept (none for an additive model), on axes of its
        // size, at its pair penalty.
        pairs: form.pairs.len(),
        pair_bins,
        pair_penalties: vec![form.pair_penalty],
        folds: 2,
        ..(*opts.lapse).clone()
    }
    .check()
    .map_err(|e| e.to_string())?;
    let columns = fitted.columns();
    let data = lapse::TrainingPart {
        x: x.into(),
        y: &fit_y,
        columns: &columns,
        numeric: &fitted.numeric,
        categorical: &fitted.categorical,
    };
    let model = lapse::fit_without_intervals(data, &fixed, opts.seed).map_err(|e| e.to_string())?;
    let (score_rows, score_y) = score_snap.labelled();
    // Scored in blocks on both cores: no whole matrix of the scored clients is held.
    let p: Vec<f64> = score_rows
        .par_chunks(1 << 16)
        .map(|rows| {
            let xs = fitted.transform(&score_snap.raw, cats, rows)?;
            Ok(model.probabilities(xs.view()))
        })
        .collect::<Result<Vec<Vec<f64>>>>()
        .map_err(|e| e.to_string())?
        .concat();
    Ok(OutOfTime {
        fit_cutoff: early,
        score_cutoff: cutoff,
        metrics: lapse::metrics::evaluate(&p, &score_y, model.threshold),
    })
}

fn scores_csv(client_ids: &[String], scored: &[Scored]) -> String {
    let mut out = String::from("client_id,split,label,segment_id,distance,lapse_probability\n");
    for s in scored {
        let label = match s.label {
            Label::Lapsed => "lapsed",
            Label::Stayed => "stayed",
            Label::Excluded => "",
        };
        let id = client_ids.get(s.client).map_or("", String::as_str);
        out.push_str(&format!(
            "{},{},{label},{},{},{}\n",
            crate::fsio::csv_cell_for_people(id),
            s.split,
            s.segment,
            s.distance,
            s.probability
        ));
    }
    out
}
