//! A labeling run whose parts are labelled elsewhere (Spark executors, each holding the
//! clients of one part of the CLI's client hash): each part sends back a `PartReport`
//! (counts and sums, no client rows beyond the anonymous scores the percentiles need),
//! the parts are summed here in part order, and the run's report files are published as
//! `clientele-infer` writes them.

use super::label::{InferOutcome, RunAggregates};
use super::memory::FrameLabels;
use super::stage::Target;
use crate::bundle::{Bundle, Located};
use crate::config::{Config, LabelRules};
use crate::date::Date;
use crate::error::{Error, Result};
use crate::fsio::rundir::{OutputKind, Protected, Replace};
use crate::ingest::QualityReport;
use crate::labeling::{PartOf, PartTotals};
use crate::schema::Source;
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What one labelled part adds to its run.
#[derive(Serialize, Deserialize)]
pub struct PartReport {
    /// The bundle version that labelled the part: parts of other models are refused.
    pub model_version: String,
    pub part: PartOf,
    pub as_of: Date,
    pub as_of_why: String,
    pub quality: QualityReport,
    pub totals: PartTotals,
}

impl PartReport {
    /// As JSON (floats round-trip exactly).
    ///
    /// # Errors
    /// A value JSON cannot hold (a non-finite sum).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| Error::Runtime(format!("cannot encode a part's totals: {e}")))
    }

    /// Reads a part's report and checks it belongs to `b`.
    ///
    /// # Errors
    /// Text that is not a part report, or the report of another model.
    pub fn from_json(b: &Bundle, json: &[u8]) -> Result<Self> {
        let r: PartReport = serde_json::from_slice(json)
            .map_err(|e| Error::InvalidParameter(format!("not a clientele part report: {e}")))?;
        if r.model_version != b.version || !r.totals.fits(b) {
            return Err(Error::InvalidParameter(format!(
                "a part report of model {} cannot be added to a run of model {}",
                r.model_version, b.version
            )));
        }
        Ok(r)
    }
}

impl PartReport {
    /// Splits a labelled part (`label_part_frames`) into its labels and what it adds to
    /// its run.
    pub fn of(bundle: &Bundle, part: PartOf, done: FrameLabels) -> (DataFrame, PartReport) {
        let report = PartReport {
            model_version: bundle.version.clone(),
            part,
            as_of: done.as_of,
            as_of_why: done.as_of_why,
            quality: done.quality,
            totals: done.totals,
        };
        (done.labels, report)
    }
}

/// The parts of a run received so far, by part index.
pub struct RunTotals {
    parts: BTreeMap<u64, PartReport>,
    of: Option<usize>,
}

impl Default for RunTotals {
    fn default() -> Self {
        Self::new()
    }
}

impl RunTotals {
    pub fn new() -> Self {
        RunTotals {
            parts: BTreeMap::new(),
            of: None,
        }
    }

    /// Adds a part's report.
    ///
    /// # Errors
    /// A part received twice, or parts of runs split differently.
    pub fn add(&mut self, report: PartReport) -> Result<()> {
        let PartOf { index, parts } = report.part;
        if *self.of.get_or_insert(parts) != parts || index >= parts as u64 {
            return Err(Error::InvalidParameter(format!(
                "part {index} of {parts} does not belong to a run of {} parts",
                self.of.unwrap_or(parts)
            )));
        }
        if self.parts.insert(index, report).is_some() {
            return Err(Error::InvalidParameter(format!(
                "part {index} was reported twice"
            )));
        }
        Ok(())
    }

    /// The as-of date every part chose, or an error naming two that differ (each part
    /// applies the as-of rule to its own records when no date is given).
    ///
    /// # Errors
    /// Parts that chose different dates, or no part at all.
    pub fn as_of(&self) -> Result<(Date, String)> {
        let mut parts = self.parts.values();
        let first = parts
            .next()
            .ok_or_else(|| Error::NoData("no part of the run was labelled".into()))?;
        if let Some(other) = parts.find(|p| p.as_of != first.as_of) {
            return Err(Error::InvalidParameter(format!(
                "the parts chose different as-of dates ({} for part {}, {} for part {}): \
                 their latest records differ; set the as-of date explicitly",
                first.as_of, first.part.index, other.as_of, other.part.index
            )));
        }
        Ok((first.as_of, first.as_of_why.clone()))
    }

    /// The latest as-of date any part chose (the whole book's choice by the as-of rule,
    /// which is monotone in the latest record).
    pub fn latest_as_of(&self) -> Option<Date> {
        self.parts.values().map(|p| p.as_of).max()
    }

