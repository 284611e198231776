//! The per-client labels table, written chunk by chunk to CSV and Parquet so that the
//! labels of a whole book are never held in memory at once.

use super::client::ClientLabel;
use super::outcomes::{PreviousRow, PreviousRun};
use super::texts::{rows_column, Levels, TextColumn};
use crate::error::{Error, Result};
use crate::vocab::{CoverageBand, LapseOutcome, LifecycleStage, RiskBand, ValueTier, Vocabulary};
use polars::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One chunk of labels, column by column.
#[derive(Default)]
pub struct LabelChunk {
    pub client_id: Levels,
    pub segment_id: Vec<u32>,
    pub segment_name: TextColumn,
    pub segment_distance: Vec<f64>,
    pub lapse_probability: Vec<Option<f64>>,
    pub lapse_outcome: Vec<Option<LapseOutcome>>,
    pub risk_band: Vec<Option<RiskBand>>,
    pub value_tier: Vec<ValueTier>,
    pub lifecycle_stage: Vec<LifecycleStage>,
    pub reasons: [TextColumn; 3],
    pub action: TextColumn,
    pub action_code: TextColumn,
    pub next_product: TextColumn,
    pub next_product_propensity: Vec<Option<f64>>,
    pub needs: TextColumn,
    pub protection_gap: Vec<Option<f64>>,
    pub coverage_band: Vec<Option<CoverageBand>>,
    pub note: TextColumn,
    /// The words of the display columns (tier, stage, band, action).
    pub words: std::sync::Arc<Vocabulary>,
    pub holdout: Vec<bool>,
    pub premium_at_risk_12m: Vec<Option<f64>>,
    pub lifetime_value: Vec<Option<f64>>,
    /// (code, config words, shown words) of the actions met so far: a chunk has a few
    /// actions and 100,000 clients, and `Vocabulary::action` looks the words up anew.
    shown_actions: Vec<(String, String, String)>,
    /// A row's needs codes, written here before they are looked up.
    needs_text: String,
}

/// One labelled client as labeling hands it over.
pub struct LabelledRow<'a> {
    pub id: &'a str,
    pub segment_id: u32,
    /// The place of the name its segment is shown under in `LabelledRows::names`.
    pub name: u32,
    pub distance: f64,
    pub label: ClientLabel,
}

/// A chunk of labelled clients before it becomes a `LabelChunk` (`into_chunk`): the
/// thread that writes the chunk builds it (looks its texts up, fills its columns),
/// beside the labeling of the next chunk.
pub struct LabelledRows<'a> {
    words: std::sync::Arc<Vocabulary>,
    names: std::sync::Arc<Vec<String>>,
    rows: Vec<LabelledRow<'a>>,
}

impl<'a> LabelledRows<'a> {
    /// `words`: those of the display columns; `names`: the segment names the rows'
    /// `name` indexes.
    pub fn new(
        words: std::sync::Arc<Vocabulary>,
        names: std::sync::Arc<Vec<String>>,
        rows: Vec<LabelledRow<'a>>,
    ) -> Self {
        LabelledRows { words, names, rows }
    }

    pub fn into_chunk(self) -> LabelChunk {
        let mut chunk = LabelChunk::in_words(self.words);
        for r in self.rows {
            let name = self.names.get(r.name as usize).map_or("", String::as_str);
            chunk.push(r.id, (r.segment_id, name), r.distance, r.label);
        }
        chunk
    }
}

pub const COLUMNS: &[&str] = &[
    "client_id",
    "segment_id",
    "segment_name",
    "segment_distance",
    "lapse_probability",
    "lapse_outcome",
    "risk_band",
    "value_tier",
    "tier_code",
    "lifecycle_stage",
    "stage_code",
    "reason_1",
    "reason_2",
    "reason_3",
    "action",
    "action_code",
    "next_product",
    "next_product_propensity",
    "needs",
    "protection_gap",
    "coverage_band",
    "note",
    "holdout",
    "premium_at_risk_12m",
    "lifetime_value",
];

impl LabelChunk {
    pub fn len(&self) -> usize {
        self.client_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.client_id.is_empty()
    }

    /// An empty chunk whose display columns are in `words`.
    pub fn in_words(words: std::sync::Arc<Vocabulary>) -> Self {
        LabelChunk {
            words,
            ..LabelChunk::default()
        }
    }

