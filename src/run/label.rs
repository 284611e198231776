//! The monthly labeling run: apply a published bundle, unchanged, to a new book and write
//! per-client labels, drift alarms, charts and a report into one output directory that
//! appears complete or not at all.

use super::spec::DataSpec;
use super::stage::{write_quality, Target};
use crate::bundle::{Bundle, Located};
use crate::config::Mode;
use crate::config::{Config, LabelRules};
use crate::date::{Date, DateChoice};
use crate::error::{Error, Result};
use crate::features;
use crate::fsio::rundir::{OutputKind, Protected, Replace, Staging};
use crate::ingest::parts::BookParts;
use crate::ingest::{QualityReport, QuarantinedRow};
use crate::labeling::drift::DriftReport;
use crate::labeling::{check_book, label_part, output, Part, PartOf, PartTotals, RunSummary};
use crate::progress::Stage;
use output::LabelWriter;
use std::path::{Path, PathBuf};

/// Segments with fewer clients are suppressed in the report and charts, unless a run
/// says otherwise (`--min-segment-size`, `min_report_count` from Python).
pub const MIN_REPORT_COUNT: usize = 10;

/// The config a labeling run reads its month with: one rule for `clientele-infer`, the
/// Python package and Spark, so that every path labels the same month the same way.
/// - the column mapping: `given`, else the bundle's own config without its data
///   directory (the training data's);
/// - the extract date: `extract_date`, else today. Never the date the config holds: a
///   bundle's config carries training's extract date, and a later month read against it
///   would have every newer record quarantined as future-dated.
///
/// The date is fixed here, so parts labelled apart (Spark executors) agree on it.
pub fn labeling_config(
    bundle: &Bundle,
    given: Option<Config>,
    extract_date: Option<Date>,
) -> Config {
    let mut config = given.unwrap_or_else(|| {
        let mut own = bundle.config.clone();
        own.data_dir = None;
        own
    });
    config.cleaning.extract_date = Some(extract_date.unwrap_or_else(Date::today));
    config
}

#[derive(Clone, Debug)]
pub struct InferOptions {
    pub as_of: Option<Date>,
    /// Output directory; default `<out_root>/<as-of>/`.
    pub out: Option<PathBuf>,
    pub out_root: PathBuf,
    pub overwrite: bool,
    pub previous_run: Option<PathBuf>,
    /// Segments with fewer clients are suppressed in the report and charts.
    pub min_report_count: usize,
    /// Label the book in this many client parts (`None`: automatic, see
    /// `ingest::parts::SINGLE_PART_ROWS` and `ROWS_PER_PART`). Bounds memory for books
    /// larger than RAM.
    pub partitions: Option<usize>,
    /// The words of the labels' display columns, the charts and the report.
    pub words: std::sync::Arc<crate::vocab::Vocabulary>,
}

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            as_of: None,
            out: None,
            out_root: PathBuf::from("notebooks-out"),
            overwrite: false,
            previous_run: None,
            min_report_count: MIN_REPORT_COUNT,
            partitions: None,
            words: crate::vocab::Vocabulary::english(),
        }
    }
}

pub struct InferOutcome {
    pub out_dir: PathBuf,
    /// Why the as-of date is what it is (flag or data), for the console.
    pub as_of_why: String,
    pub summary: RunSummary,
    pub drift: DriftReport,
}

/// The as-of date of a run: `--as-of`, else the data's last full month (in flat mode:
/// the extract date), with where it came from.
///
/// # Errors
/// `Error::InvalidParameter` when it falls after the extract date or before the model's
/// training cut-off.
pub fn choose_as_of(
    book: &crate::ingest::Book,
    b: &Bundle,
    as_of: Option<Date>,
) -> Result<DateChoice> {
    let choice = match (as_of, book.mode) {
        (Some(date), _) => DateChoice {
            date,
            why: "set by --as-of".into(),
        },
        (None, Mode::Flat) => DateChoice {
            date: book.extract_date,
            why: "the extract date (flat data has no dates)".into(),
        },
        (None, _) => {
            let end = features::data_end(book)
                .ok_or_else(|| Error::NoData("the data holds no dated record".into()))?;
            DateChoice {
                date: end.last_full_month_end(),
                why: format!("the data's last full month end (latest record {end})"),
            }
        }
    };
    let d = choice.date;
    if d > book.extract_date {
        return Err(Error::InvalidParameter(format!(
            "--as-of {d} is after the data's extract date {}: a book cannot be labelled as of \
             a day its data does not reach (set --extract-date if the extract is later)",
            book.extract_date
        )));
    }
    if d < b.cutoff {
        return Err(Error::InvalidParameter(format!(
            "--as-of {d} is before the model's training cut-off {}: a model cannot label the \
             past it was trained on; use an as-of on or after {}",
            b.cutoff, b.cutoff
        )));
    }
    Ok(choice)
}

