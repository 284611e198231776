//! Where a book's tables come from: files under a data directory (the binaries), or
//! frames already in memory (the Python package, a Spark runner). Both go through the
//! same column mapping, parsing and cleaning.

use super::read::{self, ColumnRequest};
use super::SourceFiles;
use super::Table;
use crate::config::{Config, FlatConfig, SourceConfig};
use crate::error::{Error, Result};
use crate::schema::Source;
use polars::prelude::DataFrame;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The tables of a book.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// Files resolved from the config and a data directory.
    Files(&'a SourceFiles),
    /// Tables already in memory, by source.
    Frames(&'a Frames),
}

/// Tables handed over in memory, one per source. Column names and values follow the same
/// contract as files: the config's column mapping applies, and text, numeric or date
/// columns are parsed by the contract's kinds.
#[derive(Clone, Debug, Default)]
pub struct Frames {
    tables: BTreeMap<Source, DataFrame>,
}

impl Frames {
    pub fn new() -> Self {
        Frames::default()
    }

    /// Adds (or replaces) the table of one source.
    #[must_use]
    pub fn with(mut self, source: Source, frame: DataFrame) -> Self {
        self.tables.insert(source, frame);
        self
    }

    pub fn get(&self, source: Source) -> Option<&DataFrame> {
        self.tables.get(&source)
    }

    /// Each table's column names (for `unused_columns_in`).
    pub fn columns(&self) -> Vec<(Source, Vec<String>)> {
        self.tables
            .iter()
            .map(|(s, df)| {
                let names = df
                    .get_column_names()
                    .iter()
                    .map(|n| n.to_string())
                    .collect();
                (*s, names)
            })
            .collect()
    }
}

/// How a frame is named in errors and in the quality report.
pub fn frame_name(source: Source) -> PathBuf {
    PathBuf::from(format!("<{source} table>"))
}

/// One source's table to read, and the config that maps its columns.
pub(crate) struct SourceTable<'a> {
    pub source: Source,
    /// The file (or frame name) shown in errors and reports.
    pub shown: PathBuf,
    origin: Origin<'a>,
    pub config: SourceConfig,
}

enum Origin<'a> {
    File(PathBuf),
    Frame(&'a DataFrame),
}

impl SourceTable<'_> {
    pub fn column_names(&self) -> Result<Vec<String>> {
        match &self.origin {
            Origin::File(path) => read::column_names(path),
            Origin::Frame(df) => Ok(df
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect()),
        }
    }

    /// Reads the requested columns into a typed table.
    pub fn read(&self, requests: &[ColumnRequest]) -> Result<Table> {
        match &self.origin {
            Origin::File(path) => read::read_table_as(self.source, path, &self.shown, requests),
            Origin::Frame(df) => {
                if df.height() == 0 && !self.source.may_be_empty() {
                    return Err(Error::NoRows {
                        path: self.shown.clone(),
                    });
                }
                let columns: Vec<&str> = requests.iter().map(|r| r.column.as_str()).collect();
                let selected = df.select(columns).map_err(|e| Error::Malformed {
                    path: self.shown.clone(),
                    message: e.to_string(),
                })?;
                read::table_from_frame(self.source, &self.shown, selected, requests, false)
            }
        }
    }
}

impl<'a> Input<'a> {
    /// The source tables of a relational or transactions book.
    pub(crate) fn sources(&self, config: &Config) -> Result<Vec<SourceTable<'a>>> {
        match *self {
            Input::Files(files) => Ok(files
                .files()
                .iter()
                .map(|f| SourceTable {
                    source: f.source,
                    shown: f.shown.clone(),
                    origin: Origin::File(f.path.clone()),
                    config: f.config.clone(),
                })
                .collect()),
            Input::Frames(frames) => {
                let candidates = config.mode.sources();
                let out: Vec<SourceTable<'a>> = candidates
                    .iter()
                    .filter_map(|&source| {
                        frames.get(source).map(|df| SourceTable {
                            source,
                            shown: frame_name(source),
                            origin: Origin::Frame(df),
                            config: config.source_config(source),
                        })
                    })
                    .collect();
                if out.is_empty() {
                    return Err(Error::NoData(format!(
                        "no table given for a {:?} book (expected {})",
                        config.mode,
                        candidates
                            .iter()
                            .map(|s| s.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                Ok(out)
            }
        }
    }

    /// The flat per-client table.
    pub(crate) fn flat(&self, cfg: &FlatConfig) -> Result<SourceTable<'a>> {
        match *self {
            Input::Files(files) => {
                // Resolution checked the flat file (`SourceFiles::resolve`).
                let path = files
                    .flat()
                    .map_or_else(|| files.dir().join(&cfg.path), Path::to_path_buf);
                Ok(SourceTable {
                    source: Source::Flat,
                    shown: path.clone(),
                    origin: Origin::File(path),
                    config: SourceConfig::default(),
                })
            }
            Input::Frames(frames) => {
                let df = frames.get(Source::Flat).ok_or_else(|| {
                    Error::NoData("no flat table given for a flat-mode book".into())
                })?;
                Ok(SourceTable {
                    source: Source::Flat,
                    shown: frame_name(Source::Flat),
                    origin: Origin::Frame(df),
                    config: SourceConfig::default(),
                })
            }
        }
    }
}
