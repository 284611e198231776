//! The model bundle: one directory `models/<version>/` holding `bundle.json` (everything
//! inference needs, plain JSON: nothing executes on load), `metrics.json` and
//! `names.toml`. Versions are never overwritten; `models/latest` names the newest.

mod check;
mod metrics;

pub use metrics::{OutOfTime, TrainMetrics};

use crate::config::Config;
use crate::date::Date;
use crate::error::{Error, Result};
use crate::features::FittedFeatures;
use crate::ingest::CleaningStats;
use crate::lapse::LapseModel;
use crate::segment::SegmentModel;
use crate::stats::Distribution;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Bumped whenever the bundle's layout changes; loading refuses versions it cannot read.
/// Format 2 added the lapse model's form (scorecard bins); a format 1 bundle is a linear
/// model and still reads. Format 3 records the content digest (`content_sha256`) that
/// every load checks; formats 1 and 2 predate it and are checked by their invariants only.
pub const FORMAT_VERSION: u32 = 3;
/// The formats this program reads.
const READS_FORMATS: [u64; 3] = [1, 2, 3];
/// The first format whose bundles must carry a content digest.
const DIGESTED_FORMAT: u32 = 3;
pub const BUNDLE_FILE: &str = "bundle.json";
pub const METRICS_FILE: &str = "metrics.json";
pub const NAMES_FILE: &str = "names.toml";
pub const LATEST_FILE: &str = "latest";
/// Every client's training-time segment and probability (only with `--save-scores`).
pub const SCORES_FILE: &str = "scores.csv";

