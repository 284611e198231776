//! Labeling tables held in memory (the Python package's entry point): the loading,
//! checks, as-of rule and labels of `clientele-infer`, without files. The labels table
//! has exactly the columns and values of `labels.parquet`.

use crate::bundle::Bundle;
use crate::config::{ActionTable, Config};
use crate::date::Date;
use crate::error::{Error, Result};
use crate::ingest::{load_from, Frames, Input, LoadOptions, QualityReport};
use crate::labeling::{label_book, PartOf, PartTotals};
use polars::prelude::DataFrame;

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
) -> Result<FrameLabels> {
    if config.mode != bundle.config.mode {
        return Err(Error::InvalidParameter(format!(
            "the model was trained in {:?} mode, the config describes {:?} data",
            bundle.config.mode, config.mode
        )));
    }
    let actions = ActionTable::check(&config.actions)?;
    let opts = LoadOptions::from_config(config, false);
    let loaded = load_from(config, Input::Frames(frames), &opts, Some(&bundle.cleaning))?;
    loaded.check_thresholds()?;
    let choice = super::choose_as_of(&loaded.book, bundle, as_of)?;
    let part = PartOf { index: 0, parts: 1 };
    let labelled = label_book(bundle, &loaded.book, choice.date, &actions, part)?;
    let labels = labelled
        .labels
        .frame()
        .map_err(|e| Error::Runtime(format!("cannot build the labels table: {e}")))?;
    Ok(FrameLabels {
        labels,
        as_of: choice.date,
        as_of_why: choice.why,
        quality: loaded.report,
        totals: labelled.totals,
    })
}
