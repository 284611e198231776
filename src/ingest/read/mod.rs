//! Reading one file (CSV or Parquet) into typed columns with declared kinds. Nothing is
//! inferred: every requested column is parsed by its contract kind, and a value that does
//! not parse stops the run with the file, row, column and value.
//!
//! By format: `csv_source` (header, pieces of whole records), `parquet_source` (row
//! slices, damaged files as errors); `diagnose` says why a file could not be read;
//! `typed` parses a frame's columns into the typed `Table` by their kinds.

use super::table::{Coded, Table, Values};
use crate::date::Date;
use crate::error::{Error, Result};
use crate::schema::{Kind, Source};
use polars::prelude::*;
use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

mod csv_source;
mod diagnose;
mod parquet_source;
mod typed;

use csv_source::*;
pub(crate) use csv_source::{csv_header, read_csv_bytes};
use diagnose::*;
pub(crate) use parquet_source::*;
pub use typed::*;

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