/// What a labeling run reads and so must never write over: the data, the model and the
/// models directory holding it, the config, and the system's own directories.
fn protected_paths(located: &Located, spec: &DataSpec) -> Protected {
    let p = Protected::system().with("the data directory", &spec.data_dir);
    let p = with_model(p, located);
    match &spec.config.origin {
        Some(config) => p.with("the config file", config),
        None => p,
    }
}

/// `p` with the model a labeling run reads and the models directory holding it.
pub(super) fn with_model(mut p: Protected, located: &Located) -> Protected {
    p = p.with("the model", &located.dir);
    if let Some(models) = located.dir.parent().filter(|d| !d.as_os_str().is_empty()) {
        p = p.with("the models directory", models);
    }
    p
}

/// A labeling run's config must describe data of the model's mode (checked before any
/// data is read).
pub(super) fn check_mode(b: &Bundle, config: &Config) -> Result<()> {
    if config.mode != b.config.mode {
        return Err(Error::InvalidParameter(format!(
            "the model was trained in {:?} mode, the config describes {:?} data",
            b.config.mode, config.mode
        )));
    }
    Ok(())
}

/// A loaded book must hold the sources the model was trained with; gives the run's
/// as-of date (`choose_as_of`).
pub(super) fn check_loaded(
    b: &Bundle,
    book: &crate::ingest::Book,
    as_of: Option<Date>,
) -> Result<DateChoice> {
    check_book(b, book)?;
    choose_as_of(book, b, as_of)
}

fn replace_rule(opts: &InferOptions) -> Replace {
    if opts.overwrite {
        Replace::EarlierOutput
    } else {
        Replace::Never
    }
}

/// Runs labeling end to end.
///
/// # Errors
/// Bad bundle, data or flags (exit 2) and I/O failures (exit 1).
pub fn infer(located: &Located, spec: &DataSpec, opts: &InferOptions) -> Result<InferOutcome> {
    let b = &located.bundle;
    check_mode(b, &spec.config)?;
    let actions = LabelRules::from_config(&spec.config)?.with_words(opts.words.clone())?;
    let protected = protected_paths(located, spec);
    if let Some(out) = &opts.out {
        labels_target(out, opts, &protected).check()?;
    }
    run_parts(located, spec, opts, (&actions, &protected))
}

/// Split files go beside the output, never to a RAM-backed temporary directory.
fn parts_root(opts: &InferOptions) -> &Path {
    opts.out
        .as_deref()
        .and_then(Path::parent)
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(&opts.out_root)
}

fn run_parts(
    located: &Located,
    spec: &DataSpec,
    opts: &InferOptions,
    (actions, protected): (&LabelRules, &Protected),
) -> Result<InferOutcome> {
    let b = &located.bundle;
    // The book's files, found once: every step below reads these.
    let files = spec.resolve()?;
    let parts = BookParts::open(
        &spec.config,
        &files,
        opts.partitions,
        parts_root(opts),
        true,
    )?;
    let previous = opts
        .previous_run
        .as_deref()
        .map(output::read_previous_run)
        .transpose()?;
    let mut totals = Totals::new(b);
    let mut state: Option<RunState> = None;
    let mut unused = Vec::new();
    for p in 0..parts.len() {
        // The as-of is the first part's for every part (`RunState::start`).
        let known = state.as_ref().map(|st| st.as_of).or(opts.as_of);
        let mut stream = features::FeatureStream::new(as_of_guess(known));
        let loaded = parts.load_with(p, &spec.config, Some(&b.cleaning), &mut stream)?;
        if state.is_none() {
            state = Some(RunState::start(b, &loaded.book, opts, protected)?);
            // Every part's files have the user's files' columns.
            unused.clone_from(&loaded.unused_columns);
        }
        let Some(st) = state.as_mut() else { continue };
        let stage = Stage::new("features", 1);
        let (mut loaded, raw) =
            part_features(&parts, p, (&spec.config, b), loaded, stream, st.as_of)?;
        parts.done(p);
        loaded.book.release_after_features(true);
        // Labeling's chunks then reuse the freed tables' memory rather than fault in
        // fresh pages (kept 0.1 s, it went back to the system first).
        crate::allocator::reuse_freed_memory();
        let book = &loaded.book;
        let cats = features::categorical_columns(book);
        stage.finish();
        let part = Part {
            book,
            raw: &raw,
            cats: &cats,
            previous: previous.as_ref(),
            of: PartOf {
                index: p as u64,
                parts: parts.len(),
            },
        };
        // Each part's sums start from zero and are added in part order: the float sums
        // are then the same bit for bit wherever the parts were labelled (Spark).
        let mut part_totals = PartTotals::new(b);
        label_part_writing(b, &part, actions, &mut part_totals, &mut st.writer)?;
        totals.labels.add(part_totals);
        totals.quality.merge(loaded.report.clone());
        totals.quarantine.extend(loaded.quarantine);
    }
    drop(parts);
    let st = state.ok_or_else(|| Error::NoData("no data part could be read".into()))?;
    let run = (actions, previous.is_some());
    st.finish(
        located,
        (&spec.config, unused),
        opts,
        totals,
        run,
        protected,
    )
}

