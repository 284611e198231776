//! The training run: check the settings and outputs, load the data and publish its
//! quality report, fit the bundle (`train::fit`), publish it as a new version and draw
//! its charts. One sequence for files (the CLI), tables in memory (Python) and rows
//! sampled from parts (Spark).

use super::spec::inputs_protected;
use super::stage::publish_quality;
use crate::bundle::{self, Bundle, FileFingerprint};
use crate::date::Date;
use crate::error::{Error, Result};
use crate::fsio::rundir::{OutputKind, Protected, Replace, Staging};
use crate::ingest::{QuarantinedRow, SourceFiles};
use crate::lapse;
use crate::params::Horizon;
use crate::segment::SegmentModel;
use crate::train::{fit_with, parts, FitOptions, Fitted, DEFAULT_HORIZON_MONTHS, DEFAULT_SEED};
use std::path::{Path, PathBuf};

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
    /// Parts the book is split into (`None`: by its size, as labeling splits it); a
    /// book in more than one part is fitted on a sample (`[training] fit_sample`).
    pub partitions: Option<usize>,
    pub charts: bool,
    /// The words the charts are written in.
    pub words: std::sync::Arc<crate::vocab::Vocabulary>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            as_of: None,
            horizon_months: DEFAULT_HORIZON_MONTHS,
            seed: DEFAULT_SEED,
            k: None,
            threshold: None,
            previous: None,
            names: None,
            models_dir: PathBuf::from("models"),
            out_dir: PathBuf::from("notebooks-out"),
            save_scores: false,
            partitions: None,
            charts: true,
            words: crate::vocab::Vocabulary::english(),
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

/// `train` on tables in memory (the Python package's entry point): the same checks,
/// quality report, fit, published bundle and charts; the bundle records no source files.
///
/// # Errors
/// As `train`, naming the tables (`<clients table>`) where files would be named.
pub fn train_frames(
    config: &crate::config::Config,
    frames: &crate::ingest::Frames,
    opts: &TrainOptions,
) -> Result<TrainOutcome> {
    let settings = Settings::check(config, inputs_protected(config, None), opts)?;
    let load_opts = crate::ingest::LoadOptions::from_config(config, true);
    let input = crate::ingest::Input::Frames(frames);
    let loaded = crate::ingest::load_from(config, input, &load_opts, None)?;
    let tables = table_fingerprints(&loaded.report);
    train_loaded(opts, &settings, (loaded, None), tables)
}

/// Tables in memory leave no file to fingerprint: each source trained on is recorded by
/// its table's name, without size or digest, so that labeling still requires every one
/// (`labeling::check_book`) as it does after training on files.
fn table_fingerprints(report: &crate::ingest::QualityReport) -> Vec<FileFingerprint> {
    report
        .sources
        .iter()
        .map(|s| FileFingerprint {
            source: s.source.name().to_string(),
            file: crate::ingest::frame_name(s.source).display().to_string(),
            bytes: 0,
            sha256: String::new(),
        })
        .collect()
}

/// The part of a training run after loading: quality report, fit, publish, charts.
/// `raws`: the snapshots' features when they were computed as the book loaded
/// (`train::fit_with`).
pub(super) fn train_loaded(
    opts: &TrainOptions,
    settings: &Settings,
    (mut loaded, raws): (
        crate::ingest::Loaded,
        Option<Vec<crate::features::RawFeatures>>,
    ),
    files: Vec<FileFingerprint>,
) -> Result<TrainOutcome> {
    let quality_dir = opts.out_dir.join("train-data-quality");
    let (report, quarantine) = (&loaded.report, Some(loaded.quarantine.as_slice()));
    publish_quality(
        &quality_dir,
        report,
        quarantine,
        &settings.protected,
        "--out",
    )?;
    loaded.check_thresholds()?;

    let fitted = fit_with(
        &settings.config,
        &mut loaded,
        &settings.fit,
        settings.previous.as_ref(),
        raws,
    )?;
    let scores = fitted.scores_csv(&loaded.book.client_ids);
    publish(opts, settings, fitted, files, scores, quality_dir)
}

/// Trains on sampled rows of a book split into parts (`parts`): `quality` is the parts'
/// data-quality reports merged; the plan's cut-off and horizon must be the options'.
/// The same checks, quality report (without quarantined rows: they stayed in the
/// parts), fit, published bundle and charts as `train`; no lifecycle outputs (see
/// `SampledFit`, which adds the parts' lifecycle counts).
///
/// # Errors
/// As `train`; options that disagree with the plan.
pub fn train_sampled(
    config: &crate::config::Config,
    plan: &parts::TrainPlan,
    sampled: parts::SampledBook,
    quality: &crate::ingest::QualityReport,
    opts: &TrainOptions,
) -> Result<TrainOutcome> {
    SampledFit::fit(config, plan, sampled, quality, opts)?.publish(None)
}

