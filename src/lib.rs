//! clientele: segment an insurer's clients and predict who will lapse.
//!
//! The library holds all logic; the binaries `clientele-train` and `clientele-infer`
//! parse flags and call into it. Data flows one way (a test fails on an import cycle):
//! leaf types (`schema`, `date`, `error`, `vocab`, `params`, `stats`, `fsio`) -> `config`
//! -> `ingest` -> `features` -> (`segment`, `lapse`, `effect`) -> `products` -> `bundle` -> `labeling` ->
//! (`charts`, `report`) -> `train` -> `run` (train, label, check) -> `cli` (the binaries' flags) -> bins.

pub mod allocator;
pub mod bundle;
pub mod charts;
pub mod cli;
pub mod config;
pub mod date;
pub mod effect;
pub mod error;
pub mod features;
pub mod fsio;
pub mod ingest;
pub mod labeling;
pub mod lapse;
pub mod lifecycle;
pub mod params;
pub mod products;
pub mod progress;
pub mod report;
pub mod run;
pub mod schema;
pub mod segment;
pub mod stats;
pub mod train;
pub mod vocab;

pub use config::{Config, Mode};
pub use date::Date;
pub use error::{Error, Result};