    /// Appends another chunk's rows.
    pub fn append(&mut self, other: LabelChunk) {
        for id in other.client_id.iter() {
            self.client_id.push(id);
        }
        self.segment_id.extend(other.segment_id);
        self.segment_name.extend(&other.segment_name);
        self.segment_distance.extend(other.segment_distance);
        self.lapse_probability.extend(other.lapse_probability);
        self.lapse_outcome.extend(other.lapse_outcome);
        self.risk_band.extend(other.risk_band);
        self.value_tier.extend(other.value_tier);
        self.lifecycle_stage.extend(other.lifecycle_stage);
        for (a, b) in self.reasons.iter_mut().zip(&other.reasons) {
            a.extend(b);
        }
        self.action.extend(&other.action);
        self.action_code.extend(&other.action_code);
        self.next_product.extend(&other.next_product);
        self.next_product_propensity
            .extend(other.next_product_propensity);
        self.needs.extend(&other.needs);
        self.protection_gap.extend(other.protection_gap);
        self.coverage_band.extend(other.coverage_band);
        self.note.extend(&other.note);
        self.holdout.extend(other.holdout);
        self.premium_at_risk_12m.extend(other.premium_at_risk_12m);
        self.lifetime_value.extend(other.lifetime_value);
    }

    /// Appends one client's row; `name` describes the client's segment (the segment's
    /// name, or its prospect description).
    pub fn push(&mut self, id: &str, segment: (u32, &str), distance: f64, l: ClientLabel) {
        self.client_id.push(id);
        self.segment_id.push(segment.0);
        self.segment_name.push(segment.1);
        self.segment_distance.push(distance);
        self.lapse_probability.push(l.probability);
        self.lapse_outcome.push(l.outcome);
        self.risk_band.push(l.band);
        self.value_tier.push(l.tier);
        self.lifecycle_stage.push(l.stage);
        let mut reasons = l.reasons.iter();
        for slot in &mut self.reasons {
            slot.push_option(reasons.next().map(String::as_str));
        }
        let at = self.shown_action(&l.action_code, &l.action);
        self.action.push(&self.shown_actions[at].2);
        self.action_code.push(&l.action_code);
        let (product, propensity) = l
            .next_product
            .as_ref()
            .map_or((None, None), |(n, p)| (Some(n.as_str()), *p));
        self.next_product.push_option(product);
        self.next_product_propensity.push(propensity);
        l.needs.write_codes(&mut self.needs_text);
        self.needs.push(&self.needs_text);
        self.protection_gap.push(l.needs.gap);
        self.coverage_band.push(l.needs.band);
        self.note.push_option(l.note.as_deref());
        self.holdout.push(l.holdout);
        self.premium_at_risk_12m.push(l.premium_at_risk_12m);
        self.lifetime_value.push(l.lifetime_value);
    }

    /// The words an action is shown in (`Vocabulary::action`), looked up once a chunk:
    /// the index of (code, config words, shown words) in `shown_actions`.
    fn shown_action(&mut self, code: &str, config_words: &str) -> usize {
        let known = self
            .shown_actions
            .iter()
            .position(|(c, w, _)| c == code && w == config_words);
        if let Some(at) = known {
            return at;
        }
        let shown = self.words.action(code, config_words).to_string();
        let entry = (code.to_string(), config_words.to_string(), shown);
        self.shown_actions.push(entry);
        self.shown_actions.len() - 1
    }