/// The as-of date as a labeling run guesses it while a book loads: `known` (`--as-of`, or
/// the first part's), else the last full month end of the data read so far
/// (`choose_as_of`'s rule).
fn as_of_guess(known: Option<Date>) -> features::CutoffGuess {
    Box::new(move |end: Option<Date>| match known {
        Some(date) => Some(vec![date]),
        None => end.map(|e| vec![e.last_full_month_end()]),
    })
}

/// Part `p`'s features as of `as_of`: those `stream` built while the part loaded, or,
/// when a source read late moved the data's last month after earlier ones were freed,
/// computed from the part read again whole.
fn part_features(
    parts: &BookParts,
    p: usize,
    (config, b): (&Config, &Bundle),
    loaded: crate::ingest::Loaded,
    stream: features::FeatureStream,
    as_of: Date,
) -> Result<(crate::ingest::Loaded, features::RawFeatures)> {
    if let Some(mut raws) = stream.finish(&loaded.book, &[as_of])? {
        if let Some(raw) = raws.pop() {
            return Ok((loaded, raw));
        }
    }
    drop(loaded);
    crate::progress::timed("read again: the last month moved", || {
        let loaded = parts.load_with(p, config, Some(&b.cleaning), &mut crate::ingest::KeepAll)?;
        let raw = features::compute(&loaded.book, as_of);
        Ok((loaded, raw))
    })
}

/// Labels a part while a second thread writes the labelled chunks: writing (text
/// formatting, Parquet encoding) overlaps the labeling of the next chunk. Chunks are
/// written in order; the writer's error comes first, as it explains a stopped run.
fn label_part_writing(
    b: &Bundle,
    part: &Part,
    actions: &LabelRules,
    totals: &mut PartTotals,
    writer: &mut LabelWriter,
) -> Result<()> {
    std::thread::scope(|scope| {
        // One chunk in flight beside the one being labelled bounds the memory.
        let (send, receive) = std::sync::mpsc::sync_channel::<output::LabelledRows>(1);
        let written = scope.spawn(move || -> Result<()> {
            for rows in receive {
                writer.write(&rows.into_chunk())?;
            }
            Ok(())
        });
        let labelled = label_part(b, part, actions, totals, &mut |chunk| {
            send.send(chunk)
                .map_err(|_| Error::Runtime("the label writer stopped".into()))
        });
        drop(send);
        written
            .join()
            .map_err(|_| Error::Runtime("the label writer failed unexpectedly".into()))??;
        labelled
    })
}

/// What every part adds to: the label aggregates, drift counts, data quality and the
/// quarantined rows. Sums over parts equal the whole book's.
struct Totals {
    labels: PartTotals,
    quality: crate::ingest::QualityReport,
    quarantine: Vec<crate::ingest::quality::QuarantinedRow>,
}

impl Totals {
    fn new(b: &Bundle) -> Self {
        Totals {
            labels: PartTotals::new(b),
            quality: crate::ingest::QualityReport::default(),
            quarantine: Vec::new(),
        }
    }
}

