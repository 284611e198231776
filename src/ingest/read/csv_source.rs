//! CSV files: the header, reading in pieces of whole records, and the CSV reader's
//! options (every column read as text, then parsed by its contract kind).

use super::*;

/// Reads the header line of a CSV file and splits it into column names.
pub(crate) fn csv_header(path: &Path) -> Result<Vec<String>> {
    let mut file = open(path)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = file.read(&mut chunk).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        buf.extend_from_slice(&chunk[..n]);
        if n == 0 || buf.contains(&b'\n') || buf.len() > 1 << 20 {
            break;
        }
    }
    if buf.starts_with(b"PAR1") {
        return Err(Error::Malformed {
            path: path.to_path_buf(),
            message: "is a Parquet file (it starts with PAR1) named as CSV: rename it to .parquet"
                .into(),
        });
    }
    let line_end = buf.iter().position(|&b| b == b'\n');
    if line_end.is_none() && buf.len() > 1 << 20 {
        return Err(Error::Malformed {
            path: path.to_path_buf(),
            message: "no header line ends within the first 1 MB: not a CSV file".into(),
        });
    }
    let line = &buf[..line_end.unwrap_or(buf.len())];

    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let text = std::str::from_utf8(line).map_err(|e| Error::InvalidUtf8 {
        path: path.to_path_buf(),
        byte_offset: e.valid_up_to(),
    })?;
    if text.contains('\0') {
        return Err(Error::Malformed {
            path: path.to_path_buf(),
            message: "the header line holds NUL bytes: a binary file, not CSV text".into(),
        });
    }
    let names = split_csv_line(text);
    check_header(text, &names).map_err(|message| Error::Malformed {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(names)
}

/// Header shapes that would otherwise read as "missing column" or silently as a renamed
/// column: old Mac line endings, another separator, a column named twice.
pub(super) fn check_header(line: &str, names: &[String]) -> std::result::Result<(), String> {
    if line.contains('\r') {
        return Err(
            "lines end with a carriage return only (old Mac text); save the file \
             with LF or CRLF line endings"
                .into(),
        );
    }
    if let [only] = names {
        for (sep, name) in [(';', "semicolons"), ('\t', "tabs"), ('|', "vertical bars")] {
            if only.contains(sep) {
                return Err(format!(
                    "the header is one column separated by {name} ({only:?}); clientele reads \
                     comma-separated files: save it as CSV with commas"
                ));
            }
        }
    }
    let key = |n: &str| n.trim().to_ascii_lowercase();
    for (i, name) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|n| key(n) == key(name)) {
            return Err(format!(
                "column {name:?} appears twice in the header (columns {} and {}); rename one",
                j + 1,
                i + 1
            ));
        }
    }
    Ok(())
}

pub(super) fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    out.push(field);
    // Names as the file spells them (spaces kept): the reader selects columns by these;
    // matching a configured name ignores case and surrounding spaces (`find_column`).
    out
}

/// A CSV file's requested columns (and `__row__` for a partition file).
pub(super) struct CsvFile<'a> {
    pub(super) path: &'a Path,
    pub(super) shown: &'a Path,
    pub(super) names: &'a [String],
}

impl CsvFile<'_> {
    /// A file larger than one and a half pieces is parsed a piece at a time (whole
    /// records, each piece with the header), each piece's rows converted and freed before
    /// the next, as large Parquet files are read in slices: polars holds a file read whole as
    /// its text plus a 16-byte view per value (a 10M book's 470 MB payments part took the
    /// run to 2 GB). Pieces end at a newline outside quotes. If polars refuses a piece,
    /// the file is read whole, so a malformed file is explained exactly as before.
    pub(super) fn read(
        &self,
        source: Source,
        requests: &[ColumnRequest],
        partitioned: bool,
        piece_bytes: usize,
    ) -> Result<Table> {
        let file = open(self.path)?;
        let size = file.metadata().map_or(0, |m| m.len());
        if size > (piece_bytes + piece_bytes / 2) as u64 {
            let pieces = (file, size, piece_bytes);
            if let Some(table) = self.read_in_pieces(source, requests, partitioned, pieces)? {
                return Ok(table);
            }
        }
        let df = crate::progress::timed("polars read", || read_csv_frame(self.path, self.names))?;
        table_from_frame(source, self.shown, df, requests, partitioned)
    }

    /// The table read piece by piece; `None` when polars refuses a piece.
    pub(super) fn read_in_pieces(
        &self,
        source: Source,
        requests: &[ColumnRequest],
        partitioned: bool,
        (mut file, size, piece_bytes): (std::fs::File, u64, usize),
    ) -> Result<Option<Table>> {
        let read_error = |source| Error::Read {
            path: self.path.to_path_buf(),
            source,
        };
        // Made at the first piece, sized from its rows per byte (growing the id
        // dictionaries from nothing costs more than reading).
        let mut table: Option<TableBuilder> = None;
        // `piece` holds the header, then the records read and not yet parsed; it is
        // filled up to `want` bytes (more when one record is longer than a piece).
        let mut piece: Vec<u8> = Vec::with_capacity(piece_bytes);
        let mut want = piece_bytes;
        let mut header_len = None;
        let mut at_end = false;
        loop {
            if !at_end && piece.len() < want {
                let more = (want - piece.len()) as u64;
                (&mut file)
                    .take(more)
                    .read_to_end(&mut piece)
                    .map_err(read_error)?;
                at_end = piece.len() < want;
            }
            let header = match header_len.or_else(|| records_end(&piece, true)) {
                Some(h) => *header_len.insert(h),
                None if at_end => return Ok(None),
                None => {
                    want += piece_bytes;
                    continue;
                }
            };
            let data = piece.get(header..).unwrap_or_default();
            let records = if at_end {
                data.len()
            } else if let Some(end) = records_end(data, false) {
                end
            } else {
                want += piece_bytes;
                continue;
            };
            if records > 0 {
                let df = crate::progress::timed("polars read", || {
                    parse_csv_bytes(&piece[..header + records], self.names)
                });
                let Ok(df) = df else { return Ok(None) };
                let rows_hint = (df.height() as u64 * size / records.max(1) as u64) as usize;
                table
                    .get_or_insert_with(|| {
                        TableBuilder::new(source, self.shown, requests, rows_hint, partitioned)
                    })
                    .add(df)?;
                piece.drain(header..header + records);
                want = piece_bytes;
            }
            if at_end {
                let table = table.unwrap_or_else(|| {
                    TableBuilder::new(source, self.shown, requests, 0, partitioned)
                });
                return Ok(Some(table.finish()));
            }
        }
    }
}

