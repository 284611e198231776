//! The run configuration, read from TOML. Maps an insurer's files and column names onto
//! the data contract (`schema`). Every setting has a default that fits the bundled sample.

pub mod actions;
pub mod effect;
pub mod labels;
pub mod lifecycle;

use crate::date::Date;
use crate::error::{Error, Result};
use crate::schema::Source;
pub use actions::{ActionRule, ActionTable};
pub use effect::EffectSettings;
pub use labels::{LabelRules, NeedsSettings, StageSettings, TierBasis, TierSettings};
pub use lifecycle::{CohortPeriod, PersistencySettings, ValueSettings};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::schema::Mode;

/// Where one source lives and how its columns are named.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// File path, relative to the data directory. Default: `<source>.csv` or
    /// `<source>.parquet`, whichever exists.
    pub path: Option<PathBuf>,
    /// Contract field -> the file's column name, for fields whose names differ.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

/// The flat per-client table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatConfig {
    /// The file, relative to the data directory; not needed for a table in memory.
    #[serde(default, skip_serializing_if = "is_empty_path")]
    pub path: PathBuf,
    #[serde(default = "default_id_column")]
    pub id: String,
    /// The label column (needed for training, ignored when labeling).
    pub label: Option<String>,
    /// The label value that means "lapsed"; by default 1, yes, true or y.
    pub positive: Option<String>,
    /// The numeric feature columns: a list, or `"*"` for every column that is not the
    /// id, the label, a categorical feature or excluded.
    #[serde(default)]
    pub numeric: NumericColumns,
    #[serde(default)]
    pub categorical: Vec<String>,
    /// With `numeric = "*"`: columns that are not features (free text, dates, other
    /// targets...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// `[flat] numeric`: the listed columns, or every remaining column (`"*"`), resolved
/// against the file's header when it is read, in the header's order.
#[derive(Clone, Debug, PartialEq)]
pub enum NumericColumns {
    Listed(Vec<String>),
    Remaining,
}

impl Default for NumericColumns {
    fn default() -> Self {
        NumericColumns::Listed(Vec::new())
    }
}

impl From<Vec<String>> for NumericColumns {
    fn from(columns: Vec<String>) -> Self {
        NumericColumns::Listed(columns)
    }
}

impl NumericColumns {
    /// The columns named in the config (none for `"*"`, which only the header resolves).
    pub fn listed(&self) -> &[String] {
        match self {
            NumericColumns::Listed(columns) => columns,
            NumericColumns::Remaining => &[],
        }
    }
}

impl Serialize for NumericColumns {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            NumericColumns::Listed(columns) => columns.serialize(s),
            NumericColumns::Remaining => s.serialize_str("*"),
        }
    }
}

impl<'de> Deserialize<'de> for NumericColumns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Spelled {
            Star(String),
            Listed(Vec<String>),
        }
        match Spelled::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "numeric must be a list of column names or \"*\" (every remaining column)",
            )
        })? {
            Spelled::Listed(columns) => Ok(NumericColumns::Listed(columns)),
            Spelled::Star(star) if star.trim() == "*" => Ok(NumericColumns::Remaining),
            Spelled::Star(other) => Err(serde::de::Error::custom(format!(
                "numeric = {other:?}: expected a list of column names or \"*\" (every remaining column)"
            ))),
        }
    }
}

