//! Point-in-time features and the lapse label on a hand-made book: values are what the
//! definitions say, and records after the cut-off never change a feature.

mod common;
use clientele::features::{self, compute, exit_kinds, lapse_labels, Label};
use clientele::ingest::{self, LoadOptions};
use clientele::vocab::LapseOutcome;
use clientele::{Config, Date};
use common::*;

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn book_files(dir: &std::path::Path, extra_after_cutoff: bool) {
    write(
        dir,
        "clients.csv",
        "client_id,birth_date,annual_income,channel\nA,1980-06-30,50000,agent\nB,1990-06-30,30000,online\nC,1970-06-30,80000,bank\nD,1985-01-01,40000,bank\n",
    );
    let mut policies = String::from(
        "policy_id,client_id,product,start_date,end_date,end_reason,annual_premium\n\
         PA1,A,term_life,2018-01-01,,,1200\n\
         PA2,A,medical,2019-01-01,,,600\n\
         PB1,B,accident,2022-01-01,2025-03-01,lapse,300\n\
         PC1,C,annuity,2010-01-01,2025-02-01,maturity,5000\n\
         PD1,D,term_life,2023-06-01,2023-12-01,lapse,400\n",
    );
    let mut payments = String::from(
        "client_id,policy_id,due_date,paid_date,amount\n\
         A,PA1,2024-01-01,2024-01-05,1200\n\
         A,PA2,2024-03-01,,600\n\
         B,PB1,2024-01-01,2024-01-02,300\n\
         B,PB1,2024-10-01,,300\n",
    );
    let mut contacts = String::from(
        "client_id,contact_date,kind\nB,2024-09-01,complaint\nB,2024-11-01,complaint\nA,2024-12-01,app_login\n",
    );
    if extra_after_cutoff {
        policies.push_str("PA3,A,annuity,2025-02-01,,,9000\n");
        payments.push_str("A,PA2,2025-03-01,,600\nB,PB1,2025-01-01,,300\n");
        contacts.push_str("A,2025-01-15,complaint\n");
    }
    write(dir, "policies.csv", &policies);
    write(dir, "payments.csv", &payments);
    write(dir, "contacts.csv", &contacts);
}

fn load(dir: &std::path::Path) -> ingest::Book {
    let cfg = Config::default();
    let opts = LoadOptions {
        extract_date: d("2025-12-31"),
        max_invalid_percent: 5.0,
        outlier_quantile: 1.0,
        require_label: false,
    };
    ingest::load(&cfg, dir, &opts, None).unwrap().book
}

#[test]
fn features_follow_their_definitions() {
    let t = tempfile::tempdir().unwrap();
    book_files(t.path(), false);
    let book = load(t.path());
    let f = compute(&book, d("2024-12-31"));
    let col = |name: &str| f.column(name).unwrap().to_vec();
    assert_eq!(f.active, vec![true, true, true, false]);
    assert_eq!(col("n_policies"), vec![2.0, 1.0, 1.0, 0.0]);
    assert_eq!(col("n_products")[0], 2.0);
    assert_eq!(col("premium_in_force")[0], 1800.0);
    assert!((col("premium_burden")[0] - 1800.0 / 50000.0).abs() < 1e-9);
    assert_eq!(col("missed_12m"), vec![1.0, 1.0, 0.0, 0.0]);
    assert_eq!(col("missed_6m"), vec![0.0, 1.0, 0.0, 0.0]);
    assert_eq!(col("collection_rate_12m")[0], 0.5);
    assert_eq!(col("complaints_6m"), vec![0.0, 2.0, 0.0, 0.0]);
    assert_eq!(col("logins_6m")[0], 1.0);
    assert_eq!(col("days_since_contact")[1], 60.0);
    assert!((col("age")[0] - 44.5).abs() < 0.01);
    assert!((col("tenure_years")[0] - 7.0).abs() < 0.01);
}

#[test]
fn records_after_the_cutoff_never_change_a_feature() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    book_files(a.path(), false);
    book_files(b.path(), true);
    let cutoff = d("2024-12-31");
    let fa = compute(&load(a.path()), cutoff);
    let fb = compute(&load(b.path()), cutoff);
    assert_eq!(fa.names, fb.names);
    for (name, (x, y)) in fa.names.iter().zip(fa.columns.iter().zip(&fb.columns)) {
        let same = x
            .iter()
            .zip(y)
            .all(|(p, q)| p == q || (p.is_nan() && q.is_nan()));
        assert!(same, "{name}: {x:?} vs {y:?}");
    }
}

