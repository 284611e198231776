//! Training on a book split by client hash (the parts are held elsewhere: Spark
//! executors), in two passes over the parts and one fit on a sample:
//!
//! 1. each part reports its `PartFacts`: its client count, the span of its dated records,
//!    the categorical traits it has, and the values the cleaning statistics are fitted
//!    on for its sampled clients; `TrainPlan::of` merges them into the run's cut-off,
//!    label window and cleaning statistics, as the CLI would choose them for the book;
//! 2. each part loads its records with the plan's cleaning statistics and computes every
//!    client's point-in-time features and labels at the cut-off and at the out-of-time
//!    cut-off (`part_rows`: one row per client in force at either, no record);
//! 3. a sample of those rows is fitted (`fit_sampled`) by the CLI's code (`fit_input`).
//!
//! With every client sampled, every statistic is fitted on what the CLI fits it on, and
//! the rows come back in the book's client order, so the bundle is the CLI's.

use super::fit::{self, choose_cutoff_in, DataSpan, FitInput, Snapshot};
pub use super::part_lifecycle::PartLifecycleInputs;
use super::{FitOptions, Fitted};
use crate::bundle::Located;
use crate::config::{Config, Mode};
use crate::date::{Date, DateChoice};
use crate::error::{Error, Result};
use crate::features::{self, Label, RawFeatures};
use crate::ingest::{
    load_from, CleaningStats, Coded, Frames, Input, LoadOptions, QualityReport, CLIENT_NUMERIC,
};
use crate::schema::Source;
use polars::prelude::{Column, DataFrame, DataType};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Clients are sampled by their hash modulo this many slots.
pub const SAMPLE_SLOTS: u64 = 1 << 20;

/// A sample of clients by the seeded client hash: a client is in it when its slot,
/// shifted by the seed, falls below `keep`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSample {
    keep: u64,
    offset: u64,
}

impl ClientSample {
    /// About `sample` of `clients` clients (all when `sample` is `None` or covers them).
    pub fn new(sample: Option<u64>, clients: u64, seed: u64) -> Self {
        let keep = sample.map_or(SAMPLE_SLOTS, |s| {
            (SAMPLE_SLOTS * s)
                .div_ceil(clients.max(1))
                .min(SAMPLE_SLOTS)
        });
        ClientSample {
            keep,
            offset: seed.wrapping_mul(0x9E37_79B1) % SAMPLE_SLOTS,
        }
    }

    /// The client's slot after the seed's shift: clients are sampled from slot 0 up.
    pub fn slot(&self, id: &str) -> u64 {
        let slot = crate::ingest::partition::part_of(id, SAMPLE_SLOTS as usize) as u64;
        (slot + self.offset) % SAMPLE_SLOTS
    }

    pub fn contains(&self, id: &str) -> bool {
        self.slot(id) < self.keep
    }
}

/// What one part tells about the book before any feature is computed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PartFacts {
    pub clients: usize,
    pub span: DataSpan,
    /// The categorical traits the part's clients table has.
    pub categorical: BTreeSet<String>,
    /// The values the cleaning statistics are fitted on (after the row rules, before
    /// imputation and caps), of the part's sampled clients, by `source.field`.
    pub cleaning_values: BTreeMap<String, Vec<f64>>,
    /// Policies per product (the next-best product models are ranked on the sum).
    #[serde(default)]
    pub products: BTreeMap<String, usize>,
}

/// Pass 1 on one part: loads it (every check of the CLI's loading applies) and reports
/// its facts.
///
/// # Errors
/// The part's bad input, as loading it with the CLI would report it.
pub fn part_facts(config: &Config, frames: &Frames, sample: &ClientSample) -> Result<PartFacts> {
    part_facts_of(config, Input::Frames(frames), sample)
}

