//! A part's lifecycle counts without loading the part again: the features pass keeps,
//! beside the part's training rows, what counting its persistency and exits needs once
//! the segments are fitted (its policies, and every client's values of the features
//! segments may be fitted on at the cut-off). Loading a part is most of a pass's cost,
//! so a book in parts is loaded twice (facts, features) instead of three times.

use super::fit::{self, Snapshot};
use crate::bundle::Bundle;
use crate::config::Config;
use crate::date::Date;
use crate::error::Result;
use crate::features::RawFeatures;
use crate::ingest::{Book, Coded};
use crate::lifecycle::{CompactPolicies, TrainingLifecycle};

/// What a part's lifecycle is counted from, kept from its features pass.
pub struct PartLifecycleInputs {
    policies: CompactPolicies,
    /// The snapshot at the cut-off with the values of `kept` features only: every other
    /// column is empty (read as unknown by the transform; segments never read it).
    raw: RawFeatures,
    /// The client's categorical traits.
    cats: Vec<(String, Option<Coded>)>,
    clients: usize,
}

/// The model columns segments may be fitted on: `[segments] features`, else the
/// defaults (`segment::DEFAULT_FEATURES`). When the fit falls back to every numeric
/// feature (none of the defaults in the data), `count` says the inputs do not suffice.
fn candidate_columns(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = config.segments.features.clone();
    names.extend(
        crate::segment::DEFAULT_FEATURES
            .iter()
            .map(|f| f.name().to_string()),
    );
    names
}

/// The trait a model column is a level of (`gender=female` -> `gender`), or `None` for
/// a numeric column.
fn trait_of(column: &str) -> Option<&str> {
    column.split_once('=').map(|(name, _)| name)
}

impl PartLifecycleInputs {
    /// Keeps what the part's lifecycle needs from its loaded `book` and its snapshot at
    /// the plan's cut-off.
    pub(super) fn keep(config: &Config, book: &Book, now: &Snapshot) -> Self {
        let wanted = candidate_columns(config);
        let numeric = |name: &str| wanted.iter().any(|w| w == name);
        let raw = RawFeatures {
            cutoff: now.raw.cutoff,
            names: now.raw.names.clone(),
            columns: now
                .raw
                .names
                .iter()
                .zip(&now.raw.columns)
                .map(|(name, col)| {
                    if numeric(name) {
                        col.clone()
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
            active: Vec::new(),
            facts: crate::features::Facts::default(),
        };
        // Every trait: the transform builds each categorical column of the model (a
        // client-level code each, small beside the policies).
        let cats = crate::features::categorical_columns(book)
            .into_iter()
            .map(|(name, col)| (name, col.cloned()))
            .collect();
        PartLifecycleInputs {
            policies: CompactPolicies::of(book),
            raw,
            cats,
            clients: book.n_clients(),
        }
    }

    /// Whether every column `bundle`'s segments are fitted on was kept.
    fn suffices_for(&self, bundle: &Bundle) -> bool {
        bundle.segments.features.iter().all(|f| match trait_of(f) {
            Some(name) => self.cats.iter().any(|(n, col)| n == name && col.is_some()),
            None => self.raw.column(f).is_some_and(|c| c.len() == self.clients),
        })
    }

    /// The part's persistency and exits as of the plan's `cutoff`, each client in the
    /// segment `bundle` assigns it: what `parts::part_lifecycle` counts after loading the
    /// part again. `None` when the bundle's segments use a column not kept (the caller
    /// then loads the part again).
    ///
    /// # Errors
    /// A segment feature the transform cannot build.
    pub fn count(
        &self,
        config: &Config,
        cutoff: Date,
        bundle: &Bundle,
    ) -> Option<Result<TrainingLifecycle>> {
        if !self.suffices_for(bundle) {
            return None;
        }
        let cats: Vec<(String, Option<&Coded>)> = self
            .cats
            .iter()
            .map(|(n, c)| (n.clone(), c.as_ref()))
            .collect();
        let counted = fit::every_client_segment(
            (&bundle.features, &bundle.segments),
            &self.raw,
            &cats,
            self.clients,
        )
        .map(|segments| {
            TrainingLifecycle::count(&self.policies, &segments, cutoff, &config.persistency)
        });
        Some(counted)
    }
}
