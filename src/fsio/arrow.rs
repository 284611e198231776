//! Tables as plain Arrow for readers outside polars. polars holds text as `string_view`,
//! which pyarrow's compute functions, `Table.sort_by`, `Table.join`, CSV writing and
//! Spark do not take; every table clientele hands out (`labels.parquet`, the Python
//! package's tables) carries `string` (32-bit offsets) instead, with the numeric and
//! date types unchanged. The types are listed once in docs/python.md.

use polars::prelude::{ArrowDataType, ArrowField, ArrowSchema, CompatLevel, DataFrame};
use polars_arrow::array::{Array, Utf8ViewArray};

/// Rows per batch of `plain_batches`: a batch's text stays far below the 2 GiB that
/// 32-bit offsets can address.
pub const BATCH_ROWS: usize = 1 << 18;

/// The plain type of a column as polars exports it: text with 32-bit offsets instead of
/// views.
pub fn plain_type(t: &ArrowDataType) -> ArrowDataType {
    match t {
        ArrowDataType::Utf8View | ArrowDataType::LargeUtf8 => ArrowDataType::Utf8,
        other => other.clone(),
    }
}

/// The plain Arrow fields of a table's columns.
pub fn plain_fields(df: &DataFrame) -> Vec<ArrowField> {
    df.columns()
        .iter()
        .map(|c| {
            let f = c.field().to_arrow(CompatLevel::newest());
            ArrowField::new(f.name.clone(), plain_type(&f.dtype), true)
        })
        .collect()
}

/// The plain Arrow schema of a table.
pub fn plain_schema(df: &DataFrame) -> ArrowSchema {
    plain_fields(df)
        .into_iter()
        .map(|f| (f.name.clone(), f))
        .collect()
}

/// A column's array with its text as `string`; other arrays unchanged.
///
/// # Errors
/// A text column over 2 GiB in one batch (cut tables with `BATCH_ROWS` first).
pub fn plain_array(array: Box<dyn Array>) -> Result<Box<dyn Array>, String> {
    use polars::polars_compute::cast::utf8view_to_utf8;
    match array.as_any().downcast_ref::<Utf8ViewArray>() {
        Some(text) if text.total_bytes_len() > i32::MAX as usize => Err(format!(
            "{} bytes of text in one batch of a table: more than 32-bit offsets hold",
            text.total_bytes_len()
        )),
        Some(text) => Ok(utf8view_to_utf8::<i32>(text).boxed()),
        None => Ok(array),
    }
}

/// A table as batches of plain arrays (`plain_array`), at most `BATCH_ROWS` rows each,
/// in the order of `plain_fields`; an empty table is one empty batch.
///
/// # Errors
/// As `plain_array`.
pub fn plain_batches(df: &DataFrame) -> Result<Vec<Vec<Box<dyn Array>>>, String> {
    let n = df.height();
    let starts: Vec<usize> = if n == 0 {
        vec![0]
    } else {
        (0..n).step_by(BATCH_ROWS).collect()
    };
    starts
        .into_iter()
        .map(|start| {
            let mut slice = df.slice(start as i64, BATCH_ROWS.min(n - start));
            slice.rechunk_mut_par();
            slice
                .columns()
                .iter()
                .map(|c| {
                    plain_array(
                        c.as_materialized_series()
                            .to_arrow(0, CompatLevel::newest()),
                    )
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::Column;

    #[test]
    fn text_leaves_as_string_and_numbers_unchanged() {
        let df = DataFrame::new(
            2,
            vec![
                Column::new("id".into(), ["a", "b"]),
                Column::new("n".into(), [1i32, 2]),
                Column::new("p".into(), [Some(0.5f64), None]),
            ],
        )
        .unwrap();
        let fields = plain_fields(&df);
        let types: Vec<_> = fields.iter().map(|f| f.dtype.clone()).collect();
        assert_eq!(
            types,
            [
                ArrowDataType::Utf8,
                ArrowDataType::Int32,
                ArrowDataType::Float64
            ]
        );
        let batches = plain_batches(&df).unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0][0].dtype(), &ArrowDataType::Utf8);
        assert_eq!(batches[0][0].len(), 2);
        let empty = df.slice(0, 0);
        let batches = plain_batches(&empty).unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0][0].dtype(), &ArrowDataType::Utf8);
    }
}
