//! Splitting a book into parts by client, so that a book too large for memory can be
//! labelled part by part. Every row of every source goes to the part its client id hashes
//! to, with its original row number in a `__row__` column (as the gap from the part's
//! previous row; errors and quarantine keep naming the user's file and row). A client's rows all land in the same part, so
//! duplicates, links and features come out as in one piece.

use super::read::{self, Format, ROW_COLUMN};
use super::{SourceFile, SourceFiles};
use crate::error::{Error, Result};
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// Rows read at a time from a Parquet source.
const PARQUET_SLICE: usize = 1 << 20;

/// Stable 64-bit FNV-1a hash of a trimmed client id.
pub fn client_hash(id: &str) -> u64 {
    id.trim().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub fn part_of(id: &str, parts: usize) -> usize {
    (client_hash(id) % parts.max(1) as u64) as usize
}

/// Splits every source file of a relational or transactions book into `parts`
/// directories under `dir` (`dir/0`, `dir/1`, ...), streaming: memory stays bounded by
/// one slice. Returns each part's files.
///
/// # Errors
/// Read and write failures, a missing client id column, unparsable files.
pub fn split(files: &SourceFiles, parts: usize, dir: &Path) -> Result<Vec<SourceFiles>> {
    use rayon::prelude::*;
    ensure_open_files(parts, files.files().len())?;
    let mut plans = Vec::new();
    for f in files.files() {
        let (source, path) = (f.source, &f.path);
        let requests = super::column_requests(source, path, &f.config)?;
        let id_column = requests
            .iter()
            .find(|r| r.field == "client_id")
            .map(|r| r.column.clone())
            .ok_or_else(|| Error::MissingColumns {
                path: path.clone(),
                source_name: source.name().to_string(),
                missing: vec!["client_id".into()],
                found: read::column_names(path).unwrap_or_default(),
            })?;
        let format = Format::of(path)?;
        // Named by source, not by the user's file name: two sources may have files of
        // the same name in different folders.
        let file_name = match format {
            Format::Csv => format!("{}.csv", source.name()),
            Format::Parquet => format!("{}.parquet", source.name()),
        };
        let targets: Vec<PathBuf> = (0..parts)
            .map(|p| dir.join(p.to_string()).join(&file_name))
            .collect();
        for t in &targets {
            if let Some(parent) = t.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::Write {
                    path: parent.to_path_buf(),
                    source: e,
                })?;
            }
        }
        plans.push((format, id_column, f, targets));
    }
    // Sources split side by side (each streams its own file into its own part files);
    // the first failure in source order is the one reported.
    plans
        .par_iter()
        .map(|(format, id_column, f, targets)| match format {
            Format::Csv => split_csv(&f.path, id_column, targets),
            Format::Parquet => split_parquet(&f.path, id_column, targets),
        })
        .collect::<Vec<Result<()>>>()
        .into_iter()
        .collect::<Result<()>>()?;
    // Each part's files stand for the user's files in errors and reports.
    Ok((0..parts)
        .map(|p| {
            let part_files = plans
                .iter()
                .map(|(_, _, f, targets)| SourceFile {
                    path: targets[p].clone(),
                    ..(*f).clone()
                })
                .collect();
            SourceFiles::part(dir.join(p.to_string()), part_files)
        })
        .collect())
}