    /// The chunk as a table with the columns and types of `labels.parquet`.
    pub fn frame(&self) -> PolarsResult<DataFrame> {
        let columns = vec![
            rows_column("client_id", &self.client_id),
            // Signed: Spark and pandas have no unsigned type, and ids stay below 2^31.
            Column::new(
                "segment_id".into(),
                self.segment_id
                    .iter()
                    .map(|&id| i32::try_from(id).unwrap_or(i32::MAX))
                    .collect::<Vec<i32>>(),
            ),
            self.segment_name.to_column("segment_name")?,
            Column::new("segment_distance".into(), &self.segment_distance),
            Column::new("lapse_probability".into(), &self.lapse_probability),
            closed_set_column(
                "lapse_outcome",
                LapseOutcome::ALL,
                LapseOutcome::code,
                self.lapse_outcome.iter().copied(),
            )?,
            closed_set_column(
                "risk_band",
                RiskBand::ALL,
                shown(&self.words, "band", RiskBand::ALL, RiskBand::code),
                self.risk_band.iter().copied(),
            )?,
            closed_set_column(
                "value_tier",
                ValueTier::ALL,
                shown(&self.words, "tier", ValueTier::ALL, ValueTier::code),
                self.value_tier.iter().map(|&t| Some(t)),
            )?,
            closed_set_column(
                "tier_code",
                ValueTier::ALL,
                ValueTier::code,
                self.value_tier.iter().map(|&t| Some(t)),
            )?,
            closed_set_column(
                "lifecycle_stage",
                LifecycleStage::ALL,
                shown(
                    &self.words,
                    "stage",
                    LifecycleStage::ALL,
                    LifecycleStage::code,
                ),
                self.lifecycle_stage.iter().map(|&t| Some(t)),
            )?,
            closed_set_column(
                "stage_code",
                LifecycleStage::ALL,
                LifecycleStage::code,
                self.lifecycle_stage.iter().map(|&t| Some(t)),
            )?,
            self.reasons[0].to_column("reason_1")?,
            self.reasons[1].to_column("reason_2")?,
            self.reasons[2].to_column("reason_3")?,
            self.action.to_column("action")?,
            self.action_code.to_column("action_code")?,
            self.next_product.to_column("next_product")?,
            Column::new(
                "next_product_propensity".into(),
                &self.next_product_propensity,
            ),
            self.needs.to_column("needs")?,
            Column::new("protection_gap".into(), &self.protection_gap),
            closed_set_column(
                "coverage_band",
                CoverageBand::ALL,
                CoverageBand::code,
                self.coverage_band.iter().copied(),
            )?,
            self.note.to_column("note")?,
            Column::new("holdout".into(), &self.holdout),
            Column::new("premium_at_risk_12m".into(), &self.premium_at_risk_12m),
            Column::new("lifetime_value".into(), &self.lifetime_value),
        ];
        DataFrame::new(self.len(), columns)
    }

    /// The chunk's rows as CSV text, one row at a time into a reused line: formatting
    /// each row through one 25-field `writeln!` with a `String` per number cost a tenth
    /// of labeling's time.
    fn write_csv(&self, w: &mut impl Write) -> std::io::Result<()> {
        use crate::fsio::csv_cell_for_people as cell;
        let band = shown(&self.words, "band", RiskBand::ALL, RiskBand::code);
        let tier = shown(&self.words, "tier", ValueTier::ALL, ValueTier::code);
        let stage = shown(
            &self.words,
            "stage",
            LifecycleStage::ALL,
            LifecycleStage::code,
        );
        // Each distinct text made into its cell once a chunk.
        let segment_names = self.segment_name.cells(cell);
        let reasons = self.reasons.each_ref().map(|r| r.cells(cell));
        let (actions, action_codes) = (self.action.cells(cell), self.action_code.cells(cell));
        let products = self.next_product.cells(cell);
        let needs = self.needs.cells(std::borrow::Cow::Borrowed);
        let notes = self.note.cells(cell);
        let mut line = String::with_capacity(512);
        for (i, id) in self.client_id.iter().enumerate() {
            line.clear();
            let mut row = CsvRow(&mut line);
            row.text(&cell(id));
            row.shown(self.segment_id[i]);
            row.text(self.segment_name.cell_of(&segment_names, i));
            row.shown(self.segment_distance[i]);
            row.optional(self.lapse_probability[i]);
            row.text(self.lapse_outcome[i].map_or("", LapseOutcome::code));
            row.text(&self.risk_band[i].map_or(std::borrow::Cow::Borrowed(""), |b| cell(band(b))));
            row.text(&cell(tier(self.value_tier[i])));
            row.text(self.value_tier[i].code());
            row.text(&cell(stage(self.lifecycle_stage[i])));
            row.text(self.lifecycle_stage[i].code());
            for (reason, cells) in self.reasons.iter().zip(&reasons) {
                row.text(reason.cell_of(cells, i));
            }
            row.text(self.action.cell_of(&actions, i));
            row.text(self.action_code.cell_of(&action_codes, i));
            row.text(self.next_product.cell_of(&products, i));
            row.optional(self.next_product_propensity[i]);
            row.text(self.needs.cell_of(&needs, i));
            row.optional(self.protection_gap[i]);
            row.text(self.coverage_band[i].map_or("", CoverageBand::code));
            row.text(self.note.cell_of(&notes, i));
            row.shown(self.holdout[i]);
            row.money(self.premium_at_risk_12m[i]);
            row.money(self.lifetime_value[i]);
            // The last field's separator becomes the line end.
            line.pop();
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

/// One CSV row being written: each field followed by a comma.
struct CsvRow<'a>(&'a mut String);

impl CsvRow<'_> {
    fn text(&mut self, s: &str) {
        self.0.push_str(s);
        self.0.push(',');
    }

    fn shown(&mut self, v: impl std::fmt::Display) {
        use std::fmt::Write as _;
        let _ = write!(self.0, "{v},");
    }

    /// A number as Rust shows it (shortest round-trip text), empty when unknown.
    fn optional(&mut self, v: Option<f64>) {
        match v {
            Some(v) => self.shown(v),
            None => self.0.push(','),
        }
    }

    /// A money amount of the labels: two decimals, empty when unknown.
    fn money(&mut self, v: Option<f64>) {
        use std::fmt::Write as _;
        if let Some(x) = v {
            let _ = write!(self.0, "{x:.2}");
        }
        self.0.push(',');
    }
}

/// The display word of each value of a closed set (`<section>.<code>`), looked up once.
fn shown<'a, T: Copy + PartialEq>(
    w: &'a Vocabulary,
    section: &str,
    all: &'static [T],
    code: fn(T) -> &'static str,
) -> impl Fn(T) -> &'a str {
    let table: Vec<&'a str> = all.iter().map(|&v| w.of(section, code(v))).collect();
    move |v| {
        all.iter()
            .position(|&x| x == v)
            .and_then(|i| table.get(i).copied())
            .unwrap_or("")
    }
}

