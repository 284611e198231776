//! `clientele-train`: its flags, and the run they ask for (training, `--check-data`,
//! `--explain-features`, `--derive-from`).

use super::shared::{ExtractArgs, WordsArgs};
use crate::error::Result;
use crate::lapse;
use crate::run::{self, DataSpec, TrainOptions};
use crate::train;
use crate::Date;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "clientele-train",
    version,
    about = "Learn client segments and a lapse model from an insurer's client history",
    long_about = "Reads the client book (clients, policies, payments, claims, contacts; or one flat \
per-client table; or transactions only), cleans and validates it, computes point-in-time \
features, fits k-means segments and a logistic lapse model, and publishes a versioned model \
bundle under models/ with charts under notebooks-out/.\n\n\
Column names and files are mapped with a TOML config (see docs/data.md, 'The data contract'); \
without one, the bundled sample's layout is assumed.\n\n\
Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage."
)]
pub struct TrainArgs {
    /// TOML config mapping your files and columns onto the data contract.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory holding the source files (default: the config's data_dir, else data/sample).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(flatten)]
    extract: ExtractArgs,
    /// Only read and validate the data, print the data-quality report, and stop.
    #[arg(long)]
    check_data: bool,
    /// Print the features computed for each client and what each means, and stop.
    #[arg(long)]
    explain_features: bool,
    /// Where --check-data writes the data-quality report and quarantined rows.
    #[arg(long, value_name = "DIR", default_value = "notebooks-out/data-quality")]
    report_dir: PathBuf,
    /// Feature cut-off date (default: the data's last full month minus the horizon).
    #[arg(long, value_name = "YYYY-MM-DD")]
    as_of: Option<Date>,
    /// Months after the cut-off in which a lapse counts.
    #[arg(long, value_name = "N", default_value_t = train::DEFAULT_HORIZON_MONTHS)]
    horizon_months: i32,
    /// Seed for every random choice (splits, folds, k-means).
    #[arg(long, default_value_t = train::DEFAULT_SEED)]
    seed: u64,
    /// Fix the number of segments instead of choosing it.
    #[arg(long)]
    k: Option<usize>,
    /// Decision threshold rule: `f1` (best F1) or `top:<percent>` (call-list capacity).
    #[arg(long, value_name = "RULE")]
    threshold: Option<lapse::ThresholdRule>,
    /// A previous bundle whose segment ids and names carry over to matching segments.
    #[arg(long, value_name = "BUNDLE")]
    previous: Option<PathBuf>,
    /// TOML file of segment names (`<id> = "name"`) overriding the generated ones.
    #[arg(long, value_name = "FILE")]
    names: Option<PathBuf>,
    /// Where model versions are published.
    #[arg(long, value_name = "DIR", default_value = "models")]
    models: PathBuf,
    /// Where charts and the data-quality report go.
    #[arg(long, value_name = "DIR", default_value = "notebooks-out")]
    out: PathBuf,
    /// Also keep every client's training-time segment and probability in the bundle
    /// (scores.csv; it holds client ids, so the bundle directory must stay restricted).
    #[arg(long)]
    save_scores: bool,
    /// Skip the training charts.
    #[arg(long)]
    no_charts: bool,
    /// Split the book into N parts by client (default: one piece up to 40M source rows,
    /// about 1M clients, then parts of ~16M rows). A book in parts is fitted on a
    /// stratified sample of its feature rows ([training] fit_sample, default 250,000);
    /// features, cleaning statistics and lifecycle counts cover every client.
    #[arg(long, value_name = "N")]
    partitions: Option<usize>,
    #[command(flatten)]
    words: WordsArgs,

    /// Publish a new version of this published model without retraining, with new
    /// segment names (--names) and/or a new action table (--config's [[actions]]).
    #[arg(long, value_name = "BUNDLE", conflicts_with_all = ["check_data", "explain_features", "threshold", "k", "previous", "as_of", "save_scores"])]
    derive_from: Option<PathBuf>,
}

/// `--derive-from`: a new version of a published model, with its parent recorded.
fn derive(parent: &std::path::Path, args: &TrainArgs) -> Result<()> {
    let located = crate::bundle::Bundle::load(parent)?;
    let config = args
        .config
        .as_deref()
        .map(crate::Config::from_file)
        .transpose()?;
    let opts = run::DeriveOptions {
        names: args.names.clone(),
        config,
        models_dir: args.models.clone(),
    };
    let (bundle, dir) = run::derive(&located, &opts)?;
    println!(
        "derived version {} from {}: {}",
        bundle.version,
        located.bundle.version,
        dir.display()
    );
    Ok(())
}

/// Runs what the flags ask for and prints its console summary.
///
/// # Errors
/// As the run asked for.
pub fn run(args: &TrainArgs) -> Result<()> {
    if args.explain_features {
        print!("{}", run::explain_features());
        return Ok(());
    }
    if let Some(parent) = &args.derive_from {
        return derive(parent, args);
    }
    let words = args.words.vocabulary()?;
    let spec = DataSpec::new(
        args.config.as_deref(),
        args.data.as_deref(),
        args.extract.extract_date,
    )?;
    if args.check_data {
        run::check_data(&spec, &args.report_dir)?;
        return Ok(());
    }
    let opts = TrainOptions {
        as_of: args.as_of,
        horizon_months: args.horizon_months,
        seed: args.seed,
        k: args.k,
        threshold: args.threshold,
        previous: args.previous.clone(),
        names: args.names.clone(),
        models_dir: args.models.clone(),
        out_dir: args.out.clone(),
        save_scores: args.save_scores,
        partitions: args.partitions,
        charts: !args.no_charts,
        words,
    };
    let outcome = run::train(&spec, &opts)?;
    print!("{}", run::summary(&outcome));
    Ok(())
}
