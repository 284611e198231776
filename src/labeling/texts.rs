//! Text columns of a labels chunk held without a `String` per row: a million clients'
//! segment names, actions, reasons and needs are a few hundred distinct texts, and one
//! allocation per cell (made on the labeling thread, freed on the writer's) cost more
//! than writing them.

use polars::prelude::*;
use polars_arrow::array::{MutableBinaryViewArray, Utf8ViewArray, View};
use polars_arrow::bitmap::Bitmap;
use polars_arrow::datatypes::ArrowDataType;
use std::borrow::Cow;
use std::collections::HashMap;

pub use crate::ingest::table::Levels;

/// Code of a row without a text.
const NONE: u32 = u32::MAX;

/// Up to this many distinct texts, a text's code is found by comparing it with each.
const LINEAR_LEVELS: usize = 16;

/// A text column whose rows repeat a few texts: each distinct text once, a code per row.
#[derive(Clone, Debug, Default)]
pub struct TextColumn {
    levels: Vec<String>,
    lookup: HashMap<String, u32, foldhash::fast::FixedState>,
    codes: Vec<u32>,
}

impl TextColumn {
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn push(&mut self, text: &str) {
        // Most of these columns hold a handful of texts: comparing with each is cheaper
        // than hashing the text.
        let known = if self.levels.len() <= LINEAR_LEVELS {
            self.levels.iter().position(|l| l == text).map(|i| i as u32)
        } else {
            self.lookup.get(text).copied()
        };
        let code = known.unwrap_or_else(|| {
            let code = self.levels.len() as u32;
            self.levels.push(text.to_string());
            self.lookup.insert(text.to_string(), code);
            code
        });
        self.codes.push(code);
    }

    pub fn push_option(&mut self, text: Option<&str>) {
        match text {
            Some(t) => self.push(t),
            None => self.codes.push(NONE),
        }
    }

    /// Row `i`'s text (`None` for a row without one, or past the end).
    pub fn get(&self, i: usize) -> Option<&str> {
        let code = *self.codes.get(i)?;
        self.levels.get(code as usize).map(String::as_str)
    }

    /// The rows' texts in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Appends another column's rows.
    pub fn extend(&mut self, other: &TextColumn) {
        for text in other.iter() {
            self.push_option(text);
        }
    }

    /// Each distinct text made once into `cell` (a CSV cell), for writing row by row
    /// with `cell_of`.
    pub fn cells<'a>(&'a self, cell: impl Fn(&'a str) -> Cow<'a, str>) -> Vec<Cow<'a, str>> {
        self.levels.iter().map(|l| cell(l)).collect()
    }

    /// Row `i`'s entry of `cells` (`""` for a row without a text).
    pub fn cell_of<'c>(&self, cells: &'c [Cow<'c, str>], i: usize) -> &'c str {
        self.codes
            .get(i)
            .and_then(|&code| cells.get(code as usize))
            .map_or("", |c| c.as_ref())
    }

    /// The column as a polars string column: each row a view of its text's one copy.
    ///
    /// # Errors
    /// Never for texts this column holds (the views are checked as Arrow requires).
    pub fn to_column(&self, name: &str) -> PolarsResult<Column> {
        view_column(name, &self.levels, &self.codes)
    }
}

/// A polars string column of `codes` over `levels` (`None`: a null row), each row a
/// view of its level's one copy.
///
/// # Errors
/// Never for valid texts (the views are checked as Arrow requires).
pub fn codes_column<S: AsRef<str>>(
    name: &str,
    levels: &[S],
    codes: impl Iterator<Item = Option<usize>>,
) -> PolarsResult<Column> {
    let codes: Vec<u32> = codes
        .map(|c| c.and_then(|c| u32::try_from(c).ok()).unwrap_or(NONE))
        .collect();
    view_column(name, levels, &codes)
}

fn view_column<S: AsRef<str>>(name: &str, levels: &[S], codes: &[u32]) -> PolarsResult<Column> {
    let levels: Utf8ViewArray =
        MutableBinaryViewArray::<str>::from_values_iter(levels.iter().map(AsRef::as_ref)).into();
    let level_views = levels.views();
    let views: Vec<View> = codes
        .iter()
        .map(|&code| level_views.get(code as usize).copied().unwrap_or_default())
        .collect();
    let validity = codes
        .contains(&NONE)
        .then(|| Bitmap::from_iter(codes.iter().map(|&c| c != NONE)));
    let array = Utf8ViewArray::try_new(
        ArrowDataType::Utf8View,
        views.into(),
        levels.data_buffers().clone(),
        validity,
    )?;
    Ok(StringChunked::with_chunk(name.into(), array)
        .into_series()
        .into_column())
}

/// Texts that differ from row to row (client ids), end to end in one buffer, as a
/// polars string column.
pub fn rows_column(name: &str, rows: &Levels) -> Column {
    let array: Utf8ViewArray = MutableBinaryViewArray::<str>::from_values_iter(rows.iter()).into();
    StringChunked::with_chunk(name.into(), array)
        .into_series()
        .into_column()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_column_gives_back_its_rows_and_the_same_polars_column() {
        let rows = [
            Some("renew, now"),
            None,
            Some("a text longer than twelve bytes"),
            Some("renew, now"),
            Some(""),
            Some("a text longer than twelve bytes"),
        ];
        let mut col = TextColumn::default();
        for r in rows {
            col.push_option(r);
        }
        assert_eq!(col.iter().collect::<Vec<_>>(), rows);
        let built = col.to_column("x").unwrap();
        let direct = Column::new("x".into(), rows.to_vec());
        assert!(built.equals_missing(&direct), "{built:?} vs {direct:?}");
        assert_eq!(built.dtype(), &DataType::String);
        let cells = col.cells(|t| Cow::Owned(format!("<{t}>")));
        let written: Vec<&str> = (0..col.len()).map(|i| col.cell_of(&cells, i)).collect();
        assert_eq!(
            written,
            [
                "<renew, now>",
                "",
                "<a text longer than twelve bytes>",
                "<renew, now>",
                "<>",
                "<a text longer than twelve bytes>"
            ]
        );
        let mut twice = col.clone();
        twice.extend(&col);
        assert_eq!(twice.len(), 12);
        assert_eq!(twice.get(8), Some("a text longer than twelve bytes"));
        assert_eq!(twice.get(7), None);
    }

    #[test]
    fn many_distinct_texts_are_found_by_hash_alike() {
        let texts: Vec<String> = (0..100).map(|i| format!("reason {}", i % 40)).collect();
        let mut col = TextColumn::default();
        for t in &texts {
            col.push(t);
        }
        assert_eq!(col.levels.len(), 40);
        let back: Vec<&str> = col.iter().map(Option::unwrap_or_default).collect();
        assert_eq!(back, texts);
    }

    #[test]
    fn text_rows_keep_each_row() {
        let mut ids = Levels::default();
        for id in ["C1", "", "C0000000000000003"] {
            ids.push(id);
        }
        let direct = Column::new("id".into(), ["C1", "", "C0000000000000003"]);
        assert!(rows_column("id", &ids).equals_missing(&direct));
    }
}