/// A string column of values of a closed set (`all`), each shown as `word` gives it:
/// every row a view of its word's one copy.
fn closed_set_column<'w, T: Copy + PartialEq>(
    name: &str,
    all: &[T],
    word: impl Fn(T) -> &'w str,
    values: impl Iterator<Item = Option<T>>,
) -> PolarsResult<Column> {
    let levels: Vec<&str> = all.iter().map(|&v| word(v)).collect();
    let codes = values.map(|v| v.and_then(|v| all.iter().position(|&x| x == v)));
    super::texts::codes_column(name, &levels, codes)
}

/// The Arrow schema stored in `labels.parquet`: plain types (`crate::fsio::arrow`), so
/// readers get `string` columns, not polars' `string_view`.
fn plain_arrow_metadata(df: &DataFrame) -> polars::io::parquet::write::KeyValueMetadata {
    let schema = crate::fsio::arrow::plain_schema(df);
    polars::io::parquet::write::KeyValueMetadata::Static(vec![
        polars_parquet::write::schema_to_metadata_key(&schema),
    ])
}

/// Writes `labels.csv` and `labels.parquet` into a directory, chunk by chunk.
pub struct LabelWriter {
    csv: std::io::BufWriter<std::fs::File>,
    parquet: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>,
    csv_path: PathBuf,
    parquet_path: PathBuf,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn polars_err(path: &Path) -> impl Fn(PolarsError) -> Error + '_ {
    move |e| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

impl LabelWriter {
    /// # Errors
    /// `Error::Write` when the files cannot be created.
    pub fn create(dir: &Path) -> Result<Self> {
        let csv_path = dir.join("labels.csv");
        let parquet_path = dir.join("labels.parquet");
        let file = std::fs::File::create(&csv_path).map_err(io_err(&csv_path))?;
        let mut csv = std::io::BufWriter::with_capacity(1 << 20, file);
        writeln!(csv, "{}", COLUMNS.join(",")).map_err(io_err(&csv_path))?;
        Ok(LabelWriter {
            csv,
            parquet: None,
            csv_path,
            parquet_path,
        })
    }

