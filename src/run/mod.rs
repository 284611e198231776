//! The runs a user starts, as peers over one sequence: resolve the sources once ->
//! validate -> stage the outputs -> write the data-quality report -> publish.
//! - `train`: fit and publish a model version (files, tables in memory, Spark samples);
//! - `label`: label a month's book with a published model (`infer`), in memory
//!   (`label_frames`, `label_run_frames`) or summed from parts labelled elsewhere
//!   (`RunTotals`);
//! - `check`: read and validate the data, and report (`check_data`).
//!
//! The binaries and the Python package parse their arguments into these option structs
//! and call one function here; nothing else orchestrates.

mod check;
mod derive;
pub mod label;
pub mod memory;
pub mod parts;
mod spec;
mod stage;
mod train;
mod train_split;
mod train_summary;

pub use check::{check_data, explain_features};
pub use derive::{derive, DeriveOptions};
pub use label::{
    choose_as_of, console, infer, labeling_config, InferOptions, InferOutcome, MIN_REPORT_COUNT,
};
pub use memory::{
    feature_frame, label_frames, label_part_frames, lapse_probabilities, model_matrix, FrameLabels,
};
pub use parts::{label_run_frames, MemoryRun, PartReport, PublishOptions, RunTotals};
pub use spec::DataSpec;
pub use train::{
    describe_paths, train_frames, train_sampled, SampledFit, TrainOptions, TrainOutcome,
};
pub use train_split::train;
pub use train_summary::summary;