/// `part_facts` of a part held as files or frames.
///
/// # Errors
/// As `part_facts`.
pub fn part_facts_of(config: &Config, input: Input, sample: &ClientSample) -> Result<PartFacts> {
    check_mode(config)?;
    let opts = LoadOptions::from_config(config, true);
    // Empty statistics: nothing is imputed or capped, so the values are those the CLI
    // fits its statistics on.
    let unfitted = CleaningStats::default();
    let loaded = load_from(config, input, &opts, Some(&unfitted))?;
    let book = &loaded.book;
    let mut cleaning_values = BTreeMap::new();
    let mut categorical = BTreeSet::new();
    if let Some(clients) = book.table(Source::Clients) {
        let sampled: Vec<usize> = (0..clients.len())
            .filter(|&i| book.client_ids.get(i).is_some_and(|id| sample.contains(id)))
            .collect();
        for field in CLIENT_NUMERIC {
            if let Some(values) = clients.numbers(field) {
                let kept = sampled
                    .iter()
                    .filter_map(|&i| values.get(i).copied())
                    .filter(|x| x.is_finite())
                    .collect();
                cleaning_values.insert(format!("{}.{field}", Source::Clients.name()), kept);
            }
        }
        for (name, col) in features::categorical_columns(book) {
            if col.is_some() {
                categorical.insert(name);
            }
        }
    }
    Ok(PartFacts {
        clients: book.n_clients(),
        span: DataSpan::of(book),
        categorical,
        cleaning_values,
        products: crate::features::products::product_counts(book),
    })
}

fn check_mode(config: &Config) -> Result<()> {
    if config.mode == Mode::Flat {
        return Err(Error::InvalidParameter(
            "a flat table is already one row per client: train on a sample of its rows".into(),
        ));
    }
    Ok(())
}

/// The run's choices for the whole book, made from every part's facts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainPlan {
    pub mode: Mode,
    pub clients: usize,
    pub cutoff: Date,
    pub cutoff_why: String,
    pub horizon_months: i32,
    /// Where the lapse label's window ends (the book's last full month).
    pub label_end: Date,
    pub categorical: BTreeSet<String>,
    pub cleaning: CleaningStats,
    /// The products that get a next-best product model, as `features::products::ranked`.
    #[serde(default)]
    pub products: Vec<String>,
}

impl TrainPlan {
    /// The cut-off and cleaning statistics the CLI would choose for the book the parts
    /// make up (the cleaning statistics from the sampled clients' values).
    ///
    /// # Errors
    /// A flat config, or a cut-off outside the data (as `choose_cutoff`).
    pub fn of(
        config: &Config,
        parts: impl IntoIterator<Item = PartFacts>,
        as_of: Option<Date>,
        horizon_months: i32,
    ) -> Result<Self> {
        check_mode(config)?;
        let mut clients = 0;
        let mut span = DataSpan::default();
        let mut categorical = BTreeSet::new();
        let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut products: BTreeMap<String, usize> = BTreeMap::new();
        for part in parts {
            for (name, n) in part.products {
                *products.entry(name).or_default() += n;
            }
            clients += part.clients;
            span = span.merge(part.span);
            categorical.extend(part.categorical);
            for (key, v) in part.cleaning_values {
                values.entry(key).or_default().extend(v);
            }
        }
        let mut cleaning = CleaningStats::default();
        for (key, v) in values {
            cleaning.fit_values(key, v, config.cleaning.outlier_quantile);
        }
        let extract = config.extract_date();
        let DateChoice { date, why } =
            choose_cutoff_in(config.mode, extract, span, as_of, horizon_months)?;
        Ok(TrainPlan {
            mode: config.mode,
            clients,
            cutoff: date,
            cutoff_why: why,
            horizon_months,
            label_end: fit::label_end_in(config.mode, span.last, date, horizon_months),
            categorical,
            cleaning,
            products: if config.mode == Mode::Relational {
                crate::features::products::ranked(&products)
            } else {
                Vec::new()
            },
        })
    }

    /// The out-of-time check's fit cut-off.
    pub fn early_cutoff(&self) -> Date {
        self.cutoff.month_end_offset(-self.horizon_months)
    }

    fn numeric(&self) -> &'static [features::Feature] {
        features::Feature::catalogue(self.mode)
    }

    fn categorical(&self) -> impl Iterator<Item = &'static str> + '_ {
        features::CATEGORICAL
            .iter()
            .copied()
            .filter(|c| self.mode == Mode::Relational && self.categorical.contains(*c))
    }
}

