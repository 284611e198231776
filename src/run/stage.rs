//! The steps every run ends with, written once: its output directory checked and staged,
//! the data-quality report written into it, and the directory published whole (it
//! appears complete or not at all, and never replaces what the tool did not write).

use crate::error::Result;
use crate::fsio::rundir::{self, OutputKind, Protected, Replace, Staging};
use crate::ingest::{quality, QualityReport, QuarantinedRow};
use std::path::{Path, PathBuf};

/// Where a run publishes one output directory, and on what terms.
pub(crate) struct Target<'a> {
    pub dir: &'a Path,
    pub kind: OutputKind,
    pub replace: Replace,
    /// What the run reads, which no output may cover.
    pub protected: &'a Protected,
    /// The option that chose `dir`, for error messages.
    pub flag: &'a str,
}

impl Target<'_> {
    /// Checks that the directory may be written (it covers no input and holds nothing
    /// the tool did not write), before any data is read.
    pub fn check(&self) -> Result<()> {
        rundir::check_target(self.dir, self.kind, self.replace, self.protected, self.flag)
    }

    /// Checks the directory and opens a staging directory beside it.
    pub fn stage(&self) -> Result<Staging> {
        self.check()?;
        Staging::new(self.dir, self.kind)
    }

    /// Publishes a staged directory as the target.
    pub fn publish(&self, staging: Staging) -> Result<PathBuf> {
        staging.publish(self.replace, self.protected, self.flag)
    }
}

/// The data-quality report's file in a run's outputs.
pub(crate) const QUALITY_JSON: &str = "data-quality.json";
/// The quarantined rows' file in a run's outputs.
pub(crate) const QUARANTINE_CSV: &str = "quarantine.csv";

/// Writes `data-quality.json` into `dir`, with `quarantine.csv` when the run holds its
/// quarantined rows (a book labelled in parts elsewhere left them there).
pub(crate) fn write_quality(
    dir: &Path,
    report: &QualityReport,
    quarantine: Option<&[QuarantinedRow]>,
) -> Result<()> {
    quality::write_json(report, &dir.join(QUALITY_JSON))?;
    if let Some(rows) = quarantine {
        quality::write_quarantine(rows, &dir.join(QUARANTINE_CSV))?;
    }
    Ok(())
}

/// The data-quality report as a directory of its own (`--check-data`, training),
/// replacing an earlier report there and nothing else. Returns the directory.
pub(crate) fn publish_quality(
    dir: &Path,
    report: &QualityReport,
    quarantine: Option<&[QuarantinedRow]>,
    protected: &Protected,
    flag: &str,
) -> Result<PathBuf> {
    let target = Target {
        dir,
        kind: OutputKind::DataQuality,
        replace: Replace::EarlierOutput,
        protected,
        flag,
    };
    let staging = target.stage()?;
    write_quality(staging.path(), report, quarantine)?;
    target.publish(staging)
}
