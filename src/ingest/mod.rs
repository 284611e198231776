//! Validated ingest: read every source with declared columns, clean it, link it, and
//! report what happened. Both binaries load data through `load`.

mod clean;
mod input;
mod linked;
mod parquet_footer;
pub mod partition;
pub mod parts;
pub mod pieces;
pub mod quality;
pub mod read;
mod sources;
pub mod table;

pub use clean::{canonical_category, normalise_spelling, CleaningStats, NumericFit};
pub use input::{frame_name, Frames, Input};
pub use linked::{last_date, Keep, KeepAll, LinkedSink, LinkedTable};
pub use quality::{QualityReport, QuarantinedRow, SourceQuality};
pub use sources::{SourceFile, SourceFiles};
pub use table::{Coded, Table, Values, MISSING};

use crate::config::{Config, FlatConfig, Mode, NumericColumns, SourceConfig};
use crate::date::Date;
use crate::error::{Error, Result};
use crate::schema::{Kind, ReadFor, Source};
use clean::Verdicts;
use read::ColumnRequest;
use std::collections::HashMap;
use std::path::Path;

/// `[flat] id = "row"`: a file without an id column gets its data row numbers as ids
/// (`row-1`, `row-2`, ...), which are not stable across months.
pub const ROW_IDS: &str = "row";

/// The flat table's label column is read under this field name (no contract field has it).
const LABEL_FIELD: &str = "__label";

/// Numeric client attributes that are imputed and capped.
pub const CLIENT_NUMERIC: &[&str] = &["age", "dependents", "annual_income"];

/// What a run needs from ingest.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub extract_date: Date,
    pub max_invalid_percent: f64,
    pub outlier_quantile: f64,
    /// Flat mode: the label column must be present and binary (training).
    pub require_label: bool,
}

impl LoadOptions {
    pub fn from_config(config: &Config, require_label: bool) -> Self {
        LoadOptions {
            extract_date: config.extract_date(),
            max_invalid_percent: config.cleaning.max_invalid_percent,
            outlier_quantile: config.cleaning.outlier_quantile,
            require_label,
        }
    }
}

/// The flat per-client table with its declared features and label.
#[derive(Clone, Debug)]
pub struct FlatBook {
    /// Row i is client i.
    pub table: Table,
    pub numeric: Vec<String>,
    pub categorical: Vec<String>,
    /// True = lapsed; `None` when the run has no label column.
    pub label: Option<Vec<bool>>,
}

/// A cleaned, linked client book.
#[derive(Clone, Debug)]
pub struct Book {
    pub mode: Mode,
    pub extract_date: Date,
    /// Client index -> client id.
    pub client_ids: Vec<String>,
    /// The tables of the sources read, by source: a new source is one more entry.
    /// The clients table's row i is client i; event tables link rows to clients.
    pub tables: std::collections::BTreeMap<Source, Table>,
    /// Sources read whose rows were handed on as they were loaded and not kept
    /// (`load_with`, `Keep::Release`), each with the last date it held (`last_date`).
    pub released: std::collections::BTreeMap<Source, Option<Date>>,
    pub flat: Option<FlatBook>,
}

impl Book {
    pub fn n_clients(&self) -> usize {
        self.client_ids.len()
    }

    /// The table of one source, when the book holds it.
    pub fn table(&self, source: Source) -> Option<&Table> {
        self.tables.get(&source)
    }

    /// Whether the book's data had the source: its table is held, or was read and
    /// handed on (`released`).
    pub fn has(&self, source: Source) -> bool {
        self.tables.contains_key(&source) || self.released.contains_key(&source)
    }

    /// Drops the event tables (policies, payments, claims, contacts, transactions),
    /// keeping the clients, their ids and a flat table: for a run that has taken its
    /// point-in-time snapshots and needs the memory for what follows.
    pub fn release_events(&mut self) {
        self.tables.retain(|source, _| *source == Source::Clients);
    }

    /// Frees the sources a run no longer reads once the point-in-time features are
    /// computed (`Source::rules().read_for`): a labeling run keeps those that tell the
    /// lapse outcome (`outcomes`, for the previous run's realised outcomes); training
    /// took its labels with the snapshots. A 1M-client book's 30M payment and contact
    /// rows are then freed before the labels are made.
    pub fn release_after_features(&mut self, outcomes: bool) {
        self.tables
            .retain(|source, _| match source.rules().read_for {
                ReadFor::Everything => true,
                ReadFor::Outcomes => outcomes,
                ReadFor::Features => false,
            });
    }
}

