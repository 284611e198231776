//! `clientele._native`: the crate's entry points for Python. Tables cross as Arrow
//! through the C stream interface (`__arrow_c_stream__`), zero-copy on the way in; the
//! Python package (`clientele/__init__.py`) wraps these functions in its public API.
//!
//! Every entry point returns a clientele error as `clientele.BadInput` (the CLI's exit
//! code 2) or `clientele.RunError` (exit code 1) with the CLI's message in the Python
//! API's words; a panic never crosses into Python, nor prints to stderr.

use clientele::bundle::{Bundle, Located};
use clientele::config::Config;
use clientele::ingest::Frames;
use clientele::schema::Source;
use clientele::{Date, Error};
use polars::prelude::{DataFrame, PlSmallStr, Series};
use polars_arrow::array::{Array, StructArray};
use polars_arrow::datatypes::{ArrowDataType, Field};
use polars_arrow::ffi::{export_iterator, ArrowArrayStream, ArrowArrayStreamReader};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyDict};
use std::ffi::CString;
use std::path::PathBuf;

mod arrow_in;
mod pieces;
mod train_parts;

/// An exception of the package's own classes (`clientele/_errors.py`: picklable, with
/// `.file`, `.column`, `.row`), by class name.
fn py_error(
    kind: &str,
    message: String,
    file: Option<String>,
    column: Option<String>,
    row: Option<usize>,
) -> PyErr {
    Python::attach(|py| {
        let made = (|| -> PyResult<PyErr> {
            let class = py.import("clientele._errors")?.getattr(kind)?;
            let facts = PyDict::new(py);
            facts.set_item("file", file)?;
            facts.set_item("column", column)?;
            facts.set_item("row", row)?;
            Ok(PyErr::from_value(
                class.call((message.clone(),), Some(&facts))?,
            ))
        })();
        made.unwrap_or_else(|e| e)
    })
}