impl RunState {
    /// Fixes the run from its first part (every part holds the same months): checks the
    /// sources and the as-of date, and opens the staging directory and the label writer.
    fn start(
        b: &Bundle,
        book: &crate::ingest::Book,
        opts: &InferOptions,
        protected: &Protected,
    ) -> Result<Self> {
        let as_of = check_loaded(b, book, opts.as_of)?;
        let out_dir = opts
            .out
            .clone()
            .unwrap_or_else(|| opts.out_root.join(as_of.date.to_string()));
        let tmp = labels_target(&out_dir, opts, protected).stage()?;
        let writer = LabelWriter::create(tmp.path())?;
        Ok(RunState {
            as_of: as_of.date,
            as_of_why: as_of.why,
            out_dir,
            tmp,
            writer,
        })
    }

    /// Finishes the labels and publishes the run with its quality report, drift,
    /// summary, charts and report (`RunAggregates::publish`).
    fn finish(
        self,
        located: &Located,
        (config, unused): (&Config, Vec<(crate::schema::Source, String)>),
        opts: &InferOptions,
        mut totals: Totals,
        (rules, with_previous): (&LabelRules, bool),
        protected: &Protected,
    ) -> Result<InferOutcome> {
        self.writer.finish()?;
        let run = RunAggregates {
            as_of: self.as_of,
            as_of_why: self.as_of_why,
            with_previous,
            min_report_count: opts.min_report_count,
            unused,
        };
        let target = labels_target(&self.out_dir, opts, protected);
        let quality = (&mut totals.quality, Some(totals.quarantine.as_slice()));
        run.publish(
            self.tmp,
            &target,
            (located, rules, config),
            quality,
            &totals.labels,
        )
    }
}

/// What the first part fixes for the whole run.
struct RunState {
    as_of: Date,
    as_of_why: String,
    out_dir: PathBuf,
    tmp: Staging,
    writer: LabelWriter,
}

/// A labeling run's output directory.
fn labels_target<'a>(dir: &'a Path, opts: &InferOptions, protected: &'a Protected) -> Target<'a> {
    Target {
        dir,
        kind: OutputKind::Labels,
        replace: replace_rule(opts),
        protected,
        flag: "--out",
    }
}

/// What a run's aggregate outputs are computed from, beside its summed totals.
pub(super) struct RunAggregates {
    pub as_of: Date,
    pub as_of_why: String,
    pub with_previous: bool,
    pub min_report_count: usize,
    /// Source columns the contract does not use (reported in the drift file).
    pub unused: Vec<(crate::schema::Source, String)>,
}

impl RunAggregates {
    /// The end of every labeling run, wherever its parts were labelled: the quality
    /// report into the staged directory (the run stops there on too many invalid rows),
    /// then drift, summary, charts and report beside the labels (`write`), and the
    /// directory published.
    pub(super) fn publish(
        self,
        staging: Staging,
        target: &Target,
        (located, rules, config): (&Located, &LabelRules, &Config),
        (quality, quarantine): (&mut QualityReport, Option<&[QuarantinedRow]>),
        totals: &PartTotals,
    ) -> Result<InferOutcome> {
        quality.extract_date = config.extract_date().to_string();
        write_quality(staging.path(), quality, quarantine)?;
        quality.check_thresholds(config.cleaning.max_invalid_percent)?;
        let as_of_why = self.as_of_why.clone();
        let (summary, drift) = self.write(located, rules, quality, totals, staging.path())?;
        Ok(InferOutcome {
            out_dir: target.publish(staging)?,
            as_of_why,
            summary,
            drift,
        })
    }