/// What the model was trained on: each source file's size and SHA-256.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataFingerprint {
    pub files: Vec<FileFingerprint>,
    pub clients: usize,
    pub active_clients: usize,
    pub labelled_clients: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileFingerprint {
    pub source: String,
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

impl FileFingerprint {
    /// # Errors
    /// `Error::Read` when the file cannot be read.
    pub fn of(source: &str, path: &Path) -> Result<Self> {
        use std::io::Read;
        let err = |e| Error::Read {
            path: path.to_path_buf(),
            source: e,
        };
        let mut file = std::fs::File::open(path).map_err(err)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(err)?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            hasher.update(&buf[..n]);
        }
        Ok(FileFingerprint {
            source: source.to_string(),
            file: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes,
            sha256: hex(&hasher.finalize()),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Training distributions that drift checks compare new batches against (the numeric
/// and categorical ones live with each fitted feature).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftReference {
    /// Segment id -> share of the training book.
    pub segment_shares: Vec<(u32, f64)>,
    /// Lapse probabilities of the training book.
    pub score: Distribution,
}

/// Everything a trained model is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub format_version: u32,
    pub crate_version: String,
    /// UTC, RFC 3339. Not part of the content hash.
    pub created_at: String,
    /// `<UTC timestamp>-<content hash>`. Not part of the content hash.
    pub version: String,
    /// SHA-256 of the content (`content_hash`), recorded at publish and checked by every
    /// load: a published version is immutable. Not part of the content hash.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_sha256: String,
    /// The version this one was derived from without retraining (`derive`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub seed: u64,
    pub config: Config,
    pub cutoff: Date,
    pub horizon_months: i32,
    pub data: DataFingerprint,
    pub cleaning: CleaningStats,
    pub features: FittedFeatures,
    pub segments: SegmentModel,
    pub lapse: LapseModel,
    /// Next-best product models (relational mode; absent in bundles from before them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<crate::products::ProductModels>,
    /// Retention models for lifetime value (relational mode; absent in bundles from
    /// before them: those label without `lifetime_value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::lifecycle::RetentionModel>,
    pub metrics: TrainMetrics,
    pub drift: DriftReference,
}

/// A bundle directory resolved from what the user passed.
#[derive(Clone, Debug)]
pub struct Located {
    pub dir: PathBuf,
    pub bundle: Bundle,
}

impl Bundle {
    /// SHA-256 of the bundle's JSON with the creation time and version blanked: equal
    /// for equal data, seed and settings.
    pub fn content_hash(&self) -> Result<String> {
        let mut copy = self.clone();
        copy.created_at.clear();
        copy.version.clear();
        copy.content_sha256.clear();
        let json = serde_json::to_vec(&copy)
            .map_err(|e| Error::Runtime(format!("cannot encode the bundle: {e}")))?;
        Ok(hex(&Sha256::digest(&json)))
    }

    /// Assigns the version from the time and content, then publishes the bundle under
    /// `models_dir/<version>/` atomically (written into a staging directory, loaded back
    /// and checked, renamed into place) and points `models_dir/latest` at it. When the
    /// same version is already there with the same content (two runs on the same data in
    /// the same second), that one is kept and reused.
    ///
    /// # Errors
    /// `Error::Exists` if that version is published with other content; `Error::Bundle`
    /// if the written bundle does not load back; I/O errors.
    pub fn publish(
        &mut self,
        models_dir: &Path,
        now_utc: &str,
        names: &str,
        scores_csv: Option<&str>,
    ) -> Result<PathBuf> {
        use crate::fsio::rundir::{self, OutputKind, Protected, Replace, Staging};
        rundir::check_models_dir(models_dir, &Protected::default(), LATEST_FILE)?;
        let stamp: String = now_utc
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        self.created_at = now_utc.to_string();
        self.format_version = FORMAT_VERSION;
        self.content_sha256 = self.content_hash()?;
        self.version = format!("{stamp}-{}", &self.content_sha256[..8]);
        let dir = models_dir.join(&self.version);
        if !self.same_as_published(&dir)? {
            let staging = Staging::new(&dir, OutputKind::ModelVersion)?;
            self.write_files(staging.path(), names, scores_csv)?;
            // A bundle that cannot be loaded is never published.
            Bundle::load(staging.path())?;
            match staging.publish(Replace::Never, &Protected::default(), "--models") {
                Ok(_) => {}
                Err(Error::Exists { .. }) if self.same_as_published(&dir)? => {}
                Err(e) => return Err(e),
            }
        }
        // Checked again: `latest` is the one file a run replaces in the models directory.
        rundir::check_pointer(&models_dir.join(LATEST_FILE), "--models")?;
        crate::fsio::write_atomic(
            &models_dir.join(LATEST_FILE),
            format!("{}\n", self.version).as_bytes(),
        )?;
        Ok(dir)
    }

    fn write_files(&self, dir: &Path, names: &str, scores_csv: Option<&str>) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Runtime(format!("cannot encode the bundle: {e}")))?;
        crate::fsio::write_atomic(&dir.join(BUNDLE_FILE), &json)?;
        let metrics = serde_json::to_vec_pretty(&self.metrics)
            .map_err(|e| Error::Runtime(format!("cannot encode the metrics: {e}")))?;
        crate::fsio::write_atomic(&dir.join(METRICS_FILE), &metrics)?;
        crate::fsio::write_atomic(&dir.join(NAMES_FILE), names.as_bytes())?;
        if let Some(scores) = scores_csv {
            crate::fsio::write_atomic(&dir.join(SCORES_FILE), scores.as_bytes())?;
        }
        Ok(())
    }

    /// True when `dir` already holds this very bundle (same content hash).
    fn same_as_published(&self, dir: &Path) -> Result<bool> {
        if !dir.join(BUNDLE_FILE).exists() {
            return Ok(false);
        }
        let theirs = Bundle::load(dir)?.bundle.content_hash()?;
        Ok(theirs == self.content_hash()?)
    }

    /// Loads a bundle from a version directory, a `latest` file, or a models directory
    /// (whose `latest` is followed).
    ///
    /// ```
    /// use clientele::bundle::Bundle;
    /// # use clientele::config::{Config, FlatConfig, Mode};
    /// # use clientele::ingest::{load_from, Frames, Input, LoadOptions};
    /// # use clientele::schema::Source;
    /// # use clientele::train::{fit, FitOptions};
    /// # use polars::prelude::*;
    /// # let n = 300;
    /// # let ids: Vec<String> = (0..n).map(|i| format!("C{i}")).collect();
    /// # let x: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
    /// # let y: Vec<&str> = (0..n).map(|i| if (i % 5) + (i % 3) > 3 { "1" } else { "0" }).collect();
    /// # let mut config = Config::default();
    /// # config.mode = Mode::Flat;
    /// # config.flat = Some(FlatConfig { path: "t.csv".into(), id: "id".into(), label: Some("y".into()),
    /// #     positive: None, numeric: vec!["x".into()].into(), categorical: vec![], exclude: vec![] });
    /// # let frames = Frames::new().with(Source::Flat, df!("id" => ids, "x" => x, "y" => y)?);
    /// # let mut loaded = load_from(&config, Input::Frames(&frames), &LoadOptions::from_config(&config, true), None)?;
    /// let models = tempfile::tempdir()?;
    /// let mut bundle = fit(&config, &mut loaded, &FitOptions::from_config(&config)?, None)?.bundle;
    /// bundle.publish(models.path(), "2026-11-01T00:00:00Z", "", None)?;
    ///
    /// // The models directory's `latest` leads to the version just published.
    /// let located = Bundle::load(models.path())?;
    /// assert_eq!(located.bundle.version, bundle.version);
    /// assert_eq!(located.dir, models.path().join(&bundle.version));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// `Error::Bundle` when nothing is found, the JSON is damaged, its format version is
    /// not this program's, or a value breaks an invariant no training run could break.
    pub fn load(path: &Path) -> Result<Located> {
        let dir = resolve(path)?;
        let file = dir.join(BUNDLE_FILE);
        crate::fsio::require_regular_file(&file)?;
        let text = std::fs::read_to_string(&file).map_err(|e| Error::Bundle {
            path: file.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        let bundle = Bundle::parse(&text, &file)?;
        let dir_name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(name) = dir_name.filter(|n| crate::fsio::rundir::is_version_name(n)) {
            if name != bundle.version && bundle.format_version >= DIGESTED_FORMAT {
                return Err(Error::Bundle {
                    path: file,
                    message: format!(
                        "its version field says {:?} but it lies in the version directory {name}: \
                         a published version is never renamed or moved between versions; load the \
                         directory it was published as",
                        bundle.version
                    ),
                });
            }
        }
        Ok(Located { dir, bundle })
    }

    /// Parses and checks a bundle's JSON text; `file` is the path named in errors.
    ///
    /// # Errors
    /// `Error::Bundle` when the JSON is damaged, its format version is not this
    /// program's, or a value breaks an invariant no training run could break.
    pub fn parse(text: &str, file: &Path) -> Result<Bundle> {
        let bad = |message: String| Error::Bundle {
            path: file.to_path_buf(),
            message,
        };
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| bad(format!("damaged (not valid JSON: {e})")))?;
        let format = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64);
        if !format.is_some_and(|f| READS_FORMATS.contains(&f)) {
            return Err(bad(format!(
                "format version {} but this program reads formats 1 to {FORMAT_VERSION}: retrain the \
                 model with this version of clientele, or use the clientele release that wrote it",
                format.map_or_else(|| "missing".to_string(), |f| f.to_string())
            )));
        }
        let mut bundle: Bundle = serde_json::from_value(value)
            .map_err(|e| bad(format!("damaged or incomplete: {e}")))?;
        if bundle.format_version < DIGESTED_FORMAT {
            // Older releases stored the training run's paths as given.
            bundle.config = bundle.config.rooted_in_data_dir();
        }
        if bundle.config != bundle.config.rooted_in_data_dir() {
            return Err(bad(
                "damaged: its config names a data directory or a source file outside the data \
                 directory of the run; a model reads each month's files from that run's --data"
                    .into(),
            ));
        }
        check::invariants(&bundle).map_err(|m| bad(format!("damaged: {m}")))?;
        check::retired_features(&bundle).map_err(bad)?;
        bundle.check_digest().map_err(bad)?;
        Ok(bundle)
    }

    /// A format-3 bundle's content must be what was published: the recorded digest, and
    /// the version name's hash part, both match the content.
    fn check_digest(&self) -> std::result::Result<(), String> {
        if self.format_version < DIGESTED_FORMAT {
            return Ok(());
        }
        let how = "a published model version is immutable: to change its segment names or \
                   action table without retraining, derive a new version \
                   (`clientele-train --derive-from <version>`); to undo an accidental edit, \
                   restore the file from the original";
        let actual = self.content_hash().map_err(|e| e.to_string())?;
        if self.content_sha256.is_empty() {
            return Err(format!(
                "its content digest (content_sha256) is missing: {how}"
            ));
        }
        if actual != self.content_sha256 {
            return Err(format!(
                "changed after it was published (its content no longer matches the digest \
                 recorded then): {how}"
            ));
        }
        if !self.version.ends_with(&format!("-{}", &actual[..8])) {
            return Err(format!(
                "its version {:?} does not name its content (expected it to end in -{}): {how}",
                self.version,
                &actual[..8]
            ));
        }
        Ok(())
    }
}

fn resolve(path: &Path) -> Result<PathBuf> {
    let not_found = |message: String| Error::Bundle {
        path: path.to_path_buf(),
        message,
    };
    if path.is_dir() && path.join(BUNDLE_FILE).exists() {
        return Ok(path.to_path_buf());
    }
    let latest = if path.is_dir() {
        path.join(LATEST_FILE)
    } else {
        path.to_path_buf()
    };
    if latest.is_file() {
        let version = std::fs::read_to_string(&latest)
            .map_err(|e| not_found(format!("cannot read {}: {e}", latest.display())))?;
        let version = version.trim();
        let valid = !version.is_empty()
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(not_found(format!(
                "{} does not name a model version",
                latest.display()
            )));
        }
        let dir = latest.parent().unwrap_or(Path::new(".")).join(version);
        if dir.join(BUNDLE_FILE).exists() {
            return Ok(dir);
        }
        return Err(not_found(format!(
            "{} names version {version}, which is not there",
            latest.display()
        )));
    }
    Err(not_found(
        "no model here: pass a version directory (models/<version>), models/latest, or the models directory".into(),
    ))
}

/// Current UTC time as RFC 3339 (seconds), without a date-time dependency. Honours
/// `SOURCE_DATE_EPOCH` (the reproducible-builds convention): with it set, a run on the
/// same data, seed and settings publishes byte-identical files under the same version.
pub fn now_utc() -> String {
    let fixed = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let secs = fixed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let days = i32::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = Date::from_days(days).ymd();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