/// The result of loading: the book, the report, the quarantined rows and the cleaning
/// statistics that were applied (fitted here, or the stored ones passed in).
#[derive(Debug)]
pub struct Loaded {
    pub book: Book,
    pub report: QualityReport,
    pub quarantine: Vec<QuarantinedRow>,
    pub cleaning: CleaningStats,
    /// Columns of the sources that the contract does not use (ignored when reading), as
    /// (source, column) pairs, read from the headers loading read: reported, so a
    /// renamed column is not missed silently.
    pub unused_columns: Vec<(Source, String)>,
    max_invalid_percent: f64,
}

impl Loaded {
    /// Fails when a source has more invalid rows than the configured threshold. Call it
    /// after the report and the quarantine file are written, so the user can inspect them.
    pub fn check_thresholds(&self) -> Result<()> {
        self.report.check_thresholds(self.max_invalid_percent)
    }
}

/// The columns of tables held in memory that the contract does not use (as
/// `Loaded::unused_columns`), each source with its columns.
///
/// # Errors
/// A table without a column the contract requires.
pub fn unused_columns_in(
    config: &Config,
    tables: &[(Source, Vec<String>)],
) -> Result<Vec<(Source, String)>> {
    let mut out = Vec::new();
    if config.mode == Mode::Flat {
        return Ok(out);
    }
    for (source, found) in tables {
        let path = frame_name(*source);
        out.extend(unused_of(
            *source,
            &path,
            found,
            &config.source_config(*source),
        )?);
    }
    Ok(out)
}

/// The column holding the client id in each table, as loading resolves it, after
/// checking that each table has every column the contract requires (the loader's own
/// error otherwise). For splitting tables by client before they are loaded.
///
/// # Errors
/// A missing required column, or a flat config numbering rows (`id = "row"`), which a
/// table without a row order cannot split.
pub fn id_columns_in(
    config: &Config,
    tables: &[(Source, Vec<String>)],
) -> Result<Vec<(Source, String)>> {
    let mut out = Vec::new();
    for (source, found) in tables {
        let path = frame_name(*source);
        let id = if *source == Source::Flat {
            let cfg = config.flat.as_ref().ok_or_else(|| {
                Error::InvalidParameter("a flat table needs a flat-mode config".into())
            })?;
            if cfg.id == ROW_IDS && find_column(found, ROW_IDS).is_none() {
                return Err(Error::InvalidParameter(format!(
                    "[flat] id = \"{ROW_IDS}\" numbers the rows of a file; a table split across \
                     machines has no row order: name a client id column"
                )));
            }
            find_column(found, &cfg.id)
        } else {
            column_requests_in(*source, &path, found, &config.source_config(*source))?
                .into_iter()
                .find(|r| r.field == "client_id")
                .map(|r| r.column)
        };
        let id = id.ok_or_else(|| Error::MissingColumns {
            path: path.clone(),
            source_name: source.name().to_string(),
            missing: vec!["client_id".into()],
            found: found.clone(),
        })?;
        out.push((*source, id));
    }
    Ok(out)
}

fn unused_of(
    source: Source,
    path: &Path,
    found: &[String],
    sc: &SourceConfig,
) -> Result<Vec<(Source, String)>> {
    let requests = column_requests_in(source, path, found, sc)?;
    Ok(unused_in(source, found, &requests))
}

/// The columns of `found` that no request reads (a split part's row column aside).
fn unused_in(
    source: Source,
    found: &[String],
    requests: &[ColumnRequest],
) -> Vec<(Source, String)> {
    found
        .iter()
        .filter(|name| !requests.iter().any(|r| &r.column == *name) && *name != read::ROW_COLUMN)
        .map(|name| (source, name.clone()))
        .collect()
}

pub(crate) fn column_requests(
    source: Source,
    path: &Path,
    sc: &SourceConfig,
) -> Result<Vec<ColumnRequest>> {
    column_requests_in(source, path, &read::column_names(path)?, sc)
}

