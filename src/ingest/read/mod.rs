//! Reading one file (CSV or Parquet) into typed columns with declared kinds. Nothing is
//! inferred: every requested column is parsed by its contract kind, and a value that does
//! not parse stops the run with the file, row, column and value.

use super::table::{Coded, Table, Values};
use crate::date::Date;
use crate::error::{Error, Result};
use crate::schema::{Kind, Source};
use polars::prelude::*;
use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One column to read: the contract field, the file's column name and the kind.
#[derive(Clone, Debug)]
pub struct ColumnRequest {
    pub field: String,
    pub column: String,
    pub kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Format::Csv),
            Some("parquet") | Some("pq") => Ok(Format::Parquet),
            _ => Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// The column names a file holds, read from the CSV header or the Parquet schema.
pub fn column_names(path: &Path) -> Result<Vec<String>> {
    match Format::of(path)? {
        Format::Csv => csv_header(path),
        Format::Parquet => {
            let file = open(path)?;
            parquet_guarded(path, || {
                let mut reader = ParquetReader::new(file);
                let schema = reader.schema().map_err(|e| not_parquet(path, &e))?;
                Ok(schema.iter_names().map(|n| n.to_string()).collect())
            })
        }
    }
}

fn open(path: &Path) -> Result<std::fs::File> {
    let file = std::fs::File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::Malformed {
            path: path.to_path_buf(),
            message: "is a directory, expected a file".into(),
        });
    }
    Ok(file)
}