/// Splitting holds every part file of every source open at once: raises the soft limit
/// on open files towards the hard one when needed, and refuses a part count the system
/// cannot hold open.
fn ensure_open_files(parts: usize, sources: usize) -> Result<()> {
    let need = (parts * sources + 64) as libc::rlim_t;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct passed; results checked.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 || limit.rlim_cur >= need {
        return Ok(());
    }
    if limit.rlim_max >= need {
        let raised = libc::rlimit {
            rlim_cur: need,
            rlim_max: limit.rlim_max,
        };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Ok(());
        }
    }
    let most = (limit.rlim_max.min(limit.rlim_cur.max(limit.rlim_max)) as usize).saturating_sub(64)
        / sources.max(1);
    Err(Error::InvalidParameter(format!(
        "--partitions {parts} would hold {} files open at once ({sources} sources x {parts} \
         parts), more than this system allows ({}): use at most {most} parts",
        parts * sources,
        limit.rlim_max
    )))
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Bytes read from a CSV source at a time while splitting.
const SPLIT_BLOCK_BYTES: usize = 8 << 20;
/// Bytes a part's output gathers before it is written.
const PART_BUFFER_BYTES: usize = 256 << 10;
/// A record longer than this is taken for a quote never closed: reported, rather than
/// the rest of a large file held in memory as one record.
const SPLIT_MAX_RECORD_BYTES: usize = 64 << 20;

/// Splits a CSV source record by record, on bytes: records are found with memchr (a
/// record goes on past a line break inside quotes), only the id field is decoded, and
/// each record is copied to its part after its row number. Every complete stretch of
/// records is checked to be UTF-8, so a bad byte is reported at its offset in the
/// user's file rather than in a part.
fn split_csv(path: &Path, id_column: &str, targets: &[PathBuf]) -> Result<()> {
    split_csv_in_blocks(
        path,
        id_column,
        targets,
        (SPLIT_BLOCK_BYTES, SPLIT_MAX_RECORD_BYTES),
    )
}

/// The CLI's split of one CSV source into part files (for tests of other modules).
#[cfg(test)]
pub(crate) fn split_csv_for_tests(path: &Path, id_column: &str, targets: &[PathBuf]) {
    split_csv(path, id_column, targets).unwrap();
}

/// A Parquet file of 100 rows of 37 clients (`client_id`, `amount`) in row groups of 7:
/// a slice spans several chunks, which must stay aligned. Returns its rows.
#[cfg(test)]
pub(crate) fn parquet_for_tests(path: &Path) -> DataFrame {
    let ids: Vec<String> = (0..100).map(|i| format!("C{:03}", i % 37)).collect();
    let amounts: Vec<f64> = (0..100).map(f64::from).collect();
    let columns = vec![
        Column::new("client_id".into(), ids),
        Column::new("amount".into(), amounts),
    ];
    let mut df = DataFrame::new(100, columns).unwrap();
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .with_row_group_size(Some(7))
        .finish(&mut df)
        .unwrap();
    df
}

/// Where `column` stands in a CSV file's header.
fn csv_column_index(path: &Path, column: &str) -> Result<usize> {
    let header = read::csv_header(path)?;
    header
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| Error::Malformed {
            path: path.to_path_buf(),
            message: format!("no column '{column}' in the header"),
        })
}

fn split_csv_in_blocks(
    path: &Path,
    id_column: &str,
    targets: &[PathBuf],
    sizes: (usize, usize),
) -> Result<()> {
    let mut parts = FileParts {
        writers: targets
            .iter()
            .map(|t| PartWriter::create(t))
            .collect::<Result<Vec<_>>>()?,
        last_rows: vec![0; targets.len()],
    };
    scan_csv(path, id_column, targets.len(), sizes, &mut parts)?;
    for part in parts.writers {
        part.finish()?;
    }
    Ok(())
}

/// Where the records of a CSV source being split go: the CLI's part files
/// (`FileParts`), or pieces held in memory for a runner that moves them itself
/// (`pieces`).
pub(crate) trait PartSink {
    /// The header line (without its line break and byte order mark), once, first.
    fn header(&mut self, line: &str) -> Result<()>;
    /// Data row `row` (1-based, without its line break), of a client of `part`.
    fn record(&mut self, part: usize, row: u64, line: &str) -> Result<()>;
}

/// The part files of one CSV source, each row with its gap from the part's previous row.
struct FileParts<'a> {
    writers: Vec<PartWriter<'a>>,
    /// The last row number written to each part.
    last_rows: Vec<u64>,
}

