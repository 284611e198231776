//! Generates a realistic client book with known truth.
//!
//! cargo run --release --example synth -- --clients 20000 --seed 7 --out data/sample
//!
//! Writes the export as of `--end` into OUT, and (unless `--snapshot-months 0`) the same
//! book a month later into OUT/next-month, each with `truth.csv` and `manifest.json`.

use clap::{Parser, ValueEnum};
use clientele::Date;
use clientele_synth::{generate, write_book, BookParams, OutputFormat, WriteOptions};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Mixed,
    Csv,
    Parquet,
}

#[derive(Parser)]
#[command(about = "Generate a synthetic insurance client book with known truth")]
struct Args {
    #[arg(long, default_value_t = 20_000)]
    clients: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[arg(long)]
    out: PathBuf,
    /// Export date of the main book.
    #[arg(long, default_value = "2026-09-30")]
    end: Date,
    /// Months after the export for the later snapshot (0: none).
    #[arg(long, default_value_t = 1)]
    snapshot_months: i32,
    #[arg(long, default_value_t = 5)]
    history_years: i32,
    #[arg(long, value_enum, default_value_t = Format::Mixed)]
    format: Format,
    /// Write a clean book: no duplicates, misspellings, missing values or invalid rows.
    #[arg(long)]
    no_dirt: bool,
    /// Multiply every income (to test drift alarms).
    #[arg(long, default_value_t = 1.0)]
    income_factor: f64,
    /// Add to every client's lapse log-odds (to test drift alarms).
    #[arg(long, default_value_t = 0.0)]
    lapse_shift: f64,
    /// Add two non-linear lapse effects to the truth (a threshold in missed payments and
    /// a U-shape in age; see `NONLINEAR_LAPSE`), for testing the binned lapse model.
    #[arg(long)]
    nonlinear_lapse: bool,
    /// Add two lapse interactions to the truth (missed premiums early in the policy, and
    /// online buyers with a low income; see `INTERACTION_LAPSE`), for testing the lapse
    /// model's pairwise terms.
    #[arg(long)]
    interaction_lapse: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let params = BookParams {
        clients: args.clients,
        seed: args.seed,
        end: args.end.month_end(),
        extra_months: args.snapshot_months.max(0),
        history_years: args.history_years.max(2),
        income_factor: args.income_factor,
        lapse_shift: args.lapse_shift,
        nonlinear_lapse: args.nonlinear_lapse,
        interaction_lapse: args.interaction_lapse,
    };
    let format = match args.format {
        Format::Mixed => OutputFormat::Mixed,
        Format::Csv => OutputFormat::Csv,
        Format::Parquet => OutputFormat::Parquet,
    };
    let t0 = Instant::now();
    let book = generate(&params);
    let t_sim = t0.elapsed();
    let opts = WriteOptions {
        view: params.end,
        format,
        dirt: !args.no_dirt,
    };
    let manifest = write_book(&book, &args.out, &opts)?;
    if params.extra_months > 0 {
        // The snapshot is all Parquet: it is the large, machine-to-machine monthly feed.
        let later = WriteOptions {
            view: params.end.month_end_offset(params.extra_months),
            format: OutputFormat::Parquet,
            ..opts
        };
        write_book(&book, &args.out.join("next-month"), &later)?;
    }
    eprintln!(
        "{} clients, {} policies, {} payments, {} contacts -> {} (simulate {:.1}s, total {:.1}s)",
        book.n_clients(),
        manifest.rows.get("policies").copied().unwrap_or(0),
        manifest.rows.get("payments").copied().unwrap_or(0),
        manifest.rows.get("contacts").copied().unwrap_or(0),
        args.out.display(),
        t_sim.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
