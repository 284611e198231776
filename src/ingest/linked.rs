//! Each event source's table handed on as soon as it is cleaned and linked, before the
//! next source is read: a run that needs a source's rows only for its point-in-time
//! features computes them there and frees the rows (`features::FeatureStream`), so a
//! book's largest tables are never held together.

use super::Table;
use crate::date::Date;
use crate::error::Result;
use crate::schema::Source;
use std::collections::BTreeMap;

/// What the book does with a table once its receiver has seen it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The book holds the table, as a load without a receiver does.
    Table,
    /// The rows are freed now; the book records the source as read, with its last
    /// date (`Book::released`).
    Release,
}

/// One source's table as loading hands it on.
pub struct LinkedTable<'a> {
    /// The book's mode (relational or transactions).
    pub mode: crate::config::Mode,
    pub source: Source,
    /// Cleaned (the quarantined rows are out), linked to clients and policies, ids dropped.
    pub table: &'a Table,
    /// Clients of the book (every client index of the table is below it).
    pub n_clients: usize,
    /// The tables loaded before this one and kept, by source (the clients and the
    /// sources defining ids come first).
    pub earlier: &'a BTreeMap<Source, Table>,
    /// The latest `Source::end_dates` date of the sources read so far, this one included.
    pub data_end: Option<Date>,
}

/// Receives each event source's table in load order (`load_with`).
pub trait LinkedSink {
    /// # Errors
    /// The receiver's own; loading stops with it.
    fn linked(&mut self, linked: LinkedTable) -> Result<Keep>;
}

/// The receiver of a plain load: every table stays in the book.
pub struct KeepAll;

impl LinkedSink for KeepAll {
    fn linked(&mut self, _: LinkedTable) -> Result<Keep> {
        Ok(Keep::Table)
    }
}

/// The latest of a source's `end_dates` in its table (`None` without a dated row).
pub fn last_date(source: Source, t: &Table) -> Option<Date> {
    source
        .end_dates()
        .iter()
        .filter_map(|f| t.dates(f))
        .flat_map(|d| d.iter().flatten().copied())
        .max()
}
