//! The numbers of a training run, stored in the bundle and written as `metrics.json`.

use crate::date::Date;
use crate::features::DroppedFeature;
use crate::lapse::{metrics::Confusion, CvPoint, Metrics};
use crate::segment::KScore;
use serde::{Deserialize, Serialize};

/// Metrics of an out-of-time check: fitted at `fit_cutoff`, scored at `score_cutoff`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutOfTime {
    pub fit_cutoff: Date,
    pub score_cutoff: Date,
    pub metrics: Metrics,
}

/// The numbers of a training run (also written as `metrics.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainMetrics {
    pub cutoff: Date,
    pub horizon_months: i32,
    pub clients: usize,
    pub active_clients: usize,
    pub labelled_clients: usize,
    pub train_clients: usize,
    pub test_clients: usize,
    pub lapse_rate: f64,
    pub class_imbalance: String,
    pub alpha: f64,
    /// The lapse model's form in words ("linear", "10 quantile bins").
    #[serde(default = "linear")]
    pub lapse_form: String,
    pub cv: Vec<CvPoint>,
    pub cv_roc_auc: f64,
    pub threshold_rule: String,
    pub test: Metrics,
    /// Confusion on the test part when the riskiest 10% are called.
    pub test_top10: Confusion,
    pub out_of_time: Option<OutOfTime>,
    pub out_of_time_skipped: Option<String>,
    pub k: usize,
    pub k_reason: String,
    pub k_choice: Vec<KScore>,
    pub dropped_features: Vec<DroppedFeature>,
    /// Held-out metrics of each next-best product model, and the products skipped.
    #[serde(default)]
    pub products: Vec<crate::products::ProductMetrics>,
    #[serde(default)]
    pub products_skipped: Vec<crate::products::SkippedProduct>,
}

fn linear() -> String {
    "linear".to_string()
}