/// A clientele error as the Python exception of its kind (`BadInput`, the CLI's exit
/// code 2, or `RunError`), in the Python API's words, with its file, column and row.
fn to_py(e: &Error) -> PyErr {
    let chain = std::iter::successors(Some(e as &(dyn std::error::Error + 'static)), |c| {
        c.source()
    });
    let message = clientele::params::in_argument_words(&clientele::error::message_chain(chain));
    let kind = if e.is_bad_input() {
        "BadInput"
    } else {
        "RunError"
    };
    let file = e.file().map(|p| p.display().to_string());
    py_error(kind, message, file, e.column().map(str::to_string), e.row())
}

fn run_error(message: impl Into<String>) -> PyErr {
    py_error("RunError", message.into(), None, None, None)
}

/// Runs `f` with the GIL released; a clientele error or a panic becomes an exception.
fn engine<T: Send>(py: Python<'_>, f: impl FnOnce() -> clientele::Result<T> + Send) -> PyResult<T> {
    let outcome = py.detach(|| {
        clientele::error::catch_expected(f, |what| {
            Error::Runtime(format!(
                "internal error: {what}. This is a bug in clientele, not a problem with your \
                 data: please report it"
            ))
        })
    });
    outcome.map_err(|e| to_py(&e))
}

fn bad_input(message: String) -> PyErr {
    py_error("BadInput", message, None, None, None)
}

/// Bad input in a table's column.
fn bad_column(table: &str, column: &str, what: &str) -> PyErr {
    py_error(
        "BadInput",
        format!("<{table} table>, column '{column}': {what}"),
        Some(format!("<{table} table>")),
        Some(column.to_string()),
        None,
    )
}

/// A loaded, checked model bundle.
#[pyclass(module = "clientele._native", frozen)]
struct NativeBundle {
    located: Located,
}

#[pymethods]
impl NativeBundle {
    /// Loads `path`: a version directory, `models/latest` or a models directory.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let located = engine(py, || Bundle::load(&path))?;
        Ok(NativeBundle { located })
    }

    /// A bundle from its JSON text (`json()`), as loaded from `dir`: how executors that
    /// cannot read the driver's files get the driver's bundle.
    #[staticmethod]
    fn parse(py: Python<'_>, text: &str, dir: PathBuf) -> PyResult<Self> {
        let file = dir.join("bundle.json");
        let bundle = engine(py, || Bundle::parse(text, &file))?;
        Ok(NativeBundle {
            located: Located { dir, bundle },
        })
    }

    /// The directory the bundle was loaded from.
    #[getter]
    fn dir(&self) -> PathBuf {
        self.located.dir.clone()
    }

    /// The columns `transform` gives, in order: the fitted feature transform's
    /// (numeric features, then one-hot levels), whatever form the lapse model takes.
    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.located.bundle.features.columns()
    }

    /// The whole bundle as JSON text (the Python side parses it once).
    fn json(&self) -> PyResult<String> {
        serde_json::to_string(&self.located.bundle)
            .map_err(|e| run_error(format!("cannot serialise the bundle: {e}")))
    }

    /// Labels one month's tables (source name -> Arrow stream): the labels as an Arrow
    /// stream, the as-of date used and why, and the quality report as JSON.
    #[pyo3(signature = (tables, config=None, config_origin=None, as_of=None, extract_date=None, lang=None, vocabulary=None))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments, each optional
    fn label(
        &self,
        py: Python<'_>,
        tables: &Bound<'_, PyDict>,
        config: Option<String>,
        config_origin: Option<String>,
        as_of: Option<String>,
        extract_date: Option<String>,
        lang: Option<String>,
        vocabulary: Option<PathBuf>,
    ) -> PyResult<(ArrowStream, String, String, String)> {
        let words = words_of(lang, vocabulary)?;
        let bundle = &self.located.bundle;
        let config = self.run_config(py, config, config_origin, extract_date)?;
        let as_of = as_of.map(|d| parse_date(&d, "as_of")).transpose()?;
        let frames = frames_from(tables, config.mode)?;
        let done = engine(py, || {
            clientele::run::label_frames(bundle, &config, &frames, as_of, &words)
        })?;
        let quality = serde_json::to_string(&done.quality)
            .map_err(|e| run_error(format!("cannot serialise the report: {e}")))?;
        Ok((
            ArrowStream::of(&done.labels)?,
            done.as_of.to_string(),
            done.as_of_why,
            quality,
        ))
    }

    /// The point-in-time features of one month's tables (the input of `transform`),
    /// and the as-of date used.
    #[pyo3(signature = (tables, config=None, config_origin=None, as_of=None, extract_date=None))]
    fn features(
        &self,
        py: Python<'_>,
        tables: &Bound<'_, PyDict>,
        config: Option<String>,
        config_origin: Option<String>,
        as_of: Option<String>,
        extract_date: Option<String>,
    ) -> PyResult<(ArrowStream, String)> {
        let bundle = &self.located.bundle;
        let config = self.run_config(py, config, config_origin, extract_date)?;
        let as_of = as_of.map(|d| parse_date(&d, "as_of")).transpose()?;
        let frames = frames_from(tables, config.mode)?;
        let (frame, used) = engine(py, || {
            clientele::run::feature_frame(bundle, &config, &frames, as_of)
        })?;
        Ok((ArrowStream::of(&frame)?, used.to_string()))
    }

    /// The model matrix of a feature table: the bundle's fitted transform, nothing refit.
    fn transform(&self, py: Python<'_>, table: &Bound<'_, PyAny>) -> PyResult<ArrowStream> {
        let bundle = &self.located.bundle;
        let frame = import_engine_table(table, "features")?;
        let x = engine(py, || clientele::run::model_matrix(bundle, &frame))?;
        let columns: Vec<polars::prelude::Column> = bundle
            .features
            .columns()
            .iter()
            .zip(x.columns())
            .map(|(name, values)| {
                polars::prelude::Column::new(name.as_str().into(), values.to_vec())
            })
            .collect();
        let frame = DataFrame::new(x.nrows(), columns)
            .map_err(|e| run_error(format!("cannot build the matrix: {e}")))?;
        ArrowStream::of(&frame)
    }

    /// The lapse probability of each row of a feature table.
    fn predict_proba(&self, py: Python<'_>, table: &Bound<'_, PyAny>) -> PyResult<ArrowStream> {
        let bundle = &self.located.bundle;
        let frame = import_engine_table(table, "features")?;
        let p = engine(py, || clientele::run::lapse_probabilities(bundle, &frame))?;
        let column = polars::prelude::Column::new("lapse_probability".into(), p);
        let frame = DataFrame::new(column.len(), vec![column])
            .map_err(|e| run_error(format!("cannot build the table: {e}")))?;
        ArrowStream::of(&frame)
    }
    /// Labels part `part` of `parts` of a book split by client hash (`client_parts`):
    /// the labels as an Arrow stream and what the part adds to its run (JSON bytes for
    /// `NativeRun.add`). `pieces`: sources as pieces of their files (`cut_source`; a
    /// table of `source`, `order`, `format` and `piece`), beside those in `tables`.
    /// `previous`: last month's labels (a table with `client_id` and `segment_id`, and
    /// `lapse_probability`, `risk_band`, `action` for the outcomes), as `--previous-run`;
    /// `previous_as_of` and `previous_model`: that run's date and model version (from its
    /// summary.json), without which only the segment migration is counted.
    #[pyo3(signature = (tables, part, parts, config=None, config_origin=None, as_of=None, extract_date=None, previous=None, previous_as_of=None, previous_model=None, lang=None, vocabulary=None, pieces=None))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments, each optional
    fn label_part<'py>(
        &self,
        py: Python<'py>,
        tables: &Bound<'py, PyDict>,
        part: u64,
        parts: usize,
        config: Option<String>,
        config_origin: Option<String>,
        as_of: Option<String>,
        extract_date: Option<String>,
        previous: Option<Bound<'py, PyAny>>,
        previous_as_of: Option<String>,
        previous_model: Option<String>,
        lang: Option<String>,
        vocabulary: Option<PathBuf>,
        pieces: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(ArrowStream, Bound<'py, PyBytes>)> {
        let words = words_of(lang, vocabulary)?;
        if parts == 0 || part >= parts as u64 {
            return Err(bad_input(format!("part {part} of {parts}: no such part")));
        }
        let bundle = &self.located.bundle;
        let config = self.run_config(py, config, config_origin, extract_date)?;
        let as_of = as_of.map(|d| parse_date(&d, "as_of")).transpose()?;
        let mut frames = frames_from(tables, config.mode)?;
        if let Some(pieces) = pieces {
            frames = pieces::with_pieces(py, frames, &pieces, config.mode)?;
        }
        let of = clientele::labeling::PartOf { index: part, parts };
        let mut previous = previous.map(|t| previous_run(&t)).transpose()?;
        if let Some(run) = previous.as_mut() {
            run.as_of = previous_as_of
                .map(|d| parse_date(&d, "previous_as_of"))
                .transpose()?;
            run.model_version = previous_model;
        }
        let (labels, report) = engine(py, || {
            let previous = previous.as_ref();
            let done = clientele::run::label_part_frames(
                bundle,
                &config,
                &frames,
                as_of,
                (of, previous),
                &words,
            )?;
            Ok(clientele::run::PartReport::of(bundle, of, done))
        })?;
        let json = report.to_json().map_err(|e| to_py(&e))?;
        Ok((ArrowStream::of(&labels)?, PyBytes::new(py, &json)))
    }

    /// A labeling run of one month's tables as one part (`run::label_run_frames`):
    /// the labels, the as-of date and why, and the quality report, summary and drift
    /// (JSON); with `out`, the report files are published there (its path is returned).
    /// Last month's labels come as a run directory (`previous_dir`, as `--previous-run`)
    /// or a table (`previous`, with `previous_as_of` and `previous_model`).
    #[pyo3(signature = (tables, config=None, config_origin=None, as_of=None, extract_date=None, out=None, overwrite=false, min_report_count=None, previous_dir=None, previous=None, previous_as_of=None, previous_model=None, lang=None, vocabulary=None))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments, each optional
    fn label_run<'py>(
        &self,
        py: Python<'py>,
        tables: &Bound<'py, PyDict>,
        config: Option<String>,
        config_origin: Option<String>,
        as_of: Option<String>,
        extract_date: Option<String>,
        out: Option<PathBuf>,
        overwrite: bool,
        min_report_count: Option<usize>,
        previous_dir: Option<PathBuf>,
        previous: Option<Bound<'py, PyAny>>,
        previous_as_of: Option<String>,
        previous_model: Option<String>,
        lang: Option<String>,
        vocabulary: Option<PathBuf>,
    ) -> PyResult<(ArrowStream, Vec<String>, Option<PathBuf>)> {
        let words = words_of(lang, vocabulary)?;
        let config = self.run_config(py, config, config_origin, extract_date)?;
        let as_of = as_of.map(|d| parse_date(&d, "as_of")).transpose()?;
        let frames = frames_from(tables, config.mode)?;
        let mut last = previous.map(|t| previous_run(&t)).transpose()?;
        if let Some(run) = last.as_mut() {
            run.as_of = previous_as_of
                .map(|d| parse_date(&d, "previous_as_of"))
                .transpose()?;
            run.model_version = previous_model;
        }
        let opts = clientele::run::PublishOptions {
            overwrite,
            min_report_count: min_report_count.unwrap_or(clientele::run::MIN_REPORT_COUNT),
            words,
            ..Default::default()
        };
        let located = &self.located;
        let done = engine(py, || {
            let read = previous_dir
                .as_deref()
                .map(clientele::labeling::output::read_previous_run)
                .transpose()?;
            let previous = read.as_ref().or(last.as_ref());
            clientele::run::label_run_frames(
                located,
                &config,
                &frames,
                as_of,
                previous,
                out.as_deref(),
                &opts,
            )
        })?;
        let fail = |e: serde_json::Error| run_error(format!("cannot serialise: {e}"));
        let texts = vec![
            done.as_of.to_string(),
            done.as_of_why.clone(),
            serde_json::to_string(&done.quality).map_err(fail)?,
            serde_json::to_string(&done.summary).map_err(fail)?,
            serde_json::to_string(&done.drift).map_err(fail)?,
        ];
        Ok((ArrowStream::of(&done.labels)?, texts, done.out_dir))
    }

    /// An empty labels table: the columns and Arrow types of `labels.parquet`.
    #[staticmethod]
    fn labels_schema() -> PyResult<ArrowStream> {
        let empty = clientele::labeling::output::LabelChunk::default()
            .frame()
            .map_err(|e| run_error(format!("cannot build the labels table: {e}")))?;
        ArrowStream::of(&empty)
    }

    /// The client id column of each table (source name -> its column names), checked
    /// against the contract as loading checks it.
    #[pyo3(signature = (columns, config=None, config_origin=None))]
    fn id_columns(
        &self,
        py: Python<'_>,
        columns: &Bound<'_, PyDict>,
        config: Option<String>,
        config_origin: Option<String>,
    ) -> PyResult<Vec<(String, String)>> {
        let config = self.run_config(py, config, config_origin, None)?;
        per_table_column(py, &config, columns, clientele::ingest::id_columns_in)
    }

    /// The columns of the tables (source name -> column names) the contract does not use.
    #[pyo3(signature = (columns, config=None, config_origin=None))]
    fn unused_columns(
        &self,
        py: Python<'_>,
        columns: &Bound<'_, PyDict>,
        config: Option<String>,
        config_origin: Option<String>,
    ) -> PyResult<Vec<(String, String)>> {
        let config = self.run_config(py, config, config_origin, None)?;
        per_table_column(py, &config, columns, clientele::ingest::unused_columns_in)
    }

    /// The extract date a labeling run with these settings reads its month against (the
    /// CLI's rule), fixed once on a driver for every executor.
    #[pyo3(signature = (config=None, config_origin=None, extract_date=None))]
    fn labeling_extract_date(
        &self,
        py: Python<'_>,
        config: Option<String>,
        config_origin: Option<String>,
        extract_date: Option<String>,
    ) -> PyResult<String> {
        let config = self.run_config(py, config, config_origin, extract_date)?;
        Ok(config.extract_date().to_string())
    }

    /// A run labelled in parts elsewhere, to which the parts' reports are added.
    fn run(&self) -> NativeRun {
        NativeRun {
            located: self.located.clone(),
            totals: Some(clientele::run::RunTotals::new()),
        }
    }
}

