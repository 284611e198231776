//! Parquet files: reading in row slices, the row count from the footer, and a damaged
//! file turned into an error instead of a panic.

use super::*;

/// polars' Parquet reader panics on some damaged files (broken thrift metadata, found by
/// fuzzing): such a panic is the same error as any other damaged Parquet file.
/// Its footer is checked first: a damaged one can make the reader allocate without bound
/// and abort, which no `catch_unwind` can turn into an error (`parquet_footer`).
pub(crate) fn parquet_guarded<T>(path: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    crate::ingest::parquet_footer::check(path)?;
    crate::error::catch_expected(read, |what| Error::Malformed {
        path: path.to_path_buf(),
        message: format!("cannot be read as Parquet (damaged, or not a Parquet file): {what}"),
    })
}

pub(super) fn not_parquet(path: &Path, e: &PolarsError) -> Error {
    Error::Malformed {
        path: path.to_path_buf(),
        message: format!("cannot be read as Parquet (damaged, or not a Parquet file): {e}"),
    }
}

/// A Parquet file's requested columns (and `__row__` for a partition file).
pub(super) struct ParquetFile<'a> {
    pub(super) path: &'a Path,
    pub(super) shown: &'a Path,
    pub(super) names: &'a [String],
    pub(super) total: usize,
}

impl ParquetFile<'_> {
    /// A large file is read `slice_rows` rows at a time, each slice converted and freed
    /// before the next: the whole file as polars columns (strings as views) would cost
    /// more memory than the typed table it becomes.
    pub(super) fn read(
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

/// Rows of a Parquet file read at once; larger files are read in slices of this many
/// (about 75 MB of polars columns for the payments table).
pub(super) const PARQUET_SLICE_ROWS: usize = 1_000_000;

pub(crate) fn parquet_rows(path: &Path) -> Result<usize> {
    let file = open(path)?;
    parquet_guarded(path, || {
        ParquetReader::new(file)
            .num_rows()
            .map_err(|e| not_parquet(path, &e))
    })
}

/// The requested columns of a Parquet file (or of `slice`: first row and row count),
/// after refusing types this build cannot read.
pub(super) fn read_parquet_frame(
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

/// Refuses Parquet column types this build cannot convert, before polars reads them.
pub(super) fn check_parquet_type(path: &Path, column: &str, dtype: &ArrowDataType) -> Result<()> {
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
