//! A generated book held in clientele's typed `Table`s against the same book held in
//! polars frames, for the choice `src/ingest/table.rs` documents:
//!
//! `cargo bench --bench book_in_memory -- (table|frames) BOOK_DIR EXTRACT_DATE`
//!
//! Run each way in its own process for its peak memory: `benches/book_in_memory.sh` does
//! both under `/usr/bin/time -v`.
//!
//! - `table`: `ingest::load` — reading, typing, validation, cleaning, quarantine and
//!   linking of every source, ids dropped after linking (what every run does).
//! - `frames`: the same files read by polars with dates parsed, each event row linked to
//!   its client (the clients' row number) and policy by joins on the id columns, ids
//!   dropped: the same linked book as polars frames, without the validation.
//!
//! Both then compute two aggregates per client shaped like the point-in-time features:
//! premiums due in the last 6 months and unpaid 30 days after, and the amount paid in
//! the last 12 months (a loop over the table's columns; a filter and `group_by` on the
//! frames). Printed: seconds to the linked book, seconds for the aggregates, the bytes
//! the linked book holds, and the aggregates' totals (equal up to quarantined rows).

use clientele::ingest::{self, LoadOptions};
use clientele::ingest::{Table, Values};
use clientele::schema::Source;
use clientele::{Config, Date};
use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The sources the bench holds, in linking order.
const SOURCES: [&str; 5] = ["clients", "policies", "payments", "claims", "contacts"];

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [way, dir, extract] = args.as_slice() else {
        eprintln!("usage: book_in_memory (table|frames) BOOK_DIR EXTRACT_DATE");
        std::process::exit(2);
    };
    let Some(extract) = Date::parse(extract) else {
        eprintln!("not a date (YYYY-MM-DD): {extract}");
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    let outcome = match way.as_str() {
        "table" => held_as_tables(&dir, extract),
        "frames" => held_as_frames(&dir, extract).map_err(|e| e.to_string()),
        other => Err(format!("unknown way {other}: table or frames")),
    };
    if let Err(e) = outcome {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

/// The two aggregates' windows, as days since 1970-01-01.
struct Windows {
    due_from: i32,
    due_to: i32,
    paid_from: i32,
    extract: i32,
}

impl Windows {
    fn new(extract: Date) -> Self {
        Windows {
            due_from: extract.add_months(-6).days(),
            due_to: extract.add_days(-30).days(),
            paid_from: extract.add_months(-12).days(),
            extract: extract.days(),
        }
    }
}

fn report(way: &str, linked: f64, aggregates: f64, bytes: usize, unpaid: u64, paid: f64) {
    println!(
        "{way}: linked book {linked:.2} s, aggregates {aggregates:.3} s, held {:.0} MB, \
         unpaid dues {unpaid}, paid {paid:.0}",
        bytes as f64 / 1e6
    );
}

fn held_as_tables(dir: &Path, extract: Date) -> Result<(), String> {
    let config = Config::default();
    let mut opts = LoadOptions::from_config(&config, false);
    opts.extract_date = extract;
    let began = Instant::now();
    let loaded = ingest::load(&config, dir, &opts, None).map_err(|e| e.to_string())?;
    let linked = began.elapsed().as_secs_f64();
    let book = &loaded.book;
    let bytes: usize = book.tables.values().map(table_bytes).sum::<usize>()
        + book
            .client_ids
            .iter()
            .map(|id| id.len() + 24)
            .sum::<usize>();
    let payments = book
        .table(Source::Payments)
        .ok_or("the book has no payments")?;
    let began = Instant::now();
    let (unpaid, paid) = table_aggregates(payments, book.n_clients(), &Windows::new(extract));
    let aggregates = began.elapsed().as_secs_f64();
    let unpaid_total = unpaid.iter().map(|&n| u64::from(n)).sum();
    report(
        "table",
        linked,
        aggregates,
        bytes,
        unpaid_total,
        paid.iter().sum(),
    );
    Ok(())
}

/// Heap bytes of a table's columns and row bookkeeping.
fn table_bytes(t: &Table) -> usize {
    let per_row = 4 * (t.rows.len() + t.client.len() + t.policy.len());
    let reported: usize = t.reported.values().map(|v| 8 * v.len()).sum();
    let columns: usize = t
        .fields()
        .map(|(_, values)| match values {
            Values::Coded(c) => {
                4 * c.codes.len() + c.levels.iter().map(|l| l.len() + 8).sum::<usize>()
            }
            Values::Number(v) => 8 * v.len(),
            Values::Date(v) => std::mem::size_of::<Option<Date>>() * v.len(),
        })
        .sum();
    per_row + reported + columns
}

fn table_aggregates(t: &Table, clients: usize, w: &Windows) -> (Vec<u32>, Vec<f64>) {
    let mut unpaid = vec![0u32; clients];
    let mut paid = vec![0.0; clients];
    let (Some(due), Some(paid_on), Some(amount)) = (
        t.dates("due_date"),
        t.dates("paid_date"),
        t.numbers("amount"),
    ) else {
        return (unpaid, paid);
    };
    for (i, &client) in t.client.iter().enumerate() {
        let client = client as usize;
        let due = due[i].map(Date::days);
        match paid_on[i].map(Date::days) {
            None => {
                if due.is_some_and(|d| d > w.due_from && d <= w.due_to) {
                    unpaid[client] += 1;
                }
            }
            Some(p) if p > w.paid_from && p <= w.extract && !amount[i].is_nan() => {
                paid[client] += amount[i];
            }
            Some(_) => {}
        }
    }
    (unpaid, paid)
}

fn source_file(dir: &Path, name: &str) -> Option<PathBuf> {
    ["csv", "parquet"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.exists())
}

/// A source file as polars reads it, with date columns (`*_date`) as dates.
fn read_frame(path: &Path) -> PolarsResult<DataFrame> {
    let df = if path.extension().is_some_and(|e| e == "parquet") {
        ParquetReader::new(std::fs::File::open(path)?).finish()?
    } else {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_parse_options(CsvParseOptions::default().with_try_parse_dates(true))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))?
            .finish()?
    };
    let mut columns = df.into_columns();
    for c in &mut columns {
        if c.name().ends_with("_date") && c.dtype() != &DataType::Date {
            *c = c.cast(&DataType::Date)?;
        }
    }
    DataFrame::new_infer_height(columns)
}