/// The parts' reports of a run labelled in parts (Spark executors), summed here.
#[pyclass(module = "clientele._native")]
struct NativeRun {
    located: Located,
    /// `None` once published.
    totals: Option<clientele::run::RunTotals>,
}

impl NativeRun {
    fn totals(&mut self) -> PyResult<&mut clientele::run::RunTotals> {
        self.totals
            .as_mut()
            .ok_or_else(|| run_error("this run was already published"))
    }
}

#[pymethods]
impl NativeRun {
    /// Adds a part's report (the bytes `NativeBundle.label_part` returned).
    fn add(&mut self, py: Python<'_>, report: &[u8]) -> PyResult<()> {
        let b = &self.located.bundle;
        let report = engine(py, || clientele::run::PartReport::from_json(b, report))?;
        self.totals()?.add(report).map_err(|e| to_py(&e))
    }

    /// The as-of date every part chose and why; an error when parts differ.
    fn as_of(&mut self) -> PyResult<(String, String)> {
        let (date, why) = self.totals()?.as_of().map_err(|e| to_py(&e))?;
        Ok((date.to_string(), why))
    }

    /// The latest as-of date any part chose (the whole book's, by the as-of rule).
    fn latest_as_of(&mut self) -> PyResult<Option<String>> {
        Ok(self.totals()?.latest_as_of().map(|d| d.to_string()))
    }

