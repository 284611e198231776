//! Writing a view of the simulated book as an insurer's export would look at a given
//! date, with the dirt real exports have, and a manifest of exactly what dirt was added.

use super::model::*;
use super::SynthBook;
use clientele::error::{Error, Result};
use clientele::Date;
use polars::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// File formats of the written tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Small tables as CSV (readable, showing the dirt), the two large ones
    /// (payments, contacts) as Parquet to keep the committed sample small.
    Mixed,
    Csv,
    Parquet,
}

#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// The export date: nothing after it is visible.
    pub view: Date,
    pub format: OutputFormat,
    /// Inject duplicates, misspellings, missing values, outliers and invalid rows.
    pub dirt: bool,
}

/// Exactly what dirt was written, so tests can check that cleaning finds all of it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DirtManifest {
    pub clients: usize,
    pub seed: u64,
    pub export_date: String,
    pub training_cutoff: String,
    pub rows: BTreeMap<String, usize>,
    pub exact_duplicates: BTreeMap<String, usize>,
    pub invalid: BTreeMap<String, BTreeMap<String, usize>>,
    pub missing_income: usize,
    pub income_outliers: usize,
    /// The non-linear lapse effects in the truth, when the book has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonlinear_lapse: Option<&'static str>,
    /// The lapse interactions in the truth, when the book has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction_lapse: Option<&'static str>,
}

fn hash(seed: u64, a: u64, b: u64) -> u64 {
    // splitmix64 over the inputs: a cheap, stateless, deterministic choice per cell.
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(seed: u64, a: u64, b: u64) -> f64 {
    (hash(seed, a, b) >> 11) as f64 / (1u64 << 53) as f64
}

/// One cell of an output row.
enum Cell {
    Text(String),
    Date(Option<Date>),
    /// A number with the given count of decimals; `None` is empty.
    Num(Option<f64>, usize),
}

#[derive(Clone, Copy)]
enum ColType {
    Text,
    Date,
    Num,
}

/// A table to write: column names and types, row count and a cell function.
struct OutTable<'a> {
    name: &'static str,
    columns: Vec<(&'static str, ColType)>,
    rows: usize,
    cell: Box<dyn Fn(usize, usize) -> Cell + Sync + 'a>,
}

fn write_csv(t: &OutTable, path: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let header: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
    writeln!(w, "{}", header.join(","))?;
    for r in 0..t.rows {
        for c in 0..t.columns.len() {
            if c > 0 {
                w.write_all(b",")?;
            }
            match (t.cell)(r, c) {
                Cell::Text(s) if s.contains([',', '"']) => {
                    write!(w, "\"{}\"", s.replace('"', "\"\""))?
                }
                Cell::Text(s) => w.write_all(s.as_bytes())?,
                Cell::Date(Some(d)) => write!(w, "{d}")?,
                Cell::Num(Some(x), dec) => write!(w, "{x:.dec$}")?,
                Cell::Date(None) | Cell::Num(None, _) => {}
            }
        }
        w.write_all(b"\n")?;
    }
    w.flush()
}

fn write_parquet(t: &OutTable, path: &Path) -> PolarsResult<()> {
    let mut columns = Vec::with_capacity(t.columns.len());
    for (c, (name, ty)) in t.columns.iter().enumerate() {
        let name = PlSmallStr::from(*name);
        let series = match ty {
            ColType::Text => (0..t.rows)
                .map(|r| match (t.cell)(r, c) {
                    Cell::Text(s) => Some(s),
                    _ => None,
                })
                .collect::<StringChunked>()
                .with_name(name)
                .into_series(),
            ColType::Date => (0..t.rows)
                .map(|r| match (t.cell)(r, c) {
                    Cell::Date(d) => d.map(Date::days),
                    _ => None,
                })
                .collect::<Int32Chunked>()
                .with_name(name)
                .into_series()
                .cast(&DataType::Date)?,
            ColType::Num => (0..t.rows)
                .map(|r| match (t.cell)(r, c) {
                    Cell::Num(x, dec) => x.map(|v| {
                        let f = 10f64.powi(dec as i32);
                        (v * f).round() / f
                    }),
                    _ => None,
                })
                .collect::<Float64Chunked>()
                .with_name(name)
                .into_series(),
        };
        columns.push(series.into_column());
    }
    let mut df = DataFrame::new(t.rows, columns)?;
    let file = std::fs::File::create(path).map_err(PolarsError::from)?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)?;
    Ok(())
}