impl FlatConfig {
    /// Each column plays one role: the id, the label and every feature are distinct
    /// columns (names compared as the file's header is matched: ignoring case and
    /// surrounding spaces).
    fn check_roles(&self) -> std::result::Result<(), String> {
        let key = |c: &str| c.trim().to_ascii_lowercase();
        let mut seen: Vec<(String, &str)> = vec![(key(&self.id), "the id")];
        if let Some(label) = &self.label {
            seen.push((key(label), "the label"));
        }
        let features = self
            .numeric
            .listed()
            .iter()
            .map(|c| (c, "numeric"))
            .chain(self.categorical.iter().map(|c| (c, "categorical")))
            .chain(self.exclude.iter().map(|c| (c, "excluded")));
        for (column, role) in features {
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key(column)) {
                let why = match *first {
                    "the label" => "the label cannot be a feature (it would leak the answer)",
                    "the id" => "the id cannot be a feature",
                    _ => "a column can be listed once",
                };
                let what = |role: &str| match role {
                    "excluded" => "an excluded column".to_string(),
                    r if r.starts_with("the") => r.to_string(),
                    r => format!("a {r} feature"),
                };
                if role == "excluded" && first.starts_with("the") {
                    // Excluding the id or the label says what is already true.
                    continue;
                }
                return Err(format!(
                    "[flat] lists column '{column}' as {}, but it is already {}: {why}",
                    what(role),
                    what(first)
                ));
            }
            seen.push((key(column), role));
        }
        if let Some(label) = &self.label {
            if key(label) == key(&self.id) {
                return Err(format!(
                    "[flat] uses column '{label}' as both the id and the label"
                ));
            }
        }
        Ok(())
    }
}

fn is_empty_path(path: &Path) -> bool {
    path.as_os_str().is_empty()
}

fn default_id_column() -> String {
    "client_id".to_string()
}

/// Cleaning rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CleaningConfig {
    /// Stop when more than this percentage of a source's rows is invalid.
    pub max_invalid_percent: f64,
    /// Numeric client attributes are capped at this upper quantile (and at 1 - it below).
    pub outlier_quantile: f64,
    /// Date of the data extract: rows dated after it are quarantined as future-dated.
    /// Default: today (UTC).
    pub extract_date: Option<Date>,
}

impl Default for CleaningConfig {
    fn default() -> Self {
        CleaningConfig {
            max_invalid_percent: 5.0,
            outlier_quantile: 0.995,
            extract_date: None,
        }
    }
}

/// Training a book too large to hold in one piece (`[training]`; `docs/data.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingSettings {
    /// Feature rows the models (segments, lapse, products) are fitted on when the book is
    /// trained in parts: a sample stratified by outcome, by the seeded client hash.
    /// Features, cleaning statistics and the cut-off still come from every client.
    pub fit_sample: u64,
}

/// `[training] fit_sample`'s default: on the generated 1M book a model fitted on 250,000
/// rows scores every client within 0.001 of the AUC of the whole-book model
/// (`docs/benchmarks.md`, "Training on a sample").
pub const DEFAULT_FIT_SAMPLE: u64 = 250_000;

impl Default for TrainingSettings {
    fn default() -> Self {
        TrainingSettings {
            fit_sample: DEFAULT_FIT_SAMPLE,
        }
    }
}

impl TrainingSettings {
    pub fn is_default(&self) -> bool {
        *self == TrainingSettings::default()
    }

    /// # Errors
    /// The key, its value and the allowed range.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.fit_sample < 1_000 {
            return Err(format!(
                "fit_sample = {} is too small: expected at least 1000 rows",
                self.fit_sample
            ));
        }
        Ok(())
    }
}

/// The whole configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub mode: Mode,
    /// Directory the source paths are relative to (overridden by `--data`).
    pub data_dir: Option<PathBuf>,
    pub sources: BTreeMap<String, SourceConfig>,
    /// Extra category spellings: field -> (spelling -> canonical value).
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    pub cleaning: CleaningConfig,
    pub flat: Option<FlatConfig>,
    /// Segment settings (`[segments]`).
    pub segments: crate::params::SegmentParams,
    /// Lapse model settings (`[lapse]`).
    pub lapse: crate::params::LapseParams,
    /// Lifecycle-stage thresholds (`[stages]`).
    pub stages: StageSettings,
    /// Value-tier thresholds (`[tiers]`).
    pub tiers: TierSettings,
    /// Needs tags and protection gap (`[needs]`).
    pub needs: NeedsSettings,
    /// Recommended-action rules (`[[actions]]`), first match wins; empty = the defaults.
    pub actions: Vec<ActionRule>,
    /// Persistency reporting (`[persistency]`): months, grace, free look, cohorts.
    pub persistency: PersistencySettings,
    /// Holdouts per action and the readout of their effect (`[effect]`). Left out of a
    /// bundle's JSON when default: the content digest of bundles published before the
    /// section existed stays theirs.
    #[serde(skip_serializing_if = "EffectSettings::is_default")]
    pub effect: EffectSettings,
    /// Lifetime value (`[value]`): discount rate, margin, horizon. Left out of a bundle's
    /// JSON when default, as `effect`.
    #[serde(skip_serializing_if = "ValueSettings::is_default")]
    pub value: ValueSettings,
    /// How a book too large for one piece is trained (`[training]`). Left out of a
    /// bundle's JSON when default, as `effect`.
    #[serde(skip_serializing_if = "TrainingSettings::is_default")]
    pub training: TrainingSettings,
    /// Set when the file was read, for error messages; not part of the file.
    #[serde(skip)]
    pub origin: Option<PathBuf>,
}