    /// Publishes the run's report files into `out`; returns the summary and the drift
    /// report as JSON.
    #[pyo3(signature = (out, unused_columns, config=None, config_origin=None, extract_date=None, overwrite=false, min_report_count=None, with_previous=false, lang=None, vocabulary=None))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments, each optional
    fn publish(
        &mut self,
        py: Python<'_>,
        out: PathBuf,
        unused_columns: Vec<(String, String)>,
        config: Option<String>,
        config_origin: Option<String>,
        extract_date: Option<String>,
        overwrite: bool,
        min_report_count: Option<usize>,
        with_previous: bool,
        lang: Option<String>,
        vocabulary: Option<PathBuf>,
    ) -> PyResult<(PathBuf, String, String)> {
        let words = words_of(lang, vocabulary)?;
        let min_report_count = min_report_count.unwrap_or(clientele::run::MIN_REPORT_COUNT);
        let bundle = NativeBundle {
            located: self.located.clone(),
        };
        let config = bundle.run_config(py, config, config_origin, extract_date)?;
        let mut unused = Vec::new();
        for (source, column) in unused_columns {
            unused.push((source_named(&source, config.mode)?, column));
        }
        let opts = clientele::run::PublishOptions {
            overwrite,
            min_report_count,
            unused_columns: unused,
            with_previous,
            words,
        };
        let totals = self
            .totals
            .take()
            .ok_or_else(|| run_error("this run was already published"))?;
        let located = &self.located;
        let done = engine(py, || totals.publish(located, &config, &out, &opts))?;
        let fail = |e: serde_json::Error| run_error(format!("cannot serialise: {e}"));
        let summary = serde_json::to_string(&done.summary).map_err(fail)?;
        let drift = serde_json::to_string(&done.drift).map_err(fail)?;
        Ok((done.out_dir, summary, drift))
    }
}