/// The end (exclusive) of the first (`first`) or last complete record of `bytes`, which
/// start outside quotes: just after a newline outside quoted values. A doubled quote
/// inside a quoted value closes and reopens it: no net change (as `diagnose_records`).
pub(super) fn records_end(bytes: &[u8], first: bool) -> Option<usize> {
    // Most exports quote nothing: then every newline ends a record.
    if memchr::memchr(b'"', bytes).is_none() {
        let newline = if first {
            memchr::memchr(b'\n', bytes)
        } else {
            memchr::memrchr(b'\n', bytes)
        };
        return newline.map(|i| i + 1);
    }
    let mut quoted = false;
    let mut end = None;
    for i in memchr::memchr2_iter(b'"', b'\n', bytes) {
        if bytes.get(i) == Some(&b'"') {
            quoted = !quoted;
        } else if !quoted {
            end = Some(i + 1);
            if first {
                break;
            }
        }
    }
    end
}

/// CSV files larger than one and a half times this are parsed in pieces of about this
/// size (`CsvFile::read`). Smaller files are read whole: reading in pieces costs time (a
/// 1M book's 132 MB policies file read ~0.5 s slower in 64 MB pieces) and a file read
/// whole peaks at ~3x its size (a 10M book's ~250 MB contacts parts took labeling from
/// 1.15 to 1.37 GB).
pub(super) const CSV_PIECE_BYTES: usize = 128 << 20;

/// The requested columns of a CSV file, every one as text: our parsers give row-precise
/// errors where polars' inference would not.
pub(super) fn read_csv_frame(path: &Path, names: &[String]) -> Result<DataFrame> {
    if open(path)?.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(Error::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let result = csv_options(names)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish());
    result.map_err(|e| match first_invalid_utf8(path) {
        Some(byte_offset) => Error::InvalidUtf8 {
            path: path.to_path_buf(),
            byte_offset,
        },
        None => Error::Malformed {
            path: path.to_path_buf(),
            message: diagnose_records(path).unwrap_or_else(|| polars_reason(&e)),
        },
    })
}

/// Every requested column as text, with the header's names; a partition file's row
/// gaps (written by the split, never by a user) as integers.
pub(super) fn csv_options(names: &[String]) -> CsvReadOptions {
    let selected: Arc<[PlSmallStr]> = names.iter().map(|n| PlSmallStr::from(n.as_str())).collect();
    let row_gaps = names.iter().any(|n| n == ROW_COLUMN).then(|| {
        Arc::new(Schema::from_iter([Field::new(
            ROW_COLUMN.into(),
            DataType::UInt32,
        )]))
    });
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_schema_overwrite(row_gaps)
        .with_columns(Some(selected))
}

/// `read_csv_frame` on a piece of a file held in memory (header first).
pub(super) fn parse_csv_bytes(bytes: &[u8], names: &[String]) -> PolarsResult<DataFrame> {
    csv_options(names)
        .into_reader_with_file_handle(std::io::Cursor::new(bytes))
        .finish()
}

/// A CSV text held in memory (its header first), every column as text, as
/// `read_csv_frame` reads a file; `shown` names it in errors.
pub(crate) fn read_csv_bytes(shown: &Path, bytes: &[u8]) -> Result<DataFrame> {
    let header_end = records_end(bytes, true).unwrap_or(bytes.len());
    let header = std::str::from_utf8(&bytes[..header_end]).map_err(|e| Error::InvalidUtf8 {
        path: shown.to_path_buf(),
        byte_offset: e.valid_up_to(),
    })?;
    let names = split_csv_line(header.trim_end_matches(['\n', '\r']));
    parse_csv_bytes(bytes, &names).map_err(|e| Error::Malformed {
        path: shown.to_path_buf(),
        message: polars_reason(&e),
    })
}