impl PartSink for FileParts<'_> {
    fn header(&mut self, line: &str) -> Result<()> {
        for part in &mut self.writers {
            part.header(line)?;
        }
        Ok(())
    }

    fn record(&mut self, part: usize, row: u64, line: &str) -> Result<()> {
        if let (Some(writer), Some(last)) =
            (self.writers.get_mut(part), self.last_rows.get_mut(part))
        {
            writer.record(row - *last, line)?;
            *last = row;
        }
        Ok(())
    }
}

/// Reads a CSV source record by record, on bytes, in blocks of `block` bytes: records
/// are found with memchr (a record goes on past a line break inside quotes), only the
/// id field is decoded, and each record goes to `sink` with its part of `parts` and its
/// row number. Every complete stretch of records is checked to be UTF-8, so a bad byte
/// is reported at its offset in the user's file.
pub(crate) fn scan_csv(
    path: &Path,
    id_column: &str,
    parts: usize,
    (block, max_record): (usize, usize),
    sink: &mut impl PartSink,
) -> Result<()> {
    use std::io::Read;
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let id_index = csv_column_index(path, id_column)?;
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let mut buf: Vec<u8> = Vec::with_capacity(block * 2);
    // File offset of `buf[0]`.
    let mut offset = 0usize;
    let mut header_done = false;
    let mut row = 0u64;
    let mut at_end = false;
    while !at_end {
        let filled = buf.len();
        buf.resize(filled + block, 0);
        let n = file.read(&mut buf[filled..]).map_err(read_err)?;
        buf.truncate(filled + n);
        at_end = n == 0;
        let (records, used) = complete_records(&buf, at_end);
        if used == 0 && buf.len() > max_record {
            return Err(Error::Malformed {
                path: path.to_path_buf(),
                message: format!(
                    "the record starting at byte {offset} runs on for more than \
                     {max_record} bytes: a quoted field is probably never closed"
                ),
            });
        }
        let text = std::str::from_utf8(&buf[..used]).map_err(|e| Error::InvalidUtf8 {
            path: path.to_path_buf(),
            byte_offset: offset + e.valid_up_to(),
        })?;
        for record in records {
            let Some(raw) = text.get(record) else {
                continue;
            };
            let line = raw.trim_end_matches(['\n', '\r']);
            if !header_done {
                header_done = true;
                sink.header(line.strip_prefix('\u{feff}').unwrap_or(line))?;
                continue;
            }
            if line.is_empty() {
                continue;
            }
            row += 1;
            sink.record(part_of(&csv_field(line, id_index), parts), row, line)?;
        }
        buf.drain(..used);
        forget_cached(&file, offset, used);
        offset += used;
    }
    Ok(())
}

/// Tells the kernel a split stretch of the source will not be read again. A book split
/// into parts is larger than the page cache beside its parts (a 10M book: 15 GB, and
/// 13 GB of parts): without this, the kernel must search for the book's pages to evict
/// for every part page written, and evicts parts that are about to be read.
#[cfg(target_os = "linux")]
fn forget_cached(file: &std::fs::File, offset: usize, len: usize) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return;
    };
    // SAFETY: posix_fadvise only advises the kernel about an open descriptor's pages;
    // an invalid range is an error return, which is ignored (advice is optional).
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_DONTNEED);
    }
}

#[cfg(not(target_os = "linux"))]
fn forget_cached(_file: &std::fs::File, _offset: usize, _len: usize) {}