/// Writes one table atomically in the chosen format; returns the file name.
fn emit(t: &OutTable, dir: &Path, parquet: bool) -> Result<String> {
    let file = format!("{}.{}", t.name, if parquet { "parquet" } else { "csv" });
    let path = dir.join(&file);
    let tmp = dir.join(format!(".{file}.tmp"));
    let err = |source| Error::Write {
        path: path.clone(),
        source,
    };
    if parquet {
        write_parquet(t, &tmp).map_err(|e| err(std::io::Error::other(e.to_string())))?;
    } else {
        write_csv(t, &tmp).map_err(err)?;
    }
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(file)
}

fn client_id(i: u32) -> String {
    format!("C{:07}", i + 1)
}

fn policy_id(i: u32) -> String {
    format!("P{:08}", i + 1)
}

/// Row order of a table: real rows (index < n) with extra rows (n + k) merged in at
/// deterministic positions.
fn merged_order(n: usize, extras: &[usize]) -> Vec<u32> {
    let mut out = Vec::with_capacity(n + extras.len());
    let mut pending: Vec<(usize, usize)> = extras
        .iter()
        .enumerate()
        .map(|(k, &pos)| (pos, k))
        .collect();
    pending.sort_unstable();
    let mut next = 0;
    for i in 0..n {
        while next < pending.len() && pending[next].0 <= i {
            out.push((n + pending[next].1) as u32);
            next += 1;
        }
        out.push(i as u32);
    }
    for p in &pending[next..] {
        out.push((n + p.1) as u32);
    }
    out
}

