//! Flat and transactions-only books load through the same ingest.

mod common;
use common::*;

/// `clientele-train --check-data` with `cfg.toml` on `data/`, report into `out/`.
fn check_data(dir: &std::path::Path) -> Run {
    train(
        &[
            "--check-data",
            "--config",
            "cfg.toml",
            "--data",
            "data",
            "--report-dir",
            "out",
            "--extract-date",
            "2026-01-01",
        ],
        dir,
    )
}

fn quality_json(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("out/data-quality.json")).unwrap())
        .unwrap()
}

#[test]
fn flat_mode_reads_declared_columns_and_a_yes_no_label() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "data/features.csv",
        "id,age,premium,region,churned\nA,30,100,North,yes\nB,41,,south,no\nC,52,300, north ,No\nC,52,300, north ,No\nD,,250,east,\n",
    );
    write(
        t.path(),
        "cfg.toml",
        "mode = \"flat\"\n[flat]\npath = \"features.csv\"\nid = \"id\"\nlabel = \"churned\"\nnumeric = [\"age\", \"premium\"]\ncategorical = [\"region\"]\n",
    );
    let r = check_data(t.path());
    // One of five rows read has no label: 20% invalid is above the default 5%.
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("missing churned"), "{}", r.stderr);
    let q = std::fs::read_to_string(t.path().join("out/quarantine.csv")).unwrap();
    assert!(q.contains("flat,5,missing churned"), "{q}");

    write(
        t.path(),
        "cfg.toml",
        &format!(
            "{}\n[cleaning]\nmax_invalid_percent = 30.0\n",
            std::fs::read_to_string(t.path().join("cfg.toml")).unwrap()
        ),
    );
    let r = check_data(t.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let json = quality_json(t.path());
    let flat = &json["sources"][0];
    assert_eq!(flat["duplicates_dropped"], 1);
    assert_eq!(flat["rows_kept"], 3);
    assert_eq!(flat["columns"]["premium"]["imputed"], 1);
    // "North" and both " north " rows (spellings are fixed before duplicates are found).
    assert_eq!(flat["columns"]["region"]["normalised"], 3);
}

#[test]
fn transactions_mode_quarantines_negative_and_future_rows() {
    let t = tempfile::tempdir().unwrap();
    let mut rows = String::from("client_id,date,amount\n");
    for i in 0..100 {
        rows.push_str(&format!(
            "C{},2025-0{}-1{},{}.50\n",
            i % 7,
            1 + i % 9,
            i % 10,
            10 + i
        ));
    }
    rows.push_str("C1,2025-03-01,-5\nC2,2035-03-01,5\n");
    write(t.path(), "data/transactions.csv", &rows);
    write(t.path(), "cfg.toml", "mode = \"transactions\"\n");
    let r = check_data(t.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let json = quality_json(t.path());
    assert_eq!(json["clients"], 7);
    let reasons = &json["sources"][0]["quarantine_reasons"];
    assert_eq!(reasons["negative amount"], 1);
    assert_eq!(reasons["date after the extract date"], 1);
}

/// `[flat] id = "row"`: a file without an id column is read with row numbers as ids;
/// exact repeated rows are still dropped as duplicates.
#[test]
fn flat_mode_without_an_id_column_uses_row_numbers() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "data/features.csv",
        "age,premium,churned\n30,100,yes\n41,200,no\n41,200,no\n52,300,no\n",
    );
    write(
        t.path(),
        "cfg.toml",
        "mode = \"flat\"\n[flat]\npath = \"features.csv\"\nid = \"row\"\nlabel = \"churned\"\nnumeric = [\"age\", \"premium\"]\n",
    );
    let r = check_data(t.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let flat = &quality_json(t.path())["sources"][0];
    assert_eq!(flat["duplicates_dropped"], 1);
    assert_eq!(flat["rows_kept"], 3);
    // Without `id = "row"` the missing id column is named.
    write(
        t.path(),
        "cfg.toml",
        "mode = \"flat\"\n[flat]\npath = \"features.csv\"\nlabel = \"churned\"\nnumeric = [\"age\", \"premium\"]\n",
    );
    assert_bad_input(&check_data(t.path()), &["features.csv", "client_id"]);
}

/// `[flat] path` may be left out for a table in memory; reading a directory with such a
/// config names what is missing (exit 2), not a directory that cannot be read.
#[test]
fn a_flat_config_without_a_path_is_refused_for_files_by_name() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "data/features.csv",
        "id,age,churned\nA,30,yes\nB,41,no\n",
    );
    write(
        t.path(),
        "cfg.toml",
        "mode = \"flat\"\n[flat]\nid = \"id\"\nlabel = \"churned\"\nnumeric = [\"age\"]\n",
    );
    let r = check_data(t.path());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("[flat] has no path"), "{}", r.stderr);
}
