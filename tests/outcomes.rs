//! `clientele-infer --previous-run`: how last month's predictions and actions turned out,
//! end to end on the sample (September labelled, then October with September as the
//! previous run), and the previous runs that cannot be compared.

mod common;
use common::*;
use std::path::Path;

fn repo(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn label(t: &Path, data: &str, extract: &str, out: &str, extra: &[&str]) -> Run {
    infer_month(t, &repo(data), extract, out, extra)
}

fn outcomes(t: &Path, run: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(t.join(run).join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    summary["outcomes"].clone()
}

#[test]
fn last_months_predictions_are_scored_against_what_happened() {
    let t = tempfile::tempdir().unwrap();
    train_on_sample(t.path());
    let r = label(t.path(), "data/sample", "2026-09-30", "september", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = label(
        t.path(),
        "data/sample/next-month",
        "2026-11-30",
        "october",
        &["--previous-run", "september"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("outcomes  "), "{}", r.stdout);

    let o = outcomes(t.path(), "october");
    assert_eq!(o["previous_as_of"], "2026-09-30");
    assert_eq!(o["window_months"], 1);
    let known = o["known"].as_u64().unwrap();
    let lapsed = o["lapsed"].as_u64().unwrap();
    assert!(known > 10_000 && lapsed > 50, "{o}");
    // Last month's probabilities rank this month's lapses, and riskier bands lapse more.
    assert!(o["roc_auc"].as_f64().unwrap() > 0.65, "{o}");
    let rate = |band: usize| o["bands"][band]["lapse_rate"].as_f64().unwrap();
    assert!(rate(2) > rate(0), "{o}");
    // Every counted client is in one band and one action group.
    let in_bands: u64 = (0..3)
        .map(|b| o["bands"][b]["clients"].as_u64().unwrap())
        .sum();
    let in_actions: u64 = o["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["clients"].as_u64().unwrap())
        .sum();
    assert_eq!((in_bands, in_actions), (known, known));
    assert!(o["notes"].as_array().unwrap().is_empty(), "{o}");
    let report = std::fs::read_to_string(t.path().join("october/report.html")).unwrap();
    assert!(report.contains("How last month's predictions turned out"));
    assert!(report.contains("Observational, not a controlled test"));
    assert!(t.path().join("october/charts/outcomes.png").is_file());
    assert!(!report.contains("C0000001"), "a client id in the report");

    // A previous run of the same month: no window, said plainly; the migration stays.
    let r = label(
        t.path(),
        "data/sample",
        "2026-09-30",
        "again",
        &["--previous-run", "september"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let o = outcomes(t.path(), "again");
    assert_eq!(o["known"], 0);
    assert!(
        o["notes"][0]
            .as_str()
            .unwrap()
            .contains("at least a month apart"),
        "{o}"
    );

    // A previous run from another model: counted, and said.
    let summary = std::fs::read_to_string(t.path().join("september/summary.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&summary).unwrap();
    value["model_version"] = "20250101T000000Z-00000000".into();
    std::fs::create_dir_all(t.path().join("other-model")).unwrap();
    std::fs::copy(
        t.path().join("september/labels.parquet"),
        t.path().join("other-model/labels.parquet"),
    )
    .unwrap();
    write(t.path(), "other-model/summary.json", &value.to_string());
    let r = label(
        t.path(),
        "data/sample/next-month",
        "2026-11-30",
        "vs-other",
        &["--previous-run", "other-model"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let o = outcomes(t.path(), "vs-other");
    assert_eq!(o["known"].as_u64().unwrap(), known);
    assert!(
        r.stdout
            .contains("come from model 20250101T000000Z-00000000"),
        "{}",
        r.stdout
    );

    // A previous run of other clients: nothing to compare, said plainly.
    write(
        t.path(),
        "strangers/labels.csv",
        "client_id,segment_id,lapse_probability,risk_band,action\nX1,1,0.2,high,call\nX2,2,0.01,low,standard service\n",
    );
    write(
        t.path(),
        "strangers/summary.json",
        "{\"as_of\": \"2026-09-30\"}",
    );
    let r = label(
        t.path(),
        "data/sample/next-month",
        "2026-11-30",
        "vs-strangers",
        &["--previous-run", "strangers"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("do the two runs cover the same clients?"),
        "{}",
        r.stdout
    );

    // Not a previous run at all: a clear error, exit 2, nothing written.
    std::fs::create_dir_all(t.path().join("empty")).unwrap();
    let r = label(
        t.path(),
        "data/sample/next-month",
        "2026-11-30",
        "vs-empty",
        &["--previous-run", "empty"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("not a clientele-infer output directory"),
        "{}",
        r.stderr
    );
    assert!(!t.path().join("vs-empty").exists());
}
