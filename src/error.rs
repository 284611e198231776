//! The crate's error type. Every variant says what went wrong and where, so that a data
//! scientist can fix the file or the flag without reading code.

use std::path::PathBuf;

/// Errors raised by the library. `is_bad_input` separates the user's mistakes (exit 2)
/// from runtime failures such as I/O (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is empty (expected a header line and data rows)")]
    EmptyFile { path: PathBuf },
    #[error("{path}: the file has a header but no data rows")]
    NoRows { path: PathBuf },
    #[error("{path}: missing required column(s) {missing:?} for source '{source_name}' (found: {found:?})")]
    MissingColumns {
        path: PathBuf,
        source_name: String,
        missing: Vec<String>,
        found: Vec<String>,
    },
    #[error("{path}: the config names column '{column}' for '{field}', but the file has no such column (found: {found:?})")]
    ConfiguredColumnAbsent {
        path: PathBuf,
        field: String,
        column: String,
        found: Vec<String>,
    },
    #[error("{path}, row {row}, column '{column}': expected {expected}, found {value:?}")]
    BadValue {
        path: PathBuf,
        row: usize,
        column: String,
        expected: String,
        value: String,
    },
    #[error(
        "{path}: the file is not valid UTF-8 text (near byte {byte_offset}); save it as UTF-8"
    )]
    InvalidUtf8 { path: PathBuf, byte_offset: usize },
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("{path}: unsupported file type (expected .csv or .parquet)")]
    UnsupportedFormat { path: PathBuf },
    #[error("{path}: client id {client_id:?} appears on rows {first_row} and {second_row} with different attributes")]
    ConflictingDuplicate {
        path: PathBuf,
        client_id: String,
        first_row: usize,
        second_row: usize,
    },
    #[error("{path}: {invalid} of {total} rows ({share:.1}%) are invalid, above the allowed {threshold:.1}% (most common reason: {top_reason}); see the quarantine file for every row")]
    TooManyInvalid {
        path: PathBuf,
        invalid: usize,
        total: usize,
        share: f64,
        threshold: f64,
        top_reason: String,
    },
    #[error("{path}, label column '{column}': found more than two values {values:?}; a label must be binary (e.g. 1/0, yes/no, true/false)")]
    LabelNotBinary {
        path: PathBuf,
        column: String,
        values: Vec<String>,
    },
    #[error("{path}, label column '{column}': the positive value {positive:?} does not occur (values: {values:?})")]
    LabelPositiveAbsent {
        path: PathBuf,
        column: String,
        positive: String,
        values: Vec<String>,
    },
    #[error("config {path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("no data to learn from: {0}")]
    NoData(String),
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    #[error("model bundle {path}: {message}")]
    Bundle { path: PathBuf, message: String },
    #[error("{path} already exists: a published model version or a previous run's output is never overwritten{hint}")]
    Exists { path: PathBuf, hint: String },
    #[error("{path}: {message}")]
    UnsafeOutput { path: PathBuf, message: String },
    #[error("{0}")]
    Runtime(String),
}

impl Error {
    /// A file that should exist and does not.
    pub fn not_found(path: PathBuf) -> Error {
        Error::Read {
            path,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "file does not exist"),
        }
    }

    /// The process exit code: 2 for the user's data, config or flags, 1 otherwise.
    /// (Errors from other crates reaching a binary exit 1 too.)
    pub fn exit_code(&self) -> u8 {
        if self.is_bad_input() {
            2
        } else {
            1
        }
    }

    /// The file (or `<clients table>`) the error is about, when it is about one.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            Error::Read { path, .. }
            | Error::Write { path, .. }
            | Error::EmptyFile { path }
            | Error::NoRows { path }
            | Error::MissingColumns { path, .. }
            | Error::ConfiguredColumnAbsent { path, .. }
            | Error::BadValue { path, .. }
            | Error::InvalidUtf8 { path, .. }
            | Error::Malformed { path, .. }
            | Error::UnsupportedFormat { path }
            | Error::ConflictingDuplicate { path, .. }
            | Error::TooManyInvalid { path, .. }
            | Error::LabelNotBinary { path, .. }
            | Error::LabelPositiveAbsent { path, .. }
            | Error::Config { path, .. }
            | Error::Bundle { path, .. }
            | Error::Exists { path, .. }
            | Error::UnsafeOutput { path, .. } => Some(path),
            Error::NoData(_) | Error::InvalidParameter(_) | Error::Runtime(_) => None,
        }
    }

    /// The column the error is about, when one is named (the first missing one of several).
    pub fn column(&self) -> Option<&str> {
        match self {
            Error::ConfiguredColumnAbsent { column, .. }
            | Error::BadValue { column, .. }
            | Error::LabelNotBinary { column, .. }
            | Error::LabelPositiveAbsent { column, .. } => Some(column),
            Error::MissingColumns { missing, .. } => missing.first().map(String::as_str),
            _ => None,
        }
    }

    /// The data row (1-based, as in the message) the error is about, when one is named.
    pub fn row(&self) -> Option<usize> {
        match self {
            Error::BadValue { row, .. } => Some(*row),
            Error::ConflictingDuplicate { second_row, .. } => Some(*second_row),
            _ => None,
        }
    }

    /// True when the user's data, config or flags are at fault (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Read { source, .. } => {
                matches!(
                    source.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) || names_a_bad_path(source)
            }
            Error::Write { source, .. } => names_a_bad_path(source),
            Error::Runtime(_) => false,
            _ => true,
        }
    }
}