/// `column_requests` for a table named `path` whose columns are `found`.
fn column_requests_in(
    source: Source,
    path: &Path,
    found: &[String],
    sc: &SourceConfig,
) -> Result<Vec<ColumnRequest>> {
    let found = found.to_vec();
    let find = |name: &str| find_column(&found, name);
    let mut requests = Vec::new();
    let mut missing = Vec::new();
    for field in source.fields() {
        if let Some(mapped) = sc.columns.get(field.name) {
            let column = find(mapped).ok_or_else(|| Error::ConfiguredColumnAbsent {
                path: path.to_path_buf(),
                field: field.name.to_string(),
                column: mapped.clone(),
                found: found.clone(),
            })?;
            requests.push(ColumnRequest {
                field: field.name.into(),
                column,
                kind: field.kind,
            });
        } else if let Some(column) = find(field.name) {
            requests.push(ColumnRequest {
                field: field.name.into(),
                column,
                kind: field.kind,
            });
        } else if field.required {
            missing.push(field.name.to_string());
        }
    }
    for (i, r) in requests.iter().enumerate() {
        if let Some(other) = requests[..i].iter().find(|o| o.column == r.column) {
            return Err(Error::Malformed {
                path: path.to_path_buf(),
                message: format!(
                    "fields '{}' and '{}' of source '{source}' both read column '{}': map each \
                     field to its own column in [sources.{source}.columns]",
                    other.field, r.field, r.column
                ),
            });
        }
    }
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            path: path.to_path_buf(),
            source_name: source.name().into(),
            missing,
            found,
        });
    }
    Ok(requests)
}

/// The file's column for a contract or config name: the exact name, else the one that
/// matches ignoring case and surrounding spaces.
fn find_column(found: &[String], name: &str) -> Option<String> {
    found
        .iter()
        .find(|c| *c == name)
        .or_else(|| {
            found
                .iter()
                .find(|c| c.trim().eq_ignore_ascii_case(name.trim()))
        })
        .cloned()
}

fn kinds(requests: &[ColumnRequest]) -> Vec<(String, Kind)> {
    requests.iter().map(|r| (r.field.clone(), r.kind)).collect()
}

fn required_fields(source: Source) -> Vec<&'static str> {
    source
        .fields()
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect()
}

/// Loads and cleans the data a config describes from files under `data_dir`.
///
/// `fitted` holds cleaning statistics from a trained model: when given they are applied
/// unchanged; otherwise they are fitted on this book.
///
/// # Errors
/// Bad input (missing files or columns, unparsable values, conflicting duplicates, a
/// non-binary label) as `Error` variants with `is_bad_input() == true`.
pub fn load(
    config: &Config,
    data_dir: &Path,
    opts: &LoadOptions,
    fitted: Option<&CleaningStats>,
) -> Result<Loaded> {
    let files = SourceFiles::resolve(config, data_dir)?;
    load_from(config, Input::Files(&files), opts, fitted)
}

/// Loads and cleans a book from files or from tables in memory: the same mapping,
/// parsing, cleaning and linking either way.
///
/// ```
/// use clientele::ingest::{load_from, Frames, Input, LoadOptions};
/// use clientele::schema::Source;
/// use clientele::{Config, Date};
/// use polars::prelude::*;
///
/// let clients = df!("client_id" => ["C1", "C2"], "age" => [41.0, 35.0])?;
/// let policies = df!(
///     "policy_id" => ["P1", "P2"],
///     "client_id" => ["C1", "C2"],
///     "product" => ["term_life", "medical"],
///     "start_date" => ["2020-01-15", "2025-06-01"],
///     "annual_premium" => [1200.0, 800.0],
/// )?;
/// let frames = Frames::new()
///     .with(Source::Clients, clients)
///     .with(Source::Policies, policies);
/// let config = Config::default();
/// let mut opts = LoadOptions::from_config(&config, false);
/// opts.extract_date = Date::parse("2026-09-30").unwrap();
/// let loaded = load_from(&config, Input::Frames(&frames), &opts, None)?;
/// assert_eq!(loaded.book.client_ids, ["C1", "C2"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As `load`, naming the frame (`<clients table>`) where a file would be named.
pub fn load_from(
    config: &Config,
    input: Input,
    opts: &LoadOptions,
    fitted: Option<&CleaningStats>,
) -> Result<Loaded> {
    load_with(config, input, opts, fitted, &mut KeepAll)
}