/// Keeps `key` and `index` of `df` under the names the next join wants.
fn key_frame(df: &DataFrame, key: &str, index: &[&str]) -> PolarsResult<DataFrame> {
    let mut names = vec![key];
    names.extend_from_slice(index);
    df.select(names)
}

fn drop_ids(mut df: DataFrame) -> PolarsResult<DataFrame> {
    let ids: Vec<String> = df
        .get_column_names()
        .iter()
        .filter(|n| n.ends_with("_id"))
        .map(|n| n.to_string())
        .collect();
    for id in ids {
        df = df.drop(&id)?;
    }
    Ok(df)
}

fn held_as_frames(dir: &Path, extract: Date) -> PolarsResult<()> {
    let began = Instant::now();
    let mut held: Vec<(String, DataFrame)> = Vec::new();
    let mut client_key = None;
    let mut policy_key = None;
    for name in SOURCES {
        let Some(path) = source_file(dir, name) else {
            continue;
        };
        let mut df = read_frame(&path)?;
        if name == "clients" {
            df = df.with_row_index("client".into(), None)?;
            client_key = Some(key_frame(&df, "client_id", &["client"])?);
        } else if df.get_column_index("policy_id").is_some() && name != "policies" {
            let key = policy_key.as_ref().ok_or_else(
                || polars_err!(ComputeError: "{name} links by policy_id: no policies read"),
            )?;
            df = df.drop("client_id").unwrap_or(df);
            df = df.left_join(key, ["policy_id"], ["policy_id"])?;
        } else if let Some(key) = &client_key {
            df = df.left_join(key, ["client_id"], ["client_id"])?;
        }
        if name == "policies" {
            df = df.with_row_index("policy".into(), None)?;
            policy_key = Some(key_frame(&df, "policy_id", &["policy", "client"])?);
        }
        held.push((name.to_string(), df));
    }
    drop((client_key, policy_key));
    let held: Vec<(String, DataFrame)> = held
        .into_iter()
        .map(|(name, df)| drop_ids(df).map(|df| (name, df)))
        .collect::<PolarsResult<_>>()?;
    let linked = began.elapsed().as_secs_f64();
    let bytes = held.iter().map(|(_, df)| df.estimated_size()).sum();
    let payments = held
        .iter()
        .find(|(name, _)| name == "payments")
        .map(|(_, df)| df)
        .ok_or_else(|| polars_err!(ComputeError: "the book has no payments"))?;
    let began = Instant::now();
    let (unpaid, paid) = frame_aggregates(payments, &Windows::new(extract))?;
    let aggregates = began.elapsed().as_secs_f64();
    report("frames", linked, aggregates, bytes, unpaid, paid);
    Ok(())
}

/// Days since 1970-01-01 of a date column, as `i32`.
fn days(df: &DataFrame, name: &str) -> PolarsResult<Int32Chunked> {
    Ok(df.column(name)?.cast(&DataType::Int32)?.i32()?.clone())
}

/// The per-client aggregates by filter and `group_by`; returns their totals. (The eager
/// `GroupBy` sums are deprecated in favour of the lazy API, which this crate's polars
/// features do not build.)
#[allow(deprecated)]
fn frame_aggregates(df: &DataFrame, w: &Windows) -> PolarsResult<(u64, f64)> {
    let due = days(df, "due_date")?;
    let paid_on = days(df, "paid_date")?;
    let unpaid_mask = paid_on.is_null() & due.gt(w.due_from) & due.lt_eq(w.due_to);
    let unpaid = df
        .filter(&unpaid_mask)?
        .group_by(["client"])?
        .select(["due_date"])
        .count()?;
    let paid_mask = paid_on.gt(w.paid_from) & paid_on.lt_eq(w.extract);
    let paid = df
        .filter(&paid_mask)?
        .group_by(["client"])?
        .select(["amount"])
        .sum()?;
    let unpaid_total = unpaid
        .column("due_date_count")?
        .cast(&DataType::UInt64)?
        .u64()?
        .sum()
        .unwrap_or(0);
    let paid_total = paid
        .column("amount_sum")?
        .cast(&DataType::Float64)?
        .f64()?
        .sum()
        .unwrap_or(0.0);
    Ok((unpaid_total, paid_total))
}
