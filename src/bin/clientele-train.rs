//! clientele-train: learn client segments and a lapse model from an insurer's history.

use clap::Parser;
use clientele::pipeline::{self, DataSpec};
use clientele::Date;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "clientele-train",
    version,
    about = "Learn client segments and a lapse model from an insurer's client history",
    long_about = "Reads the client book (clients, policies, payments, claims, contacts; or one flat \
per-client table; or transactions only), cleans and validates it, and reports data quality.\n\n\
Column names and files are mapped with a TOML config (see README, 'The data contract'); \
without one, the bundled sample's layout is assumed.\n\n\
Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage."
)]
struct Args {
    /// TOML config mapping your files and columns onto the data contract.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory holding the source files (default: the config's data_dir, else data/sample).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Date of the data extract; rows dated after it are quarantined (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    extract_date: Option<Date>,
    /// Only read and validate the data, print the data-quality report, and stop.
    #[arg(long)]
    check_data: bool,
    /// Print the features computed for each client and what each means, and stop.
    #[arg(long)]
    explain_features: bool,
    /// Where the data-quality report and quarantined rows are written.
    #[arg(long, value_name = "DIR", default_value = "notebooks-out/data-quality")]
    report_dir: PathBuf,
}

fn run(args: &Args) -> anyhow::Result<()> {
    if args.explain_features {
        print!("{}", pipeline::explain_features());
        return Ok(());
    }
    let spec = DataSpec::new(
        args.config.as_deref(),
        args.data.as_deref(),
        args.extract_date,
    )?;
    pipeline::check_data(&spec, &args.report_dir)?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // Bad data, config or flags exit 2; anything else (I/O, bugs) exits 1.
            let bad_input = e
                .downcast_ref::<clientele::Error>()
                .is_some_and(clientele::Error::is_bad_input);
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}
