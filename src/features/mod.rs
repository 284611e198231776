//! Point-in-time features: everything a model sees about a client is computed as of a
//! cut-off date from records dated on or before it. The lapse label looks only after it.
//!
//! This module builds the raw (unscaled) feature table and the label; fitting of
//! imputation and scaling statistics for the models comes on top of it.

mod catalogue;
mod compute;
mod label;

pub use catalogue::{catalogue, FeatureInfo, CATEGORICAL};
pub use compute::{compute, RawFeatures};
pub use label::{lapse_labels, Label};