/// `load_from`, handing each event source's cleaned, linked table to `sink` before the
/// next source is read; the book keeps the table or frees its rows as `sink` says
/// (`Book::released`). The quality report and quarantine are those of `load_from`.
///
/// # Errors
/// As `load_from`, and `sink`'s own.
pub fn load_with(
    config: &Config,
    input: Input,
    opts: &LoadOptions,
    fitted: Option<&CleaningStats>,
    sink: &mut dyn LinkedSink,
) -> Result<Loaded> {
    let mut ctx = Loading {
        opts,
        fit: fitted.is_none(),
        stats: fitted.cloned().unwrap_or_default(),
        report: QualityReport {
            extract_date: opts.extract_date.to_string(),
            ..QualityReport::default()
        },
        quarantine: Vec::new(),
        unused: Vec::new(),
    };
    let book = match config.mode {
        Mode::Flat => {
            let flat_cfg = config.flat.as_ref().ok_or_else(|| Error::Config {
                path: config.origin.clone().unwrap_or_default(),
                message: "mode = \"flat\" needs a [flat] section".into(),
            })?;
            load_flat(flat_cfg, input, &mut ctx)?
        }
        Mode::Relational | Mode::Transactions => load_relational(config, input, &mut ctx, sink)?,
    };
    ctx.report.clients = book.n_clients();
    Ok(Loaded {
        book,
        report: ctx.report,
        quarantine: ctx.quarantine,
        unused_columns: ctx.unused,
        cleaning: ctx.stats,
        max_invalid_percent: opts.max_invalid_percent,
    })
}

/// What loading one book accumulates: the cleaning statistics (fitted here when `fit`),
/// the quality report and the quarantined rows.
struct Loading<'a> {
    opts: &'a LoadOptions,
    fit: bool,
    stats: CleaningStats,
    report: QualityReport,
    quarantine: Vec<QuarantinedRow>,
    unused: Vec<(Source, String)>,
}

/// The source tables of a relational or transactions book, read one at a time on
/// request (each with its category spellings normalised and exact duplicates dropped).
/// Every header is checked up front, so a missing column stops the run before any
/// large file is read.
struct SourceReader<'a> {
    config: &'a Config,
    pending: Vec<(input::SourceTable<'a>, Vec<ColumnRequest>)>,
    read: HashMap<Source, (Table, SourceQuality)>,
    progress: crate::progress::Stage,
}

