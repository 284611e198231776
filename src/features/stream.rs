//! Features computed while a book loads: each source that only the features read
//! (`ReadFor::Features`: payments, claims, contacts) is fed to a `FeatureBuilder` as
//! soon as it is linked, and its rows are freed there (`ingest::load_with`), so that a
//! book's largest tables are never held together.
//!
//! The cut-offs must be known when the first such source arrives. A run that derives
//! them from the data (the last full month end) guesses them from what has been read
//! so far; the sources read later can move that month. `finish` then says the rows it
//! needs are gone, and the run reads the book again whole: exact in every case, one read
//! in the common one (the first event source already reaches the data's last month).

use super::{compute::compute_at, BusinessFacts, FeatureBuilder, RawFeatures};
use crate::config::Mode;
use crate::date::Date;
use crate::error::Result;
use crate::ingest::{Book, Keep, LinkedSink, LinkedTable};
use crate::schema::{ReadFor, Source};

/// The cut-offs of a run as far as they are known while it loads: from the latest date
/// read so far (`None` while no dated record is read) to the cut-offs, or `None` when
/// they cannot be told yet.
pub type CutoffGuess = Box<dyn Fn(Option<Date>) -> Option<Vec<Date>> + Send>;

/// Receives a book's sources as they load (`ingest::LinkedSink`) and builds the features
/// of those it frees.
///
/// ```
/// use clientele::features::{compute, FeatureStream};
/// use clientele::ingest::{load_with, LoadOptions, SourceFiles, Input};
/// use clientele::{Config, Date};
///
/// let config = Config::default();
/// let files = SourceFiles::resolve(&config, std::path::Path::new("data/sample"))?;
/// let opts = LoadOptions::from_config(&config, false);
/// let as_of = Date::parse("2025-12-31").unwrap();
/// let mut stream = FeatureStream::new(Box::new(move |_| Some(vec![as_of])));
/// let loaded = load_with(&config, Input::Files(&files), &opts, None, &mut stream)?;
/// // The payments, claims and contacts were freed as they were loaded.
/// assert!(loaded.book.released.contains_key(&clientele::schema::Source::Payments));
/// let raw = stream.finish(&loaded.book, &[as_of])?.expect("the cut-off was given");
///
/// let whole = clientele::ingest::load_from(&config, Input::Files(&files), &opts, None)?.book;
/// assert_eq!(format!("{:?}", raw[0].columns), format!("{:?}", compute(&whole, as_of).columns));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FeatureStream {
    guess: CutoffGuess,
    facts: BusinessFacts,
    /// Started at the first source freed, with the cut-offs guessed then.
    builder: Option<FeatureBuilder>,
}

impl FeatureStream {
    pub fn new(guess: CutoffGuess) -> Self {
        FeatureStream {
            guess,
            facts: BusinessFacts::Computed,
            builder: None,
        }
    }

    /// Computes the business facts beside the features, or not.
    #[must_use]
    pub fn with_facts(mut self, facts: BusinessFacts) -> Self {
        self.facts = facts;
        self
    }

    /// The cut-offs the freed sources were computed at (`None` while none was freed).
    pub fn cutoffs(&self) -> Option<Vec<Date>> {
        self.builder.as_ref().map(FeatureBuilder::cutoffs)
    }

    /// The features of `book` (loaded through this stream) at each of `cutoffs`: the
    /// freed sources' as they loaded, when at these cut-offs, with the book's tables
    /// added now; all from the book when none was freed; `None` when rows were freed at
    /// other cut-offs (the run reads the book again, `compute`).
    ///
    /// # Errors
    /// `Error::Runtime` when the book holds a table of a source fed already (not a book
    /// loaded through this stream).
    pub fn finish(self, book: &Book, cutoffs: &[Date]) -> Result<Option<Vec<RawFeatures>>> {
        let mut builder = match self.builder {
            Some(builder) if builder.cutoffs() == cutoffs => builder,
            Some(_) => return Ok(None),
            None if !book.released.is_empty() => return Ok(None),
            None if book.mode == Mode::Flat => {
                return Ok(Some(
                    cutoffs.iter().map(|&c| super::compute(book, c)).collect(),
                ))
            }
            None => return Ok(Some(compute_at(book, cutoffs, self.facts))),
        };
        let policies = book.table(Source::Policies);
        for (source, table) in &book.tables {
            builder.add(*source, table, policies)?;
        }
        Ok(Some(builder.finish()))
    }
}

impl LinkedSink for FeatureStream {
    /// Feeds a source only the features read to the builder (started at the first, at
    /// the cut-offs guessed then) and frees it; keeps the others for `finish`.
    fn linked(&mut self, l: LinkedTable) -> Result<Keep> {
        if l.source.rules().read_for != ReadFor::Features {
            return Ok(Keep::Table);
        }
        if self.builder.is_none() {
            let Some(cutoffs) = (self.guess)(l.data_end) else {
                return Ok(Keep::Table);
            };
            let builder = FeatureBuilder::new(l.mode, l.n_clients, &cutoffs);
            self.builder = Some(builder.with_facts(self.facts));
        }
        let Some(builder) = self.builder.as_mut() else {
            return Ok(Keep::Table);
        };
        builder.add(l.source, l.table, l.earlier.get(&Source::Policies))?;
        Ok(Keep::Release)
    }
}