impl Config {
    /// Reads and checks a TOML config file.
    ///
    /// # Errors
    /// `Error::Read` when the file cannot be read, `Error::Config` when it does not
    /// parse or names an unknown source or field.
    pub fn from_file(path: &Path) -> Result<Self> {
        Config::parse(&crate::fsio::read_text(path)?, path)
    }

    /// Parses and checks a config's TOML text; `origin` is the file named in errors.
    ///
    /// # Errors
    /// `Error::Config` when the text does not parse or names an unknown source or field.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let mut config: Config = toml::from_str(text).map_err(|e| Error::Config {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })?;
        config.origin = Some(origin.to_path_buf());
        config.check()?;
        Ok(config)
    }

    fn config_error(&self, message: String) -> Error {
        Error::Config {
            path: self
                .origin
                .clone()
                .unwrap_or_else(|| PathBuf::from("<defaults>")),
            message,
        }
    }

    /// `[segments] features` must name model columns this mode can have: a computed
    /// feature, a declared flat column, or a one-hot level (`<categorical>=<level>`). A
    /// misspelled name is an error here, not a surprise after the data is read.
    fn check_segment_features(&self) -> Result<()> {
        let categorical: Vec<&str> = match (self.mode, &self.flat) {
            (Mode::Flat, Some(flat)) => flat.categorical.iter().map(String::as_str).collect(),
            (Mode::Relational, _) => crate::vocab::CATEGORICAL.to_vec(),
            _ => Vec::new(),
        };
        let numeric: Vec<&str> = match (self.mode, &self.flat) {
            (Mode::Flat, Some(flat)) => match &flat.numeric {
                NumericColumns::Listed(columns) => columns.iter().map(String::as_str).collect(),
                // Known once the header is read; checked against the model's features then.
                NumericColumns::Remaining => return Ok(()),
            },
            _ => crate::vocab::Feature::catalogue(self.mode)
                .iter()
                .map(|f| f.name())
                .collect(),
        };
        for f in &self.segments.features {
            let one_hot = f
                .split_once('=')
                .is_some_and(|(c, _)| categorical.contains(&c));
            if !one_hot && !numeric.contains(&f.as_str()) {
                return Err(self.config_error(format!(
                    "[segments] features names '{f}', which is not a feature of {:?} mode; \
                     numeric features: {}{}",
                    self.mode,
                    numeric.join(", "),
                    if categorical.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; one-hot levels as <column>=<level> of {}",
                            categorical.join(", ")
                        )
                    }
                )));
            }
        }
        Ok(())
    }

    /// `[stages]`, `[tiers]` and `[needs]` within their ranges (the file and key named).
    ///
    /// # Errors
    /// `Error::Config` naming the key, its value and the range.
    pub fn check_label_settings(&self) -> Result<()> {
        self.stages
            .check()
            .and_then(|()| self.tiers.check())
            .and_then(|()| self.needs.check())
            .map_err(|e| self.config_error(e.message()))?;
        self.persistency
            .check()
            .map_err(|m| self.config_error(format!("[persistency] {m}")))?;
        self.value
            .check()
            .map_err(|m| self.config_error(format!("[value] {m}")))?;
        self.training
            .check()
            .map_err(|m| self.config_error(format!("[training] {m}")))?;
        self.effect
            .check()
            .map_err(|m| self.config_error(format!("[effect] {m}")))
    }

    /// Validates names and ranges once, so that later code can trust them.
    pub fn check(&self) -> Result<()> {
        self.segments.clone().check()?;
        self.lapse.clone().check()?;
        self.check_label_settings()?;
        ActionTable::check(&self.actions)?;
        let allowed = self.mode.sources();
        for (name, source) in &self.sources {
            let Some(src) = allowed.iter().copied().find(|s| s.name() == name) else {
                return Err(self.config_error(format!(
                    "unknown source [sources.{name}] for mode {:?}; expected one of {:?}",
                    self.mode,
                    allowed.iter().map(|s| s.name()).collect::<Vec<_>>()
                )));
            };
            for field in source.columns.keys() {
                if src.field(field).is_none() {
                    return Err(self.config_error(format!(
                        "[sources.{name}.columns] names unknown field '{field}'; the contract's fields are {:?}",
                        src.fields().iter().map(|f| f.name).collect::<Vec<_>>()
                    )));
                }
            }
        }
        if self.mode == Mode::Flat && self.flat.is_none() {
            return Err(self.config_error("mode = \"flat\" needs a [flat] section".into()));
        }
        if let Some(flat) = &self.flat {
            if flat.numeric.listed().is_empty()
                && flat.numeric != NumericColumns::Remaining
                && flat.categorical.is_empty()
            {
                return Err(self.config_error(
                    "[flat] declares no feature columns (numeric = [...] or \"*\", categorical = [...])"
                        .into(),
                ));
            }
            if !flat.exclude.is_empty() && flat.numeric != NumericColumns::Remaining {
                return Err(self.config_error(
                    "[flat] exclude = [...] only applies with numeric = \"*\"; with a list of \
                     numeric columns, leave the column out of the list"
                        .into(),
                ));
            }
            flat.check_roles().map_err(|m| self.config_error(m))?;
        }
        self.check_segment_features()?;
        let pct = self.cleaning.max_invalid_percent;
        if !(0.0..=100.0).contains(&pct) {
            return Err(self.config_error(format!(
                "cleaning.max_invalid_percent must lie in 0..=100, got {pct}"
            )));
        }
        let q = self.cleaning.outlier_quantile;
        if !(0.5..=1.0).contains(&q) {
            return Err(self.config_error(format!(
                "cleaning.outlier_quantile must lie in 0.5..=1, got {q}"
            )));
        }
        Ok(())
    }

    /// The mapping of one source's columns (the default mapping when the config has no
    /// `[sources.<name>]` table).
    pub fn source_config(&self, source: Source) -> SourceConfig {
        self.sources.get(source.name()).cloned().unwrap_or_default()
    }

    /// The config as a model stores it: no data directory, and every source file named
    /// inside the data directory of the run that reads it. An absolute path, or one that
    /// climbs out with `..`, keeps only its file name: a labeling run reads this month's
    /// files from its own `--data`, never the training month's (nor anything a bundle
    /// is edited to point at).
    #[must_use]
    pub fn rooted_in_data_dir(&self) -> Config {
        let mut c = self.clone();
        c.data_dir = None;
        for sc in c.sources.values_mut() {
            if let Some(p) = &mut sc.path {
                *p = inside_data_dir(p);
            }
        }
        if let Some(flat) = &mut c.flat {
            flat.path = inside_data_dir(&flat.path);
        }
        c
    }

    /// The sources this run reads, with their resolved paths. A source named in the
    /// config must exist; with no config entry, a default file is used when present.
    pub fn resolve_sources(&self, data_dir: &Path) -> Result<Vec<(Source, PathBuf, SourceConfig)>> {
        let candidates = self.mode.sources();
        let mut out = Vec::new();
        for &src in candidates {
            match self.sources.get(src.name()) {
                Some(sc) => {
                    let path = match &sc.path {
                        Some(p) => data_dir.join(p),
                        None => default_file(data_dir, src)?.ok_or_else(|| {
                            self.config_error(format!(
                                "[sources.{src}] has no path and neither {src}.csv nor {src}.parquet exists in {}",
                                data_dir.display()
                            ))
                        })?,
                    };
                    if !path.exists() {
                        return Err(Error::not_found(path));
                    }
                    crate::fsio::require_regular_file(&path)?;
                    out.push((src, path, sc.clone()));
                }
                None => {
                    if let Some(path) = default_file(data_dir, src)? {
                        crate::fsio::require_regular_file(&path)?;
                        out.push((src, path, SourceConfig::default()));
                    }
                }
            }
        }
        if out.is_empty() && self.mode != Mode::Flat {
            return Err(Error::NoData(format!(
                "no source files found in {} (looked for {:?} as .csv or .parquet)",
                data_dir.display(),
                candidates.iter().map(|s| s.name()).collect::<Vec<_>>()
            )));
        }
        Ok(out)
    }

    /// The extract date rows are checked against.
    pub fn extract_date(&self) -> Date {
        self.cleaning.extract_date.unwrap_or_else(Date::today)
    }
}

