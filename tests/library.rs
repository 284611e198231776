//! The library's entry points (what the Python package and a Spark runner call): tables
//! in memory load like files, and labeled parts add up to the whole book.

use clientele::config::{Config, FlatConfig, LabelRules, Mode};
use clientele::features::compute;
use clientele::ingest::{self, load_from, Frames, Input, LoadOptions};
use clientele::labeling::{label_book, PartOf, PartTotals};
use clientele::schema::Source;
use clientele::train::{fit, FitOptions};
use clientele::Date;
use polars::prelude::*;
use std::path::Path;

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn frames_in_memory_load_and_compute_exactly_like_their_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/next-month");
    let config = Config::default();
    let mut opts = LoadOptions::from_config(&config, false);
    opts.extract_date = d("2026-10-31");
    let from_files = ingest::load(&config, &dir, &opts, None).unwrap();

    let mut frames = Frames::new();
    for source in Source::RELATIONAL {
        let file = std::fs::File::open(dir.join(format!("{source}.parquet"))).unwrap();
        frames = frames.with(source, ParquetReader::new(file).finish().unwrap());
    }
    let from_frames = load_from(&config, Input::Frames(&frames), &opts, None).unwrap();

    assert_eq!(from_files.book.client_ids, from_frames.book.client_ids);
    assert_eq!(from_files.cleaning, from_frames.cleaning);
    assert_eq!(
        from_files.quarantine.len(),
        from_frames.quarantine.len(),
        "same rows quarantined"
    );
    let a = compute(&from_files.book, d("2026-10-31"));
    let b = compute(&from_frames.book, d("2026-10-31"));
    assert_eq!(a.names, b.names);
    for ((name, x), y) in a.names.iter().zip(&a.columns).zip(&b.columns) {
        assert_eq!(bits(x), bits(y), "feature {name}");
    }
    assert_eq!(a.active, b.active);
    // Errors name the frame where they would name a file.
    let broken = Frames::new().with(
        Source::Clients,
        df!("client_id" => ["C1"], "age" => ["forty"]).unwrap(),
    );
    let err = load_from(&config, Input::Frames(&broken), &opts, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("<clients table>") && err.contains("age"),
        "{err}"
    );
}

/// A flat book of `n` clients whose lapse depends on missed payments and tenure.
fn flat_table(n: usize) -> DataFrame {
    let ids: Vec<String> = (0..n).map(|i| format!("C{i}")).collect();
    let missed: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
    let tenure: Vec<f64> = (0..n).map(|i| ((i * 7) % 23) as f64).collect();
    let lapsed: Vec<&str> = (0..n)
        .map(|i| if (i % 5) * 3 + (i % 7) > 9 { "1" } else { "0" })
        .collect();
    df!("id" => ids, "missed" => missed, "tenure" => tenure, "lapsed" => lapsed).unwrap()
}

fn flat_config() -> Config {
    let config = Config {
        mode: Mode::Flat,
        flat: Some(FlatConfig {
            path: "clients.csv".into(),
            id: "id".into(),
            label: Some("lapsed".into()),
            positive: None,
            numeric: vec!["missed".into(), "tenure".into()].into(),
            categorical: vec![],
            exclude: vec![],
        }),
        ..Config::default()
    };
    config.check().unwrap();
    config
}

