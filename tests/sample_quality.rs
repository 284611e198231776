//! `--check-data` on a generated book quarantines exactly the invalid rows the generator
//! injected, drops exactly its duplicates, and the JSON report agrees with the manifest.

mod common;
use clientele::synth::{generate, write_book, BookParams, OutputFormat, WriteOptions};
use clientele::Date;
use common::*;

#[test]
fn check_data_finds_exactly_the_injected_dirt() {
    let t = tempfile::tempdir().unwrap();
    let params = BookParams {
        clients: 3000,
        seed: 11,
        end: Date::parse("2026-09-30").unwrap(),
        extra_months: 0,
        history_years: 5,
        income_factor: 1.0,
        lapse_shift: 0.0,
    };
    let book = generate(&params);
    let opts = WriteOptions {
        view: params.end,
        format: OutputFormat::Mixed,
        dirt: true,
    };
    let manifest = write_book(&book, &t.path().join("data"), &opts).unwrap();

    let r = train(
        &[
            "--check-data",
            "--data",
            "data",
            "--report-dir",
            "out",
            "--extract-date",
            "2026-10-15",
        ],
        t.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Data quality"), "{}", r.stdout);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(t.path().join("out/data-quality.json")).unwrap(),
    )
    .unwrap();
    let sources = json["sources"].as_array().unwrap();
    for s in sources {
        let name = s["source"].as_str().unwrap();
        let dups = manifest.exact_duplicates.get(name).copied().unwrap_or(0);
        assert_eq!(
            s["duplicates_dropped"].as_u64().unwrap() as usize,
            dups,
            "{name} duplicates"
        );
        let expected = manifest.invalid.get(name).cloned().unwrap_or_default();
        let got: std::collections::BTreeMap<String, usize> =
            serde_json::from_value(s["quarantine_reasons"].clone()).unwrap();
        assert_eq!(got, expected, "{name} quarantine reasons");
        assert_eq!(
            s["rows_read"].as_u64().unwrap() as usize,
            manifest.rows[name],
            "{name} rows"
        );
    }
    // Missing incomes imputed, outliers capped (among others at the fitted quantile).
    let income = &sources[0]["columns"]["annual_income"];
    assert_eq!(
        income["imputed"].as_u64().unwrap() as usize,
        manifest.missing_income
    );
    assert!(income["capped"].as_u64().unwrap() as usize >= manifest.income_outliers);
    // The quarantine file holds one line per quarantined row, plus the header.
    let q = std::fs::read_to_string(t.path().join("out/quarantine.csv")).unwrap();
    let total: usize = manifest.invalid.values().flat_map(|m| m.values()).sum();
    assert_eq!(q.lines().count(), total + 1);
}

#[test]
fn generator_is_deterministic_whatever_the_thread_count() {
    let params = BookParams {
        clients: 1500,
        seed: 3,
        end: Date::parse("2026-09-30").unwrap(),
        extra_months: 1,
        history_years: 5,
        income_factor: 1.0,
        lapse_shift: 0.0,
    };
    let write = |threads: usize| {
        let t = tempfile::tempdir().unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let book = generate(&params);
            let opts = WriteOptions {
                view: params.end,
                format: OutputFormat::Mixed,
                dirt: true,
            };
            write_book(&book, t.path(), &opts).unwrap();
        });
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let one = write(1);
    assert_eq!(
        one.len(),
        7,
        "{:?}",
        one.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(one == write(2), "output differs between 1 and 2 threads");
}
