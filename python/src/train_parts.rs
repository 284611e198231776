//! Training on a book split by client hash (`clientele.spark.train`): the two passes
//! the executors run on their part, the plan the driver makes between them, and the fit
//! on the sampled rows (`clientele::train::parts`). What crosses between them is JSON
//! bytes (facts, plan, quality) and Arrow (the rows).

use crate::with_extract_date;
use crate::{bad_input, engine, frames_from, import_engine_table, parse_config, parse_date, to_py};
use crate::{run_error, ArrowStream};
use clientele::config::Config;
use clientele::ingest::QualityReport;
use clientele::lifecycle::TrainingLifecycle;
use clientele::train::parts::{self, ClientSample, PartFacts, SampledBook, TrainPlan};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::path::PathBuf;

/// The config of a training run: the given TOML (else the default relational contract)
/// with the extract date set when given.
pub(crate) fn train_config(
    py: Python<'_>,
    config: Option<String>,
    origin: Option<String>,
    extract_date: Option<String>,
) -> PyResult<Config> {
    let config = match config {
        Some(text) => parse_config(py, &text, origin)?,
        None => Config::default(),
    };
    with_extract_date(config, extract_date)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> PyResult<T> {
    serde_json::from_slice(bytes).map_err(|e| bad_input(format!("not a clientele {what}: {e}")))
}

fn encode<'py, T: serde::Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyBytes>> {
    let json = serde_json::to_vec(value).map_err(|e| run_error(format!("cannot encode: {e}")))?;
    Ok(PyBytes::new(py, &json))
}

/// Pass 1 on one part: its facts (JSON bytes for `train_plan`). `sample` clients of
/// the book's `clients`, by the seeded hash (all when `None`), give the values the
/// cleaning statistics are fitted on.
#[pyfunction]
#[pyo3(signature = (tables, sample, clients, seed, config=None, config_origin=None, extract_date=None))]
#[allow(clippy::too_many_arguments)] // Python keyword arguments, each optional
pub(crate) fn train_part_facts<'py>(
    py: Python<'py>,
    tables: &Bound<'py, PyDict>,
    sample: Option<u64>,
    clients: u64,
    seed: u64,
    config: Option<String>,
    config_origin: Option<String>,
    extract_date: Option<String>,
) -> PyResult<Bound<'py, PyBytes>> {
    let config = train_config(py, config, config_origin, extract_date)?;
    let frames = frames_from(tables, config.mode)?;
    let sample = ClientSample::new(sample, clients, seed);
    let facts = engine(py, || parts::part_facts(&config, &frames, &sample))?;
    encode(py, &facts)
}

/// The run's plan (JSON bytes) from every part's facts: the cut-off and cleaning
/// statistics the CLI would choose for the whole book.
#[pyfunction]
#[pyo3(signature = (facts, config=None, config_origin=None, extract_date=None, as_of=None, horizon_months=None))]
pub(crate) fn train_plan<'py>(
    py: Python<'py>,
    facts: Vec<Vec<u8>>,
    config: Option<String>,
    config_origin: Option<String>,
    extract_date: Option<String>,
    as_of: Option<String>,
    horizon_months: Option<i32>,
) -> PyResult<(Bound<'py, PyBytes>, String, String)> {
    let horizon_months = horizon_months.unwrap_or(clientele::train::DEFAULT_HORIZON_MONTHS);
    let config = train_config(py, config, config_origin, extract_date)?;
    let as_of = as_of.map(|d| parse_date(&d, "as_of")).transpose()?;
    let facts = facts
        .iter()
        .map(|f| decode::<PartFacts>(f, "part's facts"))
        .collect::<PyResult<Vec<_>>>()?;
    let plan = engine(py, || TrainPlan::of(&config, facts, as_of, horizon_months))?;
    Ok((
        encode(py, &plan)?,
        plan.cutoff.to_string(),
        plan.cutoff_why.clone(),
    ))
}

/// The columns of `train_part_rows` under `plan`, as an empty table.
#[pyfunction]
pub(crate) fn train_rows_schema(plan: &[u8]) -> PyResult<ArrowStream> {
    let plan: TrainPlan = decode(plan, "training plan")?;
    let frame = parts::rows_schema(&plan).map_err(|e| to_py(&e))?;
    ArrowStream::of(&frame)
}

/// Pass 2 on one part: one row per client in force at either cut-off (features, labels
/// and traits; Arrow) and the part's data-quality report (JSON bytes).
#[pyfunction]
#[pyo3(signature = (tables, plan, seed, config=None, config_origin=None, extract_date=None))]
#[allow(clippy::too_many_arguments)] // Python keyword arguments, each optional
pub(crate) fn train_part_rows<'py>(
    py: Python<'py>,
    tables: &Bound<'py, PyDict>,
    plan: &[u8],
    seed: u64,
    config: Option<String>,
    config_origin: Option<String>,
    extract_date: Option<String>,
) -> PyResult<(ArrowStream, Bound<'py, PyBytes>)> {
    let config = train_config(py, config, config_origin, extract_date)?;
    let plan: TrainPlan = decode(plan, "training plan")?;
    let frames = frames_from(tables, config.mode)?;
    // Only the slot is used here: the driver draws the sample from the rows.
    let slots = ClientSample::new(None, 0, seed);
    let (rows, quality) = engine(py, || parts::part_rows(&config, &frames, &plan, &slots))?;
    Ok((ArrowStream::of(&rows)?, encode(py, &quality)?))
}