/// The client id column of each table (source name -> its column names) under a config
/// (the given TOML, else the default contract), checked as loading checks it.
#[pyfunction]
#[pyo3(signature = (columns, config=None, config_origin=None))]
fn id_columns_of(
    py: Python<'_>,
    columns: &Bound<'_, PyDict>,
    config: Option<String>,
    config_origin: Option<String>,
) -> PyResult<Vec<(String, String)>> {
    let config = match config {
        Some(text) => parse_config(py, &text, config_origin)?,
        None => Config::default(),
    };
    per_table_column(py, &config, columns, clientele::ingest::id_columns_in)
}

/// Each table's column names.
type TableColumns = [(Source, Vec<String>)];
/// A question about the tables' columns answered with (source, column) pairs.
type ColumnQuestion = fn(&Config, &TableColumns) -> clientele::Result<Vec<(Source, String)>>;

/// A question about the tables' columns (source name -> column names) answered with
/// (source name, column) pairs: id columns, unused columns.
fn per_table_column(
    py: Python<'_>,
    config: &Config,
    columns: &Bound<'_, PyDict>,
    ask: ColumnQuestion,
) -> PyResult<Vec<(String, String)>> {
    let tables = columns_from(columns, config.mode)?;
    let answer = engine(py, || ask(config, &tables))?;
    Ok(answer
        .into_iter()
        .map(|(s, c)| (s.name().to_string(), c))
        .collect())
}

/// Last month's labels from a labels table, keyed as `--previous-run` keys them. The
/// table is the engine's own (`Run.labels`, or read back): its bool `holdout` is read
/// as labels.csv's words.
fn previous_run(table: &Bound<'_, PyAny>) -> PyResult<clientele::labeling::outcomes::PreviousRun> {
    let frame = import_engine_table(table, "previous labels")?;
    clientele::labeling::output::previous_from_frame(&frame).map_err(|m| {
        bad_input(format!(
            "previous labels: {m} (expected client_id as text and segment_id as a whole number)"
        ))
    })
}

/// The client part (0..parts) of each id of a one-column table, by the CLI's hash
/// (`clientele-infer --partitions`): a missing id goes where the empty id goes.
#[pyfunction]
fn client_parts(py: Python<'_>, ids: &Bound<'_, PyAny>, parts: usize) -> PyResult<ArrowStream> {
    if parts == 0 {
        return Err(bad_input("parts must be at least 1".into()));
    }
    let frame = import_table(ids, "ids")?;
    let column = frame
        .columns()
        .first()
        .ok_or_else(|| bad_input("client_parts needs a table with one column of ids".into()))?
        .cast(&polars::prelude::DataType::String)
        .map_err(|e| bad_input(format!("client ids must be text: {e}")))?;
    let ids = column
        .str()
        .map_err(|e| bad_input(format!("client ids must be text: {e}")))?
        .clone();
    let part: Vec<i32> = py.detach(|| {
        use clientele::ingest::partition::part_of;
        ids.iter()
            .map(|id| part_of(id.unwrap_or(""), parts) as i32)
            .collect()
    });
    let column = polars::prelude::Column::new("__part".into(), part);
    let frame = DataFrame::new(column.len(), vec![column])
        .map_err(|e| run_error(format!("cannot build the table: {e}")))?;
    ArrowStream::of(&frame)
}

impl NativeBundle {
    /// The config of a labeling run: the given TOML, else the bundle's own, with the
    /// extract date resolved (`run::labeling_config`, the CLI's rule).
    fn run_config(
        &self,
        py: Python<'_>,
        config: Option<String>,
        origin: Option<String>,
        extract_date: Option<String>,
    ) -> PyResult<Config> {
        let given = config
            .map(|text| parse_config(py, &text, origin))
            .transpose()?;
        let extract_date = extract_date
            .map(|d| parse_date(&d, "extract_date"))
            .transpose()?;
        Ok(clientele::run::labeling_config(
            &self.located.bundle,
            given,
            extract_date,
        ))
    }
}