// Columns of the rows `part_rows` gives.
const ID: &str = "client_id";
/// The client's slot of the seeded hash at `SAMPLE_SLOTS`, for sampling.
pub const SLOT: &str = "__slot";
/// 0 lapsed, 1 stayed, 2 in force but unlabelled at the cut-off, 3 in force only at the
/// out-of-time cut-off: samples are drawn in proportion within each.
pub const STRATUM: &str = "__stratum";
const ACTIVE: &str = "active";
const LABEL: &str = "label";
const EARLY_ACTIVE: &str = "early_active";
const EARLY_LABEL: &str = "early_label";
/// Each client's exits within the horizon from the cut-off (`features::exit_kinds`).
const EXITS: &str = "exits";
/// Products held at the cut-off and acquired within the horizon, as bit masks in the
/// plan's product order (Int64 carries the 64 bits).
const HELD: &str = "__held";
const ACQUIRED: &str = "__acquired";

fn at_cutoff(name: &str) -> String {
    format!("x:{name}")
}
fn at_early(name: &str) -> String {
    format!("e:{name}")
}
fn trait_column(name: &str) -> String {
    format!("c:{name}")
}

fn label_code(l: Label) -> i32 {
    match l {
        Label::Excluded => 0,
        Label::Stayed => 1,
        Label::Lapsed => 2,
    }
}

fn label_of(code: i32) -> Option<Label> {
    match code {
        0 => Some(Label::Excluded),
        1 => Some(Label::Stayed),
        2 => Some(Label::Lapsed),
        _ => None,
    }
}

/// Pass 2 on one part: loads it with the plan's cleaning statistics and gives one row
/// per client in force at the cut-off or the out-of-time cut-off (features, labels and
/// traits at both, in the part's client order), with the part's data-quality report.
///
/// # Errors
/// The part's bad input; a plan of another mode.
pub fn part_rows(
    config: &Config,
    frames: &Frames,
    plan: &TrainPlan,
    sample: &ClientSample,
) -> Result<(DataFrame, QualityReport)> {
    let part = part_rows_of(config, Input::Frames(frames), plan, sample)?;
    Ok((part.rows, part.quality))
}

/// A part's training rows (`part_rows`) with what loading it set aside.
pub struct PartRows {
    pub rows: DataFrame,
    pub quality: QualityReport,
    pub quarantine: Vec<crate::ingest::QuarantinedRow>,
    /// The clients table's data row of each row: the book's client order, whatever part
    /// the client fell in.
    pub data_rows: Vec<u32>,
}

/// `part_rows` of a part held as files or frames, with its quarantined rows and each
/// row's place in the book.
///
/// # Errors
/// As `part_rows`.
pub fn part_rows_of(
    config: &Config,
    input: Input,
    plan: &TrainPlan,
    sample: &ClientSample,
) -> Result<PartRows> {
    Ok(part_rows_and_lifecycle_of(config, input, plan, sample, false)?.0)
}

/// `part_rows_of`, with (when `keep_lifecycle`, in relational mode) what counting the
/// part's lifecycle will need once the segments are fitted
/// (`PartLifecycleInputs::count`), so that the part is not loaded again.
///
/// # Errors
/// As `part_rows`.
pub fn part_rows_and_lifecycle_of(
    config: &Config,
    input: Input,
    plan: &TrainPlan,
    sample: &ClientSample,
    keep_lifecycle: bool,
) -> Result<(PartRows, Option<PartLifecycleInputs>)> {
    check_mode(config)?;
    if config.mode != plan.mode {
        return Err(Error::InvalidParameter(format!(
            "the plan was made for {:?} data, the config describes {:?} data",
            plan.mode, config.mode
        )));
    }
    let opts = LoadOptions::from_config(config, true);
    let loaded = load_from(config, input, &opts, Some(&plan.cleaning))?;
    let book = &loaded.book;
    let horizon = plan.horizon_months;
    let outcome = config.lapse.outcome;
    let now = fit::snapshot(book, (plan.cutoff, horizon, plan.label_end), outcome)?;
    let early = fit::snapshot(book, (plan.early_cutoff(), horizon, plan.cutoff), outcome)?;
    let rows: Vec<usize> = (0..book.n_clients())
        .filter(|&i| now.raw.active[i] || early.raw.active[i])
        .collect();
    let mut columns = client_columns(book, &rows, sample, (&now, &early));
    columns.extend(feature_columns(book, &rows, plan, (&now, &early))?);
    let frame = DataFrame::new(rows.len(), columns)
        .map_err(|e| Error::Runtime(format!("cannot build a part's training rows: {e}")))?;
    let data_rows = book.table(Source::Clients).map_or_else(
        || rows.iter().map(|&i| i as u32).collect(),
        |t| {
            rows.iter()
                .map(|&i| t.rows.get(i).copied().unwrap_or(0))
                .collect()
        },
    );
    let lifecycle = (keep_lifecycle && plan.mode == Mode::Relational)
        .then(|| PartLifecycleInputs::keep(config, book, &now));
    let rows = PartRows {
        rows: frame,
        quality: loaded.report,
        quarantine: loaded.quarantine,
        data_rows,
    };
    Ok((rows, lifecycle))
}

