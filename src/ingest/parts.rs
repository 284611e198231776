//! A book as client parts: how many (`--partitions`, or by the book's size), each
//! part's files (the user's own for one part, files split by client otherwise,
//! `partition::split`) and each part's loading. Labeling and training from files both
//! take their parts from here.

use super::{
    load_with, CleaningStats, Input, KeepAll, LinkedSink, LoadOptions, Loaded, SourceFiles,
};
use crate::config::{Config, Mode};
use crate::error::{Error, Result};
use crate::fsio::rundir::{OutputKind, Staging};
use crate::progress::Stage;
use std::path::{Path, PathBuf};

/// Books up to this many source rows (a 1,000,000-client book has ~35M) are read in one
/// piece; larger ones in parts of about `ROWS_PER_PART` rows each, which keeps peak
/// memory near that of a 450,000-client book whatever the book's size (1.3 GB for a 10M
/// book labelled, freed memory kept between parts included). Rows of large CSV files are
/// estimated (`read::estimate_rows`).
pub const SINGLE_PART_ROWS: u64 = 40_000_000;
pub const ROWS_PER_PART: u64 = 16_000_000;
/// Most parts a run is split into: each holds one file per source open while splitting.
pub const MAX_PARTS: usize = 10_000;

/// The parts a run splits the book into: `partitions` (`--partitions`), else by the
/// book's size (flat books are one piece).
///
/// # Errors
/// `partitions` out of range; a file whose rows cannot be estimated.
pub fn part_count(
    config: &Config,
    files: &SourceFiles,
    partitions: Option<usize>,
) -> Result<usize> {
    Ok(match partitions {
        Some(0) => {
            return Err(Error::InvalidParameter(
                "--partitions must be at least 1".into(),
            ))
        }
        Some(p) if p > MAX_PARTS => {
            return Err(Error::InvalidParameter(format!(
                "--partitions {p}: use at most {MAX_PARTS} parts (a part of ~{ROWS_PER_PART} \
                 rows already bounds memory; more parts only add files)"
            )))
        }
        Some(p) => p,
        None if config.mode == Mode::Flat => 1,
        None => parts_by_size(files)?,
    })
}

fn parts_by_size(files: &SourceFiles) -> Result<usize> {
    let mut rows = 0u64;
    for f in files.files() {
        rows += super::read::estimate_rows(&f.path)?;
    }
    Ok(if rows <= SINGLE_PART_ROWS {
        1
    } else {
        rows.div_ceil(ROWS_PER_PART) as usize
    })
}

/// A book's parts, ready to be loaded one after the other. Fields drop in order: the
/// removals asked for finish before the staging directory goes.
pub struct BookParts {
    /// Removes a split part's files once it is loaded (labeling reads each part once).
    discard: Option<PartDiscard>,
    parts: Vec<SourceFiles>,
    /// Where split files are written; removed with everything in it when dropped.
    _staging: Option<Staging>,
}

impl BookParts {
    /// The book in `part_count(config, files, partitions)` parts: one part is the book's
    /// own files; more are split by client (`partition::split`) into a staging directory
    /// `clientele-parts` under `root` (beside the run's output: never a RAM-backed
    /// temporary directory), removed when the parts are dropped. With `discard_loaded`, a
    /// split part's files are removed as soon as the part is loaded.
    ///
    /// # Errors
    /// As `part_count` and `partition::split`; the staging directory cannot be made.
    pub fn open(
        config: &Config,
        files: &SourceFiles,
        partitions: Option<usize>,
        root: &Path,
        discard_loaded: bool,
    ) -> Result<Self> {
        let n = part_count(config, files, partitions)?;
        if n <= 1 {
            return Ok(BookParts {
                discard: None,
                parts: vec![files.clone()],
                _staging: None,
            });
        }
        let staging = Staging::new(&root.join("clientele-parts"), OutputKind::Labels)?;
        let stage = Stage::new("split", 1);
        let parts = super::partition::split(files, n, staging.path())?;
        stage.finish();
        crate::allocator::reuse_freed_memory();
        Ok(BookParts {
            discard: discard_loaded.then(PartDiscard::start),
            parts,
            _staging: Some(staging),
        })
    }

    pub fn len(&self) -> usize {
        self.parts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Each part's files, in part order.
    pub fn files(&self) -> &[SourceFiles] {
        &self.parts
    }

    /// Reads and cleans part `p` as `load_from` does, with `fitted` cleaning statistics
    /// (a model's) when given.
    ///
    /// # Errors
    /// As `load_from`; `p` out of range.
    pub fn load(
        &self,
        p: usize,
        config: &Config,
        fitted: Option<&CleaningStats>,
    ) -> Result<Loaded> {
        let loaded = self.load_with(p, config, fitted, &mut KeepAll)?;
        self.done(p);
        Ok(loaded)
    }

    /// `load`, handing each event source's table to `sink` as it is linked
    /// (`ingest::load_with`), and keeping the part's files until `done` (the run may
    /// read the part again).
    ///
    /// # Errors
    /// As `load_with`; `p` out of range.
    pub fn load_with(
        &self,
        p: usize,
        config: &Config,
        fitted: Option<&CleaningStats>,
        sink: &mut dyn LinkedSink,
    ) -> Result<Loaded> {
        let part = self
            .parts
            .get(p)
            .ok_or_else(|| Error::Runtime(format!("no part {p} of {}", self.parts.len())))?;
        let stage = Stage::new("load", 1);
        let opts = LoadOptions::from_config(config, false);
        let loaded = load_with(config, Input::Files(part), &opts, fitted, sink)?;
        stage.finish();
        Ok(loaded)
    }

    /// The run has read part `p` for the last time: its split files are removed when
    /// the parts were opened with `discard_loaded`.
    pub fn done(&self, p: usize) {
        if let (Some(discard), Some(part)) = (&self.discard, self.parts.get(p)) {
            discard.remove(part.dir());
        }
    }
}

/// Removes each part's split files once the part is loaded, on a thread of its own:
/// unlinking a 10M book's 13 GB of parts at the end of the run took 5 s. A file left
/// behind (a failed removal, a stopped run) goes with the staging directory.
struct PartDiscard {
    send: Option<std::sync::mpsc::Sender<PathBuf>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PartDiscard {
    fn start() -> Self {
        let (send, receive) = std::sync::mpsc::channel::<PathBuf>();
        let thread = std::thread::spawn(move || {
            for dir in receive {
                // Best effort: the staging directory's removal retries what is left.
                let _ = std::fs::remove_dir_all(dir);
            }
        });
        PartDiscard {
            send: Some(send),
            thread: Some(thread),
        }
    }

    fn remove(&self, dir: &Path) {
        if let Some(send) = &self.send {
            // A stopped remover leaves the files to the staging directory's removal.
            let _ = send.send(dir.to_path_buf());
        }
    }
}

/// Waits for the removals asked for, also when the run stops early: the staging
/// directory is removed after this, never beside it.
impl Drop for PartDiscard {
    fn drop(&mut self) {
        self.send = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
