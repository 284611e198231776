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

use super::{compute::compute_at, FeatureBuilder, RawFeatures};
use crate::config::Mode;
use crate::date::Date;
use crate::error::Result;
use crate::ingest::{Book, Keep, LinkedSink, LinkedTable};
use crate::schema::ReadFor;

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
/// let raw = stream.finish(&loaded.book, &[as_of]).expect("the cut-off was given");
///
/// let whole = clientele::ingest::load_from(&config, Input::Files(&files), &opts, None)?.book;
/// assert_eq!(format!("{:?}", raw[0].columns), format!("{:?}", compute(&whole, as_of).columns));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FeatureStream {
    guess: CutoffGuess,
    /// Started at the first source freed, with the cut-offs guessed then.
    builder: Option<FeatureBuilder>,
}

impl FeatureStream {
    pub fn new(guess: CutoffGuess) -> Self {
        FeatureStream {
            guess,
            builder: None,
        }
    }

    /// The cut-offs the freed sources were computed at (`None` while none was freed).
    pub fn cutoffs(&self) -> Option<Vec<Date>> {
        self.builder.as_ref().map(FeatureBuilder::cutoffs)
    }

    /// The features of `book` (loaded through this stream) at each of `cutoffs`: built as
    /// it loaded when its sources were fed at these cut-offs, computed from the book when
    /// none was freed; `None` when rows were freed at other cut-offs (the run reads the
    /// book again, `compute`).
    pub fn finish(self, book: &Book, cutoffs: &[Date]) -> Option<Vec<RawFeatures>> {
        match self.builder {
            Some(builder) if builder.cutoffs() == cutoffs => Some(builder.finish()),
            Some(_) => None,
            None if !book.released.is_empty() => None,
            None if book.mode == Mode::Flat => {
                Some(cutoffs.iter().map(|&c| super::compute(book, c)).collect())
            }
            None => Some(compute_at(book, cutoffs)),
        }
    }
}

impl LinkedSink for FeatureStream {
    fn linked(&mut self, l: LinkedTable) -> Result<Keep> {
        if self.builder.is_none() {
            if l.source.rules().read_for != ReadFor::Features {
                return Ok(Keep::Table);
            }
            let Some(cutoffs) = (self.guess)(l.data_end) else {
                return Ok(Keep::Table);
            };
            let mut builder = FeatureBuilder::new(l.mode, l.n_clients, &cutoffs);
            for (source, table) in l.earlier {
                builder.add(*source, table)?;
            }
            self.builder = Some(builder);
        }
        let Some(builder) = self.builder.as_mut() else {
            return Ok(Keep::Table);
        };
        builder.add(l.source, l.table)?;
        Ok(match l.source.rules().read_for {
            ReadFor::Features => Keep::Release,
            ReadFor::Outcomes | ReadFor::Everything => Keep::Table,
        })
    }
}