#[test]
fn lapse_label_counts_churn_but_not_maturity() {
    let t = tempfile::tempdir().unwrap();
    book_files(t.path(), false);
    let book = load(t.path());
    let labels = lapse_labels(
        &book,
        d("2024-12-31"),
        6,
        d("2025-12-31"),
        LapseOutcome::Any,
    )
    .unwrap();
    // A stays in force; B lapses; C's cover matures (not churn); D was gone before.
    assert_eq!(
        labels,
        vec![
            Label::Stayed,
            Label::Lapsed,
            Label::Excluded,
            Label::Excluded
        ]
    );
    // B's exit is a lapse: it counts for a lapse target, and is left out of a surrender
    // target (it left, but not by surrender).
    let of = |outcome| lapse_labels(&book, d("2024-12-31"), 6, d("2025-12-31"), outcome).unwrap();
    assert_eq!(of(LapseOutcome::Lapse), labels);
    assert_eq!(of(LapseOutcome::Surrender)[0], Label::Stayed);
    assert_eq!(of(LapseOutcome::Surrender)[1], Label::Excluded);
    // Exits apart: B left by a lapse (bit 1), nobody by surrender.
    let exits = exit_kinds(&book, d("2024-12-31"), 6, d("2025-12-31")).unwrap();
    assert_eq!(exits, vec![0, 1, 0, 0]);
    let err = lapse_labels(
        &book,
        d("2024-12-31"),
        24,
        d("2025-12-31"),
        LapseOutcome::Any,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("past the data's last date"),
        "{err}"
    );
}

#[test]
fn explain_features_lists_every_feature() {
    let t = tempfile::tempdir().unwrap();
    let r = train(&["--explain-features"], t.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    for f in clientele::features::Feature::catalogue(clientele::Mode::Relational) {
        assert!(r.stdout.contains(f.name()), "{f} missing");
    }
}

/// On the committed sample, the label computed from the data agrees with what the
/// generator knows happened (truth.csv), client by client.
#[test]
fn sample_labels_agree_with_the_generators_truth() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let opts = LoadOptions {
        extract_date: d("2026-11-15"),
        max_invalid_percent: 5.0,
        outlier_quantile: 0.995,
        require_label: false,
    };
    let book = ingest::load(&Config::default(), &root, &opts, None)
        .unwrap()
        .book;
    let labels = lapse_labels(
        &book,
        d("2025-09-30"),
        12,
        d("2026-09-30"),
        LapseOutcome::Any,
    )
    .unwrap();
    let truth = std::fs::read_to_string(root.join("truth.csv")).unwrap();
    let index: std::collections::HashMap<&str, usize> = book
        .client_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let (mut compared, mut agree, mut lapsed) = (0, 0, 0);
    for line in truth.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let expected = match cells[4] {
            "true" => Label::Lapsed,
            "false" => Label::Stayed,
            _ => continue,
        };
        compared += 1;
        lapsed += usize::from(expected == Label::Lapsed);
        agree += usize::from(labels[index[cells[0]]] == expected);
    }
    let rate = agree as f64 / compared as f64;
    eprintln!("labels agree on {agree} of {compared} ({rate:.4}); {lapsed} lapsed");
    assert!(compared > 5000 && lapsed > 500);
    assert!(rate > 0.98, "agreement {rate}");
}

/// Two feature tables equal bit for bit (NaN where the other has NaN), with equal facts.
fn assert_same_features(
    a: &clientele::features::RawFeatures,
    b: &clientele::features::RawFeatures,
) {
    assert_eq!(a.cutoff, b.cutoff);
    assert_eq!(a.names, b.names);
    assert_eq!(a.active, b.active, "active as of {}", a.cutoff);
    for (name, (x, y)) in a.names.iter().zip(a.columns.iter().zip(&b.columns)) {
        let bits = |c: &Vec<f64>| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(x), bits(y), "{name} as of {}", a.cutoff);
    }
    assert_eq!(
        format!("{:?}", a.facts),
        format!("{:?}", b.facts),
        "facts as of {}",
        a.cutoff
    );
}

fn sample_files() -> (Config, ingest::SourceFiles, LoadOptions) {
    let config = Config::default();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let files = ingest::SourceFiles::resolve(&config, &dir).unwrap();
    let mut opts = LoadOptions::from_config(&config, false);
    opts.extract_date = d("2026-09-30");
    (config, files, opts)
}

#[test]
fn features_built_while_the_sample_loads_equal_the_whole_books_at_several_cutoffs() {
    use clientele::features::{FeatureBuilder, FeatureStream};
    use clientele::schema::Source;
    let (config, files, opts) = sample_files();
    let cutoffs = [
        d("2023-06-30"),
        d("2024-12-31"),
        d("2026-03-31"),
        d("2026-09-30"),
    ];
    let whole = ingest::load_from(&config, ingest::Input::Files(&files), &opts, None).unwrap();
    let given = cutoffs.to_vec();
    let mut stream = FeatureStream::new(Box::new(move |_| Some(given.clone())));
    let input = ingest::Input::Files(&files);
    let streamed = ingest::load_with(&config, input, &opts, None, &mut stream).unwrap();
    // Only the sources the features alone read were freed, and the load reports the same.
    let freed: Vec<Source> = streamed.book.released.keys().copied().collect();
    assert_eq!(freed, [Source::Payments, Source::Claims, Source::Contacts]);
    assert_eq!(
        streamed.book.tables.keys().collect::<Vec<_>>(),
        [&Source::Clients, &Source::Policies]
    );
    assert_eq!(
        format!("{:?}", streamed.report),
        format!("{:?}", whole.report)
    );
    assert_eq!(streamed.quarantine.len(), whole.quarantine.len());
    assert_eq!(
        features::data_end(&streamed.book),
        features::data_end(&whole.book)
    );
    let raws = stream.finish(&streamed.book, &cutoffs).unwrap().unwrap();
    // In another order, one cut-off at a time.
    let order = [
        Source::Payments,
        Source::Contacts,
        Source::Claims,
        Source::Clients,
        Source::Policies,
    ];
    for (raw, &c) in raws.iter().zip(&cutoffs) {
        let reference = compute(&whole.book, c);
        assert_same_features(raw, &reference);
        let mut builder = FeatureBuilder::new(whole.book.mode, whole.book.n_clients(), &[c]);
        let policies = whole.book.table(Source::Policies);
        for source in order {
            let table = whole.book.table(source).unwrap();
            builder.add(source, table, policies).unwrap();
        }
        assert_same_features(&builder.finish()[0], &reference);
    }
    // Some clients lapse, pay and claim by each cut-off: the comparison is not vacuous.
    let paid = raws[1].feature(features::Feature::Paid12m).unwrap();
    assert!(paid.iter().filter(|v| **v > 0.0).count() > 100);
}