/// Trains on tables in memory and publishes a bundle under `models`; returns the bundle
/// directory and the bundle as JSON.
#[pyfunction]
#[pyo3(signature = (tables, config=None, config_origin=None, models="models".into(), out="notebooks-out".into(), seed=None, k=None, horizon_months=None, as_of=None, extract_date=None, charts=false, lang=None, vocabulary=None))]
#[allow(clippy::too_many_arguments)] // Python keyword arguments, each optional
fn train(
    py: Python<'_>,
    tables: &Bound<'_, PyDict>,
    config: Option<String>,
    config_origin: Option<String>,
    models: PathBuf,
    out: PathBuf,
    seed: Option<u64>,
    k: Option<usize>,
    horizon_months: Option<i32>,
    as_of: Option<String>,
    extract_date: Option<String>,
    charts: bool,
    lang: Option<String>,
    vocabulary: Option<PathBuf>,
) -> PyResult<(PathBuf, String)> {
    let words = words_of(lang, vocabulary)?;
    let config = train_parts::train_config(py, config, config_origin, extract_date)?;
    let defaults = clientele::run::TrainOptions::default();
    let opts = clientele::run::TrainOptions {
        as_of: as_of.map(|d| parse_date(&d, "as_of")).transpose()?,
        horizon_months: horizon_months.unwrap_or(defaults.horizon_months),
        seed: seed.unwrap_or(defaults.seed),
        k,
        models_dir: models,
        out_dir: out,
        charts,
        words,
        ..defaults
    };
    let frames = frames_from(tables, config.mode)?;
    let outcome = engine(py, || clientele::run::train_frames(&config, &frames, &opts))?;
    let json = serde_json::to_string(&outcome.bundle)
        .map_err(|e| run_error(format!("cannot serialise the bundle: {e}")))?;
    Ok((outcome.bundle_dir, json))
}

/// Checks a language and a house vocabulary file (the Spark runner, before any job).
#[pyfunction]
#[pyo3(signature = (lang=None, vocabulary=None))]
fn check_vocabulary(lang: Option<String>, vocabulary: Option<PathBuf>) -> PyResult<()> {
    words_of(lang, vocabulary).map(|_| ())
}

/// The run's words: `lang` (a shipped language) and/or a house `vocabulary` file.
pub(crate) fn words_of(
    lang: Option<String>,
    vocabulary: Option<PathBuf>,
) -> PyResult<std::sync::Arc<clientele::vocab::Vocabulary>> {
    clientele::vocab::Vocabulary::choose(lang.as_deref(), vocabulary.as_deref())
        .map_err(|e| to_py(&e))
}

fn parse_config(py: Python<'_>, text: &str, origin: Option<String>) -> PyResult<Config> {
    let origin = PathBuf::from(origin.unwrap_or_else(|| "<config>".into()));
    engine(py, || Config::parse(text, &origin))
}

/// The config with its extract date set, when one is given.
fn with_extract_date(mut config: Config, extract_date: Option<String>) -> PyResult<Config> {
    if let Some(d) = extract_date {
        config.cleaning.extract_date = Some(parse_date(&d, "extract_date")?);
    }
    Ok(config)
}

fn parse_date(text: &str, name: &str) -> PyResult<Date> {
    Date::parse(text)
        .ok_or_else(|| bad_input(format!("{name} = {text:?}: expected a date YYYY-MM-DD")))
}

/// The source a table name stands for; names the mode does not read are refused.
fn source_named(name: &str, mode: clientele::Mode) -> PyResult<Source> {
    let allowed: Vec<&str> = match mode {
        clientele::Mode::Flat => vec!["flat"],
        m => m.sources().iter().map(|s| s.name()).collect(),
    };
    Source::named(name)
        .filter(|s| allowed.contains(&s.name()))
        .ok_or_else(|| {
            bad_input(format!(
                "table {name:?} is not a source of {mode:?} mode; expected some of {allowed:?}"
            ))
        })
}

fn table_name(name: &Bound<'_, PyAny>) -> PyResult<String> {
    name.extract()
        .map_err(|_| bad_input("table names must be source names (text)".into()))
}

/// The tables of a call, by source name.
fn frames_from(tables: &Bound<'_, PyDict>, mode: clientele::Mode) -> PyResult<Frames> {
    let mut frames = Frames::new();
    for (name, table) in tables.iter() {
        let name = table_name(&name)?;
        let source = source_named(&name, mode)?;
        frames = frames.with(source, import_table(&table, &name)?);
    }
    Ok(frames)
}

