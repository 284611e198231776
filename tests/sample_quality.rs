//! `--check-data` on a generated book quarantines exactly the invalid rows the generator
//! injected, drops exactly its duplicates, and the JSON report agrees with the manifest.

mod common;
use clientele::Date;
use clientele_synth::{generate, write_book, BookParams, OutputFormat, WriteOptions};
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
        nonlinear_lapse: false,
        interaction_lapse: false,
    };
    let book = generate(&params);
    let opts = WriteOptions {
        view: params.end,
        format: OutputFormat::Mixed,
        dirt: true,
    };
    let manifest = write_book(&book, &t.path().join("data"), &opts).unwrap();
    let manifest = serde_json::to_value(&manifest).unwrap();
    assert_report_matches_manifest(t.path(), std::path::Path::new("data"), &manifest);
}

/// The committed sample (and its later snapshot): the report agrees with the manifest
/// the generator wrote beside the data.
#[test]
fn committed_sample_quarantines_exactly_its_injected_rows() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["data/sample", "data/sample/next-month"] {
        let data = root.join(dir);
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(data.join("manifest.json")).unwrap())
                .unwrap();
        let t = tempfile::tempdir().unwrap();
        assert_report_matches_manifest(t.path(), &data, &manifest);
    }
}

fn assert_report_matches_manifest(
    cwd: &std::path::Path,
    data: &std::path::Path,
    manifest: &serde_json::Value,
) {
    let r = train(
        &[
            "--check-data",
            "--data",
            data.to_str().unwrap(),
            "--report-dir",
            "out",
            "--extract-date",
            "2026-11-15",
        ],
        cwd,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Data quality"), "{}", r.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cwd.join("out/data-quality.json")).unwrap())
            .unwrap();
    let count = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let sources = json["sources"].as_array().unwrap();
    let mut total_invalid = 0;
    for s in sources {
        let name = s["source"].as_str().unwrap();
        assert_eq!(
            s["duplicates_dropped"],
            manifest["exact_duplicates"][name].clone().max_or_zero(),
            "{name} duplicates"
        );
        let expected = manifest["invalid"]
            .get(name)
            .cloned()
            .unwrap_or(serde_json::json!({}));
        assert_eq!(
            s["quarantine_reasons"], expected,
            "{name} quarantine reasons"
        );
        assert_eq!(s["rows_read"], manifest["rows"][name], "{name} rows");
        total_invalid += count(&s["quarantined"]);
    }
    // Missing incomes imputed, outliers capped (among others at the fitted quantile).
    let income = &sources[0]["columns"]["annual_income"];
    assert_eq!(income["imputed"], manifest["missing_income"]);
    assert!(count(&income["capped"]) >= count(&manifest["income_outliers"]));
    // The quarantine file holds one line per quarantined row, plus the header.
    let q = std::fs::read_to_string(cwd.join("out/quarantine.csv")).unwrap();
    assert_eq!(q.lines().count() as u64, total_invalid + 1);
}

trait OrZero {
    fn max_or_zero(self) -> serde_json::Value;
}

impl OrZero for serde_json::Value {
    fn max_or_zero(self) -> serde_json::Value {
        if self.is_null() {
            serde_json::json!(0)
        } else {
            self
        }
    }
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
        nonlinear_lapse: false,
        interaction_lapse: false,
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
