//! The training entry from files (`train`): the book in one piece, or, when it is too
//! large for memory, split into parts by client hash (as labeling splits it) and trained the way the Spark runner trains
//! (`train::parts`): every part's facts give the cut-off and cleaning statistics, every
//! part's point-in-time features and labels are computed, the models are fitted on a
//! stratified sample of those rows (`[training] fit_sample`), and every part counts its
//! persistency and exits with the fitted segments, from what its features pass kept
//! (`train::parts::PartLifecycleInputs`), so that each part is loaded twice.

use super::train::{
    file_fingerprints, train_loaded, SampledFit, Settings, TrainOptions, TrainOutcome,
};
use super::DataSpec;
use crate::error::{Error, Result};
use crate::features::{BusinessFacts, FeatureStream, RawFeatures};
use crate::ingest::parts::BookParts;
use crate::ingest::{Input, Loaded, QualityReport, QuarantinedRow, SourceFiles};
use crate::progress::Stage;
use crate::train::parts::{self, ClientSample, PartRows, SampledBook, TrainPlan};
use polars::prelude::{BooleanChunked, DataFrame, IntoColumn, NewChunkedArray, UInt32Chunked};

/// Runs training end to end: checks the settings and output paths, loads the data and
/// writes its quality report, fits the bundle (`fit`), publishes it as a new version and
/// draws its charts.
///
/// # Errors
/// Bad data, settings or flags (exit 2) and I/O failures (exit 1), each with its reason.
pub fn train(spec: &DataSpec, opts: &TrainOptions) -> Result<TrainOutcome> {
    let settings = Settings::check(&spec.config, spec.protected(), opts)?;
    let files = spec.resolve()?;
    let parts = BookParts::open(&spec.config, &files, opts.partitions, &opts.out_dir, false)?;
    if parts.len() > 1 {
        return train_in_parts(&files, parts, opts, settings);
    }
    let (loaded, fingerprints) = std::thread::scope(|scope| {
        // The files' SHA-256 (the bundle records them) beside the reading, which
        // leaves part of a core idle; joined on every path, a panic passed on.
        let fingerprints = scope.spawn(|| file_fingerprints(&files));
        let stage = Stage::new("load", 1);
        let loaded = load_streaming(spec, &files, &settings);
        stage.finish();
        let fingerprints = fingerprints
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (loaded, fingerprints)
    });
    train_loaded(opts, &settings, loaded?, fingerprints?)
}

/// Loads the book whole, the snapshots' features computed as it loads and the sources
/// only they read freed (`features::FeatureStream`). When a source read late moved the
/// data's last month after earlier ones were freed, the book is read again whole and
/// the features are computed from it (`train::fit_with` without features).
fn load_streaming(
    spec: &DataSpec,
    files: &SourceFiles,
    settings: &Settings,
) -> Result<(Loaded, Option<Vec<RawFeatures>>)> {
    let (as_of, horizon) = (settings.fit.as_of, settings.fit.horizon.get());
    let guess = crate::train::cutoff_guess(spec.config.mode, as_of, horizon);
    let mut stream = FeatureStream::new(guess).with_facts(BusinessFacts::Skipped);
    let loaded = spec.load_with(files, true, &mut stream)?;
    let book = &loaded.book;
    let raws = match crate::train::snapshot_cutoffs(book, as_of, horizon) {
        Some(cutoffs) => stream.finish(book, &cutoffs)?,
        // No snapshot (flat) or a cut-off `fit` refuses: it says why, from this book.
        None => return Ok((loaded, None)),
    };
    if raws.is_none() {
        drop(loaded);
        let again = crate::progress::timed("read again: the last month moved", || {
            spec.load(files, true)
        })?;
        return Ok((again, None));
    }
    Ok((loaded, raws))
}

/// Column of the sampled rows holding each client's data row in the clients table.
const ORDER: &str = "__order";

