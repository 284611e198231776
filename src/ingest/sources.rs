//! The files a run reads, resolved once at its start: each source's file found under the
//! data directory by the config, with the column mapping that reads it. Every step of a
//! run (size estimate, split into parts, loading, fingerprints, unused columns) takes
//! this value instead of resolving the config again.

use crate::config::{Config, Mode, SourceConfig};
use crate::error::{Error, Result};
use crate::schema::Source;
use std::path::{Path, PathBuf};

/// One source's file.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub source: Source,
    /// The file read.
    pub path: PathBuf,
    /// The file named in errors and reports: `path`, or the user's file that a part of
    /// a split book stands for.
    pub shown: PathBuf,
    /// How its columns map onto the contract.
    pub config: SourceConfig,
}

/// The files of one book: per source (relational and transactions modes), or the one
/// flat table (flat mode).
#[derive(Clone, Debug)]
pub struct SourceFiles {
    dir: PathBuf,
    files: Vec<SourceFile>,
    flat: Option<PathBuf>,
}

impl SourceFiles {
    /// Finds the files `config` names under `dir`: a source named in the config must
    /// exist; with no config entry, a default file is used when present.
    ///
    /// # Errors
    /// A named file that does not exist or is not a regular file, both a CSV and a
    /// Parquet file for one source, no source file at all, a flat config without a path.
    pub fn resolve(config: &Config, dir: &Path) -> Result<Self> {
        let files = config
            .resolve_sources(dir)?
            .into_iter()
            .map(|(source, path, config)| SourceFile {
                source,
                shown: path.clone(),
                path,
                config,
            })
            .collect();
        let flat = match (&config.flat, config.mode) {
            (Some(cfg), Mode::Flat) => {
                if cfg.path.as_os_str().is_empty() {
                    return Err(Error::InvalidParameter(
                        "[flat] has no path: name the flat file to read (path = \"clients.csv\")"
                            .into(),
                    ));
                }
                let path = dir.join(&cfg.path);
                if !path.exists() {
                    return Err(Error::not_found(path));
                }
                Some(path)
            }
            _ => None,
        };
        Ok(SourceFiles {
            dir: dir.to_path_buf(),
            files,
            flat,
        })
    }

    /// The files of one part of a split book, in `dir`.
    pub(crate) fn part(dir: PathBuf, files: Vec<SourceFile>) -> Self {
        SourceFiles {
            dir,
            files,
            flat: None,
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Each source's file (none in flat mode).
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The flat table's file (flat mode).
    pub fn flat(&self) -> Option<&Path> {
        self.flat.as_deref()
    }
}