/// A bundle fitted on sampled rows, not yet published: the parts can count their
/// lifecycle with it (`train::parts::part_lifecycle`) before it is published with its
/// charts.
pub struct SampledFit {
    opts: TrainOptions,
    settings: Settings,
    fitted: Fitted,
    scores: Option<String>,
    tables: Vec<FileFingerprint>,
    quality_dir: PathBuf,
}

impl SampledFit {
    /// Checks the settings, publishes the quality report and fits (as `train_sampled`).
    ///
    /// # Errors
    /// As `train_sampled`.
    pub fn fit(
        config: &crate::config::Config,
        plan: &parts::TrainPlan,
        sampled: parts::SampledBook,
        quality: &crate::ingest::QualityReport,
        opts: &TrainOptions,
    ) -> Result<Self> {
        let settings = Settings::check(config, inputs_protected(config, None), opts)?;
        Self::fit_checked(settings, plan, sampled, (quality, None), opts)
    }

    /// `fit` with settings already checked and the quarantined rows, when the parts
    /// kept them, published beside the quality report.
    pub(super) fn fit_checked(
        settings: Settings,
        plan: &parts::TrainPlan,
        sampled: parts::SampledBook,
        (quality, quarantine): (&crate::ingest::QualityReport, Option<&[QuarantinedRow]>),
        opts: &TrainOptions,
    ) -> Result<Self> {
        let quality_dir = opts.out_dir.join("train-data-quality");
        publish_quality(
            &quality_dir,
            quality,
            quarantine,
            &settings.protected,
            "--out",
        )?;
        quality.check_thresholds(settings.config.cleaning.max_invalid_percent)?;
        let scores_ids = settings.fit.keep_scores.then(|| sampled.client_ids.clone());
        let fitted = parts::fit_sampled(
            &settings.config,
            plan,
            sampled,
            &settings.fit,
            settings.previous.as_ref(),
        )?;
        let scores = scores_ids.and_then(|ids| fitted.scores_csv(&ids));
        Ok(SampledFit {
            opts: opts.clone(),
            tables: table_fingerprints(quality),
            settings,
            fitted,
            scores,
            quality_dir,
        })
    }

    /// The bundle records these source files (a book read from files) instead of tables.
    pub(super) fn with_files(mut self, files: Vec<FileFingerprint>) -> Self {
        self.tables = files;
        self
    }

    /// The fitted bundle (unpublished: no version yet).
    pub fn bundle(&self) -> &Bundle {
        &self.fitted.bundle
    }

    /// Publishes the bundle and its charts, with `lifecycle` (the parts' counts added
    /// up) beside the charts when given.
    ///
    /// # Errors
    /// As `train`'s publishing.
    pub fn publish(
        mut self,
        lifecycle: Option<crate::lifecycle::TrainingLifecycle>,
    ) -> Result<TrainOutcome> {
        self.fitted.lifecycle = lifecycle;
        publish(
            &self.opts,
            &self.settings,
            self.fitted,
            self.tables,
            self.scores,
            self.quality_dir,
        )
    }
}

/// Publishes a fitted bundle as a new version and draws its charts.
fn publish(
    opts: &TrainOptions,
    settings: &Settings,
    fitted: Fitted,
    files: Vec<FileFingerprint>,
    scores: Option<String>,
    quality_dir: PathBuf,
) -> Result<TrainOutcome> {
    let lifecycle = fitted.lifecycle;
    let mut bundle = fitted.bundle;
    bundle.data.files = files;
    let bundle_dir = bundle.publish(
        &opts.models_dir,
        &bundle::now_utc(),
        &names_file(&bundle.segments),
        scores.as_deref(),
    )?;
    let charts_dir = opts
        .charts
        .then(|| {
            // A version's charts are drawn once per language (the version names the
            // bundle's content, so charts already there are the same).
            let name = if opts.words.is_english() {
                format!("train-{}", bundle.version)
            } else {
                format!("train-{}-{}", bundle.version, opts.words.lang())
            };
            let dir = opts.out_dir.join(name);
            let outputs = ChartOutputs {
                protected: &settings.protected,
                words: &opts.words,
                lifecycle: lifecycle.as_ref(),
            };
            publish_charts(&bundle, &dir, &outputs)
        })
        .transpose()?;
    Ok(TrainOutcome {
        bundle,
        cutoff_why: fitted.cutoff_why,
        bundle_dir,
        charts_dir,
        quality_dir,
    })
}

