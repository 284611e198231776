//! A derived model version: a published bundle's fitted models unchanged, with new
//! segment names or a new recommended-action table, published as a new version that
//! records its parent. The legitimate way to change what a published (immutable)
//! version says without retraining.

use crate::bundle::{self, Bundle};
use crate::config::{ActionTable, Config};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// What a derived version changes.
#[derive(Clone, Debug, Default)]
pub struct DeriveOptions {
    /// A names file (`<id> = "name"`) renaming segments.
    pub names: Option<PathBuf>,
    /// A config whose `[[actions]]` replace the parent's action table. Every other
    /// setting must equal the parent's: those shaped the fitted models.
    pub config: Option<Config>,
    pub models_dir: PathBuf,
}

/// Publishes `parent` with the changes of `opts` as a new version under
/// `opts.models_dir`; returns the new bundle and its directory.
///
/// # Errors
/// `Error::InvalidParameter` when nothing changes or the config changes a fitted
/// setting; names and action errors as at training; publish errors.
pub fn derive(parent: &bundle::Located, opts: &DeriveOptions) -> Result<(Bundle, PathBuf)> {
    if opts.names.is_none() && opts.config.is_none() {
        return Err(Error::InvalidParameter(
            "--derive-from needs something to change: --names (segment names) or --config \
             (its [[actions]] table)"
                .into(),
        ));
    }
    let mut b = parent.bundle.clone();
    if let Some(path) = &opts.names {
        let ids: Vec<u32> = b.segments.segments.iter().map(|s| s.id).collect();
        let names = crate::segment::read_names_file(path, &ids)?;
        crate::segment::apply_names(&mut b.segments, &names)?;
    }
    if let Some(config) = &opts.config {
        ActionTable::check(&config.actions)?;
        let mut proposed = config.rooted_in_data_dir();
        proposed.origin = None;
        let mut same = b.config.clone();
        same.actions = proposed.actions.clone();
        same.cleaning.extract_date = proposed.cleaning.extract_date;
        if proposed != same {
            return Err(Error::InvalidParameter(format!(
                "--config {} changes settings other than [[actions]] (sources, cleaning, \
                 segments or lapse settings shaped the fitted models): retrain to change them, \
                 or derive with a copy of the model's config that changes only [[actions]]",
                config.origin.as_deref().unwrap_or(Path::new("")).display()
            )));
        }
        b.config.actions = proposed.actions;
    }
    if b.content_hash()? == parent.bundle.content_hash()? {
        return Err(Error::InvalidParameter(
            "the derived version would equal its parent: nothing changed".into(),
        ));
    }
    b.parent = Some(parent.bundle.version.clone());
    let names = super::train::names_file(&b.segments);
    let dir = b.publish(&opts.models_dir, &bundle::now_utc(), &names, None)?;
    Ok((b, dir))
}
