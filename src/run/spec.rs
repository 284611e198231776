//! Where a run's data is and how to read it, and where its data-quality report goes.

use crate::config::Config;
use crate::date::Date;
use crate::error::Result;
use crate::fsio::rundir::Protected;
use crate::ingest::{Input, LoadOptions, Loaded, SourceFiles};
use std::path::{Path, PathBuf};

/// Where the data is and how to read it.
#[derive(Clone, Debug)]
pub struct DataSpec {
    pub config: Config,
    pub data_dir: PathBuf,
}

impl DataSpec {
    /// Reads the config (or takes the defaults) and resolves the data directory: the
    /// `--data` flag, else the config's `data_dir`, else `data/sample`.
    pub fn new(
        config_path: Option<&Path>,
        data_dir: Option<&Path>,
        extract_date: Option<Date>,
    ) -> Result<Self> {
        let mut config = match config_path {
            Some(p) => Config::from_file(p)?,
            None => Config::default(),
        };
        if extract_date.is_some() {
            config.cleaning.extract_date = extract_date;
        }
        let data_dir = data_dir
            .map(Path::to_path_buf)
            .or_else(|| config.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("data/sample"));
        Ok(DataSpec { config, data_dir })
    }

    /// Uses a given config (for labeling, `run::labeling_config`) with the data
    /// directory from `--data`, else the config's, else `default_dir`.
    pub fn with_config(config: Config, data_dir: Option<&Path>, default_dir: &Path) -> Self {
        let data_dir = data_dir
            .map(Path::to_path_buf)
            .or_else(|| config.data_dir.clone())
            .unwrap_or_else(|| default_dir.to_path_buf());
        DataSpec { config, data_dir }
    }

    /// The inputs no output may cover: the data directory and the config file.
    pub fn protected(&self) -> Protected {
        inputs_protected(&self.config, Some(&self.data_dir))
    }

    /// The files of the book, found once per run (`SourceFiles::resolve`).
    ///
    /// # Errors
    /// As `SourceFiles::resolve`.
    pub fn resolve(&self) -> Result<SourceFiles> {
        SourceFiles::resolve(&self.config, &self.data_dir)
    }

    /// Loads the book from its resolved files.
    ///
    /// # Errors
    /// As `ingest::load_from`.
    pub fn load(&self, files: &SourceFiles, require_label: bool) -> Result<Loaded> {
        self.load_with(files, require_label, &mut crate::ingest::KeepAll)
    }

    /// `load`, handing each event source's table to `sink` as it loads
    /// (`ingest::load_with`).
    ///
    /// # Errors
    /// As `ingest::load_with`.
    pub fn load_with(
        &self,
        files: &SourceFiles,
        require_label: bool,
        sink: &mut dyn crate::ingest::LinkedSink,
    ) -> Result<Loaded> {
        let opts = LoadOptions::from_config(&self.config, require_label);
        crate::ingest::load_with(&self.config, Input::Files(files), &opts, None, sink)
    }
}

/// The inputs of a run that no output may cover: the system's own directories, the data
/// directory (none for tables in memory) and the config file.
pub(crate) fn inputs_protected(config: &Config, data_dir: Option<&Path>) -> Protected {
    let mut p = Protected::system();
    if let Some(dir) = data_dir {
        p = p.with("the data directory", dir);
    }
    match &config.origin {
        Some(file) => p.with("the config file", file),
        None => p,
    }
}