/// The column names of each table (source name -> list of names).
fn columns_from(
    columns: &Bound<'_, PyDict>,
    mode: clientele::Mode,
) -> PyResult<Vec<(Source, Vec<String>)>> {
    let mut out = Vec::new();
    for (name, names) in columns.iter() {
        let name = table_name(&name)?;
        let names: Vec<String> = names
            .extract()
            .map_err(|_| bad_input(format!("the columns of {name:?} must be a list of names")))?;
        out.push((source_named(&name, mode)?, names));
    }
    Ok(out)
}

/// Imports any object with `__arrow_c_stream__` (a pyarrow Table or RecordBatchReader, a
/// polars DataFrame...) as a DataFrame, without copying the buffers of the types polars
/// reads; other types are mapped or refused by `arrow_in::readable`. A panic inside
/// polars' conversion of an unusual Arrow type is an exception, not a crash.
fn import_table(table: &Bound<'_, PyAny>, name: &str) -> PyResult<DataFrame> {
    import_table_made(table, name, arrow_in::Made::ByUser)
}

/// `import_table` for a table the engine made (training rows crossing between passes):
/// its own types, booleans included, come back as they left.
fn import_engine_table(table: &Bound<'_, PyAny>, name: &str) -> PyResult<DataFrame> {
    import_table_made(table, name, arrow_in::Made::ByEngine)
}

fn import_table_made(
    table: &Bound<'_, PyAny>,
    name: &str,
    made: arrow_in::Made,
) -> PyResult<DataFrame> {
    let (fields, columns) = arrow_columns(table, name)?;
    // Converting a column (e.g. pyarrow's `string` into polars' string views) needs
    // neither Python nor the other columns: done in parallel without the GIL.
    let series = table.py().detach(|| {
        use rayon::prelude::*;
        fields
            .par_iter()
            .zip(columns.into_par_iter())
            .map(|(field, chunks)| import_column(name, field, chunks, made))
            .collect::<PyResult<Vec<Series>>>()
    })?;
    let height = series.first().map_or(0, |s| s.len());
    DataFrame::new(height, series.into_iter().map(Into::into).collect())
        .map_err(|e| bad_input(format!("table {name:?}: {e}")))
}

/// One column as a Series: its type mapped (`arrow_in`), then read by polars.
fn import_column(
    table: &str,
    field: &Field,
    chunks: Vec<Box<dyn Array>>,
    made: arrow_in::Made,
) -> PyResult<Series> {
    let column = field.name.as_str();
    // A refused type and a panic in a conversion both end as BadInput naming the column.
    let converted = clientele::error::catch_expected(
        || {
            let chunks = arrow_in::readable(chunks, &field.dtype, made).map_err(Error::Runtime)?;
            Ok(match chunks.first() {
                None => Series::new_empty(
                    field.name.clone(),
                    &polars::prelude::DataType::from_arrow_dtype(&readable_type(&field.dtype)),
                ),
                Some(_) => Series::try_from((field.name.clone(), chunks))
                    .map_err(|e| Error::Runtime(e.to_string()))?,
            })
        },
        |_| {
            Error::Runtime(format!(
                "{} values could not be read",
                arrow_in::type_name(&field.dtype)
            ))
        },
    );
    converted.map_err(|e| bad_column(table, column, &e.to_string()))
}

/// The type `arrow_in::readable` turns a column of type `t` into.
fn readable_type(t: &ArrowDataType) -> ArrowDataType {
    match t {
        ArrowDataType::Decimal(..)
        | ArrowDataType::Decimal32(..)
        | ArrowDataType::Decimal64(..) => ArrowDataType::Float64,
        ArrowDataType::Timestamp(..) | ArrowDataType::Date64 => ArrowDataType::Date32,
        ArrowDataType::Dictionary(..) => ArrowDataType::Utf8View,
        other => other.clone(),
    }
}

/// Each column's chunks, in the order of the table's fields.
type Chunks = Vec<Vec<Box<dyn Array>>>;