    /// Writes `drift.json`, `summary.json`, the charts and `report.html` into `dir` from
    /// the run's summed totals; the same files whether the parts were labelled here or
    /// elsewhere (Spark executors).
    pub(super) fn write(
        self,
        located: &Located,
        rules: &LabelRules,
        quality: &crate::ingest::QualityReport,
        totals: &PartTotals,
        dir: &Path,
    ) -> Result<(RunSummary, DriftReport)> {
        let b = &located.bundle;
        let (summary, mut drift) = totals.summarise(
            b,
            &located.dir,
            self.as_of,
            self.with_previous,
            self.min_report_count,
        );
        drift.unused_columns = self
            .unused
            .into_iter()
            .map(|(s, c)| (s.name().to_string(), c))
            .collect();
        write_json(&dir.join("drift.json"), &drift)?;
        write_json(&dir.join("summary.json"), &summary)?;
        let persistency = totals.agg.persistency.rows();
        if !persistency.is_empty() {
            let csv = crate::lifecycle::persistency::to_csv(&persistency);
            crate::fsio::write_atomic(&dir.join("persistency.csv"), csv.as_bytes())?;
        }
        if let Some(effect) = &summary.effect {
            let csv = crate::effect::output::to_csv(effect);
            crate::fsio::write_atomic(&dir.join("effect.csv"), csv.as_bytes())?;
        }
        if let Some(history) = totals.agg.effect.history() {
            write_json(&dir.join(output::EFFECT_HISTORY), &history)?;
        }
        let stage = Stage::new("charts", 1);
        let mut charts = crate::charts::labeling::draw_all(
            b,
            &summary,
            &totals.agg.projection,
            &dir.join("charts"),
            &rules.words,
        )?;
        let say = crate::charts::Say::new(b, &rules.words);
        charts.extend(crate::progress::timed("persistency chart", || {
            crate::charts::lifecycle::persistency(&say, &persistency, &dir.join("charts"))
        })?);
        stage.finish();
        crate::report::write(
            b,
            rules,
            &summary,
            &drift,
            quality,
            &charts,
            &dir.join("report.html"),
        )?;
        Ok((summary, drift))
    }
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Runtime(format!("cannot encode {}: {e}", path.display())))?;
    crate::fsio::write_atomic(path, &json)
}

/// How last month's predictions turned out, in two or three lines.
fn outcome_lines(out: &mut String, r: &crate::labeling::outcomes::Outcomes) {
    use std::fmt::Write as _;
    if r.known > 0 {
        let by_band: Vec<String> = r
            .bands
            .iter()
            .filter(|b| b.clients > 0)
            .map(|b| format!("{} {:.1}%", b.band, b.lapse_rate * 100.0))
            .collect();
        let _ = writeln!(
            out,
            "outcomes  {} clients scored last month, {} lapsed within {} month(s): ROC AUC {}, \
             lift at 10% {}; lapse rate by last month's band: {}",
            r.known,
            r.lapsed,
            r.window_months,
            r.roc_auc.map_or("n/a".into(), |v| format!("{v:.3}")),
            r.lift_at_10.map_or("n/a".into(), |v| format!("{v:.2}")),
            by_band.join(", ")
        );
    }
    for n in &r.notes {
        let _ = writeln!(out, "          {n}");
    }
}

/// The console summary of a run.
pub fn console(o: &InferOutcome) -> String {
    use std::fmt::Write as _;
    let s = &o.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nclientele-infer: {} clients as of {} with model {} (cut-off {})",
        s.clients, s.as_of, s.model_version, s.model_cutoff
    );
    let _ = writeln!(out, "as-of     {}: {}", s.as_of, o.as_of_why);
    let _ = writeln!(
        out,
        "scored    {} in force; {} not in force (labelled, not scored); {} with imputed values",
        s.scored, s.not_scored, s.imputed_clients
    );
    let _ = writeln!(
        out,
        "          {:>4}  {:<44} {:>7} {:>10} {:>9}",
        "id", "segment", "share", "mean risk", "high risk"
    );
    for g in &s.segments {
        let _ = writeln!(
            out,
            "          {:>4}  {:<44} {:>6.1}% {:>9.1}% {:>8.1}%",
            g.id,
            crate::charts::short(&g.name, 44),
            g.share * 100.0,
            g.mean_probability * 100.0,
            g.high_risk_share * 100.0
        );
    }
    let _ = writeln!(out, "drift     {}", o.drift.status.word());
    if !o.drift.unused_columns.is_empty() {
        let cols: Vec<String> = o
            .drift
            .unused_columns
            .iter()
            .map(|(s, c)| format!("{s}.{c}"))
            .collect();
        let _ = writeln!(
            out,
            "          unused columns (ignored): {}",
            cols.join(", ")
        );
    }
    for i in o.drift.worst(3) {
        let _ = writeln!(
            out,
            "          {:<26} PSI {:.3} {}",
            i.name,
            i.psi,
            i.status.word()
        );
    }
    if let Some(r) = &s.outcomes {
        outcome_lines(&mut out, r);
    }
    let _ = writeln!(out, "output    {}", o.out_dir.display());
    out
}
