//! The Spark runner's source files, cut by client part in the executors that read them
//! and put back together in the executor that labels the part (`clientele::ingest::
//! pieces`): the pieces cross Spark's shuffle as Arrow binary values, read and written
//! here without a copy through Python.

use crate::{bad_input, engine, run_error, source_named, ArrowStream};
use clientele::ingest::pieces::{self, Piece};
use clientele::ingest::read::Format;
use clientele::ingest::{frame_name, Frames};
use polars_arrow::array::{
    Array, BinaryArray, BinaryViewArray, PrimitiveArray, Utf8Array, Utf8ViewArray,
};
use polars_arrow::datatypes::{ArrowDataType, Field};
use pyo3::prelude::*;
use std::path::PathBuf;

/// Bytes of pieces in one Arrow batch of `cut_source` (far below the 2 GiB that 32-bit
/// offsets address).
const BATCH_BYTES: usize = 256 << 20;

fn format_named(format: &str) -> PyResult<Format> {
    match format {
        "csv" => Ok(Format::Csv),
        "parquet" => Ok(Format::Parquet),
        other => Err(bad_input(format!(
            "format {other:?}: expected \"csv\" or \"parquet\""
        ))),
    }
}

/// Cuts a source file into pieces by the client part of `id_column` (of `parts`): a
/// whole CSV file, or rows `rows` (first row, row count; all when `None`) of a Parquet
/// file (every part gets a piece of the rows that open the file). Returns a table of
/// `part` (int32) and `piece` (binary), each part's pieces in file order.
#[pyfunction]
#[pyo3(signature = (path, format, id_column, parts, rows=None))]
pub(crate) fn cut_source(
    py: Python<'_>,
    path: PathBuf,
    format: &str,
    id_column: &str,
    parts: usize,
    rows: Option<(usize, usize)>,
) -> PyResult<ArrowStream> {
    if parts == 0 {
        return Err(bad_input("parts must be at least 1".into()));
    }
    let format = format_named(format)?;
    let rows = rows.map(|(start, len)| start..start + len);
    let cut = engine(py, || match format {
        Format::Csv => pieces::cut_csv(&path, id_column, parts),
        Format::Parquet => pieces::cut_parquet(&path, id_column, parts, rows),
    })?;
    let fields = vec![
        Field::new("part".into(), ArrowDataType::Int32, false),
        Field::new("piece".into(), ArrowDataType::Binary, false),
    ];
    Ok(ArrowStream::of_batches(fields, piece_batches(&cut)))
}

/// The pieces as batches of (part, piece) arrays of at most `BATCH_BYTES` of pieces
/// (one larger piece makes a batch of its own); no pieces make one empty batch.
fn piece_batches(cut: &[Piece]) -> Vec<Vec<Box<dyn Array>>> {
    let mut batches = Vec::new();
    let mut start = 0;
    while start < cut.len() || batches.is_empty() {
        let mut end = start;
        let mut bytes = 0;
        while end < cut.len() && (end == start || bytes + cut[end].bytes.len() <= BATCH_BYTES) {
            bytes += cut[end].bytes.len();
            end += 1;
        }
        let batch = &cut[start..end];
        let parts: Vec<i32> = batch.iter().map(|p| p.part as i32).collect();
        let values = BinaryArray::<i32>::from_iter_values(batch.iter().map(|p| p.bytes.as_slice()));
        batches.push(vec![
            PrimitiveArray::from_vec(parts).boxed(),
            values.boxed(),
        ]);
        start = end;
    }
    batches
}

/// The columns of a pieces table (`source`, `order`, `format`, `piece`), read in place.
struct PieceRows<'a> {
    sources: Vec<&'a str>,
    orders: Vec<i64>,
    formats: Vec<&'a str>,
    pieces: Vec<&'a [u8]>,
}

