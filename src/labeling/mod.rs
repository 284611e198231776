//! Labeling: apply a bundle, unchanged, to the clients of a book: segment, probability,
//! band, tier, stage, reasons and action per client (`label_part`), written in chunks
//! (`output`), with the aggregates, drift counts and summary that add up across client
//! parts. The monthly run that sequences it lives in `run::label`.

mod client;
pub mod drift;
mod label;
pub mod needs;
pub mod outcomes;
pub mod output;
pub mod rules;
mod summary;
pub mod texts;
mod totals;

pub use client::PartOf;
pub use client::{ClientLabel, LabelContext};
pub use label::{
    check_book, label_book, label_book_since, label_owned_book_since, label_part, LabelledPart,
    Part,
};
pub use totals::{Aggregates, PartTotals};

pub use summary::{summarise, ProductsSummary, RunSummary, SegmentSummary};

/// Clients labelled per chunk: bounds the memory of the model matrix and the labels.
pub const CHUNK: usize = 100_000;
