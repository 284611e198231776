//! Why a file could not be read, in words a user can act on: the record, byte or
//! encoding at fault.

use super::*;

pub(super) fn malformed(path: &Path, e: &PolarsError) -> Error {
    Error::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Why polars could not split a CSV file into records, said in the file's own terms:
/// the first row with more fields than the header, or a quote that is never closed.
/// `None` when the scan finds neither (polars' own reason is used then).
pub(super) fn diagnose_records(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let (mut row, mut fields, mut header_fields) = (0usize, 1usize, 0usize);
    let (mut quoted, mut quote_row) = (false, 0usize);
    for &b in &bytes {
        match b {
            b'"' => {
                // A doubled quote inside a quoted field closes and reopens: no net change.
                quoted = !quoted;
                if quoted {
                    quote_row = row;
                }
            }
            b',' if !quoted => fields += 1,
            b'\n' if !quoted => {
                if row == 0 {
                    header_fields = fields;
                } else if fields > header_fields {
                    return Some(format!(
                        "row {row} has {fields} fields but the header has {header_fields} \
                         (a comma inside a value must be quoted: \"1,5\")"
                    ));
                }
                row += 1;
                fields = 1;
            }
            _ => {}
        }
    }
    if quoted {
        let at = if quote_row == 0 {
            "the header".to_string()
        } else {
            format!("row {quote_row}")
        };
        return Some(format!(
            "{at}: a quoted value is never closed (a quote inside a value must be doubled: \
             \"\"); everything after it would be one value"
        ));
    }
    if row > 0 && fields > header_fields.max(1) && bytes.last() != Some(&b'\n') {
        return Some(format!(
            "row {row} has {fields} fields but the header has {header_fields}"
        ));
    }
    None
}

/// Polars' reason without its advice (which names options of polars' Python API).
pub(super) fn polars_reason(e: &PolarsError) -> String {
    let text = e.to_string();
    let first = text.split("\n\n").next().unwrap_or(&text).trim();
    format!("cannot be read as CSV: {first}")
}

/// Finds the first invalid UTF-8 byte in a file, for a precise error.
pub(super) fn first_invalid_utf8(path: &Path) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    std::str::from_utf8(&bytes).err().map(|e| e.valid_up_to())
}