/// `<source>.csv` or `<source>.parquet` in `dir`; both at once is refused rather than
/// silently choosing one (an old export beside a new one is a common mistake).
fn default_file(dir: &Path, src: Source) -> Result<Option<PathBuf>> {
    let found: Vec<PathBuf> = ["csv", "parquet"]
        .iter()
        .map(|ext| dir.join(format!("{}.{ext}", src.name())))
        .filter(|p| p.exists())
        .collect();
    if found.len() > 1 {
        return Err(Error::Malformed {
            path: dir.to_path_buf(),
            message: format!(
                "both {src}.csv and {src}.parquet are here: remove one, or name the file to \
                 read with [sources.{src}] path = \"...\" in a config"
            ),
        });
    }
    Ok(found.into_iter().next())
}

/// `path` if it stays inside the directory it is joined to, else its file name.
fn inside_data_dir(path: &Path) -> PathBuf {
    use std::path::Component;
    let stays = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if stays {
        path.to_path_buf()
    } else {
        path.file_name().map_or_else(PathBuf::new, PathBuf::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_mapping_and_rejects_unknown_fields() {
        let cfg: Config = toml::from_str(
            r#"
            [sources.clients]
            path = "crm.csv"
            columns = { client_id = "CustomerNo", annual_income = "Income" }
            [aliases.gender]
            "mr" = "male"
            "#,
        )
        .unwrap();
        cfg.check().unwrap();
        assert_eq!(cfg.sources["clients"].columns["client_id"], "CustomerNo");

        let bad: Config = toml::from_str("[sources.clients.columns]\nincome = \"x\"\n").unwrap();
        let err = bad.check().unwrap_err().to_string();
        assert!(err.contains("unknown field 'income'"), "{err}");

        let bad: Config = toml::from_str("[cleaning]\nmax_invalid_percent = 150.0\n").unwrap();
        assert!(bad.check().is_err());
    }

    #[test]
    fn segment_features_are_checked_against_the_mode_at_load() {
        let cfg = |text: &str| toml::from_str::<Config>(text).unwrap().check();
        cfg("[segments]\nfeatures = [\"age\", \"logins_6m\", \"gender=female\"]\n").unwrap();
        let err = cfg("[segments]\nfeatures = [\"agee\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'agee'") && err.contains("log_income"),
            "{err}"
        );
        // A relational feature in transactions mode, and a flat column not declared.
        assert!(cfg("mode = \"transactions\"\n[segments]\nfeatures = [\"age\"]\n").is_err());
        let flat =
            "mode = \"flat\"\n[flat]\npath = \"t.csv\"\nnumeric = [\"x\"]\ncategorical = [\"c\"]\n";
        cfg(&format!("{flat}[segments]\nfeatures = [\"x\", \"c=a\"]\n")).unwrap();
        assert!(cfg(&format!("{flat}[segments]\nfeatures = [\"y\"]\n")).is_err());
    }
}