impl<'a> SourceReader<'a> {
    /// Also adds each source's unused columns to `unused`.
    fn new(
        config: &'a Config,
        input: Input<'a>,
        unused: &mut Vec<(Source, String)>,
    ) -> Result<Self> {
        let sources = input.sources(config)?;
        let progress = crate::progress::Stage::new("reading", sources.len() as u64);
        let pending = sources
            .into_iter()
            .map(|st| {
                let found = st.column_names()?;
                let requests = column_requests_in(st.source, &st.shown, &found, &st.config)?;
                unused.extend(unused_in(st.source, &found, &requests));
                Ok((st, requests))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SourceReader {
            config,
            pending,
            read: HashMap::new(),
            progress,
        })
    }

    fn has(&self, source: Source) -> bool {
        self.read.contains_key(&source) || self.pending.iter().any(|(st, _)| st.source == source)
    }

    /// The source's table, read now unless `read_all` already did; `None` when the book
    /// has no such source.
    fn take(&mut self, source: Source) -> Result<Option<(Table, SourceQuality)>> {
        if let Some(done) = self.read.remove(&source) {
            return Ok(Some(done));
        }
        let Some(at) = self.pending.iter().position(|(st, _)| st.source == source) else {
            return Ok(None);
        };
        let (st, requests) = self.pending.remove(at);
        self.read_one(&st, &requests).map(Some)
    }

    /// Reads every source still pending; returns every client id they mention, sorted.
    fn read_all(&mut self) -> Result<Vec<String>> {
        for (st, requests) in std::mem::take(&mut self.pending) {
            let done = self.read_one(&st, &requests)?;
            self.read.insert(st.source, done);
        }
        let mut all: Vec<String> = self
            .read
            .values()
            .filter_map(|(t, _)| t.coded("client_id"))
            .flat_map(|c| c.levels.iter().map(str::to_string))
            .collect();
        all.sort();
        all.dedup();
        Ok(all)
    }

    fn read_one(
        &self,
        st: &input::SourceTable,
        requests: &[ColumnRequest],
    ) -> Result<(Table, SourceQuality)> {
        self.progress.message(&format!("{}", st.shown.display()));
        let name = st.source.name();
        let mut table = crate::progress::timed(&format!("read {name}"), || st.read(requests))?;
        let mut q = SourceQuality::new(st.source, &st.shown, table.len());
        let k = kinds(requests);
        crate::progress::timed(&format!("categories {name}"), || {
            clean::normalise_categories(&mut table, &k, &self.config.aliases, &mut q)
        });
        crate::progress::timed(&format!("duplicates {name}"), || {
            clean::drop_exact_duplicates(&mut table, &mut q)
        });
        self.progress.inc();
        Ok((table, q))
    }

    fn finish(self) {
        self.progress.finish();
    }
}

/// The rules that quarantine a row of one event source, or null a value that has not
/// happened yet, as the source's description states them (`Source::rules`).
fn flag_source_rules(
    source: Source,
    t: &mut Table,
    q: &mut SourceQuality,
    extract: Date,
    v: &mut Verdicts,
) {
    let rules = source.rules();
    clean::flag_negative(t, rules.not_negative, v);
    if let Some((start, end)) = rules.ordered_dates {
        if let (Some(start), Some(end)) = (t.dates(start), t.dates(end)) {
            for (i, (s, e)) in start.iter().zip(end).enumerate() {
                if let (Some(s), Some(e)) = (s, e) {
                    if e < s {
                        v.flag(i, || "end before start".into());
                    }
                }
            }
        }
    }
    clean::flag_future(t, rules.not_after_extract, extract, v);
    if let Some(field) = rules.may_be_scheduled {
        let earliest = Date::from_ymd(1900, 1, 1).unwrap_or(Date::from_days(-25_567));
        clean::null_dates_outside(t, field, earliest, extract, q);
    }
}

/// What an event source's rows are checked and linked against.
struct Links<'a> {
    extract: Date,
    /// Client id -> client index.
    clients: &'a clean::IdIndex<'a>,
    /// A clients table exists: an id it does not hold is an unknown client.
    authoritative: bool,
}

impl Links<'_> {
    /// Quarantines the invalid rows of an event source, links the rest to their client
    /// and (except policies themselves) their policy, and adds the source to the report.
    fn check(
        &self,
        source: Source,
        mut t: Table,
        mut q: SourceQuality,
        policy_rows: Option<&clean::IdIndex>,
        ctx: &mut Loading,
    ) -> Table {
        crate::progress::timed(&format!("rules {}", source.name()), || {
            let mut v = Verdicts::new(t.len());
            clean::flag_missing(&t, &required_fields(source), &mut v);
            clean::flag_out_of_scale(&t, &mut v);
            flag_source_rules(source, &mut t, &mut q, self.extract, &mut v);
            clean::link_clients(&mut t, self.clients, self.authoritative, &mut v);
            match source.rules().defines {
                Some(id) => clean::flag_repeated(&t, id, &mut v),
                None => clean::link_policies(&mut t, policy_rows, &mut v),
            }
            v.apply(&mut t, &mut q, &mut ctx.quarantine);
            clean::count_missing(&t, &mut q);
        });
        ctx.report.sources.push(q);
        t
    }
}

/// Cleans the clients table: quarantines rows without an id, refuses conflicting
/// duplicates, nulls impossible attributes, and imputes and caps numeric attributes with
/// the fitted statistics (fitted here when training).
fn clean_clients(
    mut t: Table,
    mut q: SourceQuality,
    ctx: &mut Loading,
) -> Result<(Table, SourceQuality)> {
    let opts = ctx.opts;
    let mut v = Verdicts::new(t.len());
    clean::unique_ids(&t, &mut v, "client_id")?;
    v.apply(&mut t, &mut q, &mut ctx.quarantine);
    let earliest = Date::from_ymd(1900, 1, 1).unwrap_or(Date::from_days(-25_567));
    clean::null_out_of_range(&mut t, "age", 0.0, 120.0, &mut q);
    clean::null_out_of_range(&mut t, "dependents", 0.0, 20.0, &mut q);
    clean::null_out_of_range(&mut t, "annual_income", 0.0, clean::MAX_MAGNITUDE, &mut q);
    clean::null_dates_outside(&mut t, "birth_date", earliest, opts.extract_date, &mut q);
    clean::null_dates_outside(
        &mut t,
        "first_known_date",
        earliest,
        opts.extract_date,
        &mut q,
    );
    clean::count_missing(&t, &mut q);
    if ctx.fit {
        ctx.stats.fit(&t, CLIENT_NUMERIC, opts.outlier_quantile);
    }
    ctx.stats.apply(&mut t, &mut q);
    t.client = (0..t.len() as u32).collect();
    Ok((t, q))
}

