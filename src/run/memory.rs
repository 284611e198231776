//! Labeling tables held in memory (the Python package's entry point): the loading,
//! checks, as-of rule and labels of `clientele-infer`, without files. The labels table
//! has exactly the columns and values of `labels.parquet`.

use crate::bundle::Bundle;
use crate::config::{Config, LabelRules};
use crate::date::Date;
use crate::error::{Error, Result};
use crate::ingest::{load_from, Frames, Input, LoadOptions, QualityReport};
use crate::labeling::{label_owned_book_since, PartOf, PartTotals};
use crate::vocab::Vocabulary;
use polars::prelude::DataFrame;
use std::sync::Arc;

/// A labelled batch.
pub struct FrameLabels {
    /// One row per client, the columns of `labels.parquet`.
    pub labels: DataFrame,
    /// The as-of date used, and why.
    pub as_of: Date,
    pub as_of_why: String,
    /// What loading found and fixed (as `data-quality.json`).
    pub quality: QualityReport,
    /// What the batch adds to a run's summary and drift (`PartTotals::add`, `summarise`).
    pub totals: PartTotals,
}

/// Labels the tables of one month with a bundle. `config` maps the tables' columns (use
/// the bundle's own config for tables shaped as in training); `as_of` as `--as-of`.
///
/// # Errors
/// Bad tables or settings (`is_bad_input`), as the binary reports them, naming the
/// table (`<clients table>`), the row and the column.
pub fn label_frames(
    bundle: &Bundle,
    config: &Config,
    frames: &Frames,
    as_of: Option<Date>,
    words: &Arc<Vocabulary>,
) -> Result<FrameLabels> {
    label_part_frames(bundle, config, frames, as_of, (PartOf::WHOLE, None), words)
}

/// `label_frames` on part `part` of a book split by client hash (as `--partitions`
/// splits it, `ingest::partition::part_of`): the part's share of the projection chart's
/// sample depends on it, so parts labelled apart add up to the CLI's parted run.
/// `previous`: last month's labels, as `--previous-run` reads them. `words`: the
/// display columns' words.
///
/// # Errors
/// As `label_frames`.
pub fn label_part_frames(
    bundle: &Bundle,
    config: &Config,
    frames: &Frames,
    as_of: Option<Date>,
    (part, previous): (PartOf, Option<&crate::labeling::outcomes::PreviousRun>),
    words: &Arc<Vocabulary>,
) -> Result<FrameLabels> {
    let actions = LabelRules::from_config(config)?.with_words(words.clone())?;
    let (loaded, choice) = load_batch(bundle, config, frames, as_of)?;
    let (book, quality) = (loaded.book, loaded.report);
    let labelled = label_owned_book_since(bundle, book, choice.date, &actions, part, previous)?;
    Ok(FrameLabels {
        labels: labelled.labels,
        as_of: choice.date,
        as_of_why: choice.why,
        quality,
        totals: labelled.totals,
    })
}

/// Loads a batch with the bundle's cleaning statistics as `clientele-infer` loads its
/// files (same mode and sources as the model, invalid-row thresholds) and picks its
/// as-of date by the labeling rule.
fn load_batch(
    bundle: &Bundle,
    config: &Config,
    frames: &Frames,
    as_of: Option<Date>,
) -> Result<(crate::ingest::Loaded, crate::date::DateChoice)> {
    super::label::check_mode(bundle, config)?;
    let opts = LoadOptions::from_config(config, false);
    let loaded = load_from(config, Input::Frames(frames), &opts, Some(&bundle.cleaning))?;
    loaded.check_thresholds()?;
    let choice = super::label::check_loaded(bundle, &loaded.book, as_of)?;
    Ok((loaded, choice))
}

