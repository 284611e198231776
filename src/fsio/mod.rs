//! File output that never leaves a half-written file under a final name: write to a
//! temporary file in the same directory, flush to disk, then rename into place. Whole
//! output directories follow the same rule (`rundir`).

pub mod arrow;
pub mod beneath;
pub mod pairs;
pub mod rundir;

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(rundir::temp_name_for(&name, "tmp"))
}

/// Writes `bytes` to `path` atomically, creating parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes through `fill` into a temporary file, then renames it to `path`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let tmp = temp_path(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Reads a small text file the user wrote (config, names), refusing one that is not
/// UTF-8 as bad input rather than as an I/O failure.
///
/// # Errors
/// `Error::Read` when it cannot be read, `Error::Malformed` when it is not UTF-8 text.
pub fn read_text(path: &Path) -> Result<String> {
    require_regular_file(path)?;
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| Error::InvalidUtf8 {
        path: path.to_path_buf(),
        byte_offset: e.utf8_error().valid_up_to(),
    })
}

/// Refuses a path that exists but is not a regular file (a directory, a named pipe, a
/// device): reading one would fail late, or block forever on a pipe nobody writes.
/// A missing file passes (its reader reports it).
///
/// # Errors
/// `Error::Malformed` (bad input) saying what the path is.
pub fn require_regular_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let t = meta.file_type();
    let what = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a named pipe"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a device"
    };
    Err(Error::Malformed {
        path: path.to_path_buf(),
        message: format!("is {what}, not a regular file: name a file here"),
    })
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
/// A CSV cell for files people open in a spreadsheet (labels, quarantine): a text
/// starting with `=`, `+`, `-`, `@`, tab or CR would run as a formula, so it gets a
/// leading `'` (shown as text; the Parquet labels keep the raw value). Then quoted as
/// `csv_field` does.
pub fn csv_cell_for_people(s: &str) -> std::borrow::Cow<'_, str> {
    // A text that itself starts with `'` gets one more, so that reading back
    // (`from_people_cell`) is exact.
    if s.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) {
        csv_field(&format!("'{s}")).into_owned().into()
    } else {
        csv_field(s)
    }
}

/// The text a `csv_cell_for_people` cell stands for (after CSV unquoting).
pub fn from_people_cell(s: &str) -> &str {
    s.strip_prefix('\'').unwrap_or(s)
}

pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    // A byte scan: every character asked about is ASCII, and a char-set `contains`
    // decoded each character (a million labels' 25 cells each).
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_for_people_never_start_a_formula() {
        use super::csv_cell_for_people as cell;
        assert_eq!(
            cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(cell("+44 20"), "'+44 20");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\rx"), "\"'\rx\"");
        assert_eq!(cell("C0001"), "C0001");
        assert_eq!(cell("a, b"), "\"a, b\"");
        assert_eq!(cell("a=b"), "a=b");
        assert_eq!(cell("'quoted"), "''quoted");
        for id in ["=1+1", "'x", "''", "C1", "-3"] {
            let written = cell(id).into_owned();
            let unquoted = written.trim_matches('"').replace("\"\"", "\"");
            assert_eq!(super::from_people_cell(&unquoted), id);
        }
    }

    #[test]
    fn writes_and_replaces_without_leaving_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.json");
        super::write_atomic(&p, b"one").unwrap();
        super::write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