/// The run's settings, checked once before any data is read: model parameters (flags
/// over config), the previous model, and the paths no output may cover.
pub(super) struct Settings {
    pub(super) config: crate::config::Config,
    pub(super) fit: FitOptions,
    previous: Option<bundle::Located>,
    protected: Protected,
}

impl Settings {
    /// `inputs`: what the run reads (`DataSpec::protected`, `inputs_protected`).
    pub(super) fn check(
        config: &crate::config::Config,
        inputs: Protected,
        opts: &TrainOptions,
    ) -> Result<Self> {
        let mut segments = config.segments.clone();
        if opts.k.is_some() {
            segments.k = opts.k;
        }
        let mut lapse_params = config.lapse.clone();
        if let Some(t) = opts.threshold {
            lapse_params.threshold = t;
        }
        let fit = FitOptions {
            as_of: opts.as_of,
            horizon: Horizon::months(opts.horizon_months)?,
            seed: opts.seed,
            segments: segments.check()?,
            lapse: lapse_params.check()?,
            names: opts.names.clone(),
            keep_scores: opts.save_scores,
        };
        let previous = opts.previous.as_deref().map(Bundle::load).transpose()?;
        // New versions go beside the previous model; charts and reports never cover a model.
        crate::fsio::rundir::check_models_dir(&opts.models_dir, &inputs, bundle::LATEST_FILE)?;
        let protected = protected_paths(inputs, opts, previous.as_ref());
        protected.check("--out", &opts.out_dir)?;
        Ok(Settings {
            config: config.clone(),
            fit,
            previous,
            protected,
        })
    }
}

/// What a training run reads and so must never write over.
fn protected_paths(
    inputs: Protected,
    opts: &TrainOptions,
    previous: Option<&bundle::Located>,
) -> Protected {
    let mut p = inputs.with("the models directory", &opts.models_dir);
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
fn publish_charts(bundle: &Bundle, dir: &Path, outputs: &ChartOutputs) -> Result<PathBuf> {
    let staging = Staging::new(dir, OutputKind::TrainingCharts)?;
    crate::charts::training::draw_all(bundle, staging.path(), outputs.words)?;
    if let Some(l) = outputs.lifecycle {
        write_lifecycle(bundle, l, staging.path(), outputs.words)?;
    }
    match staging.publish(Replace::Never, outputs.protected, "--out") {
        Err(Error::Exists { .. }) => Ok(dir.to_path_buf()),
        other => other,
    }
}

/// What the training charts directory gets beside the bundle's charts.
struct ChartOutputs<'a> {
    protected: &'a Protected,
    words: &'a crate::vocab::Vocabulary,
    lifecycle: Option<&'a crate::lifecycle::TrainingLifecycle>,
}

/// `persistency.csv`, `incidence.csv` and their charts, as of the cut-off.
fn write_lifecycle(
    bundle: &Bundle,
    l: &crate::lifecycle::TrainingLifecycle,
    dir: &Path,
    words: &crate::vocab::Vocabulary,
) -> Result<()> {
    use crate::lifecycle::{persistency, training};
    let rows = l.persistency.rows();
    let csv = persistency::to_csv(&rows);
    crate::fsio::write_atomic(&dir.join("persistency.csv"), csv.as_bytes())?;
    let incidence = l.incidence();
    let csv = training::incidence_csv(&incidence);
    crate::fsio::write_atomic(&dir.join("incidence.csv"), csv.as_bytes())?;
    let say = crate::charts::Say::new(bundle, words);
    crate::charts::lifecycle::persistency(&say, &rows, dir)?;
    crate::charts::lifecycle::incidence(&say, &incidence, dir)?;
    Ok(())
}

/// The SHA-256 of every data file the run read, by source.
pub(super) fn file_fingerprints(files: &SourceFiles) -> Result<Vec<FileFingerprint>> {
    use rayon::prelude::*;
    let mut paths: Vec<(String, PathBuf)> = files
        .flat()
        .map(|flat| ("flat".to_string(), flat.to_path_buf()))
        .into_iter()
        .chain(
            files
                .files()
                .iter()
                .map(|f| (f.source.name().to_string(), f.path.clone())),
        )
        .collect();
    paths.sort();
    paths
        .par_iter()
        .map(|(s, p)| FileFingerprint::of(s, p))
        .collect()
}

pub(crate) fn names_file(model: &SegmentModel) -> String {
    let mut out = String::from(
        "# Segment names of this model. Copy, edit and pass with --names to rename segments\n\
         # when retraining (ids carry over with --previous).\n",
    );
    for s in &model.segments {
        out.push_str(&format!("{} = {:?}\n", s.id, s.name));
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