    /// Sums the parts in part order (so the sums are the same whatever order they came
    /// in) and publishes the run's report files into `out`, which appears complete or not
    /// at all: `data-quality.json`, `drift.json`, `summary.json`, the charts and
    /// `report.html`. The labels are not there: they stay where the parts wrote them.
    ///
    /// # Errors
    /// A missing part, parts with different as-of dates, too many invalid rows, an
    /// output directory that exists (without `overwrite`) or covers the model, and write
    /// failures.
    pub fn publish(
        self,
        located: &Located,
        config: &Config,
        out: &Path,
        opts: &PublishOptions,
    ) -> Result<InferOutcome> {
        let b = &located.bundle;
        let (as_of, as_of_why) = self.as_of()?;
        let expected = self.of.unwrap_or(0);
        if let Some(missing) = (0..expected as u64).find(|p| !self.parts.contains_key(p)) {
            return Err(Error::InvalidParameter(format!(
                "part {missing} of {expected} was never reported: the run is incomplete"
            )));
        }
        let replace = if opts.overwrite {
            Replace::EarlierOutput
        } else {
            Replace::Never
        };
        let protected = super::label::with_model(Protected::system(), located);
        let target = Target {
            dir: out,
            kind: OutputKind::Labels,
            replace,
            protected: &protected,
            flag: "out",
        };
        target.check()?;
        let mut quality = QualityReport::default();
        let mut totals = PartTotals::new(b);
        for (_, part) in self.parts {
            quality.merge(part.quality);
            totals.add(part.totals);
        }
        let rules = LabelRules::from_config(config)?.with_words(opts.words.clone())?;
        let run = RunAggregates {
            as_of,
            as_of_why,
            with_previous: opts.with_previous,
            min_report_count: opts.min_report_count,
            unused: opts.unused_columns.clone(),
        };
        let staging = target.stage()?;
        let quality = (&mut quality, None);
        run.publish(
            staging,
            &target,
            (located, &rules, config),
            quality,
            &totals,
        )
    }
}

/// How a run labelled in parts publishes its report.
#[derive(Clone, Debug)]
pub struct PublishOptions {
    pub overwrite: bool,
    /// Segments with fewer clients are suppressed in the report and charts.
    pub min_report_count: usize,
    /// Columns of the tables the contract does not use (`ingest::unused_columns_in`).
    pub unused_columns: Vec<(Source, String)>,
    /// The parts were labelled with last month's segments: report the migration.
    pub with_previous: bool,
    /// The words of the labels' display columns, the charts and the report.
    pub words: std::sync::Arc<crate::vocab::Vocabulary>,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            overwrite: false,
            min_report_count: super::label::MIN_REPORT_COUNT,
            unused_columns: Vec::new(),
            with_previous: false,
            words: crate::vocab::Vocabulary::english(),
        }
    }
}

/// A labeling run on tables held in memory (the Python package's `label_run`).
pub struct MemoryRun {
    /// One row per client, the columns of `labels.parquet`.
    pub labels: DataFrame,
    pub as_of: Date,
    pub as_of_why: String,
    pub quality: QualityReport,
    pub summary: crate::labeling::RunSummary,
    pub drift: crate::labeling::drift::DriftReport,
    /// Where the report files went, when asked for.
    pub out_dir: Option<PathBuf>,
}

/// Labels tables in memory as one part and sums the run as `clientele-infer` does on
/// files: the same summary (segments, outcomes with `previous`, migration) and drift;
/// with `out`, the report files published there as `RunTotals::publish` writes them
/// (`data-quality.json`, `drift.json`, `summary.json`, the charts, `report.html`).
/// `opts.unused_columns` and `opts.with_previous` are taken from the tables and
/// `previous`.
///
/// # Errors
/// As `label_part_frames`, and as `RunTotals::publish` with `out`.
pub fn label_run_frames(
    located: &Located,
    config: &Config,
    frames: &crate::ingest::Frames,
    as_of: Option<Date>,
    previous: Option<&crate::labeling::outcomes::PreviousRun>,
    out: Option<&Path>,
    opts: &PublishOptions,
) -> Result<MemoryRun> {
    let b = &located.bundle;
    let mut opts = opts.clone();
    opts.unused_columns = crate::ingest::unused_columns_in(config, &frames.columns())?;
    opts.with_previous = previous.is_some();
    let done = super::label_part_frames(
        b,
        config,
        frames,
        as_of,
        (PartOf::WHOLE, previous),
        &opts.words,
    )?;
    let (as_of, as_of_why) = (done.as_of, done.as_of_why.clone());
    let mut quality = done.quality.clone();
    quality.extract_date = config.extract_date().to_string();
    let (labels, report) = PartReport::of(b, PartOf::WHOLE, done);
    let run = |summary, drift, out_dir| MemoryRun {
        labels,
        as_of,
        as_of_why,
        quality,
        summary,
        drift,
        out_dir,
    };
    if let Some(out) = out {
        let mut totals = RunTotals::new();
        totals.add(report)?;
        let done = totals.publish(located, config, out, &opts)?;
        return Ok(run(done.summary, done.drift, Some(done.out_dir)));
    }
    // The sums as publishing makes them: added to an empty run's.
    let mut totals = PartTotals::new(b);
    totals.add(report.totals);
    let (summary, mut drift) = totals.summarise(
        b,
        &located.dir,
        as_of,
        opts.with_previous,
        opts.min_report_count,
    );
    drift.unused_columns = opts
        .unused_columns
        .iter()
        .map(|(s, c)| (s.name().to_string(), c.clone()))
        .collect();
    Ok(run(summary, drift, None))
}
