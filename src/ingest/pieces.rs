//! A book's source files cut into pieces by client part, in memory, for a runner that
//! moves the pieces to where each part is labelled (the Spark runner shuffles them to its
//! executors): the CLI's split (`partition`) without the part files. A piece holds
//! records of one source file that belong to one part, in the file's own format (CSV
//! text under the file's header, or a Parquet file) and in the file's order. A part's
//! pieces of a source, read in order (`frame_of_pieces`), are the table the CLI reads
//! from its part file (rows numbered within the part, not within the user's file).

use super::partition::{scan_csv, scan_parquet, PartSink};
use super::read::{self, Format};
use crate::error::{Error, Result};
use polars::prelude::*;
use std::path::Path;

/// A part's records from one stretch of a source file, in the file's format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub part: usize,
    pub bytes: Vec<u8>,
}

/// Bytes of records a CSV piece gathers before it is handed on (a part's records of a
/// large file travel as several pieces, none too large for one message).
pub const CSV_PIECE_BYTES: usize = 8 << 20;

/// Bytes read from a CSV file at a time while cutting it.
const CUT_BLOCK_BYTES: usize = 8 << 20;
/// As `partition`'s limit: a longer record is taken for a quote never closed.
const CUT_MAX_RECORD_BYTES: usize = 64 << 20;

/// Cuts a whole CSV file into pieces of its records by the client part of
/// `id_column` (of `parts`), each piece headed by the file's header line. Every part gets
/// at least one piece (the header alone when none of its clients has a record), so that
/// every part's table exists, as every part file of the CLI's split does.
///
/// # Errors
/// As `partition::split`: an unreadable file, a header without `id_column`, bytes that
/// are not UTF-8, a quote never closed.
pub fn cut_csv(path: &Path, id_column: &str, parts: usize) -> Result<Vec<Piece>> {
    let sizes = (CUT_BLOCK_BYTES, CUT_MAX_RECORD_BYTES);
    cut_csv_in(path, id_column, parts, sizes, CSV_PIECE_BYTES)
}

fn cut_csv_in(
    path: &Path,
    id_column: &str,
    parts: usize,
    sizes: (usize, usize),
    piece_bytes: usize,
) -> Result<Vec<Piece>> {
    let mut sink = CsvPieces {
        header: Vec::new(),
        open: vec![Vec::new(); parts],
        sent: vec![false; parts],
        done: Vec::new(),
        piece_bytes,
    };
    scan_csv(path, id_column, parts, sizes, &mut sink)?;
    Ok(sink.finish())
}

/// CSV pieces being filled, one open buffer per part.
struct CsvPieces {
    /// The header line with its line break.
    header: Vec<u8>,
    open: Vec<Vec<u8>>,
    /// Whether a piece of each part was handed on.
    sent: Vec<bool>,
    done: Vec<Piece>,
    piece_bytes: usize,
}

impl PartSink for CsvPieces {
    fn header(&mut self, line: &str) -> Result<()> {
        self.header = format!("{line}\n").into_bytes();
        Ok(())
    }

    fn record(&mut self, part: usize, _row: u64, line: &str) -> Result<()> {
        let (Some(open), Some(sent)) = (self.open.get_mut(part), self.sent.get_mut(part)) else {
            return Ok(());
        };
        if open.is_empty() {
            open.extend_from_slice(&self.header);
        }
        open.extend_from_slice(line.as_bytes());
        open.push(b'\n');
        if open.len() >= self.piece_bytes {
            *sent = true;
            let bytes = std::mem::take(open);
            self.done.push(Piece { part, bytes });
        }
        Ok(())
    }
}

impl CsvPieces {
    /// The pieces handed on, then each part's last (or only, or empty) piece.
    fn finish(mut self) -> Vec<Piece> {
        for (part, (open, sent)) in self.open.into_iter().zip(self.sent).enumerate() {
            if !open.is_empty() {
                self.done.push(Piece { part, bytes: open });
            } else if !sent {
                self.done.push(Piece {
                    part,
                    bytes: self.header.clone(),
                });
            }
        }
        self.done
    }
}

/// Cuts rows `rows` (0-based; all when `None`) of a Parquet file into pieces by the
/// client part of `id_column` (of `parts`): each piece a Parquet file of one part's rows
/// (uncompressed: the runner's transport compresses). When the rows open the file every
/// part gets a piece, an empty one when none of its clients has a row.
///
/// # Errors
/// A damaged or unreadable file, a missing `id_column`.
pub fn cut_parquet(
    path: &Path,
    id_column: &str,
    parts: usize,
    rows: Option<std::ops::Range<usize>>,
) -> Result<Vec<Piece>> {
    read::parquet_guarded(path, || {
        let rows = match rows {
            Some(rows) => rows,
            None => 0..read::parquet_rows(path)?,
        };
        let first = rows.start == 0;
        let mut pieces = Vec::new();
        let mut sent = vec![false; parts];
        let mut schema = None;
        scan_parquet(path, id_column, parts, rows, |df, of_rows, _| {
            for (part, sent) in sent.iter_mut().enumerate() {
                let mask: BooleanChunked = of_rows.iter().map(|&p| p == part).collect();
                let mut piece = df.filter(&mask).map_err(|e| malformed(path, &e))?;
                if piece.height() > 0 {
                    *sent = true;
                    pieces.push(Piece {
                        part,
                        bytes: parquet_bytes(path, &mut piece)?,
                    });
                }
            }
            schema.get_or_insert_with(|| df.clear());
            Ok(())
        })?;
        if first {
            let mut empty = match schema {
                Some(df) => df,
                None => read_parquet_empty(path)?,
            };
            for part in (0..parts).filter(|&p| !sent[p]) {
                let bytes = parquet_bytes(path, &mut empty)?;
                pieces.push(Piece { part, bytes });
            }
        }
        Ok(pieces)
    })
}