#[test]
fn labelled_parts_add_up_to_the_whole_book() {
    let config = flat_config();
    let train = Frames::new().with(Source::Flat, flat_table(500));
    let opts = LoadOptions::from_config(&config, true);
    let mut loaded = load_from(&config, Input::Frames(&train), &opts, None).unwrap();
    let bundle = fit(
        &config,
        &mut loaded,
        &FitOptions::from_config(&config).unwrap(),
        None,
    )
    .unwrap()
    .bundle;
    let actions = LabelRules::from_config(&bundle.config).unwrap();
    let month = flat_table(420);
    let label = |df: DataFrame, of: PartOf| {
        let frames = Frames::new().with(Source::Flat, df);
        let opts = LoadOptions::from_config(&config, false);
        let part = load_from(
            &config,
            Input::Frames(&frames),
            &opts,
            Some(&bundle.cleaning),
        )
        .unwrap();
        label_book(&bundle, &part.book, bundle.cutoff, &actions, of).unwrap()
    };
    let whole = label(month.clone(), PartOf::WHOLE);
    let mut totals = PartTotals::new(&bundle);
    let mut probabilities = Vec::new();
    for (index, (offset, len)) in [(0, 100), (100, 320)].into_iter().enumerate() {
        let part = label(
            month.slice(offset, len),
            PartOf {
                index: index as u64,
                parts: 2,
            },
        );
        assert_eq!(part.labels.height(), len);
        probabilities.extend(probabilities_of(&part.labels));
        totals.add(part.totals);
    }
    assert_eq!(probabilities, probabilities_of(&whole.labels));
    let here = Path::new("models/x");
    let (summary_parts, drift_parts) = totals.summarise(&bundle, here, bundle.cutoff, false, 5);
    let (summary_whole, drift_whole) =
        whole
            .totals
            .summarise(&bundle, here, bundle.cutoff, false, 5);
    // Counts are exact; segment profiles are sums of floats, added in another order.
    let mut rounded = summary_parts.clone();
    for (p, w) in rounded.segments.iter_mut().zip(&summary_whole.segments) {
        for ((_, std_p, orig_p), (_, std_w, orig_w)) in p.profile.iter_mut().zip(&w.profile) {
            assert!((*std_p - std_w).abs() < 1e-12 && (*orig_p - orig_w).abs() < 1e-9);
            (*std_p, *orig_p) = (*std_w, *orig_w);
        }
    }
    assert_eq!(rounded, summary_whole);
    assert_eq!(summary_whole.clients, 420);
    assert_eq!(
        serde_json::to_string(&drift_parts).unwrap(),
        serde_json::to_string(&drift_whole).unwrap()
    );
}

fn probabilities_of(labels: &polars::prelude::DataFrame) -> Vec<Option<f64>> {
    let column = labels.column("lapse_probability").unwrap();
    column.f64().unwrap().iter().collect()
}

/// The next month's sample book as tables in memory, by source.
fn next_month_tables() -> Vec<(Source, DataFrame)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/next-month");
    Source::RELATIONAL
        .into_iter()
        .map(|source| {
            let file = std::fs::File::open(dir.join(format!("{source}.parquet"))).unwrap();
            (source, ParquetReader::new(file).finish().unwrap())
        })
        .collect()
}

/// Each table's records of the clients of each of `n` parts (as `clientele-infer
/// --partitions n` splits them), in the table's order.
fn split_by_client(tables: &[(Source, DataFrame)], n: usize) -> Vec<Frames> {
    use clientele::ingest::partition::part_of;
    (0..n)
        .map(|part| {
            let mut frames = Frames::new();
            for (source, df) in tables {
                let ids = df
                    .column("client_id")
                    .unwrap()
                    .cast(&DataType::String)
                    .unwrap();
                let mask: Vec<bool> = ids
                    .str()
                    .unwrap()
                    .iter()
                    .map(|id| part_of(id.unwrap_or(""), n) == part)
                    .collect();
                let mask = BooleanChunked::from_slice("part".into(), &mask);
                frames = frames.with(*source, df.filter(&mask).unwrap());
            }
            frames
        })
        .collect()
}