    /// # Errors
    /// `Error::Write` on any I/O or encoding failure.
    pub fn write(&mut self, chunk: &LabelChunk) -> Result<()> {
        chunk
            .write_csv(&mut self.csv)
            .map_err(io_err(&self.csv_path))?;
        let df = chunk.frame().map_err(polars_err(&self.parquet_path))?;
        if self.parquet.is_none() {
            let file =
                std::fs::File::create(&self.parquet_path).map_err(io_err(&self.parquet_path))?;
            let writer = ParquetWriter::new(file)
                .with_compression(ParquetCompression::Zstd(None))
                .with_key_value_metadata(Some(plain_arrow_metadata(&df)))
                .batched(df.schema())
                .map_err(polars_err(&self.parquet_path))?;
            self.parquet = Some(writer);
        }
        if let Some(w) = self.parquet.as_mut() {
            w.write_batch(&df).map_err(polars_err(&self.parquet_path))?;
        }
        Ok(())
    }

    /// Flushes both files to disk.
    ///
    /// # Errors
    /// `Error::Write` when flushing fails.
    pub fn finish(mut self) -> Result<()> {
        self.csv.flush().map_err(io_err(&self.csv_path))?;
        self.csv
            .get_ref()
            .sync_all()
            .map_err(io_err(&self.csv_path))?;
        match self.parquet.take() {
            Some(w) => {
                w.finish().map_err(polars_err(&self.parquet_path))?;
            }
            None => {
                // No client at all: an empty table with the right columns.
                LabelWriter::create_empty_parquet(&self.parquet_path)?;
            }
        }
        Ok(())
    }

    fn create_empty_parquet(path: &Path) -> Result<()> {
        let mut df = LabelChunk::default().frame().map_err(polars_err(path))?;
        let file = std::fs::File::create(path).map_err(io_err(path))?;
        ParquetWriter::new(file)
            .with_key_value_metadata(Some(plain_arrow_metadata(&df)))
            .finish(&mut df)
            .map_err(polars_err(path))?;
        Ok(())
    }
}

/// The columns of last month's labels that a run compares with; the first two are
/// required.
/// Read from a previous run when its labels have them (stage and tier migration).
const PREVIOUS_OPTIONAL_COLUMNS: [&str; 3] = ["stage_code", "tier_code", "holdout"];

const PREVIOUS_COLUMNS: [&str; 5] = [
    "client_id",
    "segment_id",
    "lapse_probability",
    "risk_band",
    "action",
];

/// Reads a previous run: its labels (`labels.parquet`, else `labels.csv`) and, from its
/// `summary.json`, its date and model (without them only the segment migration is
/// counted).
///
/// # Errors
/// `Error::Read` when no labels file can be read, `Error::Config` naming the file when
/// it is not a labels table.
pub fn read_previous_run(dir: &Path) -> Result<PreviousRun> {
    let parquet = dir.join("labels.parquet");
    let csv = dir.join("labels.csv");
    // Labels of earlier releases lack the stage and tier codes: read them where present.
    let wanted = |path: &Path| -> Vec<String> {
        let present = crate::ingest::read::column_names(path).unwrap_or_default();
        PREVIOUS_COLUMNS
            .iter()
            .chain(&PREVIOUS_OPTIONAL_COLUMNS)
            .filter(|c| PREVIOUS_COLUMNS.contains(c) || present.iter().any(|p| p == *c))
            .map(|c| (*c).into())
            .collect()
    };
    let (path, frame) = if parquet.exists() {
        let columns = wanted(&parquet);
        let file = std::fs::File::open(&parquet).map_err(io_err(&parquet))?;
        let frame = crate::ingest::read::parquet_guarded(&parquet, || {
            ParquetReader::new(file)
                .with_columns(Some(columns))
                .finish()
                .map_err(|e| not_labels(&parquet, e.to_string()))
        })?;
        (parquet, frame)
    } else {
        if !csv.exists() {
            return Err(Error::Read {
                path: csv,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no labels.parquet or labels.csv: not a clientele-infer output directory",
                ),
            });
        }
        let columns: Arc<[PlSmallStr]> = wanted(&csv).into_iter().map(Into::into).collect();
        let frame = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_columns(Some(columns))
            .try_into_reader_with_file_path(Some(csv.clone()))
            .and_then(|r| r.finish())
            .map_err(|e| not_labels(&csv, e.to_string()))?;
        let frame = ids_from_people_csv(frame).map_err(|e| not_labels(&csv, e.to_string()))?;
        (csv, frame)
    };
    let mut run = previous_from_frame(&frame).map_err(|m| not_labels(&path, m))?;
    let history = dir.join(EFFECT_HISTORY);
    if history.exists() {
        let text = crate::fsio::read_text(&history)?;
        run.effect_history = Some(serde_json::from_str(&text).map_err(|e| Error::Config {
            path: history.clone(),
            message: format!("not an effect history of a previous run: {e}"),
        })?);
    }
    let summary = dir.join("summary.json");
    if let Ok(text) = std::fs::read_to_string(&summary) {
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| not_labels(&summary, format!("not valid JSON: {e}")))?;
        run.as_of = value
            .get("as_of")
            .and_then(serde_json::Value::as_str)
            .and_then(crate::date::Date::parse);
        run.model_version = value
            .get("model_version")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
    }
    Ok(run)
}

