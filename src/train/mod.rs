//! The training run: load and check the data, compute point-in-time features, fit the
//! feature transform, the segments and the lapse model, evaluate on held-out and
//! out-of-time data, and publish a versioned bundle with its charts.

mod summary;

pub use summary::summary;

use crate::bundle::{self, Bundle, DataFingerprint, DriftReference, FileFingerprint};
pub use crate::bundle::{OutOfTime, TrainMetrics};
use crate::config::Mode;
use crate::date::{Date, DateChoice};
use crate::error::{Error, Result};
use crate::features::{self, FittedFeatures, Label, RawFeatures};
use crate::fsio::rundir::{OutputKind, Protected, Replace, Staging};
use crate::ingest::spec::DataSpec;
use crate::ingest::Book;
use crate::lapse::{self, metrics::Confusion};
use crate::progress::Stage;
use crate::segment::{self, SegmentModel};
use crate::stats::Distribution;
use ndarray::{Array2, Axis};
use std::path::{Path, PathBuf};

/// Levels held by fewer training clients than this share go to `other`.
pub const MIN_LEVEL_SHARE: f64 = 0.01;
/// Out-of-time check needs at least this many clients of each class.
const OOT_MIN_CLASS: usize = 20;

/// What the user asked for (flags over config).
#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub as_of: Option<Date>,
    pub horizon_months: i32,
    pub seed: u64,
    pub k: Option<usize>,
    pub threshold: Option<lapse::ThresholdRule>,
    pub previous: Option<PathBuf>,
    pub names: Option<PathBuf>,
    pub models_dir: PathBuf,
    pub out_dir: PathBuf,
    /// Also save every client's training-time scores in the bundle (`scores.csv`).
    pub save_scores: bool,
    pub charts: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            as_of: None,
            horizon_months: 12,
            seed: 42,
            k: None,
            threshold: None,
            previous: None,
            names: None,
            models_dir: PathBuf::from("models"),
            out_dir: PathBuf::from("notebooks-out"),
            save_scores: false,
            charts: true,
        }
    }
}