#[test]
fn a_book_trained_in_parts_with_every_client_sampled_gives_the_bundle_of_the_whole() {
    use clientele::ingest::QualityReport;
    use clientele::train::parts::{
        fit_sampled, part_facts, part_rows, ClientSample, SampledBook, TrainPlan,
    };
    let mut config = Config::default();
    config.cleaning.extract_date = Some(d("2026-10-31"));
    let tables = next_month_tables();
    let whole_frames = tables
        .iter()
        .fold(Frames::new(), |f, (s, df)| f.with(*s, df.clone()));
    let opts = LoadOptions::from_config(&config, true);
    let mut loaded = load_from(&config, Input::Frames(&whole_frames), &opts, None).unwrap();
    let fit_opts = FitOptions::from_config(&config).unwrap();
    let whole = fit(&config, &mut loaded, &fit_opts, None).unwrap().bundle;

    let parts = split_by_client(&tables, 3);
    let everyone = ClientSample::new(None, 0, 42);
    let facts = parts
        .iter()
        .map(|f| part_facts(&config, f, &everyone).unwrap());
    let plan = TrainPlan::of(&config, facts, None, 12).unwrap();
    assert_eq!(plan.cutoff, whole.cutoff);
    assert_eq!(plan.cleaning, whole.cleaning);
    let mut rows: Option<DataFrame> = None;
    let mut quality = QualityReport::default();
    for f in &parts {
        let (r, q) = part_rows(&config, f, &plan, &everyone).unwrap();
        match &mut rows {
            None => rows = Some(r),
            Some(all) => {
                all.vstack_mut(&r).unwrap();
            }
        }
        quality.merge(q);
    }
    let rows = rows.unwrap();
    // Back into the book's client order (Spark carries each client's first row number).
    let position: std::collections::HashMap<&str, usize> = loaded
        .book
        .client_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let ids = rows.column("client_id").unwrap().str().unwrap().clone();
    let mut order: Vec<u32> = (0..rows.height() as u32).collect();
    order.sort_by_key(|&r| position[ids.get(r as usize).unwrap()]);
    let rows = rows.take(&IdxCa::from_vec("order".into(), order)).unwrap();

    let sampled = SampledBook::from_rows(&plan, &rows).unwrap();
    assert!(
        sampled.len() < loaded.book.n_clients(),
        "only clients in force"
    );
    let parted = fit_sampled(&config, &plan, sampled, &fit_opts, None)
        .unwrap()
        .bundle;
    assert_eq!(
        serde_json::to_value(&parted).unwrap(),
        serde_json::to_value(&whole).unwrap()
    );
    assert_eq!(quality.clients, loaded.report.clients);
    for s in &loaded.report.sources {
        let p = quality
            .sources
            .iter()
            .find(|p| p.source == s.source)
            .unwrap();
        assert_eq!(
            (
                p.rows_read,
                p.quarantined,
                p.rows_kept,
                &p.quarantine_reasons
            ),
            (
                s.rows_read,
                s.quarantined,
                s.rows_kept,
                &s.quarantine_reasons
            ),
            "{}",
            s.source
        );
    }

    // A sample of a third of the clients: the book's cut-off and counts, a model that
    // still separates lapses, and the statistics of the sampled clients.
    let third = ClientSample::new(Some(7_000), loaded.book.n_clients() as u64, 42);
    let facts = parts
        .iter()
        .map(|f| part_facts(&config, f, &third).unwrap());
    let plan = TrainPlan::of(&config, facts, None, 12).unwrap();
    assert_eq!(plan.cutoff, whole.cutoff);
    assert_eq!(plan.clients, loaded.book.n_clients());
    let mut rows: Vec<DataFrame> = Vec::new();
    for f in &parts {
        let (r, _) = part_rows(&config, f, &plan, &third).unwrap();
        let slots = r.column("__slot").unwrap().i32().unwrap().clone();
        let kept: Vec<bool> = slots.iter().map(|s| third_keeps(s.unwrap())).collect();
        rows.push(
            r.filter(&BooleanChunked::from_slice("k".into(), &kept))
                .unwrap(),
        );
    }
    let mut sample = rows.remove(0);
    for r in &rows {
        sample.vstack_mut(r).unwrap();
    }
    let in_force = sample
        .column("active")
        .unwrap()
        .bool()
        .unwrap()
        .sum()
        .unwrap() as usize;
    let sampled = SampledBook::from_rows(&plan, &sample).unwrap();
    let fitted = fit_sampled(&config, &plan, sampled, &fit_opts, None)
        .unwrap()
        .bundle;
    assert_eq!(fitted.data.clients, loaded.book.n_clients());
    assert_eq!(fitted.data.active_clients, in_force);
    assert!(
        (4_000..5_200).contains(&in_force),
        "{in_force} of 7,000 sampled"
    );
    assert!(
        fitted.metrics.test.roc_auc > 0.65,
        "{}",
        fitted.metrics.test.roc_auc
    );
    assert!(fitted.metrics.out_of_time.is_some());
}

/// Whether a client at `slot` (of `part_rows`) is in a sample of 7,000 of the book's
/// clients with seed 42, as `ClientSample` decides it.
fn third_keeps(slot: i32) -> bool {
    let clients = 20_000u64; // the next month's sample book
    let keep = (clientele::train::parts::SAMPLE_SLOTS * 7_000).div_ceil(clients);
    (slot as u64) < keep
}
