//! Inputs that once crashed the binaries (a panic, exit 101) or gave the wrong exit
//! code: each is now bad input (exit 2) naming the file and column, or accepted.

mod common;
use common::*;
use std::path::Path;

fn write_payments_parquet(dir: &Path, amounts: Vec<f64>) {
    use polars::prelude::*;
    let n = amounts.len();
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new("client_id".into(), vec!["C1"; n]),
            Column::new("policy_id".into(), vec!["P1"; n]),
            Column::new("due_date".into(), vec!["2020-01-01"; n]),
            Column::new("amount".into(), amounts),
        ],
    )
    .unwrap();
    let file = std::fs::File::create(dir.join("data/payments.parquet")).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
}

#[test]
fn non_finite_parquet_numbers_are_bad_values_or_missing() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    write_payments_parquet(t.path(), vec![100.0, f64::INFINITY, 50.0]);
    assert_bad_input(
        &check(t.path(), &[]),
        &["payments.parquet", "row 2", "amount", "inf"],
    );
    // NaN is a missing value: a payment without an amount is quarantined, not a crash.
    write_payments_parquet(t.path(), vec![100.0, f64::NAN, 50.0, 70.0, 80.0]);
    write(
        t.path(),
        "lenient.toml",
        "[cleaning]\nmax_invalid_percent = 50.0\n",
    );
    let r = check(t.path(), &["--config", "lenient.toml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let q = std::fs::read_to_string(t.path().join("out/quarantine.csv")).unwrap();
    assert!(q.contains("payments,2,missing amount"), "{q}");
}

#[test]
fn decimal_parquet_columns_are_refused_by_name() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/payments-decimal.parquet");
    std::fs::copy(fixture, t.path().join("data/payments.parquet")).unwrap();
    assert_bad_input(
        &check(t.path(), &[]),
        &["payments.parquet", "'amount'", "decimal(10, 2)"],
    );
}

#[test]
fn two_fields_on_one_column_are_refused() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    write(
        t.path(),
        "cfg.toml",
        "[sources.clients]\ncolumns = { client_id = \"client_id\", region = \"client_id\" }\n",
    );
    assert_bad_input(
        &check(t.path(), &["--config", "cfg.toml"]),
        &["clients.csv", "'client_id'", "'region'"],
    );
}

#[test]
fn a_flat_column_plays_one_role() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "data/flat.csv",
        "id,age,premium,churned\nA,30,100,1\nB,40,200,0\n",
    );
    let cases = [
        ("numeric = [\"id\", \"age\"]", "the id cannot be a feature"),
        (
            "numeric = [\"age\", \"churned\"]",
            "the label cannot be a feature",
        ),
        ("numeric = [\"age\", \"AGE\"]", "listed once"),
        (
            "numeric = [\"age\"]\ncategorical = [\"age\"]",
            "listed once",
        ),
    ];
    for (features, expected) in cases {
        write(
            t.path(),
            "cfg.toml",
            &format!(
                "mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\nlabel = \"churned\"\n{features}\n"
            ),
        );
        assert_bad_input(
            &check(t.path(), &["--config", "cfg.toml"]),
            &["cfg.toml", expected],
        );
    }
}

#[test]
fn config_and_names_files_that_are_not_text_are_bad_input() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    std::fs::write(t.path().join("cfg.toml"), [0xff, 0xfe, 0x00, 0x9f, 0x80]).unwrap();
    assert_bad_input(
        &check(t.path(), &["--config", "cfg.toml"]),
        &["cfg.toml", "UTF-8"],
    );
    std::fs::write(t.path().join("names.toml"), [0xc3, 0x28, 0xff]).unwrap();
    let dir = t.path().to_string_lossy().into_owned();
    synth_book(&t.path().join("book"), 1500, 3);
    let r = train(
        &[
            "--data",
            "book",
            "--extract-date",
            "2026-09-30",
            "--names",
            "names.toml",
            "--no-charts",
            "--models",
            "m",
            "--out",
            "o",
        ],
        t.path(),
    );
    assert_bad_input(&r, &["names.toml", "UTF-8"]);
    assert!(!Path::new(&dir).join("m").exists());
}

#[test]
fn amounts_that_would_overflow_are_quarantined_before_the_model() {
    let t = tempfile::tempdir().unwrap();
    synth_book(&t.path().join("data"), 1500, 4);
    let payments = t.path().join("data/payments.csv");
    let text = std::fs::read_to_string(&payments).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let amount = split_csv(&lines[0])
        .iter()
        .position(|h| h == "amount")
        .unwrap();
    let mut changed = 0;
    for line in lines.iter_mut().skip(1).step_by(50) {
        let mut cells = split_csv(line);
        cells[amount] = "1e308".into();
        *line = cells.join(",");
        changed += 1;
    }
    std::fs::write(&payments, lines.join("\n") + "\n").unwrap();
    let r = train(
        &[
            "--data",
            "data",
            "--extract-date",
            "2026-09-30",
            "--no-charts",
            "--models",
            "m",
            "--out",
            "o",
        ],
        t.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let q: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(t.path().join("o/train-data-quality/data-quality.json")).unwrap(),
    )
    .unwrap();
    let pay = q["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "payments")
        .unwrap();
    assert_eq!(pay["quarantine_reasons"]["amount beyond 1e15"], changed);
}