/// The fields of a table and each column's chunks, taken through the C stream interface.
fn arrow_columns(table: &Bound<'_, PyAny>, name: &str) -> PyResult<(Vec<Field>, Chunks)> {
    let not_arrow = || {
        bad_input(format!(
            "table {name:?} is not an Arrow table (expected a pyarrow.Table, a pandas or \
             polars DataFrame, or another object with __arrow_c_stream__)"
        ))
    };
    let capsule = table
        .call_method0("__arrow_c_stream__")
        .map_err(|_| not_arrow())?;
    let capsule = capsule.cast::<PyCapsule>().map_err(|_| not_arrow())?;
    let bad = |e: polars::error::PolarsError| bad_input(format!("table {name:?}: {e}"));
    // SAFETY: the capsule holds an ArrowArrayStream (the C stream interface); it is moved
    // out and the capsule left holding a released one, so it is released exactly once.
    let stream = unsafe {
        let ptr = capsule
            .pointer_checked(Some(c"arrow_array_stream"))?
            .as_ptr() as *mut ArrowArrayStream;
        std::ptr::replace(ptr, ArrowArrayStream::empty())
    };
    // SAFETY: a stream produced by an Arrow implementation through the C interface.
    let mut reader = unsafe { ArrowArrayStreamReader::try_new(Box::new(stream)) }.map_err(bad)?;
    let fields = match reader.field().dtype() {
        ArrowDataType::Struct(fields) => fields.clone(),
        other => {
            return Err(bad_input(format!(
                "table {name:?}: a stream of {other:?}, expected a table"
            )))
        }
    };
    let mut columns: Chunks = vec![Vec::new(); fields.len()];
    // SAFETY: as above; each batch is a struct array of the stream's fields.
    while let Some(batch) = unsafe { reader.next() } {
        let batch = batch.map_err(bad)?;
        let batch = batch
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or_else(|| bad_input(format!("table {name:?}: a batch is not a struct array")))?;
        for (column, values) in columns.iter_mut().zip(batch.values()) {
            column.push(values.clone());
        }
    }
    Ok((fields, columns))
}

/// A table on its way to Python: an Arrow C stream that pyarrow (or any Arrow library)
/// takes through `__arrow_c_stream__`, in plain types (`clientele::fsio::arrow`: text
/// as `string`, never `string_view`).
#[pyclass(module = "clientele._native")]
struct ArrowStream {
    stream: std::sync::Mutex<Option<ArrowArrayStream>>,
}

impl ArrowStream {
    fn of(df: &DataFrame) -> PyResult<Self> {
        use clientele::fsio::arrow;
        let batches = arrow::plain_batches(df).map_err(run_error)?;
        Ok(Self::of_batches(arrow::plain_fields(df), batches))
    }

    /// Batches of arrays (one per field, in order) as a stream.
    fn of_batches(fields: Vec<Field>, batches: Vec<Vec<Box<dyn Array>>>) -> Self {
        let dtype = ArrowDataType::Struct(fields);
        let batches: Vec<polars::error::PolarsResult<Box<dyn Array>>> = batches
            .into_iter()
            .map(|arrays| {
                let len = arrays.first().map_or(0, |a| a.len());
                Ok(StructArray::try_new(dtype.clone(), len, arrays, None)?.boxed())
            })
            .collect();
        let field = Field::new(PlSmallStr::from("table"), dtype, false);
        ArrowStream {
            stream: std::sync::Mutex::new(Some(export_iterator(
                Box::new(batches.into_iter()),
                field,
            ))),
        }
    }
}

#[pymethods]
impl ArrowStream {
    /// The Arrow PyCapsule protocol: hands the stream over (once).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let stream = self
            .stream
            .lock()
            .map_err(|_| run_error("this Arrow stream is unusable"))?
            .take()
            .ok_or_else(|| run_error("this Arrow stream was already consumed"))?;
        let name = CString::new("arrow_array_stream").map_err(|e| run_error(e.to_string()))?;
        PyCapsule::new(py, stream, Some(name))
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeBundle>()?;
    m.add_class::<ArrowStream>()?;
    m.add_class::<NativeRun>()?;
    m.add_function(wrap_pyfunction!(check_vocabulary, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(client_parts, m)?)?;
    m.add_function(wrap_pyfunction!(pieces::cut_source, m)?)?;
    m.add_function(wrap_pyfunction!(id_columns_of, m)?)?;
    m.add_function(wrap_pyfunction!(train_parts::train_part_facts, m)?)?;
    m.add_function(wrap_pyfunction!(train_parts::train_plan, m)?)?;
    m.add_function(wrap_pyfunction!(train_parts::train_rows_schema, m)?)?;
    m.add_function(wrap_pyfunction!(train_parts::train_part_rows, m)?)?;
    m.add_function(wrap_pyfunction!(train_parts::train_sampled, m)?)?;
    m.add_function(wrap_pyfunction!(train_parts::train_part_lifecycle, m)?)?;
    m.add_class::<train_parts::SampledFit>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The defaults of every path, from the library (the CLI's flags use the same).
    m.add("DEFAULT_SEED", clientele::train::DEFAULT_SEED)?;
    m.add(
        "DEFAULT_HORIZON_MONTHS",
        clientele::train::DEFAULT_HORIZON_MONTHS,
    )?;
    m.add("MIN_REPORT_COUNT", clientele::run::MIN_REPORT_COUNT)?;
    // A panic is caught and raised as RunError (`engine`); the hook keeps its raw text
    // off the notebook's stderr.
    clientele::error::report_panics_as_bugs("clientele");
    Ok(())
}