/// A part's training rows, per client: id, sample slot, stratum, in force and label at
/// both cut-offs, exits.
fn client_columns(
    book: &crate::ingest::Book,
    rows: &[usize],
    sample: &ClientSample,
    (now, early): (&Snapshot, &Snapshot),
) -> Vec<Column> {
    let mut columns = vec![
        Column::new(
            ID.into(),
            rows.iter()
                .map(|&i| book.client_ids.get(i).map_or("", String::as_str))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            SLOT.into(),
            rows.iter()
                .map(|&i| {
                    book.client_ids
                        .get(i)
                        .map_or(0, |id| sample.slot(id) as i32)
                })
                .collect::<Vec<i32>>(),
        ),
        Column::new(
            STRATUM.into(),
            rows.iter()
                .map(|&i| stratum(now.raw.active[i], now.labels[i]))
                .collect::<Vec<i32>>(),
        ),
    ];
    for (snap, active, label) in [(&now, ACTIVE, LABEL), (&early, EARLY_ACTIVE, EARLY_LABEL)] {
        columns.push(Column::new(
            active.into(),
            rows.iter()
                .map(|&i| snap.raw.active[i])
                .collect::<Vec<bool>>(),
        ));
        columns.push(Column::new(
            label.into(),
            rows.iter()
                .map(|&i| label_code(snap.labels[i]))
                .collect::<Vec<i32>>(),
        ));
    }
    columns.push(Column::new(
        EXITS.into(),
        rows.iter()
            .map(|&i| i32::from(now.exits.get(i).copied().unwrap_or(0)))
            .collect::<Vec<i32>>(),
    ));
    columns
}

/// A part's training rows, per client: the plan's numeric features at both cut-offs,
/// the products held and acquired, the categorical traits.
fn feature_columns(
    book: &crate::ingest::Book,
    rows: &[usize],
    plan: &TrainPlan,
    (now, early): (&Snapshot, &Snapshot),
) -> Result<Vec<Column>> {
    let mut columns = Vec::new();
    for (snap, name_of) in [(&now, at_cutoff as fn(&str) -> String), (&early, at_early)] {
        for f in plan.numeric() {
            let values = snap
                .raw
                .feature(*f)
                .ok_or_else(|| features::missing_feature(f.name()))?;
            columns.push(Column::new(
                name_of(f.name()).into(),
                rows.iter().map(|&i| values[i]).collect::<Vec<f64>>(),
            ));
        }
    }
    let facts = crate::features::products::product_facts(
        book,
        plan.cutoff,
        plan.label_end,
        Some(&plan.products),
    );
    for (name, masks) in [
        (HELD, facts.as_ref().map(|f| &f.held)),
        (ACQUIRED, facts.as_ref().map(|f| &f.acquired)),
    ] {
        columns.push(Column::new(
            name.into(),
            rows.iter()
                .map(|&i| masks.and_then(|m| m.get(i)).map_or(0, |&b| b as i64))
                .collect::<Vec<i64>>(),
        ));
    }
    let cats = features::categorical_columns(book);
    for name in plan.categorical() {
        let col = cats.iter().find(|(n, _)| n == name).and_then(|(_, c)| *c);
        columns.push(Column::new(
            trait_column(name).into(),
            rows.iter()
                .map(|&i| col.and_then(|c| c.get(i)))
                .collect::<Vec<Option<&str>>>(),
        ));
    }
    Ok(columns)
}

/// Slots of the seeded hash are grouped by this many bits into buckets: a stratum's
/// sample is its clients of the lowest buckets (as `clientele.spark`'s `_stratified`).
pub const BUCKET_BITS: u32 = 4;