fn spelled(value: &str, variant: u64) -> String {
    match variant % 6 {
        0 => {
            let mut c = value.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
        1 => format!(" {value} "),
        2 => value.to_uppercase(),
        _ => value.to_string(),
    }
}

/// Writes the book as seen on `opts.view` into `dir` (created if needed).
///
/// # Errors
/// `Error::Write` when a file cannot be written.
pub fn write_book(book: &SynthBook, dir: &Path, opts: &WriteOptions) -> Result<DirtManifest> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let b = &book.block;
    let p = &book.params;
    let seed = p.seed ^ 0xD1A7_5EED;
    let view = opts.view;
    let dirt = opts.dirt;
    let mut m = DirtManifest {
        clients: b.clients.len(),
        seed: p.seed,
        export_date: view.to_string(),
        training_cutoff: p.training_cutoff().to_string(),
        nonlinear_lapse: p.nonlinear_lapse.then_some(crate::model::NONLINEAR_LAPSE),
        interaction_lapse: p
            .interaction_lapse
            .then_some(crate::model::INTERACTION_LAPSE),
        ..DirtManifest::default()
    };
    let csv_or = |big: bool| match opts.format {
        OutputFormat::Csv => false,
        OutputFormat::Parquet => true,
        OutputFormat::Mixed => big,
    };
    let count = |n: usize, rate: f64, min: usize| {
        if dirt {
            ((n as f64 * rate) as usize).max(min)
        } else {
            0
        }
    };
    let pos =
        |table: u64, k: usize, n: usize| (hash(seed, table, k as u64) % (n.max(1) as u64)) as usize;
    let mut invalid = |source: &str, reason: &str, n: usize| {
        if n > 0 {
            *m.invalid
                .entry(source.into())
                .or_default()
                .entry(reason.into())
                .or_default() += n;
        }
    };

    // --- clients ---
    let nc = b.clients.len();
    let n_dup = count(nc, 0.002, 1);
    let dup_of: Vec<usize> = (0..n_dup).map(|k| pos(1, k, nc)).collect();
    let order = merged_order(nc, &dup_of.iter().map(|&i| i + 1).collect::<Vec<_>>());
    let income_missing = |i: usize| dirt && unit(seed, 11, i as u64) < 0.05;
    let income_outlier = |i: usize| dirt && !income_missing(i) && unit(seed, 12, i as u64) < 0.001;
    m.missing_income = (0..nc).filter(|&i| income_missing(i)).count();
    m.income_outliers = (0..nc).filter(|&i| income_outlier(i)).count();
    m.exact_duplicates.insert("clients".into(), n_dup);
    let clients = OutTable {
        name: "clients",
        columns: vec![
            ("client_id", ColType::Text),
            ("birth_date", ColType::Date),
            ("gender", ColType::Text),
            ("marital_status", ColType::Text),
            ("dependents", ColType::Num),
            ("annual_income", ColType::Num),
            ("education", ColType::Text),
            ("occupation", ColType::Text),
            ("region", ColType::Text),
            ("city_tier", ColType::Text),
            ("channel", ColType::Text),
            ("first_known_date", ColType::Date),
        ],
        rows: order.len(),
        cell: Box::new(|r, col| {
            let o = order[r] as usize;
            let i = if o < nc { o } else { dup_of[o - nc] };
            let c = &b.clients[i];
            let var = |f: u64| {
                if dirt {
                    hash(seed, 100 + f, i as u64)
                } else {
                    3
                }
            };
            match col {
                0 => Cell::Text(client_id(i as u32)),
                1 => Cell::Date(Some(c.birth)),
                2 => {
                    let g = GENDERS[c.gender as usize];
                    Cell::Text(match var(2) % 8 {
                        0 => g[..1].to_uppercase(),
                        1 => spelled(g, 1),
                        2 => spelled(g, 0),
                        _ => g.to_string(),
                    })
                }
                3 => Cell::Text(spelled(MARITAL[c.marital as usize], var(3))),
                4 => Cell::Num(Some(f64::from(c.dependents)), 0),
                5 => Cell::Num(
                    if income_missing(i) {
                        None
                    } else if income_outlier(i) {
                        Some(c.income * 100.0)
                    } else {
                        Some(c.income)
                    },
                    0,
                ),
                6 => Cell::Text(EDUCATION[c.education as usize].into()),
                7 => Cell::Text(OCCUPATIONS[c.occupation as usize].into()),
                8 => Cell::Text(spelled(REGIONS[c.region as usize], var(8))),
                9 => Cell::Text(TIERS[c.tier as usize].into()),
                10 => Cell::Text(spelled(CHANNELS[c.channel as usize], var(10))),
                _ => Cell::Date(Some(c.first_known)),
            }
        }),
    };
    let mut files = vec![emit(&clients, dir, csv_or(false))?];
    m.rows.insert("clients".into(), clients.rows);
    drop(clients);

    // --- policies ---
    let visible: Vec<u32> = (0..b.policies.len() as u32)
        .filter(|&i| b.policies[i as usize].start <= view)
        .collect();
    let nv = visible.len();
    let n_dup = count(nv, 0.001, 1);
    let (n_neg, n_order, n_unknown) = (
        count(nv, 0.0004, 2),
        count(nv, 0.0003, 2),
        count(nv, 0.0005, 3),
    );
    // Extras: duplicates, then negative premium, end before start, unknown client.
    let kinds: Vec<u8> = std::iter::repeat_n(0u8, n_dup)
        .chain(std::iter::repeat_n(1, n_neg))
        .chain(std::iter::repeat_n(2, n_order))
        .chain(std::iter::repeat_n(3, n_unknown))
        .collect();
    let extra_src: Vec<usize> = (0..kinds.len()).map(|k| pos(2, k, nv)).collect();
    let order = merged_order(
        nv,
        &extra_src
            .iter()
            .enumerate()
            .map(|(k, &s)| if kinds[k] == 0 { s + 1 } else { pos(3, k, nv) })
            .collect::<Vec<_>>(),
    );
    m.exact_duplicates.insert("policies".into(), n_dup);
    invalid("policies", "negative annual_premium", n_neg);
    invalid("policies", "end before start", n_order);
    invalid("policies", "unknown client", n_unknown);
    let n_policies_total = b.policies.len() as u32;
    let policies = OutTable {
        name: "policies",
        columns: vec![
            ("policy_id", ColType::Text),
            ("client_id", ColType::Text),
            ("product", ColType::Text),
            ("start_date", ColType::Date),
            ("end_date", ColType::Date),
            ("end_reason", ColType::Text),
            ("annual_premium", ColType::Num),
            ("sum_assured", ColType::Num),
            ("payment_frequency", ColType::Text),
        ],
        rows: order.len(),
        cell: Box::new(|r, col| {
            let o = order[r] as usize;
            let (pi, kind, k) = if o < nv {
                (visible[o], 0u8, 0)
            } else {
                (visible[extra_src[o - nv]], kinds[o - nv], o - nv)
            };
            let pol = &b.policies[pi as usize];
            let ended = pol.end.filter(|e| *e <= view);
            let var = |f: u64| {
                if dirt {
                    hash(seed, 200 + f, u64::from(pi))
                } else {
                    3
                }
            };
            match (col, kind) {
                (0, 0) => Cell::Text(policy_id(pi)),
                (0, _) => Cell::Text(policy_id(n_policies_total + k as u32)),
                (1, 3) => Cell::Text(format!("CX{:06}", k + 1)),
                (1, _) => Cell::Text(client_id(pol.client)),
                (2, _) => {
                    let name = PRODUCTS[pol.product as usize];
                    Cell::Text(if var(2) % 5 == 0 {
                        spelled(&name.replace('_', " "), 0)
                    } else {
                        name.to_string()
                    })
                }
                (3, _) => Cell::Date(Some(pol.start)),
                (4, 2) => Cell::Date(Some(pol.start.add_days(-30))),
                (4, _) => Cell::Date(ended),
                (5, 2) => Cell::Text("surrender".into()),
                (5, _) => Cell::Text(
                    ended
                        .map(|_| spelled(END_REASONS[pol.reason as usize], var(5)))
                        .unwrap_or_default(),
                ),
                (6, 1) => Cell::Num(Some(-pol.premium), 2),
                (6, _) => Cell::Num(Some(pol.premium), 2),
                (7, _) => Cell::Num(Some(pol.sum_assured), 0),
                _ => Cell::Text(spelled(FREQUENCIES[pol.freq as usize], var(8))),
            }
        }),
    };
    files.push(emit(&policies, dir, csv_or(false))?);
    m.rows.insert("policies".into(), policies.rows);
    drop(policies);

    // --- payments ---
    let visible: Vec<u32> = (0..b.payments.len() as u32)
        .filter(|&i| b.payments[i as usize].due <= view)
        .collect();
    let nv = visible.len();
    let n_dup = count(nv, 0.0005, 1);
    let (n_neg, n_future) = (count(nv, 0.0001, 2), count(nv, 0.0001, 2));
    let kinds: Vec<u8> = std::iter::repeat_n(0u8, n_dup)
        .chain(std::iter::repeat_n(1, n_neg))
        .chain(std::iter::repeat_n(2, n_future))
        .collect();
    let extra_src: Vec<usize> = (0..kinds.len()).map(|k| pos(4, k, nv)).collect();
    let order = merged_order(
        nv,
        &extra_src
            .iter()
            .enumerate()
            .map(|(k, &s)| if kinds[k] == 0 { s + 1 } else { pos(5, k, nv) })
            .collect::<Vec<_>>(),
    );
    m.exact_duplicates.insert("payments".into(), n_dup);
    invalid("payments", "negative amount", n_neg);
    invalid("payments", "due_date after the extract date", n_future);
    let payments = OutTable {
        name: "payments",
        columns: vec![
            ("client_id", ColType::Text),
            ("policy_id", ColType::Text),
            ("due_date", ColType::Date),
            ("paid_date", ColType::Date),
            ("amount", ColType::Num),
        ],
        rows: order.len(),
        cell: Box::new(|r, col| {
            let o = order[r] as usize;
            let (pi, kind) = if o < nv {
                (visible[o], 0u8)
            } else {
                (visible[extra_src[o - nv]], kinds[o - nv])
            };
            let pay = &b.payments[pi as usize];
            // A typo'd year: ten years ahead of the real date.
            let due = if kind == 2 {
                pay.due.add_months(120)
            } else {
                pay.due
            };
            match col {
                0 => Cell::Text(client_id(pay.client)),
                1 => Cell::Text(policy_id(pay.policy)),
                2 => Cell::Date(Some(due)),
                3 => Cell::Date(if kind == 2 {
                    None
                } else {
                    pay.paid.filter(|d| *d <= view)
                }),
                _ => Cell::Num(Some(if kind == 1 { -pay.amount } else { pay.amount }), 2),
            }
        }),
    };
    files.push(emit(&payments, dir, csv_or(true))?);
    m.rows.insert("payments".into(), payments.rows);
    drop(payments);

    // --- claims ---
    let visible: Vec<u32> = (0..b.claims.len() as u32)
        .filter(|&i| b.claims[i as usize].date <= view)
        .collect();
    let nv = visible.len();
    let n_neg = count(nv, 0.002, 2);
    let extra_src: Vec<usize> = (0..n_neg).map(|k| pos(6, k, nv)).collect();
    let order = merged_order(nv, &(0..n_neg).map(|k| pos(7, k, nv)).collect::<Vec<_>>());
    invalid("claims", "negative amount_claimed", n_neg);
    let n_claims_total = b.claims.len();
    let claims = OutTable {
        name: "claims",
        columns: vec![
            ("claim_id", ColType::Text),
            ("policy_id", ColType::Text),
            ("client_id", ColType::Text),
            ("claim_date", ColType::Date),
            ("amount_claimed", ColType::Num),
            ("amount_paid", ColType::Num),
            ("status", ColType::Text),
        ],
        rows: order.len(),
        cell: Box::new(|r, col| {
            let o = order[r] as usize;
            let (ci, bad, id) = if o < nv {
                (visible[o], false, visible[o] as usize)
            } else {
                (visible[extra_src[o - nv]], true, n_claims_total + o - nv)
            };
            let cl = &b.claims[ci as usize];
            match col {
                0 => Cell::Text(format!("K{:08}", id + 1)),
                1 => Cell::Text(policy_id(cl.policy)),
                2 => Cell::Text(client_id(cl.client)),
                3 => Cell::Date(Some(cl.date)),
                4 => Cell::Num(Some(if bad { -cl.claimed } else { cl.claimed }), 0),
                5 => Cell::Num(Some(cl.paid), 0),
                _ => Cell::Text(CLAIM_STATUS[cl.status as usize].into()),
            }
        }),
    };
    files.push(emit(&claims, dir, csv_or(false))?);
    m.rows.insert("claims".into(), claims.rows);
    drop(claims);

    // --- contacts ---
    let visible: Vec<u32> = (0..b.contacts.len() as u32)
        .filter(|&i| b.contacts[i as usize].date <= view)
        .collect();
    let nv = visible.len();
    let n_dup = count(nv, 0.001, 1);
    let (n_future, n_unknown) = (count(nv, 0.0001, 2), count(nv, 0.0001, 2));
    let kinds: Vec<u8> = std::iter::repeat_n(0u8, n_dup)
        .chain(std::iter::repeat_n(1, n_future))
        .chain(std::iter::repeat_n(2, n_unknown))
        .collect();
    let extra_src: Vec<usize> = (0..kinds.len()).map(|k| pos(8, k, nv)).collect();
    let order = merged_order(
        nv,
        &extra_src
            .iter()
            .enumerate()
            .map(|(k, &s)| if kinds[k] == 0 { s + 1 } else { pos(9, k, nv) })
            .collect::<Vec<_>>(),
    );
    m.exact_duplicates.insert("contacts".into(), n_dup);
    invalid("contacts", "contact_date after the extract date", n_future);
    invalid("contacts", "unknown client", n_unknown);
    let contacts = OutTable {
        name: "contacts",
        columns: vec![
            ("client_id", ColType::Text),
            ("contact_date", ColType::Date),
            ("kind", ColType::Text),
        ],
        rows: order.len(),
        cell: Box::new(|r, col| {
            let o = order[r] as usize;
            let (ci, kind, k) = if o < nv {
                (visible[o], 0u8, 0)
            } else {
                (visible[extra_src[o - nv]], kinds[o - nv], o - nv)
            };
            let ct = &b.contacts[ci as usize];
            match col {
                0 if kind == 2 => Cell::Text(format!("CX{:06}", 900_000 + k)),
                0 => Cell::Text(client_id(ct.client)),
                1 if kind == 1 => Cell::Date(Some(ct.date.add_months(120))),
                1 => Cell::Date(Some(ct.date)),
                _ => Cell::Text(CONTACT_KINDS[ct.kind as usize].into()),
            }
        }),
    };
    files.push(emit(&contacts, dir, csv_or(true))?);
    m.rows.insert("contacts".into(), contacts.rows);
    drop(contacts);

    // --- truth (never a training input) ---
    let truth = OutTable {
        name: "truth",
        columns: vec![
            ("client_id", ColType::Text),
            ("archetype", ColType::Text),
            ("in_force_at_cutoff", ColType::Text),
            ("lapse_probability", ColType::Num),
            ("lapsed_in_horizon", ColType::Text),
            ("lapse_only_probability", ColType::Num),
            ("surrender_probability", ColType::Num),
            ("exit_in_horizon", ColType::Text),
            ("prospect", ColType::Text),
            ("won_back_on", ColType::Date),
        ],
        rows: nc,
        cell: Box::new(|r, col| {
            let t = &b.truth[r];
            let probability = |p: f64| Cell::Num(p.is_finite().then_some(p), 6);
            match col {
                0 => Cell::Text(client_id(r as u32)),
                1 => Cell::Text(ARCHETYPES[t.archetype as usize].into()),
                2 => Cell::Text(t.in_force_at_cutoff.to_string()),
                3 => probability(t.lapse_probability),
                4 => Cell::Text(t.lapsed.map(|l| l.to_string()).unwrap_or_default()),
                5 => probability(t.lapse_only_probability),
                6 => probability(t.surrender_probability),
                7 => Cell::Text(t.exit.map(|e| e.as_str().to_string()).unwrap_or_default()),
                8 => Cell::Text(t.prospect.to_string()),
                // Only what the export can know of: a win-back after the view is not yet.
                _ => Cell::Date(t.won_back.filter(|d| *d <= view)),
            }
        }),
    };
    files.push(emit(&truth, dir, false)?);
    let _ = files;
    let json = serde_json::to_vec_pretty(&m).map_err(|e| Error::Runtime(e.to_string()))?;
    clientele::fsio::write_atomic(&dir.join("manifest.json"), &json)?;
    Ok(m)
}
