//! Point-in-time features: everything a model sees about a client is computed as of a
//! cut-off date from records dated on or before it. The lapse label looks only after it.
//!
//! `compute` builds the raw (unscaled) table, `FittedFeatures` turns it into the model
//! matrix with statistics fitted once on training data, and `lapse_labels` gives the label.

mod builder;
mod compute;
mod design;
mod facts;
mod label;
pub mod products;
mod stream;

pub use crate::vocab::{Feature, CATEGORICAL};
pub use builder::{BusinessFacts, FeatureBuilder};
pub use compute::{compute, data_end, RawFeatures};
pub use design::{
    categorical_columns, CategoricalFeature, DroppedFeature, FittedFeatures, NumericFeature,
};
pub use facts::{
    instalments_per_year, CoverEnd, Facts, CASH_VALUE_PRODUCTS, CHURN_REASONS, DEATH_COVER_PRODUCTS,
};
pub use label::{exit_kinds, lapse_labels, Label};
pub use stream::{CutoffGuess, FeatureStream};

/// A feature of the model that this data cannot give (its source or column is missing).
pub fn missing_feature(name: &str) -> crate::error::Error {
    crate::error::Error::NoData(format!(
        "feature '{name}' of the model cannot be computed from this data (its source or column is missing)"
    ))
}