/// Which of the rows (`SLOT` and `STRATUM` of `part_rows`, every part's together) a
/// sample of about `sample` rows keeps: per stratum, the clients of the lowest buckets of
/// seeded-hash slots, up to the bucket that brings the count nearest the stratum's share.
/// Depends only on the clients' hashes and strata, never on how the rows are split.
pub fn stratified_keep(slots: &[i32], strata: &[i32], sample: u64) -> Vec<bool> {
    let buckets = (SAMPLE_SLOTS >> BUCKET_BITS) as usize;
    let bucket = |slot: i32| ((slot.max(0) as u64) >> BUCKET_BITS) as usize;
    let mut counts: BTreeMap<i32, Vec<u64>> = BTreeMap::new();
    for (&slot, &st) in slots.iter().zip(strata) {
        let c = counts.entry(st).or_insert_with(|| vec![0; buckets]);
        if let Some(n) = c.get_mut(bucket(slot)) {
            *n += 1;
        }
    }
    let total = slots.len() as u64;
    if total <= sample {
        return vec![true; slots.len()];
    }
    let share = sample as f64 / total as f64;
    let limits: BTreeMap<i32, usize> = counts
        .iter()
        .map(|(&st, c)| {
            let quota = share * c.iter().sum::<u64>() as f64;
            let (mut seen, mut limit, mut best) = (0u64, 0usize, quota);
            for (b, &n) in c.iter().enumerate().filter(|(_, &n)| n > 0) {
                let gap = ((seen + n) as f64 - quota).abs();
                if gap < best {
                    (best, limit) = (gap, b + 1);
                }
                seen += n;
            }
            (st, limit)
        })
        .collect();
    slots
        .iter()
        .zip(strata)
        .map(|(&slot, st)| limits.get(st).is_some_and(|&l| bucket(slot) < l))
        .collect()
}

fn stratum(active: bool, label: Label) -> i32 {
    match (active, label) {
        (false, _) => 3,
        (true, Label::Lapsed) => 0,
        (true, Label::Stayed) => 1,
        (true, Label::Excluded) => 2,
    }
}

/// The columns (and their types) of `part_rows` for this plan, with no row.
///
/// # Errors
/// None in practice (a frame that cannot be built).
pub fn rows_schema(plan: &TrainPlan) -> Result<DataFrame> {
    let mut columns = vec![
        Column::new(ID.into(), Vec::<String>::new()),
        Column::new(SLOT.into(), Vec::<i32>::new()),
        Column::new(STRATUM.into(), Vec::<i32>::new()),
        Column::new(ACTIVE.into(), Vec::<bool>::new()),
        Column::new(LABEL.into(), Vec::<i32>::new()),
        Column::new(EARLY_ACTIVE.into(), Vec::<bool>::new()),
        Column::new(EARLY_LABEL.into(), Vec::<i32>::new()),
        Column::new(EXITS.into(), Vec::<i32>::new()),
    ];
    for name in [HELD, ACQUIRED] {
        columns.push(Column::new(name.into(), Vec::<i64>::new()));
    }
    for name_of in [at_cutoff as fn(&str) -> String, at_early] {
        for f in plan.numeric() {
            columns.push(Column::new(name_of(f.name()).into(), Vec::<f64>::new()));
        }
    }
    for name in plan.categorical() {
        columns.push(Column::new(
            trait_column(name).into(),
            Vec::<Option<String>>::new(),
        ));
    }
    DataFrame::new(0, columns)
        .map_err(|e| Error::Runtime(format!("cannot build the training rows' schema: {e}")))
}

/// Sampled rows of `part_rows`, read back into the two snapshots and the traits.
pub struct SampledBook {
    pub client_ids: Vec<String>,
    now: Snapshot,
    early: Snapshot,
    traits: Vec<(String, Coded)>,
    products: crate::features::products::ProductFacts,
}