fn malformed(path: &Path, e: &PolarsError) -> Error {
    Error::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// polars' Parquet reader panics on some damaged files (broken thrift metadata, found by
/// fuzzing): such a panic is the same error as any other damaged Parquet file.
/// Its footer is checked first: a damaged one can make the reader allocate without bound
/// and abort, which no `catch_unwind` can turn into an error (`parquet_footer`).
pub(crate) fn parquet_guarded<T>(path: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    super::parquet_footer::check(path)?;
    crate::error::catch_expected(read, |what| Error::Malformed {
        path: path.to_path_buf(),
        message: format!("cannot be read as Parquet (damaged, or not a Parquet file): {what}"),
    })
}

fn not_parquet(path: &Path, e: &PolarsError) -> Error {
    Error::Malformed {
        path: path.to_path_buf(),
        message: format!("cannot be read as Parquet (damaged, or not a Parquet file): {e}"),
    }
}

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
fn check_header(line: &str, names: &[String]) -> std::result::Result<(), String> {
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

/// Why polars could not split a CSV file into records, said in the file's own terms:
/// the first row with more fields than the header, or a quote that is never closed.
/// `None` when the scan finds neither (polars' own reason is used then).
fn diagnose_records(path: &Path) -> Option<String> {
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
fn polars_reason(e: &PolarsError) -> String {
    let text = e.to_string();
    let first = text.split("\n\n").next().unwrap_or(&text).trim();
    format!("cannot be read as CSV: {first}")
}

fn split_csv_line(line: &str) -> Vec<String> {
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

/// Finds the first invalid UTF-8 byte in a file, for a precise error.
fn first_invalid_utf8(path: &Path) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    std::str::from_utf8(&bytes).err().map(|e| e.valid_up_to())
}

/// Rows of a source file, for sizing client parts: exact from Parquet metadata and for
/// small CSV files; a large CSV file is estimated from its size and the lines in three
/// windows of `ROW_SAMPLE_BYTES` (start, middle, end) rather than read through (a 15 GB
/// book took 20-30 s to count). The estimate depends only on the file, so a run's part
/// count is reproducible.
pub fn estimate_rows(path: &Path) -> Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let read_err = |e| Error::Read {
        path: path.to_path_buf(),
        source: e,
    };
    if Format::of(path)? == Format::Parquet {
        return Ok(parquet_rows(path)? as u64);
    }
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let size = file.metadata().map_err(read_err)?.len();
    let lines = |bytes: &[u8]| memchr::memchr_iter(b'\n', bytes).count() as u64;
    if size <= 3 * ROW_SAMPLE_BYTES {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(read_err)?;
        return Ok(lines(&bytes).saturating_sub(1));
    }
    let mut window = vec![0u8; ROW_SAMPLE_BYTES as usize];
    let mut sampled_lines = 0u64;
    for start in [0, (size - ROW_SAMPLE_BYTES) / 2, size - ROW_SAMPLE_BYTES] {
        file.seek(SeekFrom::Start(start)).map_err(read_err)?;
        file.read_exact(&mut window).map_err(read_err)?;
        sampled_lines += lines(&window);
    }
    let per_line = (3 * ROW_SAMPLE_BYTES) as f64 / sampled_lines.max(1) as f64;
    Ok((size as f64 / per_line).round() as u64)
}

/// Bytes read at each of the three places a large CSV file's rows are estimated from.
const ROW_SAMPLE_BYTES: u64 = 1 << 20;

/// Column a partition file carries with each row's place in the original file: the
/// gap from the previous row of the same partition file (the first row's gap is its row
/// number). Gaps are a few digits where whole row numbers of a large book are nine:
/// a 10M book's payments parts are a fifth smaller to write and to parse.
pub const ROW_COLUMN: &str = "__row__";

/// Reads the requested columns of a file into a `Table`. Row numbers are 1-based data
/// rows (the CSV header is not counted).
pub fn read_table(source: Source, path: &Path, requests: &[ColumnRequest]) -> Result<Table> {
    read_table_as(source, path, path, requests)
}

/// Reads `path` but names `shown` in the table and in errors: a partition file stands
/// for the user's file, and its `__row__` column gives the original row numbers.
pub fn read_table_as(
    source: Source,
    path: &Path,
    shown: &Path,
    requests: &[ColumnRequest],
) -> Result<Table> {
    let mut names: Vec<String> = requests.iter().map(|r| r.column.clone()).collect();
    let partitioned = path != shown;
    if partitioned {
        names.push(ROW_COLUMN.to_string());
    }
    let no_rows = || Error::NoRows {
        path: path.to_path_buf(),
    };
    match Format::of(path)? {
        Format::Csv => {
            let file = CsvFile {
                path,
                shown,
                names: &names,
            };
            let table = file.read(source, requests, partitioned, CSV_PIECE_BYTES)?;
            if table.rows.is_empty() && !source.may_be_empty() {
                return Err(no_rows());
            }
            Ok(table)
        }
        Format::Parquet => {
            let total = parquet_rows(path)?;
            if total == 0 && !source.may_be_empty() {
                return Err(no_rows());
            }
            let file = ParquetFile {
                path,
                shown,
                names: &names,
                total,
            };
            file.read(source, requests, partitioned, PARQUET_SLICE_ROWS)
        }
    }
}

/// A Parquet file's requested columns (and `__row__` for a partition file).
struct ParquetFile<'a> {
    path: &'a Path,
    shown: &'a Path,
    names: &'a [String],
    total: usize,
}

impl ParquetFile<'_> {
    /// A large file is read `slice_rows` rows at a time, each slice converted and freed
    /// before the next: the whole file as polars columns (strings as views) would cost
    /// more memory than the typed table it becomes.
    fn read(
        &self,
        source: Source,
        requests: &[ColumnRequest],
        partitioned: bool,
        slice_rows: usize,
    ) -> Result<Table> {
        let total = self.total;
        let mut table = TableBuilder::new(source, self.shown, requests, total, partitioned);
        let mut offset = 0;
        loop {
            let len = slice_rows.min(total - offset);
            let slice = (total > slice_rows).then_some((offset, len));
            let df = crate::progress::timed("polars read", || {
                read_parquet_frame(self.path, self.names, slice)
            })?;
            table.add(df)?;
            offset += len;
            if offset >= total {
                break;
            }
        }
        Ok(table.finish())
    }
}

/// A CSV file's requested columns (and `__row__` for a partition file).
struct CsvFile<'a> {
    path: &'a Path,
    shown: &'a Path,
    names: &'a [String],
}

