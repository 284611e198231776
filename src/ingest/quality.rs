//! The data-quality report: what was read, dropped, quarantined, imputed and capped, per
//! source and column. Printed as a short table and saved as JSON. Quarantined rows go to
//! their own file with the reason, so nothing is silently lost.

use crate::error::{Error, Result};
use crate::schema::Source;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Counts for one column of one source.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ColumnQuality {
    /// The column's name in the user's file.
    pub file_column: String,
    /// Missing values among the kept rows (before imputation).
    pub missing: usize,
    /// Category values whose spelling was normalised (trim, case, alias).
    pub normalised: usize,
    /// Category values outside the contract's vocabulary, mapped to `other`.
    pub mapped_to_other: usize,
    /// Impossible values (e.g. age 150, negative income) set to missing.
    pub invalid_set_missing: usize,
    /// Missing values filled with the fitted median.
    pub imputed: usize,
    /// Values capped at the fitted quantiles.
    pub capped: usize,
}

/// Counts for one source.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SourceQuality {
    pub source: Source,
    pub path: PathBuf,
    pub rows_read: usize,
    pub duplicates_dropped: usize,
    pub quarantined: usize,
    pub quarantine_reasons: BTreeMap<String, usize>,
    pub rows_kept: usize,
    pub columns: BTreeMap<String, ColumnQuality>,
}

impl SourceQuality {
    pub fn new(source: Source, path: &Path, rows_read: usize) -> Self {
        SourceQuality {
            source,
            path: path.to_path_buf(),
            rows_read,
            duplicates_dropped: 0,
            quarantined: 0,
            quarantine_reasons: BTreeMap::new(),
            rows_kept: rows_read,
            columns: BTreeMap::new(),
        }
    }

    /// Fails when more than `max_percent` of the source's rows were quarantined.
    ///
    /// # Errors
    /// `Error::TooManyInvalid` naming the file, the share and the most common reason.
    pub fn check_threshold(&self, max_percent: f64) -> Result<()> {
        if self.rows_read == 0 {
            return Ok(());
        }
        let share = 100.0 * self.quarantined as f64 / self.rows_read as f64;
        if share > max_percent {
            let top_reason = self
                .quarantine_reasons
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(r, n)| format!("{r} ({n} rows)"))
                .unwrap_or_default();
            return Err(Error::TooManyInvalid {
                path: self.path.clone(),
                invalid: self.quarantined,
                total: self.rows_read,
                share,
                threshold: max_percent,
                top_reason,
            });
        }
        Ok(())
    }

    pub fn column(&mut self, field: &str, file_column: &str) -> &mut ColumnQuality {
        self.columns
            .entry(field.to_string())
            .or_insert_with(|| ColumnQuality {
                file_column: file_column.to_string(),
                ..ColumnQuality::default()
            })
    }
}

/// One quarantined row.
#[derive(Clone, Debug, Serialize)]
pub struct QuarantinedRow {
    pub source: Source,
    pub row: u32,
    pub reason: String,
    pub record: String,
}

/// The whole report.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct QualityReport {
    pub extract_date: String,
    pub sources: Vec<SourceQuality>,
    pub clients: usize,
}

impl QualityReport {
    /// Adds the counts of a report on another part of the same book.
    pub fn merge(&mut self, other: QualityReport) {
        self.clients += other.clients;
        for s in other.sources {
            match self.sources.iter_mut().find(|x| x.source == s.source) {
                None => self.sources.push(s),
                Some(x) => {
                    x.rows_read += s.rows_read;
                    x.duplicates_dropped += s.duplicates_dropped;
                    x.quarantined += s.quarantined;
                    x.rows_kept += s.rows_kept;
                    for (reason, n) in s.quarantine_reasons {
                        *x.quarantine_reasons.entry(reason).or_default() += n;
                    }
                    for (field, c) in s.columns {
                        let y = x.columns.entry(field).or_insert_with(|| ColumnQuality {
                            file_column: c.file_column.clone(),
                            ..ColumnQuality::default()
                        });
                        y.missing += c.missing;
                        y.normalised += c.normalised;
                        y.mapped_to_other += c.mapped_to_other;
                        y.invalid_set_missing += c.invalid_set_missing;
                        y.imputed += c.imputed;
                        y.capped += c.capped;
                    }
                }
            }
        }
    }

    /// Fails when a source has more invalid rows than `max_invalid_percent`.
    ///
    /// # Errors
    /// `Error::TooManyInvalid` naming the source.
    pub fn check_thresholds(&self, max_invalid_percent: f64) -> Result<()> {
        for s in &self.sources {
            s.check_threshold(max_invalid_percent)?;
        }
        Ok(())
    }

    pub fn total_quarantined(&self) -> usize {
        self.sources.iter().map(|s| s.quarantined).sum()
    }

    /// A short table a person can read at a glance.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Data quality (extract date {}, {} clients)",
            self.extract_date, self.clients
        );
        let _ = writeln!(
            out,
            "  {:<13} {:>10} {:>10} {:>11} {:>10}  imputed/capped/normalised",
            "source", "read", "dup.drop", "quarantine", "kept"
        );
        for s in &self.sources {
            let (imp, cap, norm) = s.columns.values().fold((0, 0, 0), |a, c| {
                (a.0 + c.imputed, a.1 + c.capped, a.2 + c.normalised)
            });
            let _ = writeln!(
                out,
                "  {:<13} {:>10} {:>10} {:>11} {:>10}  {imp}/{cap}/{norm}",
                s.source.name(),
                s.rows_read,
                s.duplicates_dropped,
                s.quarantined,
                s.rows_kept
            );
            if s.rows_read == 0 {
                let _ = writeln!(out, "      no rows (header only): none this period");
            }
            for (reason, n) in &s.quarantine_reasons {
                let _ = writeln!(out, "      quarantined {n:>8}  {reason}");
            }
        }
        out
    }
}

/// Writes the report as JSON, atomically.
pub fn write_json(report: &QualityReport, path: &Path) -> Result<()> {
    let json = serde_json::to_vec_pretty(report).map_err(|e| Error::Runtime(e.to_string()))?;
    crate::fsio::write_atomic(path, &json)
}

/// Writes the quarantined rows as CSV (source, row, reason, record), atomically.
pub fn write_quarantine(rows: &[QuarantinedRow], path: &Path) -> Result<()> {
    let mut out = String::from("source,row,reason,record\n");
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{}",
            r.source.name(),
            r.row,
            crate::fsio::csv_cell_for_people(&r.reason),
            crate::fsio::csv_cell_for_people(&r.record)
        );
    }
    crate::fsio::write_atomic(path, out.as_bytes())
}