/// The byte ranges of the complete records at the start of `bytes` (each with its line
/// break), and where they end. A record ends at a line break outside quotes; at the end
/// of the file the rest is a record too.
fn complete_records(bytes: &[u8], at_end: bool) -> (Vec<std::ops::Range<usize>>, usize) {
    let mut records = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut scanned = 0;
    for nl in memchr::memchr_iter(b'\n', bytes) {
        // Quotes toggle; a doubled quote toggles twice.
        quoted ^= memchr::memchr_iter(b'"', &bytes[scanned..nl]).count() % 2 == 1;
        scanned = nl;
        if !quoted {
            records.push(start..nl + 1);
            start = nl + 1;
        }
    }
    if at_end && start < bytes.len() {
        records.push(start..bytes.len());
        start = bytes.len();
    }
    (records, start)
}

/// One part file of a CSV source, written through a buffer.
struct PartWriter<'a> {
    path: &'a Path,
    file: std::fs::File,
    buffer: Vec<u8>,
}

impl<'a> PartWriter<'a> {
    fn create(path: &'a Path) -> Result<Self> {
        let file = std::fs::File::create(path).map_err(write_err(path))?;
        Ok(PartWriter {
            path,
            file,
            buffer: Vec::with_capacity(PART_BUFFER_BYTES + (64 << 10)),
        })
    }

    fn header(&mut self, line: &str) -> Result<()> {
        self.buffer.extend_from_slice(ROW_COLUMN.as_bytes());
        self.buffer.push(b',');
        self.line(line)
    }

    fn record(&mut self, row_gap: u64, line: &str) -> Result<()> {
        let mut digits = [0u8; 20];
        let mut n = row_gap;
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.buffer.extend_from_slice(&digits[at..]);
        self.buffer.push(b',');
        self.line(line)
    }

    fn line(&mut self, line: &str) -> Result<()> {
        self.buffer.extend_from_slice(line.as_bytes());
        self.buffer.push(b'\n');
        if self.buffer.len() >= PART_BUFFER_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        use std::io::Write;
        self.file
            .write_all(&self.buffer)
            .map_err(write_err(self.path))?;
        self.buffer.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.flush()
    }
}

/// Field `index` of a CSV line (quotes honoured), without splitting the whole line.
fn csv_field(line: &str, index: usize) -> std::borrow::Cow<'_, str> {
    let mut start = 0;
    let mut field = 0;
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                if field == index {
                    return unquote(&line[start..i]);
                }
                field += 1;
                start = i + 1;
            }
            _ => {}
        }
    }
    if field == index {
        unquote(&line[start..])
    } else {
        "".into()
    }
}

fn unquote(raw: &str) -> std::borrow::Cow<'_, str> {
    let t = raw.trim();
    match t.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\"").into(),
        None => t.into(),
    }
}

fn split_parquet(path: &Path, id_column: &str, targets: &[PathBuf]) -> Result<()> {
    read::parquet_guarded(path, || split_parquet_unguarded(path, id_column, targets))
}

fn split_parquet_unguarded(path: &Path, id_column: &str, targets: &[PathBuf]) -> Result<()> {
    let polars_err = |e: PolarsError| Error::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut writers: Vec<Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>> =
        (0..targets.len()).map(|_| None).collect();
    // The last row number written to each part (the row column holds gaps).
    let mut last_rows = vec![0u32; targets.len()];
    let total = read::parquet_rows(path)?;
    scan_parquet(
        path,
        id_column,
        targets.len(),
        0..total,
        |mut df, parts, offset| {
            let gaps: Vec<u32> = parts
                .iter()
                .zip(offset as u32 + 1..)
                .map(|(&p, row)| {
                    let last = last_rows
                        .get_mut(p)
                        .map_or(0, |l| std::mem::replace(l, row));
                    row - last
                })
                .collect();
            df.with_column(Column::new(ROW_COLUMN.into(), gaps))
                .map_err(polars_err)?;
            // Each part's rows gathered in one pass over the slice (a mask per part
            // would read the slice once per part).
            let mut rows_of: Vec<Vec<IdxSize>> = vec![Vec::new(); targets.len()];
            for (row, &p) in parts.iter().enumerate() {
                if let Some(rows) = rows_of.get_mut(p) {
                    rows.push(row as IdxSize);
                }
            }
            for ((slot, target), rows) in writers.iter_mut().zip(targets).zip(rows_of) {
                let rows = IdxCa::from_vec("rows".into(), rows);
                let mut piece = df.take(&rows).map_err(polars_err)?;
                // The batched writer needs every column cut into the same chunks.
                piece.align_chunks();
                if slot.is_none() {
                    let file = std::fs::File::create(target).map_err(write_err(target))?;
                    // Parts are read once or twice and removed: fast LZ4 over the
                    // tighter, slower zstd.
                    let w = ParquetWriter::new(file)
                        .with_compression(ParquetCompression::Lz4Raw)
                        .batched(piece.schema())
                        .map_err(polars_err)?;
                    *slot = Some(w);
                }
                if let Some(w) = slot.as_mut() {
                    w.write_batch(&piece).map_err(polars_err)?;
                }
            }
            Ok(())
        },
    )?;
    finish_parquet_parts(path, writers, targets)
}