/// A Parquet file's columns without rows.
fn read_parquet_empty(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    ParquetReader::new(file)
        .with_slice(Some((0, 0)))
        .finish()
        .map_err(|e| malformed(path, &e))
}

fn parquet_bytes(path: &Path, df: &mut DataFrame) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .with_compression(ParquetCompression::Uncompressed)
        .finish(df)
        .map_err(|e| malformed(path, &e))?;
    Ok(bytes)
}

fn malformed(path: &Path, e: &PolarsError) -> Error {
    Error::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A part's table of one source from its pieces (`cut_csv` or `cut_parquet`), in order,
/// named `shown` in errors: CSV columns as text, as the CLI reads a CSV file; Parquet
/// columns as the file stores them. Pieces of several files of one source must hold the
/// same columns (in any order).
///
/// # Errors
/// A piece that does not parse; pieces whose columns differ.
pub fn frame_of_pieces(format: Format, shown: &Path, pieces: &[&[u8]]) -> Result<DataFrame> {
    let mut frame: Option<DataFrame> = None;
    for bytes in pieces {
        let df = match format {
            Format::Csv => read::read_csv_bytes(shown, bytes)?,
            Format::Parquet => ParquetReader::new(std::io::Cursor::new(bytes))
                .finish()
                .map_err(|e| malformed(shown, &e))?,
        };
        frame = Some(match frame {
            None => df,
            Some(mut all) => {
                let names = all.get_column_names_owned();
                let aligned = df
                    .select(names.iter().cloned())
                    .ok()
                    .filter(|d| d.width() == df.width());
                let aligned = aligned.ok_or_else(|| Error::Malformed {
                    path: shown.to_path_buf(),
                    message: format!(
                        "its files hold different columns ({:?} and {:?})",
                        names,
                        df.get_column_names_owned()
                    ),
                })?;
                all.vstack_mut_owned(aligned)
                    .map_err(|e| malformed(shown, &e))?;
                all
            }
        });
    }
    frame.ok_or_else(|| Error::NoRows {
        path: shown.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::partition::part_of;
    use crate::ingest::read::ROW_COLUMN;

    /// Each part's pieces, read back in order.
    fn frames(format: Format, pieces: &[Piece], parts: usize) -> Vec<DataFrame> {
        (0..parts)
            .map(|p| {
                let of_part: Vec<&[u8]> = pieces
                    .iter()
                    .filter(|x| x.part == p)
                    .map(|x| x.bytes.as_slice())
                    .collect();
                frame_of_pieces(format, Path::new("<t table>"), &of_part).unwrap()
            })
            .collect()
    }

    fn ids(df: &DataFrame) -> Vec<String> {
        let c = df
            .column("client_id")
            .unwrap()
            .cast(&DataType::String)
            .unwrap();
        c.str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn csv_pieces_read_back_as_the_cli_part_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t.csv");
        let mut text = String::from("\u{feff}client_id,note,amount\r\n");
        for i in 0..200 {
            let note = if i % 7 == 0 {
                "\"two\nlines, \"\"q\"\"\""
            } else {
                "plain"
            };
            text.push_str(&format!("C{:03},{note},{}\r\n", i % 37, i));
        }
        std::fs::write(&src, &text).unwrap();
        // The CLI's part files, read as it reads them (without the row column).
        let files = (0..3)
            .map(|p| dir.path().join(format!("{p}.csv")))
            .collect::<Vec<_>>();
        crate::ingest::partition::split_csv_for_tests(&src, "client_id", &files);
        for piece_bytes in [1, 100, 1 << 20] {
            let pieces = cut_csv_in(&src, "client_id", 3, (64, 1 << 20), piece_bytes).unwrap();
            for (p, df) in frames(Format::Csv, &pieces, 3).into_iter().enumerate() {
                let cli = read::read_csv_bytes(&files[p], &std::fs::read(&files[p]).unwrap())
                    .unwrap()
                    .drop(ROW_COLUMN)
                    .unwrap();
                assert_eq!(df, cli, "part {p}, pieces of {piece_bytes} bytes");
                assert!(ids(&df).iter().all(|id| part_of(id, 3) == p));
            }
        }
        // A part without records still gets the header (an empty table).
        std::fs::write(&src, "client_id,note\nC1,x\n").unwrap();
        let pieces = cut_csv(&src, "client_id", 4).unwrap();
        let read = frames(Format::Csv, &pieces, 4);
        assert_eq!(read.iter().map(DataFrame::height).sum::<usize>(), 1);
        assert!(read.iter().all(|df| df.width() == 2));
    }

    #[test]
    fn parquet_pieces_of_row_ranges_read_back_as_the_file_by_part() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t.parquet");
        let df = crate::ingest::partition::parquet_for_tests(&src);
        let mut pieces = cut_parquet(&src, "client_id", 3, Some(0..42)).unwrap();
        pieces.extend(cut_parquet(&src, "client_id", 3, Some(42..100)).unwrap());
        for (p, part) in frames(Format::Parquet, &pieces, 3).into_iter().enumerate() {
            let mask: BooleanChunked = ids(&df).iter().map(|id| part_of(id, 3) == p).collect();
            assert_eq!(part, df.filter(&mask).unwrap(), "part {p}");
        }
        // Pieces of files with other columns are refused, naming the table.
        let other = df!("x" => [1i64]).unwrap();
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .finish(&mut other.clone())
            .unwrap();
        let first = pieces[0].bytes.as_slice();
        let err = frame_of_pieces(Format::Parquet, Path::new("<t table>"), &[first, &bytes]);
        assert!(err.unwrap_err().to_string().contains("different columns"));
    }
}