/// An I/O error that says the path itself is wrong (a file where a directory must be, a
/// directory where a file must be, a name too long), not that the system failed.
fn names_a_bad_path(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOTDIR | libc::EISDIR | libc::ENAMETOOLONG)
    )
}

/// Exit code of a run stopped by a bug (a panic): Rust's own, distinct from 0-3.
pub const BUG_EXIT_CODE: i32 = 101;

/// An error and its causes as one line, `a: b: c`, leaving out a cause whose text the
/// message before it already ends with (`Error::Read` shows its I/O error itself).
pub fn message_chain<'a>(
    chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let mut out = String::new();
    for cause in chain {
        let text = cause.to_string();
        if out.is_empty() {
            out = text;
        } else if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

/// Calls into a dependency that may panic on a damaged file (polars' Parquet reader
/// does on some broken metadata) in progress; while any is, a panic is expected and
/// caught by `catch_expected`, so panic hooks stay quiet.
static EXPECTED_PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// True while a `catch_expected` call is running: a panic hook should not report (or,
/// under a fuzzer, abort on) a panic it will turn into an error.
pub fn panic_expected() -> bool {
    EXPECTED_PANICS.load(std::sync::atomic::Ordering::SeqCst) > 0
}

/// Runs `f`, turning a panic inside it into the error `on_panic` makes from the panic's
/// message. Only for third-party code reading a user's file: our own code returns errors.
pub fn catch_expected<T>(
    f: impl FnOnce() -> Result<T>,
    on_panic: impl FnOnce(&str) -> Error,
) -> Result<T> {
    use std::sync::atomic::Ordering;
    struct Entered;
    impl Drop for Entered {
        fn drop(&mut self) {
            EXPECTED_PANICS.fetch_sub(1, Ordering::SeqCst);
        }
    }
    EXPECTED_PANICS.fetch_add(1, Ordering::SeqCst);
    let entered = Entered;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    drop(entered);
    outcome.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown cause");
        Err(on_panic(what))
    })
}

/// Replaces the raw panic message and backtrace with one line that says this is a bug
/// and asks for a report. The process still exits with `BUG_EXIT_CODE`.
pub fn report_panics_as_bugs(program: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        if panic_expected() {
            return;
        }
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown cause");
        let at = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "internal error in {program}: {what}{at}. This is a bug in clientele, not a problem \
             with your data or flags: please report it with the command you ran \
             (exit code {BUG_EXIT_CODE})."
        );
    }));
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_shown_is_not_repeated() {
        let e = Error::not_found(PathBuf::from("cfg.toml"));
        let once = message_chain([&e as &(dyn std::error::Error + 'static)]);
        let chained = message_chain(std::iter::successors(
            Some(&e as &(dyn std::error::Error + 'static)),
            |c| c.source(),
        ));
        assert_eq!(once, "cannot read cfg.toml: file does not exist");
        assert_eq!(chained, once);
    }

    #[test]
    fn an_expected_panic_becomes_the_error_asked_for() {
        let caught: Result<()> = catch_expected(
            || panic!("thrift bool field"),
            |what| Error::Runtime(format!("damaged: {what}")),
        );
        assert_eq!(
            caught.unwrap_err().to_string(),
            "damaged: thrift bool field"
        );
        let fine = catch_expected(|| Ok(3), |_| Error::Runtime(String::new()));
        assert_eq!(fine.unwrap(), 3);
    }
}