fn texts<'a>(chunks: &'a [Box<dyn Array>], column: &str) -> PyResult<Vec<&'a str>> {
    let mut out = Vec::new();
    for chunk in chunks {
        let any = chunk.as_any();
        if let Some(a) = any.downcast_ref::<Utf8Array<i32>>() {
            out.extend(a.values_iter());
        } else if let Some(a) = any.downcast_ref::<Utf8Array<i64>>() {
            out.extend(a.values_iter());
        } else if let Some(a) = any.downcast_ref::<Utf8ViewArray>() {
            out.extend(a.values_iter());
        } else {
            return Err(bad_input(format!("pieces: column {column:?} is not text")));
        }
    }
    Ok(out)
}

fn binaries(chunks: &[Box<dyn Array>]) -> PyResult<Vec<&[u8]>> {
    let mut out = Vec::new();
    for chunk in chunks {
        let any = chunk.as_any();
        if let Some(a) = any.downcast_ref::<BinaryArray<i32>>() {
            out.extend(a.values_iter());
        } else if let Some(a) = any.downcast_ref::<BinaryArray<i64>>() {
            out.extend(a.values_iter());
        } else if let Some(a) = any.downcast_ref::<BinaryViewArray>() {
            out.extend(a.values_iter());
        } else {
            return Err(bad_input("pieces: column \"piece\" is not binary".into()));
        }
    }
    Ok(out)
}

fn integers(chunks: &[Box<dyn Array>]) -> PyResult<Vec<i64>> {
    let mut out = Vec::new();
    for chunk in chunks {
        let a = chunk
            .as_any()
            .downcast_ref::<PrimitiveArray<i64>>()
            .ok_or_else(|| bad_input("pieces: column \"order\" is not int64".into()))?;
        out.extend(a.values_iter().copied());
    }
    Ok(out)
}

impl<'a> PieceRows<'a> {
    fn of(fields: &[Field], columns: &'a [Vec<Box<dyn Array>>]) -> PyResult<Self> {
        let column = |name: &str| {
            fields
                .iter()
                .position(|f| f.name.as_str() == name)
                .and_then(|i| columns.get(i))
                .ok_or_else(|| bad_input(format!("pieces: no column {name:?}")))
        };
        Ok(PieceRows {
            sources: texts(column("source")?, "source")?,
            orders: integers(column("order")?)?,
            formats: texts(column("format")?, "format")?,
            pieces: binaries(column("piece")?)?,
        })
    }
}

/// `frames` with the sources of a part's pieces (a table of `source`, `order`, `format`
/// and `piece`, as cut by `cut_source`), each source's pieces read in order.
pub(crate) fn with_pieces(
    py: Python<'_>,
    mut frames: Frames,
    table: &Bound<'_, PyAny>,
    mode: clientele::Mode,
) -> PyResult<Frames> {
    let (fields, columns) = crate::arrow_columns(table, "pieces")?;
    let rows = PieceRows::of(&fields, &columns)?;
    let n = rows.pieces.len();
    if [rows.sources.len(), rows.orders.len(), rows.formats.len()] != [n, n, n] {
        return Err(run_error("pieces: columns of different lengths"));
    }
    let mut at: Vec<usize> = (0..n).collect();
    at.sort_by(|&a, &b| (rows.sources[a], rows.orders[a]).cmp(&(rows.sources[b], rows.orders[b])));
    let mut start = 0;
    while start < n {
        let name = rows.sources[at[start]];
        let end = start
            + at[start..]
                .iter()
                .take_while(|&&i| rows.sources[i] == name)
                .count();
        let source = source_named(name, mode)?;
        if frames.get(source).is_some() {
            return Err(bad_input(format!("pieces: source {name:?} is given twice")));
        }
        let format = format_named(rows.formats[at[start]])?;
        if at[start..end]
            .iter()
            .any(|&i| rows.formats[i] != rows.formats[at[start]])
        {
            return Err(bad_input(format!("pieces: source {name:?} in two formats")));
        }
        let pieces: Vec<&[u8]> = at[start..end].iter().map(|&i| rows.pieces[i]).collect();
        let shown = frame_name(source);
        let frame = engine(py, || pieces::frame_of_pieces(format, &shown, &pieces))?;
        frames = frames.with(source, frame);
        start = end;
    }
    Ok(frames)
}