fn load_relational(
    config: &Config,
    input: Input,
    ctx: &mut Loading,
    sink: &mut dyn LinkedSink,
) -> Result<Book> {
    let mut sources = SourceReader::new(config, input, &mut ctx.unused)?;
    let extract = ctx.opts.extract_date;

    // Clients first: they define who is known.
    let mut client_ids: Vec<String> = Vec::new();
    let mut held = Held::new(config.mode);
    let authoritative = sources.has(Source::Clients);
    if let Some((t, q)) = sources.take(Source::Clients)? {
        let (t, q) = clean_clients(t, q, ctx)?;
        if let Some(ids) = t.coded("client_id") {
            client_ids = (0..t.len())
                .map(|i| ids.get(i).unwrap_or_default().to_string())
                .collect();
        }
        ctx.report.sources.push(q);
        held.tables.insert(Source::Clients, t);
    } else {
        // No clients table: everyone who appears anywhere is a client, so every source
        // is read before any is linked.
        client_ids = sources.read_all()?;
    }
    let client_index = clean::IdIndex::of_list(&client_ids);
    let links = Links {
        extract,
        clients: &client_index,
        authoritative,
    };

    // Each source is read, checked, linked and stripped of its id columns, then handed
    // to `sink`, before the next is read: peak memory is the linked book kept so far
    // plus one source as read. A source that defines an id (the policies) comes before
    // those that link to it.
    let (defining, linking): (Vec<Source>, Vec<Source>) = config
        .mode
        .sources()
        .iter()
        .filter(|&&s| s != Source::Clients)
        .partition(|s| s.rules().defines.is_some());
    let mut policy_ids = None;
    for source in defining {
        let Some((t, q)) = sources.take(source)? else {
            continue;
        };
        let mut t = links.check(source, t, q, None, ctx);
        // Other sources' rows link to their policy (`Table::policy`) by this id.
        if source.rules().defines == Some("policy_id") {
            policy_ids = t.take_coded("policy_id");
        }
        t.drop_identifiers();
        held.hand_on(source, t, client_ids.len(), sink)?;
    }
    let policy_rows = policy_ids.as_ref().map(clean::IdIndex::of_column);
    for source in linking {
        let Some((t, q)) = sources.take(source)? else {
            continue;
        };
        let mut t = links.check(source, t, q, policy_rows.as_ref(), ctx);
        t.drop_identifiers();
        held.hand_on(source, t, client_ids.len(), sink)?;
    }
    sources.finish();
    Ok(Book {
        mode: config.mode,
        extract_date: extract,
        client_ids,
        tables: held.tables,
        released: held.released,
        flat: None,
    })
}

/// The tables a load keeps, the sources it released and the last date read so far.
struct Held {
    mode: Mode,
    tables: std::collections::BTreeMap<Source, Table>,
    released: std::collections::BTreeMap<Source, Option<Date>>,
    data_end: Option<Date>,
}

impl Held {
    fn new(mode: Mode) -> Self {
        Held {
            mode,
            tables: Default::default(),
            released: Default::default(),
            data_end: None,
        }
    }

    /// Hands a linked table to `sink`, then keeps it or frees its rows.
    fn hand_on(
        &mut self,
        source: Source,
        t: Table,
        n_clients: usize,
        sink: &mut dyn LinkedSink,
    ) -> Result<()> {
        let end = last_date(source, &t);
        self.data_end = self.data_end.max(end);
        let keep = sink.linked(LinkedTable {
            mode: self.mode,
            source,
            table: &t,
            n_clients,
            earlier: &self.tables,
            data_end: self.data_end,
        })?;
        match keep {
            Keep::Table => {
                self.tables.insert(source, t);
            }
            Keep::Release => {
                self.released.insert(source, end);
            }
        }
        Ok(())
    }
}

