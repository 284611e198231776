//! `clientele-train --check-data` and `--explain-features`: the data read, validated
//! and reported without training; the features explained.

use super::stage::{publish_quality, QUALITY_JSON, QUARANTINE_CSV};
use super::DataSpec;
use crate::error::Result;
use crate::ingest::Loaded;
use std::path::Path;

/// `clientele-train --check-data`: ingest, report, and fail on too much invalid data.
pub fn check_data(spec: &DataSpec, report_dir: &Path) -> Result<Loaded> {
    let files = spec.resolve()?;
    let loaded = spec.load(&files, spec.config.mode == crate::config::Mode::Flat)?;
    let dir = publish_quality(
        report_dir,
        &loaded.report,
        Some(&loaded.quarantine),
        &spec.protected(),
        "--report-dir",
    )?;
    println!("{}", loaded.report.to_table());
    println!(
        "report: {}\nquarantined rows: {}",
        dir.join(QUALITY_JSON).display(),
        dir.join(QUARANTINE_CSV).display()
    );
    loaded.check_thresholds()?;
    Ok(loaded)
}

/// The feature list with meanings, as `--explain-features` prints it.
pub fn explain_features() -> String {
    use crate::config::Mode;
    use std::fmt::Write as _;
    let mut out = String::from(
        "Features are computed as of the cut-off from records dated on or before it.\n",
    );
    for (mode, title) in [
        (Mode::Relational, "relational mode"),
        (Mode::Transactions, "transactions-only mode"),
    ] {
        let _ = writeln!(out, "\nNumeric features, {title}:");
        for f in crate::features::Feature::catalogue(mode) {
            let _ = writeln!(out, "  {:<22} {:<19} {}", f.name(), f.group(), f.meaning());
        }
    }
    let _ = writeln!(
        out,
        "\nCategorical (relational, one-hot with an 'other' bucket for rare or unseen levels):\n  {}",
        crate::features::CATEGORICAL.join(", ")
    );
    let _ = writeln!(
        out,
        "\nFlat mode: the numeric and categorical columns the config declares."
    );
    out
}
