//! A frame (from a file or handed over in memory) into a typed table: every requested
//! column parsed by its contract kind, a value that does not parse named with its row.

use super::*;

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
pub(super) struct TableBuilder<'a> {
    pub(super) table: Table,
    pub(super) shown: &'a Path,
    pub(super) requests: &'a [ColumnRequest],
    pub(super) values: Vec<Values>,
    /// Rows converted so far.
    pub(super) filled: usize,
    pub(super) partitioned: bool,
}

impl<'a> TableBuilder<'a> {
    /// `rows`: the number of rows all slices together hold, where known (0 otherwise).
    pub(super) fn new(
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
    pub(super) fn add(&mut self, mut df: DataFrame) -> Result<()> {
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

    pub(super) fn finish(mut self) -> Table {
        for (req, mut v) in self.requests.iter().zip(self.values) {
            if let Values::Coded(c) = &mut v {
                c.freeze();
            }
            self.table.insert(&req.field, &req.column, v);
        }
        self.table
    }
}

pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) column: &'a str,
    /// Original row number of each row.
    pub(super) rows: &'a [u32],
}

impl Ctx<'_> {
    pub(super) fn bad(&self, row: usize, kind: Kind, value: &str) -> Error {
        Error::BadValue {
            path: PathBuf::from(self.path),
            row: self.rows.get(row).map_or(row + 1, |&r| r as usize),
            column: self.column.to_string(),
            expected: kind.expected().to_string(),
            value: value.to_string(),
        }
    }

    pub(super) fn implausible_date(&self, row: usize, value: &str) -> Error {
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

    pub(super) fn polars(&self, e: PolarsError) -> Error {
        Error::Malformed {
            path: PathBuf::from(self.path),
            message: format!("column '{}': {e}", self.column),
        }
    }
}

pub(super) fn is_missing_token(s: &str) -> bool {
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
pub(super) fn coded_into(ctx: &Ctx, col: &Series, trim: bool, coded: &mut Coded) -> Result<()> {
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

pub(super) fn push_coded(ca: &StringChunked, trim: bool, coded: &mut Coded) {
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
pub(super) struct RecentViews {
    pub(super) entries: [(u128, u32); RECENT_VIEWS],
    pub(super) len: usize,
    pub(super) next: usize,
}

/// How many distinct recent texts are remembered: enough for a client's interleaved
/// policies; a linear scan of this many 16-byte views is cheaper than one lookup.
pub(super) const RECENT_VIEWS: usize = 8;

impl RecentViews {
    pub(super) fn code_of(&self, view: u128) -> Option<u32> {
        self.entries[..self.len]
            .iter()
            .find(|&&(v, _)| v == view)
            .map(|&(_, code)| code)
    }

    pub(super) fn remember(&mut self, view: u128, code: u32) {
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
pub(super) fn numbers_into(
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

pub(super) fn dates_into(ctx: &Ctx, col: &Series, out: &mut Vec<Option<Date>>) -> Result<()> {
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