/// A finished run.
pub struct TrainOutcome {
    pub bundle: Bundle,
    /// Why the cut-off is what it is (flag or data), for the console.
    pub cutoff_why: String,
    pub bundle_dir: PathBuf,
    pub charts_dir: Option<PathBuf>,
    pub quality_dir: PathBuf,
}

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
    if let Some(d) = as_of.filter(|&d| d > book.extract_date) {
        return Err(Error::InvalidParameter(format!(
            "--as-of {d} is after the data's extract date {}",
            book.extract_date
        )));
    }
    let given = |date| DateChoice {
        date,
        why: "set by --as-of".into(),
    };
    if book.mode == Mode::Flat {
        return Ok(as_of.map_or_else(
            || DateChoice {
                date: book.extract_date,
                why: "the extract date (flat data has no dates)".into(),
            },
            given,
        ));
    }
    let end = features::data_end(book)
        .ok_or_else(|| Error::NoData("the data holds no dated record".into()))?;
    let start = data_start(book).unwrap_or(end);
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
    let from = |t: &Option<crate::ingest::Table>, f: &str| {
        t.as_ref()
            .and_then(|t| t.dates(f))
            .and_then(|d| d.iter().flatten().min().copied())
    };
    [
        from(&book.policies, "start_date"),
        from(&book.transactions, "date"),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// Every client's features, labels and model matrix at one cut-off.
struct Snapshot {
    raw: RawFeatures,
    labels: Vec<Label>,
    /// Clients in force (or transacting) at the cut-off: the book that is modelled.
    active: Vec<usize>,
}

fn snapshot(book: &Book, cutoff: Date, horizon: i32, data_end: Date) -> Result<Snapshot> {
    let raw = features::compute(book, cutoff);
    let labels = features::lapse_labels(book, cutoff, horizon, data_end)?;
    let active = (0..book.n_clients()).filter(|&i| raw.active[i]).collect();
    Ok(Snapshot {
        raw,
        labels,
        active,
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

/// Runs training end to end.
///
/// # Errors
/// Bad data, settings or flags (exit 2) and I/O failures (exit 1), each with its reason.
pub fn train(spec: &DataSpec, opts: &TrainOptions) -> Result<TrainOutcome> {
    let settings = Settings::check(spec, opts)?;
    let stage = Stage::new("load", 1);
    let loaded = spec.load(true, None)?;
    stage.finish();
    let quality_dir = opts.out_dir.join("train-data-quality");
    crate::ingest::spec::write_quality(&loaded, &quality_dir, &settings.protected, "--out")?;
    loaded.check_thresholds()?;
    let book = &loaded.book;

    let cutoff_choice = choose_cutoff(book, opts.as_of, opts.horizon_months)?;
    let cutoff = cutoff_choice.date;
    let stage = Stage::new("features", 1);
    let snap = snapshot(
        book,
        cutoff,
        opts.horizon_months,
        label_end(book, cutoff, opts),
    )?;
    stage.finish();
    let split = Split::of(
        &snap,
        book.n_clients(),
        settings.lapse.test_share,
        opts.seed,
    )?;
    let cats = features::categorical_columns(book);
    let design = Design::fit(&snap, &cats, &split)?;

    let stage = Stage::new(
        "segments",
        segment::progress_steps(&settings.segments, snap.active.len()),
    );
    let segs = fit_segments(&design, &snap, &cats, &settings, opts, &stage)?;
    stage.finish();
    let stage = Stage::new("lapse", lapse::progress_steps(&settings.lapse));
    let fit = LapseFit::fit(&design, &split, &settings.lapse, opts.seed, &stage)?;
    stage.finish();
    let stage = Stage::new("out-of-time", 1);
    let oot = out_of_time(book, &snap, opts, fit.model.alpha, &settings.lapse);
    stage.finish();

    let metrics = train_metrics(
        book,
        &snap,
        &split,
        &design,
        &segs.model,
        &fit,
        oot,
        opts,
        cutoff,
    );
    let mut sorted_p = fit.probabilities.clone();
    sorted_p.sort_by(f64::total_cmp);
    let drift = DriftReference {
        segment_shares: segs
            .model
            .segments
            .iter()
            .map(|s| (s.id, s.share))
            .collect(),
        score: Distribution::fit_sorted(&sorted_p, 0.0),
    };
    let mut bundle = Bundle {
        format_version: bundle::FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: String::new(),
        version: String::new(),
        seed: opts.seed,
        config: spec.config.clone(),
        cutoff,
        horizon_months: opts.horizon_months,
        data: fingerprint(spec, book, &snap.active, split.labelled.len())?,
        cleaning: loaded.cleaning.clone(),
        features: design.fitted,
        segments: segs.model,
        lapse: fit.model,
        metrics,
        drift,
    };
    let scores = opts.save_scores.then(|| {
        let assigned = (segs.index.as_slice(), segs.distance.as_slice());
        let scored = scored_clients(
            &snap,
            &split,
            &bundle.segments,
            assigned,
            &fit.probabilities,
        );
        scores_csv(book, &scored)
    });
    let bundle_dir = bundle.publish(
        &opts.models_dir,
        &bundle::now_utc(),
        &names_file(&bundle.segments),
        scores.as_deref(),
    )?;
    let charts_dir = opts
        .charts
        .then(|| {
            let dir = opts.out_dir.join(format!("train-{}", bundle.version));
            publish_charts(&bundle, &dir, &settings.protected)
        })
        .transpose()?;
    Ok(TrainOutcome {
        bundle,
        cutoff_why: cutoff_choice.why,
        bundle_dir,
        charts_dir,
        quality_dir,
    })
}

/// The run's settings, checked once: model parameters (flags over config), the previous
/// model, and the paths no output may cover.
struct Settings {
    segments: crate::params::SegmentParams,
    lapse: lapse::LapseParams,
    previous: Option<bundle::Located>,
    protected: Protected,
}

impl Settings {
    fn check(spec: &DataSpec, opts: &TrainOptions) -> Result<Self> {
        let mut segments = spec.config.segments.clone();
        if opts.k.is_some() {
            segments.k = opts.k;
        }
        segments.check()?;
        let mut lapse_params = spec.config.lapse.clone();
        if let Some(t) = opts.threshold {
            lapse_params.threshold = t;
        }
        lapse_params.check()?;
        if !(1..=60).contains(&opts.horizon_months) {
            return Err(Error::InvalidParameter(format!(
                "--horizon-months must be between 1 and 60, got {}",
                opts.horizon_months
            )));
        }
        let previous = opts.previous.as_deref().map(Bundle::load).transpose()?;
        // New versions go beside the previous model; charts and reports never cover a model.
        spec.protected().check("--models", &opts.models_dir)?;
        let protected = protected_paths(spec, opts, previous.as_ref());
        protected.check("--out", &opts.out_dir)?;
        Ok(Settings {
            segments,
            lapse: lapse_params,
            previous,
            protected,
        })
    }
}

/// Where the lapse label's window ends: the data's last full month (flat: the horizon).
fn label_end(book: &Book, cutoff: Date, opts: &TrainOptions) -> Date {
    if book.mode == Mode::Flat {
        cutoff.month_end_offset(opts.horizon_months)
    } else {
        features::data_end(book).map_or(cutoff, Date::last_full_month_end)
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
    fn of(snap: &Snapshot, n_clients: usize, test_share: f64, seed: u64) -> Result<Self> {
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
        let mut is_test = vec![false; n_clients];
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
    settings: &Settings,
    opts: &TrainOptions,
    stage: &Stage,
) -> Result<Segments> {
    let input = segment::SegmentInput {
        fitted: &d.fitted,
        raw: &snap.raw,
        x: d.x.view(),
        rows: &snap.active,
        labels: &snap.labels,
    };
    let mut model =
        segment::fit_with_progress(&input, &settings.segments, opts.seed, &stage.ticker())?;
    let (index, distance) = model.assign(d.x.view(), &d.columns)?;
    if let Some(prev) = &settings.previous {
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
    fn fit(
        d: &Design,
        split: &Split,
        params: &lapse::LapseParams,
        seed: u64,
        stage: &Stage,
    ) -> Result<Self> {
        let xtr = d.x.select(Axis(0), &d.rows(split, &split.train));
        let ytr: Vec<bool> = split.train.iter().map(|&p| split.y[p]).collect();
        let model =
            lapse::fit_with_progress(xtr.view(), &ytr, &d.columns, params, seed, &stage.ticker())?;
        drop(xtr);
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
        Ok(LapseFit {
            model,
            probabilities,
            test,
            test_top10,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn train_metrics(
    book: &Book,
    snap: &Snapshot,
    split: &Split,
    design: &Design,
    segments: &SegmentModel,
    fit: &LapseFit,
    oot: std::result::Result<OutOfTime, String>,
    opts: &TrainOptions,
    cutoff: Date,
) -> TrainMetrics {
    let model = &fit.model;
    let cv_roc_auc = model
        .cv
        .iter()
        .find(|c| c.alpha == model.alpha)
        .map_or(f64::NAN, |c| c.roc_auc);
    let (out_of_time, out_of_time_skipped) = match oot {
        Ok(o) => (Some(o), None),
        Err(reason) => (None, Some(reason)),
    };
    TrainMetrics {
        cutoff,
        horizon_months: opts.horizon_months,
        clients: book.n_clients(),
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
    }
}

/// Every active client's training-time result, for `scores.csv`.
fn scored_clients(
    snap: &Snapshot,
    split: &Split,
    model: &SegmentModel,
    (index, distance): (&[usize], &[f64]),
    probabilities: &[f64],
) -> Vec<Scored> {
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

/// What a training run reads and so must never write over.
fn protected_paths(
    spec: &DataSpec,
    opts: &TrainOptions,
    previous: Option<&bundle::Located>,
) -> Protected {
    let mut p = spec
        .protected()
        .with("the models directory", &opts.models_dir);
    if let Some(prev) = previous {
        p = p.with("the previous model", &prev.dir);
    }
    if let Some(names) = &opts.names {
        p = p.with("the names file", names);
    }
    p
}

/// Draws the training charts into a staging directory and publishes it whole. A chart
/// directory of the same version already there holds the same charts (the version names
/// the bundle's content) and is kept.
fn publish_charts(bundle: &Bundle, dir: &Path, protected: &Protected) -> Result<PathBuf> {
    let staging = Staging::new(dir, OutputKind::TrainingCharts)?;
    crate::charts::training::draw_all(bundle, staging.path())?;
    match staging.publish(Replace::Never, protected, "--out") {
        Err(Error::Exists { .. }) => Ok(dir.to_path_buf()),
        other => other,
    }
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

/// Fit at cut-off minus the horizon (labels end at the cut-off), score at the cut-off.
/// `score_snap` is the run's own snapshot at the cut-off (features and labels reused).
fn out_of_time(
    book: &Book,
    score_snap: &Snapshot,
    opts: &TrainOptions,
    alpha: f64,
    params: &lapse::LapseParams,
) -> std::result::Result<OutOfTime, String> {
    if book.mode == Mode::Flat {
        return Err("flat data has no dates: no out-of-time check".into());
    }
    let cutoff = score_snap.raw.cutoff;
    let early = cutoff.month_end_offset(-opts.horizon_months);
    let fit_snap = snapshot(book, early, opts.horizon_months, cutoff).map_err(|e| e.to_string())?;
    let (fit_rows, fit_y) = fit_snap.labelled();
    let fit_lapsed = fit_y.iter().filter(|&&v| v).count();
    if fit_lapsed < OOT_MIN_CLASS || fit_y.len() - fit_lapsed < OOT_MIN_CLASS {
        return Err(format!(
            "the history before {early} gives {fit_lapsed} lapsed of {} labelled clients: too \
             few for an out-of-time fit",
            fit_y.len()
        ));
    }
    let cats = features::categorical_columns(book);
    let fitted = FittedFeatures::fit(&fit_snap.raw, &cats, &fit_snap.active, MIN_LEVEL_SHARE)
        .map_err(|e| e.to_string())?;
    let x = fitted
        .transform(&fit_snap.raw, &cats, &fit_rows)
        .map_err(|e| e.to_string())?;
    let fixed = lapse::LapseParams {
        alphas: vec![alpha],
        folds: 2,
        ..params.clone()
    };
    let model = lapse::fit(x.view(), &fit_y, &fitted.columns(), &fixed, opts.seed)
        .map_err(|e| e.to_string())?;
    let (score_rows, score_y) = score_snap.labelled();
    let xs: Array2<f64> = fitted
        .transform(&score_snap.raw, &cats, &score_rows)
        .map_err(|e| e.to_string())?;
    let p = model.probabilities(xs.view());
    Ok(OutOfTime {
        fit_cutoff: early,
        score_cutoff: cutoff,
        metrics: lapse::metrics::evaluate(&p, &score_y, model.threshold),
    })
}

fn fingerprint(
    spec: &DataSpec,
    book: &Book,
    active: &[usize],
    labelled: usize,
) -> Result<DataFingerprint> {
    use rayon::prelude::*;
    let mut paths: Vec<(String, PathBuf)> = if spec.config.mode == Mode::Flat {
        spec.config
            .flat
            .iter()
            .map(|f| ("flat".to_string(), spec.data_dir.join(&f.path)))
            .collect()
    } else {
        spec.config
            .resolve_sources(&spec.data_dir)?
            .into_iter()
            .map(|(s, p, _)| (s.name().to_string(), p))
            .collect()
    };
    paths.sort();
    let files = paths
        .par_iter()
        .map(|(s, p)| FileFingerprint::of(s, p))
        .collect::<Result<Vec<_>>>()?;
    Ok(DataFingerprint {
        files,
        clients: book.n_clients(),
        active_clients: active.len(),
        labelled_clients: labelled,
    })
}

fn names_file(model: &SegmentModel) -> String {
    let mut out = String::from(
        "# Segment names of this model. Copy, edit and pass with --names to rename segments\n\
         # when retraining (ids carry over with --previous).\n",
    );
    for s in &model.segments {
        out.push_str(&format!("{} = {:?}\n", s.id, s.name));
    }
    out
}

fn scores_csv(book: &Book, scored: &[Scored]) -> String {
    let mut out = String::from("client_id,split,label,segment_id,distance,lapse_probability\n");
    for s in scored {
        let label = match s.label {
            Label::Lapsed => "lapsed",
            Label::Stayed => "stayed",
            Label::Excluded => "",
        };
        let id = book.client_ids.get(s.client).map_or("", String::as_str);
        out.push_str(&format!(
            "{},{},{label},{},{},{}\n",
            crate::fsio::csv_field(id),
            s.split,
            s.segment,
            s.distance,
            s.probability
        ));
    }
    out
}

/// Where a run's outputs go, for the console.
pub fn describe_paths(outcome: &TrainOutcome) -> Vec<(String, &Path)> {
    let mut v = vec![
        ("bundle".to_string(), outcome.bundle_dir.as_path()),
        ("data quality".to_string(), outcome.quality_dir.as_path()),
    ];
    if let Some(c) = &outcome.charts_dir {
        v.push(("charts".to_string(), c.as_path()));
    }
    v
}
