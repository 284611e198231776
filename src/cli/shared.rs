//! Flags both binaries take, written once so their help and meaning cannot drift apart.

use crate::error::Result;
use crate::vocab::Vocabulary;
use crate::Date;
use std::path::PathBuf;
use std::sync::Arc;

/// `--extract-date`: the date the data was extracted.
#[derive(clap::Args)]
pub struct ExtractArgs {
    /// Date of the data extract; rows dated after it are quarantined (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub extract_date: Option<Date>,
}

/// `--lang` and `--vocabulary`: the words people read.
#[derive(clap::Args)]
pub struct WordsArgs {
    /// The language of the words people read (labels' display columns, charts, report):
    /// en (default) or zh-CN.
    #[arg(long, value_name = "LANG")]
    lang: Option<String>,
    /// A house vocabulary file (TOML) renaming words of --lang (docs/language.md).
    #[arg(long, value_name = "FILE")]
    vocabulary: Option<PathBuf>,
}

impl WordsArgs {
    /// The vocabulary the flags choose.
    ///
    /// # Errors
    /// An unknown language or a bad vocabulary file (exit code 2).
    pub fn vocabulary(&self) -> Result<Arc<Vocabulary>> {
        Vocabulary::choose(self.lang.as_deref(), self.vocabulary.as_deref())
    }
}