/// Trains on `files` split into `book_parts` (written under `--out`, removed after).
fn train_in_parts(
    files: &SourceFiles,
    book_parts: BookParts,
    opts: &TrainOptions,
    settings: Settings,
) -> Result<TrainOutcome> {
    let config = settings.config.clone();
    let parts = book_parts.files();
    // Every client's cleaning values count (`fit_sample` samples feature rows only); the
    // slots of the seeded hash order the stratified sample.
    let every_client = ClientSample::new(None, 0, opts.seed);
    let facts = each_part("facts", parts, |part| {
        parts::part_facts_of(&config, Input::Files(part), &every_client)
    })?;
    let plan = TrainPlan::of(&config, facts, opts.as_of, opts.horizon_months)?;
    let counting = opts.charts && config.mode == crate::config::Mode::Relational;
    let (rows, kept): (Vec<_>, Vec<_>) = each_part("features", parts, |part| {
        let input = Input::Files(part);
        parts::part_rows_and_lifecycle_of(&config, input, &plan, &every_client, counting)
    })?
    .into_iter()
    .unzip();
    let (sampled, quality, quarantine) = sampled_rows(&plan, rows, config.training.fit_sample)?;
    let fitted = SampledFit::fit_checked(
        settings,
        &plan,
        sampled,
        (&quality, Some(&quarantine)),
        opts,
    )?
    .with_files(file_fingerprints(files)?);
    let lifecycle = if counting {
        let stage = Stage::new("lifecycle", parts.len() as u64);
        // Parts counted side by side (the count is single-threaded) and added up in
        // part order: the same sums on any thread count.
        use rayon::prelude::*;
        let counts = parts
            .par_iter()
            .zip(&kept)
            .map(|(part, kept)| {
                let counted = kept
                    .as_ref()
                    .and_then(|k| k.count(&config, plan.cutoff, fitted.bundle()))
                    .unwrap_or_else(|| {
                        parts::part_lifecycle_of(
                            &config,
                            Input::Files(part),
                            &plan,
                            fitted.bundle(),
                        )
                    });
                stage.inc();
                counted
            })
            .collect::<Result<Vec<_>>>()?;
        stage.finish();
        counts.into_iter().reduce(|mut total, part| {
            total.merge(part);
            total
        })
    } else {
        None
    };
    drop(kept);
    // The split files go before the bundle is published.
    drop(book_parts);
    fitted.publish(lifecycle)
}

/// `f` on every part in turn (each load uses every core), as one stage.
fn each_part<T>(
    name: &str,
    parts: &[SourceFiles],
    f: impl Fn(&SourceFiles) -> Result<T>,
) -> Result<Vec<T>> {
    let stage = Stage::new(name, parts.len() as u64);
    let out = parts
        .iter()
        .map(|part| {
            let done = f(part);
            stage.inc();
            done
        })
        .collect::<Result<Vec<T>>>()?;
    stage.finish();
    Ok(out)
}

/// Every part's rows cut to the stratified sample, in the book's client order, with the
/// parts' quality reports and quarantined rows added up.
fn sampled_rows(
    plan: &TrainPlan,
    parts: Vec<PartRows>,
    fit_sample: u64,
) -> Result<(SampledBook, QualityReport, Vec<QuarantinedRow>)> {
    let int_values = |frame: &DataFrame, name: &str| -> Result<Vec<i32>> {
        let col = frame
            .column(name)
            .and_then(|c| c.i32().cloned())
            .map_err(|e| Error::Runtime(format!("training rows: {name}: {e}")))?;
        Ok(col.into_no_null_iter().collect())
    };
    let (mut slots, mut strata) = (Vec::new(), Vec::new());
    for p in &parts {
        slots.extend(int_values(&p.rows, parts::SLOT)?);
        strata.extend(int_values(&p.rows, parts::STRATUM)?);
    }
    let keep = parts::stratified_keep(&slots, &strata, fit_sample);
    let (mut quality, mut quarantine): (Option<QualityReport>, Vec<QuarantinedRow>) =
        (None, Vec::new());
    let mut kept: Option<DataFrame> = None;
    let mut start = 0;
    for p in parts {
        let n = p.rows.height();
        let mask = BooleanChunked::from_slice("keep".into(), &keep[start..start + n]);
        start += n;
        let order = UInt32Chunked::from_vec(ORDER.into(), p.data_rows).into_column();
        let frame = p
            .rows
            .hstack(&[order])
            .and_then(|f| f.filter(&mask))
            .map_err(|e| Error::Runtime(format!("cannot sample the training rows: {e}")))?;
        match &mut kept {
            None => kept = Some(frame),
            Some(k) => {
                k.vstack_mut(&frame)
                    .map_err(|e| Error::Runtime(format!("cannot gather the training rows: {e}")))?;
            }
        }
        match &mut quality {
            None => quality = Some(p.quality),
            Some(q) => q.merge(p.quality),
        }
        quarantine.extend(p.quarantine);
    }
    let (Some(kept), Some(quality)) = (kept, quality) else {
        return Err(Error::NoData("the book has no part".into()));
    };
    let kept = kept
        .sort([ORDER], Default::default())
        .map_err(|e| Error::Runtime(format!("cannot order the training rows: {e}")))?;
    if kept.height() == 0 {
        return Err(Error::NoData(
            "no client is in force at the cut-off or the out-of-time cut-off".into(),
        ));
    }
    Ok((SampledBook::from_rows(plan, &kept)?, quality, quarantine))
}