impl SampledBook {
    /// Reads the rows (in the book's client order) of `part_rows` made with `plan`.
    ///
    /// # Errors
    /// A column missing or of another type, a null, or a label code that is none.
    pub fn from_rows(plan: &TrainPlan, rows: &DataFrame) -> Result<Self> {
        let client_ids = text_column(rows, ID)?
            .into_iter()
            .map(|v| v.unwrap_or_default())
            .collect();
        let snapshot = |cutoff: Date, active: &str, label: &str, name_of: fn(&str) -> String| {
            let names: Vec<String> = plan.numeric().iter().map(|f| f.name().into()).collect();
            let columns = names
                .iter()
                .map(|n| number_column(rows, &name_of(n)))
                .collect::<Result<Vec<_>>>()?;
            let labels = int_column(rows, label)?
                .into_iter()
                .map(|c| {
                    label_of(c).ok_or_else(|| {
                        Error::InvalidParameter(format!("training rows: label code {c} in {label}"))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let raw = RawFeatures {
                cutoff,
                names,
                columns,
                active: bool_column(rows, active)?,
                facts: crate::features::Facts::default(),
            };
            Ok::<_, Error>(Snapshot::of(raw, labels))
        };
        let mut now = snapshot(plan.cutoff, ACTIVE, LABEL, at_cutoff)?;
        if plan.mode == crate::config::Mode::Relational {
            now.exits = int_column(rows, EXITS)?
                .into_iter()
                .map(|c| u8::try_from(c).unwrap_or(0))
                .collect();
        }
        let early = snapshot(plan.early_cutoff(), EARLY_ACTIVE, EARLY_LABEL, at_early)?;
        let traits = plan
            .categorical()
            .map(|name| {
                let values = text_column(rows, &trait_column(name))?;
                let mut coded = Coded::with_capacity(values.len());
                for v in &values {
                    match v {
                        Some(v) => coded.push(v),
                        None => coded.push_missing(),
                    }
                }
                Ok((name.to_string(), coded))
            })
            .collect::<Result<Vec<_>>>()?;
        let masks = |name: &str| -> Result<Vec<u64>> {
            let col = column(rows, name, &DataType::Int64)?;
            let values = col.i64().map_err(|_| null_in(name))?;
            values
                .iter()
                .map(|v| v.map(|b| b as u64).ok_or_else(|| null_in(name)))
                .collect()
        };
        let products = crate::features::products::ProductFacts {
            names: plan.products.clone(),
            held: masks(HELD)?,
            acquired: masks(ACQUIRED)?,
        };
        Ok(SampledBook {
            client_ids,
            now,
            early,
            traits,
            products,
        })
    }

    pub fn len(&self) -> usize {
        self.client_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.client_ids.is_empty()
    }
}

/// Fits a bundle on sampled rows, with the plan's cut-off and cleaning statistics; the
/// rest as `fit`.
///
/// # Errors
/// As `fit`; options that disagree with the plan (horizon, cut-off).
pub fn fit_sampled(
    config: &Config,
    plan: &TrainPlan,
    sampled: SampledBook,
    opts: &FitOptions,
    previous: Option<&Located>,
) -> Result<Fitted> {
    if opts.horizon.get() != plan.horizon_months || opts.as_of.is_some_and(|d| d != plan.cutoff) {
        return Err(Error::InvalidParameter(format!(
            "the run's horizon ({} months) or --as-of differs from the plan's ({} months, cut-off {})",
            opts.horizon.get(),
            plan.horizon_months,
            plan.cutoff
        )));
    }
    let SampledBook {
        now,
        early,
        traits,
        products,
        ..
    } = sampled;
    let cats = features::CATEGORICAL
        .iter()
        .filter(|_| plan.mode == Mode::Relational)
        .map(|name| {
            let col = traits.iter().find(|(n, _)| n == name).map(|(_, c)| c);
            ((*name).to_string(), col)
        })
        .collect();
    let input = FitInput {
        clients: plan.clients,
        cats,
        snap: now,
        early: Ok(early),
        products: (plan.mode == Mode::Relational).then_some(products),
        // A sample of the book: persistency and exits are not counted on it.
        policies: None,
    };
    let choice = DateChoice {
        date: plan.cutoff,
        why: plan.cutoff_why.clone(),
    };
    fit::fit_input(config, input, &plan.cleaning, choice, opts, previous)
}

/// Pass 3 on one part held elsewhere (Spark executors; the CLI counts from what pass 2
/// kept, `PartLifecycleInputs`), once the bundle is fitted: the part's persistency and exits as
/// of the cut-off, each client in the segment `bundle` assigns it, counted as the CLI
/// counts them on the whole book (`TrainingLifecycle::merge` adds the parts up).
///
/// # Errors
/// The part's bad input; a plan of another mode.
pub fn part_lifecycle(
    config: &Config,
    frames: &Frames,
    plan: &TrainPlan,
    bundle: &crate::bundle::Bundle,
) -> Result<crate::lifecycle::TrainingLifecycle> {
    part_lifecycle_of(config, Input::Frames(frames), plan, bundle)
}

/// `part_lifecycle` of a part held as files or frames.
///
/// # Errors
/// As `part_lifecycle`.
pub fn part_lifecycle_of(
    config: &Config,
    input: Input,
    plan: &TrainPlan,
    bundle: &crate::bundle::Bundle,
) -> Result<crate::lifecycle::TrainingLifecycle> {
    check_mode(config)?;
    let opts = LoadOptions::from_config(config, true);
    let loaded = load_from(config, input, &opts, Some(&plan.cleaning))?;
    let book = &loaded.book;
    let snap = fit::snapshot(
        book,
        (plan.cutoff, plan.horizon_months, plan.label_end),
        config.lapse.outcome,
    )?;
    let policies = crate::lifecycle::CompactPolicies::of(book);
    let cats = features::categorical_columns(book);
    let segments = fit::every_client_segment(
        (&bundle.features, &bundle.segments),
        &snap.raw,
        &cats,
        book.n_clients(),
    )?;
    Ok(crate::lifecycle::TrainingLifecycle::count(
        &policies,
        &segments,
        plan.cutoff,
        &config.persistency,
    ))
}

fn column(rows: &DataFrame, name: &str, dtype: &DataType) -> Result<Column> {
    rows.column(name)
        .map_err(|_| Error::InvalidParameter(format!("training rows: no column {name:?}")))?
        .cast(dtype)
        .map_err(|e| {
            Error::InvalidParameter(format!(
                "training rows: column {name:?} is not {dtype}: {e}"
            ))
        })
}

fn null_in(name: &str) -> Error {
    Error::InvalidParameter(format!("training rows: a null in column {name:?}"))
}

fn number_column(rows: &DataFrame, name: &str) -> Result<Vec<f64>> {
    let col = column(rows, name, &DataType::Float64)?;
    let values = col.f64().map_err(|_| null_in(name))?;
    // A null is a feature that was NaN on its way through Arrow.
    Ok(values.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

fn int_column(rows: &DataFrame, name: &str) -> Result<Vec<i32>> {
    let col = column(rows, name, &DataType::Int32)?;
    let values = col.i32().map_err(|_| null_in(name))?;
    values
        .iter()
        .map(|v| v.ok_or_else(|| null_in(name)))
        .collect()
}

fn bool_column(rows: &DataFrame, name: &str) -> Result<Vec<bool>> {
    let col = column(rows, name, &DataType::Boolean)?;
    let values = col.bool().map_err(|_| null_in(name))?;
    values
        .iter()
        .map(|v| v.ok_or_else(|| null_in(name)))
        .collect()
}

fn text_column(rows: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let col = column(rows, name, &DataType::String)?;
    let values = col.str().map_err(|_| null_in(name))?;
    Ok(values.iter().map(|v| v.map(str::to_string)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stratified_sample_keeps_each_stratum_in_proportion_whatever_the_row_order() {
        let sample = ClientSample::new(None, 0, 7);
        let ids: Vec<String> = (0..40_000).map(|i| format!("C{i:07}")).collect();
        let slots: Vec<i32> = ids.iter().map(|id| sample.slot(id) as i32).collect();
        // Strata of 10%, 30% and 60% of the rows.
        let strata: Vec<i32> = (0..ids.len())
            .map(|i| [0, 1, 1, 1, 2, 2, 2, 2, 2, 2][i % 10])
            .collect();
        let keep = stratified_keep(&slots, &strata, 8_000);
        let kept = keep.iter().filter(|&&k| k).count();
        assert!((7_600..8_400).contains(&kept), "{kept}");
        for (s, share) in [(0, 0.1), (1, 0.3), (2, 0.6)] {
            let n = (0..ids.len())
                .filter(|&i| keep[i] && strata[i] == s)
                .count() as f64;
            assert!((n / kept as f64 - share).abs() < 0.02, "stratum {s}: {n}");
        }
        // The rows reversed (another split of the book): the same clients.
        let rev = |v: &[i32]| v.iter().rev().copied().collect::<Vec<_>>();
        let back = stratified_keep(&rev(&slots), &rev(&strata), 8_000);
        assert!(back.iter().rev().eq(keep.iter()));
        // A sample as large as the rows keeps them all.
        assert!(stratified_keep(&slots, &strata, 40_000).iter().all(|&k| k));
    }
}
