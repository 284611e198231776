//! Fitting a bundle: compute point-in-time features, fit the feature transform, the
//! segments and the lapse model, and evaluate on held-out and out-of-time data, on a
//! whole book (`fit`) or on rows sampled from a book split into parts (`parts`). The
//! training run that loads, checks and publishes around it is `run::train`.

mod fit;
mod part_lifecycle;
pub mod parts;

pub use crate::bundle::{OutOfTime, TrainMetrics};
pub use fit::{
    choose_cutoff, choose_cutoff_in, cutoff_guess, fit, fit_with, snapshot_cutoffs, DataSpan,
    FitOptions, Fitted, MIN_LEVEL_SHARE,
};

/// The seed of every random choice when none is given (CLI, Python, Spark).
pub const DEFAULT_SEED: u64 = 42;
/// Months after the cut-off in which a lapse counts, when none is given.
pub const DEFAULT_HORIZON_MONTHS: i32 = 12;
