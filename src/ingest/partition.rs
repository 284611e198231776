//! Splitting a book into parts by client, so that a book too large for memory can be
//! labelled part by part. Every row of every source goes to the part its client id hashes
//! to, with its original row number in a `__row__` column (errors and quarantine keep
//! naming the user's file and row). A client's rows all land in the same part, so
//! duplicates, links and features come out as in one piece.

use super::read::{self, Format, ROW_COLUMN};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::schema::Source;
use polars::prelude::*;
use std::io::{BufRead, Write};
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

/// One source split into parts: the part files, and the user's file they stand for.
#[derive(Clone, Debug)]
pub struct SplitSource {
    pub source: Source,
    pub original: PathBuf,
    pub parts: Vec<PathBuf>,
}

/// Splits every source of a relational or transactions config into `parts` directories
/// under `dir` (`dir/0`, `dir/1`, ...), streaming: memory stays bounded by one slice.
///
/// # Errors
/// Read and write failures, a missing client id column, unparsable files.
pub fn split(
    config: &Config,
    data_dir: &Path,
    parts: usize,
    dir: &Path,
) -> Result<Vec<SplitSource>> {
    use rayon::prelude::*;
    let mut plans = Vec::new();
    for (source, path, sc) in config.resolve_sources(data_dir)? {
        let requests = super::column_requests(source, &path, &sc)?;
        let id_column = requests
            .iter()
            .find(|r| r.field == "client_id")
            .map(|r| r.column.clone())
            .ok_or_else(|| Error::MissingColumns {
                path: path.clone(),
                source_name: source.name().to_string(),
                missing: vec!["client_id".into()],
                found: read::column_names(&path).unwrap_or_default(),
            })?;
        let format = Format::of(&path)?;
        let file_name = path.file_name().map_or_else(
            || source.name().into(),
            |n| n.to_string_lossy().into_owned(),
        );
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
        plans.push((
            format,
            id_column,
            SplitSource {
                source,
                original: path,
                parts: targets,
            },
        ));
    }
    // Sources split side by side (each streams its own file into its own part files);
    // the first failure in source order is the one reported.
    plans
        .par_iter()
        .map(|(format, id_column, s)| match format {
            Format::Csv => split_csv(&s.original, id_column, &s.parts),
            Format::Parquet => split_parquet(&s.original, id_column, &s.parts),
        })
        .collect::<Vec<Result<()>>>()
        .into_iter()
        .collect::<Result<()>>()?;
    Ok(plans.into_iter().map(|(_, _, s)| s).collect())
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn split_csv(path: &Path, id_column: &str, targets: &[PathBuf]) -> Result<()> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let header = read::csv_header(path)?;
    let id_index = header
        .iter()
        .position(|h| h == id_column)
        .ok_or_else(|| Error::Malformed {
            path: path.to_path_buf(),
            message: format!("no column '{id_column}' in the header"),
        })?;
    let mut reader =
        std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path).map_err(read_err)?);
    let mut writers = targets
        .iter()
        .map(|t| {
            std::fs::File::create(t)
                .map(|f| std::io::BufWriter::with_capacity(1 << 18, f))
                .map_err(write_err(t))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut record = String::new();
    reader.read_line(&mut record).map_err(read_err)?;
    let header_line = record.trim_end_matches(['\n', '\r']).to_string();
    for (w, t) in writers.iter_mut().zip(targets) {
        writeln!(w, "{ROW_COLUMN},{header_line}").map_err(write_err(t))?;
    }
    let mut row = 0u64;
    loop {
        record.clear();
        if reader.read_line(&mut record).map_err(read_err)? == 0 {
            break;
        }
        // A quoted field may hold line breaks: read on until the quotes balance.
        while record.matches('"').count() % 2 == 1 {
            if reader.read_line(&mut record).map_err(read_err)? == 0 {
                break;
            }
        }
        let line = record.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            continue;
        }
        row += 1;
        let p = part_of(&csv_field(line, id_index), targets.len());
        writeln!(writers[p], "{row},{line}").map_err(write_err(&targets[p]))?;
    }
    for (mut w, t) in writers.into_iter().zip(targets) {
        w.flush().map_err(write_err(t))?;
    }
    Ok(())
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
    let open = || {
        std::fs::File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let total = ParquetReader::new(open()?).num_rows().map_err(polars_err)?;
    let mut writers: Vec<Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>> =
        (0..targets.len()).map(|_| None).collect();
    let mut offset = 0usize;
    while offset < total {
        let len = PARQUET_SLICE.min(total - offset);
        let mut df = ParquetReader::new(open()?)
            .with_slice(Some((offset, len)))
            .finish()
            .map_err(polars_err)?;
        let rows: Vec<u32> = (offset as u32 + 1..=(offset + df.height()) as u32).collect();
        df.with_column(Column::new(ROW_COLUMN.into(), rows))
            .map_err(polars_err)?;
        let ids = df
            .column(id_column)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(polars_err)?;
        let ids = ids.str().map_err(polars_err)?;
        let parts: Vec<usize> = ids
            .iter()
            .map(|id| part_of(id.unwrap_or(""), targets.len()))
            .collect();
        for (p, (slot, target)) in writers.iter_mut().zip(targets).enumerate() {
            let mask: BooleanChunked = parts.iter().map(|&q| q == p).collect();
            let mut piece = df.filter(&mask).map_err(polars_err)?;
            // The batched writer needs every column cut into the same chunks.
            piece.align_chunks();
            if slot.is_none() {
                let file = std::fs::File::create(target).map_err(write_err(target))?;
                let w = ParquetWriter::new(file)
                    .batched(piece.schema())
                    .map_err(polars_err)?;
                *slot = Some(w);
            }
            if let Some(w) = slot.as_mut() {
                w.write_batch(&piece).map_err(polars_err)?;
            }
        }
        offset += len;
    }
    for (slot, target) in writers.into_iter().zip(targets) {
        match slot {
            Some(w) => {
                w.finish().map_err(polars_err)?;
            }
            // An empty source: write an empty part with the same columns.
            None => {
                let mut df = ParquetReader::new(open()?)
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
    fn parquet_with_many_row_groups_splits_into_complete_parts() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t.parquet");
        let ids: Vec<String> = (0..100).map(|i| format!("C{:03}", i % 37)).collect();
        let amounts: Vec<f64> = (0..100).map(f64::from).collect();
        let mut df = DataFrame::new(
            100,
            vec![
                Column::new("client_id".into(), ids),
                Column::new("amount".into(), amounts),
            ],
        )
        .unwrap();
        // Small row groups: a slice spans several chunks, which must stay aligned.
        ParquetWriter::new(std::fs::File::create(&src).unwrap())
            .with_row_group_size(Some(7))
            .finish(&mut df)
            .unwrap();
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
            let r = part.column(ROW_COLUMN).unwrap().u32().unwrap().clone();
            rows.extend(r.iter().map(|v| v.unwrap()));
        }
        rows.sort_unstable();
        assert_eq!(rows, (1..=100).collect::<Vec<u32>>());
    }
}