/// The effect readouts summed over the runs so far, beside a run's labels.
pub const EFFECT_HISTORY: &str = "effect-history.json";

fn not_labels(path: &Path, message: String) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        message: format!("not a labels table of a previous run: {message}"),
    }
}

/// Last month's labels from a table with `client_id` and `segment_id` and, when
/// present, `lapse_probability`, `risk_band` and `action` (text or typed columns alike).
///
/// # Errors
/// A missing or mistyped column, or a segment id that is not a whole number (with its
/// row).
/// `labels.csv` guards ids that would start a spreadsheet formula with a `'`
/// (`fsio::csv_cell_for_people`): read back, the ids are the clients' own again.
fn ids_from_people_csv(mut frame: DataFrame) -> PolarsResult<DataFrame> {
    let ids: StringChunked = frame
        .column("client_id")?
        .str()?
        .iter()
        .map(|id| id.map(crate::fsio::from_people_cell))
        .collect();
    frame.with_column(ids.with_name("client_id".into()).into_column())?;
    Ok(frame)
}

/// A `holdout` cell of last month's labels: true or false (empty: false).
fn previous_flag(v: Option<&str>, i: usize) -> std::result::Result<bool, String> {
    match v.map(str::trim) {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(format!(
            "row {}: holdout {other:?} is not true or false",
            i + 1
        )),
    }
}

pub fn previous_from_frame(frame: &DataFrame) -> std::result::Result<PreviousRun, String> {
    let text = |name: &str| -> std::result::Result<Option<StringChunked>, String> {
        match frame.column(name) {
            Ok(c) => c
                .cast(&DataType::String)
                .and_then(|c| c.str().cloned())
                .map(Some)
                .map_err(|e| format!("column '{name}': {e}")),
            Err(_) => Ok(None),
        }
    };
    let ids = text("client_id")?.ok_or("no column 'client_id'")?;
    let segments = text("segment_id")?.ok_or("no column 'segment_id'")?;
    let probabilities = text("lapse_probability")?;
    let bands = text("risk_band")?;
    let actions = text("action")?;
    let stages = text("stage_code")?;
    let tiers = text("tier_code")?;
    let holdouts = text("holdout")?;
    let cell = |col: &Option<StringChunked>, i: usize| {
        col.as_ref()
            .and_then(|c| c.get(i))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let mut rows = Vec::with_capacity(frame.height());
    for i in 0..frame.height() {
        let Some(id) = ids.get(i) else { continue };
        let segment = segments
            .get(i)
            .and_then(|v| v.trim().parse::<u32>().ok())
            .ok_or_else(|| {
                format!(
                    "row {}: segment_id {:?} is not a whole number",
                    i + 1,
                    segments.get(i).unwrap_or("")
                )
            })?;
        rows.push(PreviousRow {
            client_id: id.to_string(),
            segment,
            probability: cell(&probabilities, i).and_then(|v| v.parse().ok()),
            band: cell(&bands, i),
            action: cell(&actions, i),
            stage: cell(&stages, i),
            tier: cell(&tiers, i),
            holdout: holdouts
                .as_ref()
                .map(|_| previous_flag(cell(&holdouts, i).as_deref(), i))
                .transpose()?,
        });
    }
    Ok(PreviousRun::from_rows(rows))
}
