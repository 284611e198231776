//! `clientele-infer`: its flags, and the labeling run they ask for.

use super::shared::{ExtractArgs, WordsArgs};
use crate::bundle::Bundle;
use crate::error::Result;
use crate::labeling::drift::Status;
use crate::run::{self, DataSpec, InferOptions};
use crate::{Config, Date};
use clap::Parser;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "clientele-infer",
    version,
    about = "Label every client with a published clientele model",
    long_about = "Applies a model bundle, unchanged, to a month's client book (same data contract and \
config as training) and writes per-client labels (segment, lapse probability, risk band, value \
tier, lifecycle stage, reasons, recommended action) as Parquet and CSV, drift alarms, \
cluster-profile charts and a self-contained report.html into one output directory.\n\n\
Exit codes: 0 ok, 1 runtime failure (I/O), 2 bad input or usage, 3 retrain-level drift with \
--fail-on-drift."
)]
pub struct InferArgs {
    /// The model: a version directory, models/latest, or the models directory.
    #[arg(long, value_name = "BUNDLE", default_value = "models/latest")]
    model: PathBuf,
    /// TOML config mapping the files (default: the config stored with the model).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of this month's source files (default: the config's data_dir, else
    /// data/sample/next-month).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(flatten)]
    extract: ExtractArgs,
    /// Labeling date (default: the data's last full month end). Not before the model's cut-off.
    #[arg(long, value_name = "YYYY-MM-DD")]
    as_of: Option<Date>,
    /// Output directory (default: notebooks-out/<as-of>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace an existing output directory.
    #[arg(long)]
    overwrite: bool,
    /// A previous run's output directory, for the segment migration matrix.
    #[arg(long, value_name = "DIR")]
    previous_run: Option<PathBuf>,
    /// Exit with code 3 when any drift reaches the retrain level (PSI >= 0.25).
    #[arg(long)]
    fail_on_drift: bool,
    /// Segments with fewer clients are suppressed in the report and charts.
    #[arg(long, value_name = "N", default_value_t = run::MIN_REPORT_COUNT)]
    min_segment_size: usize,
    /// Label the book in N client parts to bound memory (default: one part up to 40M
    /// source rows, then parts of ~16M rows; the split files are written beside the
    /// output and removed afterwards).
    #[arg(long, value_name = "N")]
    partitions: Option<usize>,
    #[command(flatten)]
    words: WordsArgs,
}

/// How a labeling run ends, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Drift at the retrain level with `--fail-on-drift` (exit code 3).
    Drift,
}

/// Labels the month the flags describe and prints the run's console summary.
///
/// # Errors
/// Bad model, config, data or flags, and I/O failures.
pub fn run(args: &InferArgs) -> Result<Outcome> {
    let words = args.words.vocabulary()?;
    let located = Bundle::load(&args.model)?;
    let given = args.config.as_deref().map(Config::from_file).transpose()?;
    let config = run::labeling_config(&located.bundle, given, args.extract.extract_date);
    let spec = DataSpec::with_config(
        config,
        args.data.as_deref(),
        Path::new("data/sample/next-month"),
    );
    let opts = InferOptions {
        as_of: args.as_of,
        out: args.out.clone(),
        overwrite: args.overwrite,
        previous_run: args.previous_run.clone(),
        min_report_count: args.min_segment_size,
        partitions: args.partitions,
        words,
        ..InferOptions::default()
    };
    let outcome = run::infer(&located, &spec, &opts)?;
    print!("{}", run::console(&outcome));
    if args.fail_on_drift && outcome.drift.status == Status::Retrain {
        eprintln!("drift at the retrain level (--fail-on-drift): see drift.json");
        return Ok(Outcome::Drift);
    }
    Ok(Outcome::Ok)
}