#[test]
fn the_builder_refuses_a_source_twice() {
    use clientele::features::FeatureBuilder;
    use clientele::schema::Source;
    let (config, files, opts) = sample_files();
    let book = ingest::load_from(&config, ingest::Input::Files(&files), &opts, None)
        .unwrap()
        .book;
    let mut builder = FeatureBuilder::new(book.mode, book.n_clients(), &[d("2025-12-31")]);
    let (payments, policies) = (book.table(Source::Payments), book.table(Source::Policies));
    builder
        .add(Source::Payments, payments.unwrap(), policies)
        .unwrap();
    let again = builder.add(Source::Payments, payments.unwrap(), policies);
    assert!(again.unwrap_err().to_string().contains("twice"));
}

/// A book whose policies and payments end in October 2024 (the policies' later ends are
/// after the extract, 2025-01-15: scheduled, not known) and whose contacts, read last,
/// reach 31 December.
fn month_moving_book(dir: &std::path::Path) {
    book_files(dir, false);
    write(
        dir,
        "contacts.csv",
        "client_id,contact_date,kind\nB,2024-09-01,complaint\nA,2024-12-31,app_login\n",
    );
}

#[test]
fn a_source_read_last_that_moves_the_month_asks_for_the_book_again() {
    use clientele::features::FeatureStream;
    let t = tempfile::tempdir().unwrap();
    month_moving_book(t.path());
    let config = Config::default();
    let files = ingest::SourceFiles::resolve(&config, t.path()).unwrap();
    let mut opts = LoadOptions::from_config(&config, false);
    opts.extract_date = d("2025-01-15");
    let last_month = |end: Option<Date>| end.map(|e| vec![e.last_full_month_end()]);
    let mut stream = FeatureStream::new(Box::new(last_month));
    let input = ingest::Input::Files(&files);
    let loaded = ingest::load_with(&config, input, &opts, None, &mut stream).unwrap();
    // The payments were computed as of September (the data read by then) and freed.
    assert_eq!(stream.cutoffs(), Some(vec![d("2024-09-30")]));
    let end = features::data_end(&loaded.book).unwrap();
    assert_eq!(end, d("2024-12-31"), "the freed contacts' last date counts");
    assert!(stream
        .finish(&loaded.book, &[d("2024-12-31")])
        .unwrap()
        .is_none());

    // Training's cut-offs move with it: the run reads the book again.
    let guess = clientele::train::cutoff_guess(config.mode, None, 3);
    let mut stream = FeatureStream::new(guess);
    let input = ingest::Input::Files(&files);
    let loaded = ingest::load_with(&config, input, &opts, None, &mut stream).unwrap();
    assert_eq!(
        stream.cutoffs(),
        Some(vec![d("2024-06-30"), d("2024-03-31")])
    );
    let cutoffs = clientele::train::snapshot_cutoffs(&loaded.book, None, 3).unwrap();
    assert_eq!(cutoffs, [d("2024-09-30"), d("2024-06-30")]);
    assert!(stream.finish(&loaded.book, &cutoffs).unwrap().is_none());

    // With the month given, nothing moves: the features are the whole book's.
    let mut stream = FeatureStream::new(Box::new(|_| Some(vec![d("2024-12-31")])));
    let input = ingest::Input::Files(&files);
    let loaded = ingest::load_with(&config, input, &opts, None, &mut stream).unwrap();
    let raw = stream
        .finish(&loaded.book, &[d("2024-12-31")])
        .unwrap()
        .unwrap();
    let whole = load_at(t.path(), "2025-01-15");
    assert_same_features(&raw[0], &compute(&whole, d("2024-12-31")));
}

fn load_at(dir: &std::path::Path, extract: &str) -> ingest::Book {
    let cfg = Config::default();
    let mut opts = LoadOptions::from_config(&cfg, false);
    opts.extract_date = d(extract);
    ingest::load(&cfg, dir, &opts, None).unwrap().book
}