/// The point-in-time features of a batch, before the model's transform: `client_id`,
/// `in_force` (whether the client holds a policy in force at the as-of date: the labels
/// score only those), then every numeric and categorical feature the bundle's model uses
/// (the input of `model_matrix`), as of `as_of` (the labeling rule when `None`). Also
/// the as-of used.
///
/// # Errors
/// As `label_frames`; a feature the model needs that this data cannot give.
pub fn feature_frame(
    bundle: &Bundle,
    config: &Config,
    frames: &Frames,
    as_of: Option<Date>,
) -> Result<(DataFrame, Date)> {
    use polars::prelude::Column;
    let (loaded, choice) = load_batch(bundle, config, frames, as_of)?;
    let (book, as_of) = (&loaded.book, choice.date);
    let raw = crate::features::compute(book, as_of);
    let cats = crate::features::categorical_columns(book);
    let mut columns = vec![
        Column::new("client_id".into(), book.client_ids.clone()),
        Column::new(IN_FORCE.into(), raw.active.clone()),
    ];
    for f in &bundle.features.numeric {
        let values = raw
            .column(&f.name)
            .ok_or_else(|| crate::features::missing_feature(&f.name))?;
        columns.push(Column::new(f.name.as_str().into(), values.to_vec()));
    }
    for c in &bundle.features.categorical {
        let col = cats
            .iter()
            .find(|(name, _)| *name == c.name)
            .and_then(|(_, col)| *col)
            .ok_or_else(|| crate::features::missing_feature(&c.name))?;
        let values: Vec<Option<&str>> = (0..book.n_clients()).map(|i| col.get(i)).collect();
        columns.push(Column::new(c.name.as_str().into(), values));
    }
    let frame = DataFrame::new(book.n_clients(), columns)
        .map_err(|e| Error::Runtime(format!("cannot build the feature table: {e}")))?;
    Ok((frame, as_of))
}

/// The model matrix of a feature table (as `feature_frame` gives it, or a flat table):
/// the bundle's fitted transform (imputation, caps, logs, standardisation, one-hot
/// levels), columns in `bundle.features.columns()` order. Nothing is refitted.
///
/// # Errors
/// `Error::InvalidParameter` naming a model feature the table lacks or a column of the
/// wrong kind.
pub fn model_matrix(bundle: &Bundle, table: &DataFrame) -> Result<ndarray::Array2<f64>> {
    use crate::ingest::Coded;
    use polars::prelude::DataType;
    let n = table.height();
    let column = |name: &str| {
        table.column(name).map_err(|_| {
            Error::InvalidParameter(format!(
                "the feature table has no column '{name}' (the model's features: {})",
                bundle.features.columns().join(", ")
            ))
        })
    };
    let kind = |name: &str, what: &str| {
        Error::InvalidParameter(format!("feature column '{name}' must hold {what}"))
    };
    let mut names = Vec::new();
    let mut numbers = Vec::new();
    for f in &bundle.features.numeric {
        let values = column(&f.name)?
            .cast(&DataType::Float64)
            .map_err(|_| kind(&f.name, "numbers"))?;
        let values = values.f64().map_err(|_| kind(&f.name, "numbers"))?;
        names.push(f.name.clone());
        numbers.push(values.iter().map(|v| v.unwrap_or(f64::NAN)).collect());
    }
    let mut coded = Vec::new();
    for c in &bundle.features.categorical {
        let values = column(&c.name)?
            .cast(&DataType::String)
            .map_err(|_| kind(&c.name, "text"))?;
        let values = values.str().map_err(|_| kind(&c.name, "text"))?;
        let mut col = Coded::with_capacity(n);
        for v in values.iter() {
            match v {
                Some(v) => col.push(v),
                None => col.push_missing(),
            }
        }
        col.freeze();
        coded.push((c.name.clone(), col));
    }
    let raw = crate::features::RawFeatures {
        cutoff: bundle.cutoff,
        names,
        columns: numbers,
        active: vec![true; n],
        facts: crate::features::Facts::default(),
    };
    let cats: Vec<(String, Option<&Coded>)> = coded
        .iter()
        .map(|(name, col)| (name.clone(), Some(col)))
        .collect();
    let rows: Vec<usize> = (0..n).collect();
    bundle.features.transform(&raw, &cats, &rows)
}

/// The column of `feature_frame` that says which clients are in force.
pub const IN_FORCE: &str = "in_force";

/// The lapse probability of each row of a feature table (`model_matrix`, then the
/// bundle's logistic model), oriented as the labels' `lapse_probability`: none for a row
/// whose `in_force` is false (the labels score no client without a policy in force; a
/// table without the column is scored whole).
///
/// # Errors
/// As `model_matrix`; an `in_force` column that does not hold booleans.
pub fn lapse_probabilities(bundle: &Bundle, table: &DataFrame) -> Result<Vec<Option<f64>>> {
    let x = model_matrix(bundle, table)?;
    let p = bundle.lapse.probabilities(x.view());
    let Ok(flags) = table.column(IN_FORCE) else {
        return Ok(p.into_iter().map(Some).collect());
    };
    let flags = flags.as_materialized_series().bool().map_err(|_| {
        Error::InvalidParameter(format!("feature column '{IN_FORCE}' must hold booleans"))
    })?;
    Ok(p.into_iter()
        .zip(flags.iter())
        .map(|(p, in_force)| (in_force != Some(false)).then_some(p))
        .collect())
}