impl CsvFile<'_> {
    /// A file larger than one and a half pieces is parsed a piece at a time (whole
    /// records, each piece with the header), each piece's rows converted and freed before
    /// the next, as large Parquet files are read in slices: polars holds a file read whole as
    /// its text plus a 16-byte view per value (a 10M book's 470 MB payments part took the
    /// run to 2 GB). Pieces end at a newline outside quotes. If polars refuses a piece,
    /// the file is read whole, so a malformed file is explained exactly as before.
    fn read(
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
    fn read_in_pieces(
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
fn records_end(bytes: &[u8], first: bool) -> Option<usize> {
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
const CSV_PIECE_BYTES: usize = 128 << 20;

/// Rows of a Parquet file read at once; larger files are read in slices of this many
/// (about 75 MB of polars columns for the payments table).
const PARQUET_SLICE_ROWS: usize = 1_000_000;

fn parquet_rows(path: &Path) -> Result<usize> {
    let file = open(path)?;
    parquet_guarded(path, || {
        ParquetReader::new(file)
            .num_rows()
            .map_err(|e| not_parquet(path, &e))
    })
}

/// The requested columns of a CSV file, every one as text: our parsers give row-precise
/// errors where polars' inference would not.
fn read_csv_frame(path: &Path, names: &[String]) -> Result<DataFrame> {
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
fn csv_options(names: &[String]) -> CsvReadOptions {
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
fn parse_csv_bytes(bytes: &[u8], names: &[String]) -> PolarsResult<DataFrame> {
    csv_options(names)
        .into_reader_with_file_handle(std::io::Cursor::new(bytes))
        .finish()
}

/// The requested columns of a Parquet file (or of `slice`: first row and row count),
/// after refusing types this build cannot read.
fn read_parquet_frame(
    path: &Path,
    names: &[String],
    slice: Option<(usize, usize)>,
) -> Result<DataFrame> {
    let file = open(path)?;
    parquet_guarded(path, || {
        let mut reader = ParquetReader::new(file);
        let schema = reader.schema().map_err(|e| not_parquet(path, &e))?;
        for name in names {
            if let Some(field) = schema.get(name.as_str()) {
                check_parquet_type(path, name, &field.dtype)?;
            }
        }
        reader
            .with_columns(Some(names.to_vec()))
            .with_slice(slice)
            .finish()
            .map_err(|e| not_parquet(path, &e))
    })
}

/// Converts a frame's requested columns into a typed table named `shown` (a file, or a
/// frame handed over in memory); with `partitioned`, the frame's `__row__` column gives
/// the original row numbers.
///
/// # Errors
/// A requested column absent from the frame, or a value that does not parse as its kind
/// (naming `shown`, the row and the column).
pub fn table_from_frame(
    source: Source,
    shown: &Path,
    df: DataFrame,
    requests: &[ColumnRequest],
    partitioned: bool,
) -> Result<Table> {
    let mut table = TableBuilder::new(source, shown, requests, df.height(), partitioned);
    table.add(df)?;
    Ok(table.finish())
}

/// A typed table filled from one frame or from consecutive slices of a file.
struct TableBuilder<'a> {
    table: Table,
    shown: &'a Path,
    requests: &'a [ColumnRequest],
    values: Vec<Values>,
    /// Rows converted so far.
    filled: usize,
    partitioned: bool,
}

impl<'a> TableBuilder<'a> {
    /// `rows`: the number of rows all slices together hold, where known (0 otherwise).
    fn new(
        source: Source,
        shown: &'a Path,
        requests: &'a [ColumnRequest],
        rows: usize,
        partitioned: bool,
    ) -> Self {
        // Row numbers are added as rows are (a partition file's from its `__row__`
        // column): a file read in pieces does not know its row count up front.
        let mut table = Table::new(source, shown.to_path_buf(), 0);
        table.rows.reserve(rows);
        let values = requests
            .iter()
            .map(|req| match req.kind {
                Kind::Id | Kind::Category => Values::Coded(Coded::with_capacity(rows)),
                Kind::Number => Values::Number(Vec::with_capacity(rows)),
                Kind::Date => Values::Date(Vec::with_capacity(rows)),
            })
            .collect();
        TableBuilder {
            table,
            shown,
            requests,
            values,
            filled: 0,
            partitioned,
        }
    }

    /// Converts the next rows, each column freed once converted.
    fn add(&mut self, mut df: DataFrame) -> Result<()> {
        let shown = self.shown;
        let n = df.height();
        if self.partitioned {
            let gaps = df
                .drop_in_place(ROW_COLUMN)
                .and_then(|c| c.cast(&DataType::UInt32))
                .map_err(|e| malformed(shown, &e))?;
            let gaps = gaps.u32().map_err(|e| malformed(shown, &e))?;
            let mut row = self.table.rows.last().copied().unwrap_or(0);
            self.table.rows.extend(gaps.iter().map(|gap| {
                row = row.saturating_add(gap.unwrap_or(0));
                row
            }));
        } else {
            let first = self.filled as u32 + 1;
            self.table.rows.extend(first..first + n as u32);
        }
        let columns = self
            .requests
            .iter()
            .map(|req| {
                df.drop_in_place(&req.column)
                    .map(polars::prelude::Column::take_materialized_series)
                    .map_err(|e| malformed(shown, &e))
            })
            .collect::<Result<Vec<Series>>>()?;
        drop(df);
        // A damaged Parquet page can decode one column shorter or longer than the
        // frame: every column must hold exactly the frame's rows.
        for (req, col) in self.requests.iter().zip(&columns) {
            if col.len() != n {
                return Err(Error::Malformed {
                    path: shown.to_path_buf(),
                    message: format!(
                        "column '{}' decodes to {} values where the file's other columns hold \
                         {n} rows (after data row {}): the file is damaged; export it again",
                        req.column,
                        col.len(),
                        self.filled
                    ),
                });
            }
        }
        let rows = self
            .table
            .rows
            .get(self.filled..self.filled + n)
            .unwrap_or_default();
        let flags_are_numbers = self.table.source == Source::Flat;
        // Columns convert independently: in parallel; the first failing column in
        // request order is the one reported.
        let results = self
            .requests
            .par_iter()
            .zip(columns)
            .zip(self.values.par_iter_mut())
            .map(|((req, col), out)| {
                let ctx = Ctx {
                    path: shown,
                    column: &req.column,
                    rows,
                };
                match out {
                    Values::Coded(c) => coded_into(&ctx, &col, req.kind == Kind::Id, c),
                    Values::Number(v) => numbers_into(&ctx, &col, v, flags_are_numbers),
                    Values::Date(v) => dates_into(&ctx, &col, v),
                }
            })
            .collect::<Vec<Result<()>>>();
        results.into_iter().collect::<Result<()>>()?;
        self.filled += n;
        Ok(())
    }

    fn finish(mut self) -> Table {
        for (req, mut v) in self.requests.iter().zip(self.values) {
            if let Values::Coded(c) = &mut v {
                c.freeze();
            }
            self.table.insert(&req.field, &req.column, v);
        }
        self.table
    }
}

/// Refuses Parquet column types this build cannot convert, before polars reads them.
fn check_parquet_type(path: &Path, column: &str, dtype: &ArrowDataType) -> Result<()> {
    match dtype {
        ArrowDataType::Decimal(p, s)
        | ArrowDataType::Decimal32(p, s)
        | ArrowDataType::Decimal64(p, s)
        | ArrowDataType::Decimal256(p, s) => Err(Error::Malformed {
            path: path.to_path_buf(),
            message: format!(
                "column '{column}' is stored as decimal({p}, {s}), which clientele does not \
                 read: export it as a floating-point (double) or text column"
            ),
        }),
        _ => Ok(()),
    }
}

struct Ctx<'a> {
    path: &'a Path,
    column: &'a str,
    /// Original row number of each row.
    rows: &'a [u32],
}

impl Ctx<'_> {
    fn bad(&self, row: usize, kind: Kind, value: &str) -> Error {
        Error::BadValue {
            path: PathBuf::from(self.path),
            row: self.rows.get(row).map_or(row + 1, |&r| r as usize),
            column: self.column.to_string(),
            expected: kind.expected().to_string(),
            value: value.to_string(),
        }
    }

    fn implausible_date(&self, row: usize, value: &str) -> Error {
        Error::BadValue {
            path: PathBuf::from(self.path),
            row: self.rows.get(row).map_or(row + 1, |&r| r as usize),
            column: self.column.to_string(),
            expected: "a date from 1850-01-01 to 9999-12-31 (year 0 or a date millions of \
                       years away is a broken export)"
                .into(),
            value: value.to_string(),
        }
    }

    fn polars(&self, e: PolarsError) -> Error {
        Error::Malformed {
            path: PathBuf::from(self.path),
            message: format!("column '{}': {e}", self.column),
        }
    }
}

fn is_missing_token(s: &str) -> bool {
    matches!(
        s,
        "" | "NA" | "N/A" | "na" | "n/a" | "null" | "NULL" | "None" | "nan" | "NaN"
    )
}

/// Reads a text column. Identifiers are trimmed here; categories keep their raw
/// spelling so that normalisation can count what it changed.
///
/// Exports are grouped (a client's payments together, a few policies interleaved), so
/// most rows repeat one of the last few distinct texts: an identical Arrow view (same
/// bytes inline, or the same place in the same buffer) means the same text, and such a
/// row takes that text's code without being read, trimmed, searched or hashed.
fn coded_into(ctx: &Ctx, col: &Series, trim: bool, coded: &mut Coded) -> Result<()> {
    let text = col.cast(&DataType::String).map_err(|e| ctx.polars(e))?;
    let ca = text.str().map_err(|e| ctx.polars(e))?;
    let (first_level, first_row) = (coded.levels.len(), coded.codes.len());
    push_coded(ca, trim, coded);
    // A NUL byte is never part of a real text: it marks a binary or broken export.
    // Looked for once per distinct text, the new ones of this batch.
    let Some(level) = (first_level..coded.levels.len())
        .find(|&l| coded.levels.get(l).is_some_and(|t| t.contains('\0')))
    else {
        return Ok(());
    };
    let row = coded.codes[first_row..]
        .iter()
        .position(|&c| c as usize == level)
        .unwrap_or(0);
    Err(Error::BadValue {
        path: PathBuf::from(ctx.path),
        row: ctx.rows.get(row).map_or(row + 1, |&r| r as usize),
        column: ctx.column.to_string(),
        expected: "text without NUL bytes (a NUL marks a binary or broken export)".into(),
        value: coded
            .levels
            .get(level)
            .unwrap_or_default()
            .replace('\0', "\\0"),
    })
}

fn push_coded(ca: &StringChunked, trim: bool, coded: &mut Coded) {
    // `chunks()` (trait objects) give each array's validity; `downcast_iter()` its views.
    for (array, chunk) in ca.downcast_iter().zip(ca.chunks()) {
        let views = array.views();
        let validity = chunk.validity();
        // Views index buffers of their own array: recent views are kept within one.
        let mut recent = RecentViews::default();
        for (i, view) in views.iter().enumerate() {
            if validity.is_some_and(|v| !v.get_bit(i)) {
                coded.push_missing();
                continue;
            }
            if let Some(code) = recent.code_of(view.as_u128()) {
                coded.push_code(code);
                continue;
            }
            let s = array.value(i);
            match s.trim() {
                t if is_missing_token(t) => coded.push_missing(),
                t => coded.push(if trim { t } else { s }),
            }
            recent.remember(view.as_u128(), coded.last_code());
        }
    }
}

/// The last few distinct views of an array and the codes their texts got.
#[derive(Default)]
struct RecentViews {
    entries: [(u128, u32); RECENT_VIEWS],
    len: usize,
    next: usize,
}

/// How many distinct recent texts are remembered: enough for a client's interleaved
/// policies; a linear scan of this many 16-byte views is cheaper than one lookup.
const RECENT_VIEWS: usize = 8;

impl RecentViews {
    fn code_of(&self, view: u128) -> Option<u32> {
        self.entries[..self.len]
            .iter()
            .find(|&&(v, _)| v == view)
            .map(|&(_, code)| code)
    }

    fn remember(&mut self, view: u128, code: u32) {
        self.entries[self.next] = (view, code);
        self.next = (self.next + 1) % RECENT_VIEWS;
        self.len = (self.len + 1).min(RECENT_VIEWS);
    }
}

/// Parses a number, allowing surrounding spaces; missing tokens give NaN.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if is_missing_token(t) {
        return Some(f64::NAN);
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `flags_are_numbers`: a true/false column reads as 1/0 (a flat table's own flags);
/// in the data contract a number is an amount, a count or an age, never a flag.
fn numbers_into(
    ctx: &Ctx,
    col: &Series,
    out: &mut Vec<f64>,
    flags_are_numbers: bool,
) -> Result<()> {
    if col.dtype().is_bool() && !flags_are_numbers {
        return Err(Error::Malformed {
            path: PathBuf::from(ctx.path),
            message: format!(
                "column '{}' holds true/false values, expected numbers (an amount, a count or \
                 an age): export the number itself",
                ctx.column
            ),
        });
    }
    match col.dtype() {
        DataType::String => {
            let ca = col.str().map_err(|e| ctx.polars(e))?;
            for (i, v) in ca.iter().enumerate() {
                out.push(match v {
                    None => f64::NAN,
                    Some(s) => parse_number(s).ok_or_else(|| ctx.bad(i, Kind::Number, s))?,
                });
            }
            Ok(())
        }
        dt if dt.is_primitive_numeric() || dt.is_bool() => {
            let f = col.cast(&DataType::Float64).map_err(|e| ctx.polars(e))?;
            let ca = f.f64().map_err(|e| ctx.polars(e))?;
            // NaN is a missing value, as "NaN" in a CSV; an infinity is no amount.
            for (i, v) in ca.iter().enumerate() {
                let v = v.unwrap_or(f64::NAN);
                if v.is_infinite() {
                    return Err(ctx.bad(i, Kind::Number, &v.to_string()));
                }
                out.push(v);
            }
            Ok(())
        }
        other => Err(ctx.bad(0, Kind::Number, &format!("a column of type {other}"))),
    }
}

fn dates_into(ctx: &Ctx, col: &Series, out: &mut Vec<Option<Date>>) -> Result<()> {
    match col.dtype() {
        DataType::String => {
            let ca = col.str().map_err(|e| ctx.polars(e))?;
            for (i, v) in ca.iter().enumerate() {
                out.push(match v {
                    None => None,
                    Some(s) if is_missing_token(s.trim()) => None,
                    Some(s) => {
                        let d = Date::parse(s).ok_or_else(|| ctx.bad(i, Kind::Date, s))?;
                        if !d.is_plausible() {
                            return Err(ctx.implausible_date(i, s));
                        }
                        Some(d)
                    }
                });
            }
            Ok(())
        }
        // Timestamps (pandas' default for dates) count by their calendar day.
        DataType::Date | DataType::Datetime(..) => {
            let days = col
                .cast(&DataType::Date)
                .and_then(|d| d.cast(&DataType::Int32))
                .map_err(|e| ctx.polars(e))?;
            let ca = days.i32().map_err(|e| ctx.polars(e))?;
            let start = out.len();
            out.extend(ca.iter().map(|v| v.map(Date::from_days)));
            match out[start..]
                .iter()
                .position(|d| d.is_some_and(|d| !d.is_plausible()))
            {
                Some(i) => Err(ctx.implausible_date(
                    i,
                    &format!("{} days from 1970-01-01", ca.get(i).unwrap_or_default()),
                )),
                None => Ok(()),
            }
        }
        other => Err(Error::Malformed {
            path: PathBuf::from(ctx.path),
            message: format!(
                "column '{}' holds {other} values, expected dates (a date or timestamp column, \
                 or text YYYY-MM-DD)",
                ctx.column
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_headers() {
        assert_eq!(
            split_csv_line("a, \"b,c\" ,\"d\"\"e\""),
            vec!["a", " b,c ", "d\"e"]
        );
    }

    #[test]
    fn headers_in_other_shapes_are_explained() {
        let check = |line: &str| check_header(line, &split_csv_line(line));
        assert!(check("id,age").is_ok());
        assert!(check("id;age").unwrap_err().contains("semicolons"));
        assert!(check("id\tage").unwrap_err().contains("tabs"));
        assert!(check("id,age\r1,2")
            .unwrap_err()
            .contains("carriage return"));
        let twice = check("id, Age ,AGE").unwrap_err();
        assert!(twice.contains("columns 2 and 3"), "{twice}");
    }

    #[test]
    fn records_polars_cannot_split_are_located() {
        let t = tempfile::tempdir().unwrap();
        let diagnose = |text: &str| {
            let p = t.path().join("x.csv");
            std::fs::write(&p, text).unwrap();
            diagnose_records(&p)
        };
        let extra = diagnose("a,b\n1,2\n1,2,3\n").unwrap();
        assert!(
            extra.starts_with("row 2 has 3 fields but the header has 2"),
            "{extra}"
        );
        let last = diagnose("a,b\n1,2\n1,2,3").unwrap();
        assert!(last.starts_with("row 2 has 3"), "{last}");
        let open = diagnose("a,b\n1,\"x\"\"y\"\n2,\"never\n3,4\n").unwrap();
        assert!(
            open.starts_with("row 2: a quoted value is never closed"),
            "{open}"
        );
        assert_eq!(diagnose("a,b\n1,\"2,5\"\n"), None);
    }

    /// A request for the column `name` as the field of the same name.
    fn request(name: &str, kind: Kind) -> ColumnRequest {
        ColumnRequest {
            field: name.into(),
            column: name.into(),
            kind,
        }
    }

    #[test]
    fn a_parquet_file_read_in_slices_gives_the_table_read_whole() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("payments.parquet");
        let ids = ["C2", "C1", "C2", "C3", "C1", "C4", "C3"];
        let amounts = ["10", "20", "", "30", "40", "50", "60"];
        let mut df = df!("client_id" => ids, "amount" => amounts).unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .with_row_group_size(Some(2))
            .finish(&mut df)
            .unwrap();
        let requests = [
            request("client_id", Kind::Id),
            request("amount", Kind::Number),
        ];
        let names = vec!["client_id".to_string(), "amount".to_string()];
        let file = ParquetFile {
            path: &path,
            shown: &path,
            names: &names,
            total: ids.len(),
        };
        let read = |slice_rows| {
            file.read(Source::Payments, &requests, false, slice_rows)
                .unwrap()
        };
        let (whole, sliced) = (read(100), read(3));
        let codes = |t: &Table| {
            t.coded("client_id")
                .map(|c| (c.levels.to_vec(), c.codes.clone()))
        };
        assert_eq!(codes(&sliced), codes(&whole));
        assert_eq!(codes(&whole).unwrap().0, ["C2", "C1", "C3", "C4"]);
        let numbers = |t: &Table| t.numbers("amount").map(|v| format!("{v:?}"));
        assert_eq!(numbers(&sliced), numbers(&whole));
        assert_eq!(sliced.rows, (1..=7).collect::<Vec<u32>>());

        // A bad value in a later slice is reported at its row of the file.
        let mut df =
            df!("client_id" => ids, "amount" => ["1", "2", "3", "4", "x", "6", "7"]).unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        let e = file
            .read(Source::Payments, &requests, false, 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 5") && e.contains("'amount'"), "{e}");
    }

    #[test]
    fn a_csv_file_read_in_pieces_gives_the_table_read_whole() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("contacts.csv");
        // Quoted commas and newlines, a doubled quote, CRLF endings, a record longer
        // than a piece, and no newline after the last record.
        let long = "y".repeat(150);
        let text = format!(
            "client_id,amount,note\r\nC2,10,plain\r\nC1,20,\"a, b\"\r\nC2,,\"two\nlines\"\r\n\
             C3,30,\"say \"\"hi\"\"\"\r\nC1,40,{long}\r\nC4,50,x\r\nC3,60,last"
        );
        std::fs::write(&path, &text).unwrap();
        let requests = [
            request("client_id", Kind::Id),
            request("amount", Kind::Number),
            request("note", Kind::Category),
        ];
        let names: Vec<String> = requests.iter().map(|r| r.column.clone()).collect();
        let file = CsvFile {
            path: &path,
            shown: &path,
            names: &names,
        };
        let read = |piece_bytes| {
            file.read(Source::Contacts, &requests, false, piece_bytes)
                .unwrap()
        };
        let whole = read(1 << 20);
        let coded =
            |t: &Table, name: &str| t.coded(name).map(|c| (c.levels.to_vec(), c.codes.clone()));
        let numbers = |t: &Table| t.numbers("amount").map(|v| format!("{v:?}"));
        assert_eq!(
            coded(&whole, "client_id").unwrap().0,
            ["C2", "C1", "C3", "C4"]
        );
        let notes = coded(&whole, "note").unwrap().0;
        assert!(notes.contains(&"two\nlines".to_string()), "{notes:?}");
        assert!(notes.contains(&"say \"hi\"".to_string()), "{notes:?}");
        for piece_bytes in [16, 40, 100] {
            let pieces = read(piece_bytes);
            assert_eq!(coded(&pieces, "client_id"), coded(&whole, "client_id"));
            assert_eq!(coded(&pieces, "note"), coded(&whole, "note"));
            assert_eq!(numbers(&pieces), numbers(&whole));
            assert_eq!(pieces.rows, (1..=7).collect::<Vec<u32>>());
        }

        // Without any quote (the usual export) record ends are found without the scan.
        let plain = "client_id,amount,note\nC1,1,a\nC2,2,b\r\nC1,3,c\nC3,4,d";
        std::fs::write(&path, plain).unwrap();
        let whole = read(1 << 20);
        for piece_bytes in [8, 20] {
            let pieces = read(piece_bytes);
            assert_eq!(coded(&pieces, "client_id"), coded(&whole, "client_id"));
            assert_eq!(coded(&pieces, "note"), coded(&whole, "note"));
            assert_eq!(numbers(&pieces), numbers(&whole));
            assert_eq!(pieces.rows, [1, 2, 3, 4]);
        }

        // A bad value in a later piece is reported at its row of the file.
        std::fs::write(&path, text.replace("C4,50", "C4,fifty")).unwrap();
        let e = file
            .read(Source::Contacts, &requests, false, 40)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 6") && e.contains("'amount'"), "{e}");
        // A file polars refuses is explained as when read whole.
        std::fs::write(&path, format!("{text}\r\nC5,70,\"never closed\r\nC6,80,z")).unwrap();
        let whole_error = file.read(Source::Contacts, &requests, false, 1 << 20);
        let pieces_error = file.read(Source::Contacts, &requests, false, 40);
        assert_eq!(
            pieces_error
                .map(|t| t.rows.len())
                .map_err(|e| e.to_string()),
            whole_error.map(|t| t.rows.len()).map_err(|e| e.to_string())
        );
    }

    #[test]
    fn a_partition_file_gives_the_original_row_numbers_whole_and_in_pieces() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("part.csv");
        let shown = t.path().join("payments.csv");
        std::fs::write(
            &path,
            "__row__,client_id,amount\n3,C1,1\n2,C1,2\n5,C7,3\n1,C7,4\n9,C1,5\n",
        )
        .unwrap();
        let requests = [
            request("client_id", Kind::Id),
            request("amount", Kind::Number),
        ];
        let mut names: Vec<String> = requests.iter().map(|r| r.column.clone()).collect();
        names.push(ROW_COLUMN.to_string());
        let file = CsvFile {
            path: &path,
            shown: &shown,
            names: &names,
        };
        for piece_bytes in [12, 1 << 20] {
            let table = file
                .read(Source::Payments, &requests, true, piece_bytes)
                .unwrap();
            assert_eq!(table.rows, [3, 5, 10, 11, 20], "pieces of {piece_bytes}");
        }
        // A bad value is reported at its row in the user's file.
        std::fs::write(&path, "__row__,client_id,amount\n3,C1,1\n2,C1,x\n").unwrap();
        let err = file
            .read(Source::Payments, &requests, true, 1 << 20)
            .unwrap_err();
        assert!(
            matches!(&err, Error::BadValue { row: 5, path, .. } if *path == shown),
            "{err}"
        );
    }

    #[test]
    fn rows_are_counted_in_small_csv_files_and_estimated_in_large_ones() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.csv");
        std::fs::write(&small, "client_id,x\nC1,1\nC2,2\nC3,3\n").unwrap();
        assert_eq!(estimate_rows(&small).unwrap(), 3);
        // Lines of two lengths, longer towards the end: the three windows see both.
        let large = dir.path().join("large.csv");
        let mut text = String::from("client_id,x\n");
        let rows = 200_000;
        for i in 0..rows {
            let pad = if i < rows / 2 { "" } else { ",,,,,,,,,," };
            text.push_str(&format!("C{i:07},{}{pad}\n", i % 97));
        }
        assert!(text.len() as u64 > 3 * ROW_SAMPLE_BYTES);
        std::fs::write(&large, &text).unwrap();
        let estimate = estimate_rows(&large).unwrap() as f64;
        assert!(
            (estimate / f64::from(rows) - 1.0).abs() < 0.1,
            "estimated {estimate} rows of {rows}"
        );
        // The same file, the same estimate.
        assert_eq!(estimate_rows(&large).unwrap() as f64, estimate);
    }

    #[test]
    fn numbers_accept_spaces_and_missing_tokens() {
        assert_eq!(parse_number(" 12.5 "), Some(12.5));
        assert!(parse_number("NA").is_some_and(f64::is_nan));
        assert_eq!(parse_number("twelve"), None);
        assert_eq!(parse_number("inf"), None);
    }
}