/// Label spellings understood without configuration, positive first.
const LABEL_PAIRS: &[(&str, &str)] = &[
    ("1", "0"),
    ("yes", "no"),
    ("true", "false"),
    ("y", "n"),
    ("1.0", "0.0"),
];

fn load_flat(cfg: &FlatConfig, input: Input, ctx: &mut Loading) -> Result<Book> {
    let st = input.flat(cfg)?;
    let path = st.shown.clone();
    let label_column = cfg.label.clone().filter(|_| ctx.opts.require_label);
    if ctx.opts.require_label && label_column.is_none() {
        return Err(Error::Config {
            path: path.clone(),
            message: "training in flat mode needs [flat] label = \"<column>\"".into(),
        });
    }
    let found = st.column_names()?;
    // `id = "row"` on a file without a `row` column: ids are the data row numbers.
    let row_ids = cfg.id == ROW_IDS && find_column(&found, ROW_IDS).is_none();
    let numeric = flat_numeric_columns(cfg, &path, &found)?;
    let requests = flat_requests(
        cfg,
        &numeric,
        label_column.as_deref(),
        &path,
        &found,
        row_ids,
    )?;
    let mut t = st
        .read(&requests)
        .map_err(|e| explain_remaining(e, cfg, &numeric))?;
    let mut q = SourceQuality::new(Source::Flat, &path, t.len());
    clean::normalise_categories(
        &mut t,
        &kinds(&requests),
        &HashMap::new().into_iter().collect(),
        &mut q,
    );
    clean::drop_exact_duplicates(&mut t, &mut q);
    if row_ids {
        insert_row_ids(&mut t);
    }
    let mut v = Verdicts::new(t.len());
    clean::unique_ids(&t, &mut v, "client_id")?;
    if label_column.is_some() {
        clean::flag_missing(&t, &[LABEL_FIELD], &mut v);
    }
    clean::flag_out_of_scale(&t, &mut v);
    v.apply(&mut t, &mut q, &mut ctx.quarantine);

    let label = match &label_column {
        None => None,
        Some(column) => Some(parse_label(&t, &path, column, cfg.positive.as_deref())?),
    };
    let numeric_fields: Vec<&str> = numeric.iter().map(String::as_str).collect();
    clean::count_missing(&t, &mut q);
    if ctx.fit {
        ctx.stats
            .fit(&t, &numeric_fields, ctx.opts.outlier_quantile);
    }
    ctx.stats.apply(&mut t, &mut q);
    let client_ids = match t.coded("client_id") {
        Some(ids) => (0..t.len())
            .map(|i| ids.get(i).unwrap_or_default().to_string())
            .collect(),
        None => Vec::new(),
    };
    ctx.report.sources.push(q);
    Ok(Book {
        mode: Mode::Flat,
        extract_date: ctx.opts.extract_date,
        client_ids,
        tables: Default::default(),
        released: Default::default(),
        flat: Some(FlatBook {
            table: t,
            numeric,
            categorical: cfg.categorical.clone(),
            label,
        }),
    })
}

/// Gives every row of a table without ids the id `row-<data row number>` (after
/// duplicates are dropped, so an exact repeat is still found).
fn insert_row_ids(t: &mut Table) {
    let mut ids = Coded::with_capacity(t.len());
    for r in &t.rows {
        ids.push(&format!("row-{r}"));
    }
    ids.freeze();
    t.insert("client_id", ROW_IDS, Values::Coded(ids));
}