/// Fits on sampled rows of `train_part_rows` (in the book's client order); `quality`:
/// every part's report. The fit is published by `SampledFit.publish`, after the parts
/// have counted their lifecycle with its bundle (`train_part_lifecycle`).
#[pyfunction]
#[pyo3(signature = (rows, plan, quality, config=None, config_origin=None, models="models".into(), out="notebooks-out".into(), seed=None, k=None, extract_date=None, charts=false, lang=None, vocabulary=None))]
#[allow(clippy::too_many_arguments)] // Python keyword arguments, each optional
pub(crate) fn train_sampled(
    py: Python<'_>,
    rows: &Bound<'_, PyAny>,
    plan: &[u8],
    quality: Vec<Vec<u8>>,
    config: Option<String>,
    config_origin: Option<String>,
    models: PathBuf,
    out: PathBuf,
    seed: Option<u64>,
    k: Option<usize>,
    extract_date: Option<String>,
    charts: bool,
    lang: Option<String>,
    vocabulary: Option<PathBuf>,
) -> PyResult<SampledFit> {
    let words = crate::words_of(lang, vocabulary)?;
    let seed = seed.unwrap_or(clientele::train::DEFAULT_SEED);
    let config = train_config(py, config, config_origin, extract_date)?;
    let plan: TrainPlan = decode(plan, "training plan")?;
    let mut report: Option<QualityReport> = None;
    for q in &quality {
        let part = decode(q, "part's data-quality report")?;
        match &mut report {
            None => report = Some(part),
            Some(r) => r.merge(part),
        }
    }
    let report = report.ok_or_else(|| bad_input("no part's data-quality report".into()))?;
    let rows = import_engine_table(rows, "training rows")?;
    let opts = clientele::run::TrainOptions {
        as_of: Some(plan.cutoff),
        horizon_months: plan.horizon_months,
        seed,
        k,
        models_dir: models,
        out_dir: out,
        charts,
        words,
        ..Default::default()
    };
    let fit = engine(py, || {
        let sampled = SampledBook::from_rows(&plan, &rows)?;
        clientele::run::SampledFit::fit(&config, &plan, sampled, &report, &opts)
    })?;
    Ok(SampledFit { fit: Some(fit) })
}

/// Pass 3 on one part, with the fitted bundle (JSON): the part's persistency and exit
/// counts (JSON bytes for `SampledFit.publish`); `None` for a book without policies
/// (transactions).
#[pyfunction]
#[pyo3(signature = (tables, plan, bundle, config=None, config_origin=None, extract_date=None))]
pub(crate) fn train_part_lifecycle<'py>(
    py: Python<'py>,
    tables: &Bound<'py, PyDict>,
    plan: &[u8],
    bundle: &str,
    config: Option<String>,
    config_origin: Option<String>,
    extract_date: Option<String>,
) -> PyResult<Option<Bound<'py, PyBytes>>> {
    let config = train_config(py, config, config_origin, extract_date)?;
    if config.mode != clientele::Mode::Relational {
        return Ok(None);
    }
    let plan: TrainPlan = decode(plan, "training plan")?;
    let bundle: clientele::bundle::Bundle = decode(bundle.as_bytes(), "fitted bundle")?;
    let frames = frames_from(tables, config.mode)?;
    let counted = engine(py, || {
        parts::part_lifecycle(&config, &frames, &plan, &bundle)
    })?;
    encode(py, &counted).map(Some)
}

/// A bundle fitted on sampled rows, not yet published.
#[pyclass(module = "clientele._native")]
pub(crate) struct SampledFit {
    fit: Option<clientele::run::SampledFit>,
}

#[pymethods]
impl SampledFit {
    /// The fitted bundle as JSON, for the parts' lifecycle pass.
    fn bundle_json(&self) -> PyResult<String> {
        let fit = self
            .fit
            .as_ref()
            .ok_or_else(|| run_error("the fit was already published"))?;
        serde_json::to_string(fit.bundle())
            .map_err(|e| run_error(format!("cannot serialise the bundle: {e}")))
    }

    /// Publishes the bundle and its charts; `lifecycle`: every part's counts (from
    /// `train_part_lifecycle`; none: no lifecycle outputs). Returns the bundle
    /// directory and the bundle as JSON.
    fn publish(&mut self, py: Python<'_>, lifecycle: Vec<Vec<u8>>) -> PyResult<(PathBuf, String)> {
        let fit = self
            .fit
            .take()
            .ok_or_else(|| run_error("the fit was already published"))?;
        let mut total: Option<TrainingLifecycle> = None;
        for part in &lifecycle {
            let part: TrainingLifecycle = decode(part, "part's lifecycle counts")?;
            match &mut total {
                None => total = Some(part),
                Some(t) => t.merge(part),
            }
        }
        let outcome = engine(py, || fit.publish(total))?;
        let json = serde_json::to_string(&outcome.bundle)
            .map_err(|e| run_error(format!("cannot serialise the bundle: {e}")))?;
        Ok((outcome.bundle_dir, json))
    }
}