/// Reads rows `rows` of a Parquet source (unguarded: see `read::parquet_guarded`) a
/// slice of at most `PARQUET_SLICE` rows at a time; hands `each` the slice, the part of
/// each of its rows (of `parts`, by its client id) and the slice's first row (0-based).
pub(crate) fn scan_parquet(
    path: &Path,
    id_column: &str,
    parts: usize,
    rows: std::ops::Range<usize>,
    mut each: impl FnMut(DataFrame, &[usize], usize) -> Result<()>,
) -> Result<()> {
    let polars_err = |e: PolarsError| Error::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let open = || {
        std::fs::File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut offset = rows.start;
    while offset < rows.end {
        let len = PARQUET_SLICE.min(rows.end - offset);
        let df = ParquetReader::new(open()?)
            .with_slice(Some((offset, len)))
            .finish()
            .map_err(polars_err)?;
        let ids = df
            .column(id_column)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(polars_err)?;
        let ids = ids.str().map_err(polars_err)?;
        let of_rows: Vec<usize> = ids
            .iter()
            .map(|id| part_of(id.unwrap_or(""), parts))
            .collect();
        each(df, &of_rows, offset)?;
        offset += len;
    }
    Ok(())
}

/// Closes each part's writer; a part no row went to gets an empty file with the
/// source's columns.
fn finish_parquet_parts(
    path: &Path,
    writers: Vec<Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>>,
    targets: &[PathBuf],
) -> Result<()> {
    let polars_err = |e: PolarsError| Error::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    for (slot, target) in writers.into_iter().zip(targets) {
        match slot {
            Some(w) => {
                w.finish().map_err(polars_err)?;
            }
            None => {
                let source = std::fs::File::open(path).map_err(|source| Error::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let mut df = ParquetReader::new(source)
                    .with_slice(Some((0, 0)))
                    .finish()
                    .map_err(polars_err)?;
                let file = std::fs::File::create(target).map_err(write_err(target))?;
                ParquetWriter::new(file)
                    .finish(&mut df)
                    .map_err(polars_err)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_is_stable_and_ignores_surrounding_spaces() {
        assert_eq!(client_hash("C0000001"), client_hash(" C0000001 "));
        assert_ne!(client_hash("C0000001"), client_hash("C0000002"));
        // Pinned: a part assignment must never change between releases.
        assert_eq!(client_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn one_csv_field_is_found_without_splitting_the_line() {
        assert_eq!(csv_field("a,b,c", 1), "b");
        assert_eq!(csv_field("\"x,1\", C7 ,z", 1), "C7");
        assert_eq!(csv_field("\"x,1\",\"C\"\"7\",z", 1), "C\"7");
        assert_eq!(csv_field("a,b", 2), "");
        assert_eq!(csv_field("a,b", 1), "b");
    }

    #[test]
    fn csv_records_split_whole_with_their_row_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t.csv");
        let text = "\u{feff}client_id,note\r\nC1,plain\r\n\r\nC2,\"two\nlines, \"\"quoted\"\"\"\nC3,x\nC1,\"a,b\"\nC2,last";
        std::fs::write(&src, text).unwrap();
        let read_parts = |block: usize| {
            let targets: Vec<PathBuf> = (0..2)
                .map(|p| dir.path().join(format!("p{block}-{p}.csv")))
                .collect();
            split_csv_in_blocks(&src, "client_id", &targets, (block, 1 << 20)).unwrap();
            let mut records = Vec::new();
            for (p, t) in targets.iter().enumerate() {
                let part = std::fs::read_to_string(t).unwrap();
                let mut lines = part.split_inclusive('\n');
                assert_eq!(lines.next(), Some("__row__,client_id,note\n"));
                let rest: String = lines.collect();
                records.push((p, rest));
            }
            records
        };
        let whole = read_parts(1 << 20);
        // Each part holds its clients' records, numbered as data rows of the original.
        let p1 = part_of("C1", 2);
        let p2 = part_of("C2", 2);
        let p3 = part_of("C3", 2);
        // Rows are written as gaps from the part's previous row.
        let mut expected = [String::new(), String::new()];
        let mut last = [0, 0];
        for (row, p, record) in [
            (1, p1, "C1,plain"),
            (2, p2, "C2,\"two\nlines, \"\"quoted\"\"\""),
            (3, p3, "C3,x"),
            (4, p1, "C1,\"a,b\""),
            (5, p2, "C2,last"),
        ] {
            expected[p].push_str(&format!("{},{record}\n", row - last[p]));
            last[p] = row;
        }
        assert_eq!(
            whole,
            vec![(0, expected[0].clone()), (1, expected[1].clone())]
        );
        // Records cut by block ends come out the same.
        for block in [1, 3, 7, 16] {
            assert_eq!(read_parts(block), whole, "blocks of {block} bytes");
        }
        // A byte that is not UTF-8 is reported at its offset in the original.
        std::fs::write(&src, b"client_id,x\nC1,ok\nC2,S\xE3o\n").unwrap();
        let targets = [dir.path().join("u0.csv"), dir.path().join("u1.csv")];
        let err = split_csv_in_blocks(&src, "client_id", &targets, (4, 1 << 20)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidUtf8 {
                    byte_offset: 22,
                    ..
                }
            ),
            "{err}"
        );
        // A quote never closed is reported once its record passes the limit.
        let mut text = String::from("client_id,note\nC1,ok\nC2,\"open\n");
        text.push_str(&"C3,x\n".repeat(100));
        std::fs::write(&src, text).unwrap();
        let err = split_csv_in_blocks(&src, "client_id", &targets, (16, 128)).unwrap_err();
        assert!(
            err.to_string().contains("record starting at byte 21"),
            "{err}"
        );
    }

    #[test]
    fn parquet_with_many_row_groups_splits_into_complete_parts() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t.parquet");
        parquet_for_tests(&src);
        let targets: Vec<PathBuf> = (0..3)
            .map(|p| dir.path().join(format!("p{p}.parquet")))
            .collect();
        split_parquet(&src, "client_id", &targets).unwrap();
        let mut rows = Vec::new();
        for (p, t) in targets.iter().enumerate() {
            let part = ParquetReader::new(std::fs::File::open(t).unwrap())
                .finish()
                .unwrap();
            let ids = part.column("client_id").unwrap().str().unwrap().clone();
            assert!(ids.iter().all(|id| part_of(id.unwrap(), 3) == p));
            let gaps = part.column(ROW_COLUMN).unwrap().u32().unwrap().clone();
            let mut row = 0;
            rows.extend(gaps.iter().map(|gap| {
                row += gap.unwrap();
                row
            }));
        }
        rows.sort_unstable();
        assert_eq!(rows, (1..=100).collect::<Vec<u32>>());
    }
}