/// The flat table's numeric features: the listed columns, or with `numeric = "*"` every
/// column of the header (in its order) that is not the id, the label (whether or not
/// this run reads it), a categorical feature or excluded. An excluded column the file
/// does not have is named, as a misspelling would be.
fn flat_numeric_columns(cfg: &FlatConfig, path: &Path, found: &[String]) -> Result<Vec<String>> {
    if let NumericColumns::Listed(columns) = &cfg.numeric {
        return Ok(columns.clone());
    }
    let absent = |field: &str, column: &str| Error::ConfiguredColumnAbsent {
        path: path.to_path_buf(),
        field: field.into(),
        column: column.into(),
        found: found.to_vec(),
    };
    let mut taken: Vec<String> = Vec::new();
    for column in &cfg.exclude {
        taken.push(find_column(found, column).ok_or_else(|| absent("exclude", column))?);
    }
    let others = [Some(&cfg.id), cfg.label.as_ref()];
    taken.extend(
        others
            .into_iter()
            .flatten()
            .chain(&cfg.categorical)
            .filter_map(|c| find_column(found, c)),
    );
    let numeric: Vec<String> = found
        .iter()
        .filter(|c| !taken.contains(c) && c.as_str() != read::ROW_COLUMN)
        .map(|c| c.trim().to_string())
        .collect();
    if numeric.is_empty() && cfg.categorical.is_empty() {
        return Err(Error::NoData(format!(
            "{}: numeric = \"*\" leaves no feature column (the file has {found:?})",
            path.display()
        )));
    }
    Ok(numeric)
}

/// A bad number in a column that `numeric = "*"` took as a feature: say how to leave it
/// out, since the user never named the column.
fn explain_remaining(e: Error, cfg: &FlatConfig, numeric: &[String]) -> Error {
    match e {
        Error::BadValue {
            path,
            row,
            column,
            expected,
            value,
        } if cfg.numeric == NumericColumns::Remaining && numeric.contains(&column) => {
            Error::BadValue {
                path,
                row,
                expected: format!(
                    "{expected} (numeric = \"*\" took '{column}' as a numeric feature; \
                     list it under categorical = [...] or exclude = [...])"
                ),
                column,
                value,
            }
        }
        e => e,
    }
}

/// The flat table's columns to read: the id, the declared features and (training) the
/// label, each matched to the table's own column name.
fn flat_requests(
    cfg: &FlatConfig,
    numeric: &[String],
    label_column: Option<&str>,
    path: &Path,
    found: &[String],
    row_ids: bool,
) -> Result<Vec<ColumnRequest>> {
    let request = |field: &str, column: &str, kind| ColumnRequest {
        field: field.into(),
        column: column.into(),
        kind,
    };
    let mut requests = if row_ids {
        Vec::new()
    } else {
        vec![request("client_id", &cfg.id, Kind::Id)]
    };
    requests.extend(numeric.iter().map(|c| request(c, c, Kind::Number)));
    requests.extend(
        cfg.categorical
            .iter()
            .map(|c| request(c, c, Kind::Category)),
    );
    requests.extend(label_column.map(|l| request(LABEL_FIELD, l, Kind::Id)));
    for r in &mut requests {
        r.column = find_column(found, &r.column).ok_or_else(|| Error::ConfiguredColumnAbsent {
            path: path.to_path_buf(),
            field: if r.field == LABEL_FIELD {
                "label".into()
            } else {
                r.field.clone()
            },
            column: r.column.clone(),
            found: found.to_vec(),
        })?;
    }
    Ok(requests)
}

fn parse_label(t: &Table, path: &Path, column: &str, positive: Option<&str>) -> Result<Vec<bool>> {
    let Some(raw) = t.coded(LABEL_FIELD) else {
        return Ok(Vec::new());
    };
    let mut values: Vec<String> = raw.levels.iter().map(normalise_spelling).collect();
    values.sort();
    values.dedup();
    if values.len() > 2 {
        return Err(Error::LabelNotBinary {
            path: path.to_path_buf(),
            column: column.to_string(),
            values,
        });
    }
    let positive = match positive {
        Some(p) => normalise_spelling(p),
        None => LABEL_PAIRS
            .iter()
            .find(|(pos, neg)| values.iter().all(|v| v == pos || v == neg))
            .map(|(pos, _)| (*pos).to_string())
            .ok_or_else(|| Error::LabelPositiveAbsent {
                path: path.to_path_buf(),
                column: column.to_string(),
                positive: "(not configured: set [flat] positive = \"...\")".into(),
                values: values.clone(),
            })?,
    };
    if !values.contains(&positive) && values.len() == 2 {
        return Err(Error::LabelPositiveAbsent {
            path: path.to_path_buf(),
            column: column.to_string(),
            positive,
            values,
        });
    }
    Ok((0..t.len())
        .map(|i| {
            raw.get(i)
                .map(normalise_spelling)
                .is_some_and(|v| v == positive)
        })
        .collect())
}
