//! Every kind of bad input named in the foundation issue gets exit code 2 and a message
//! that names the problem; none panics.

mod common;
use common::*;

#[test]
fn valid_tiny_book_passes() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    let r = check(t.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("clients"), "{}", r.stdout);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(t.path().join("out/data-quality.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["clients"], 3);
    // " Male " and "M" were normalised, the missing income imputed.
    let clients = &json["sources"][0];
    assert_eq!(clients["columns"]["gender"]["normalised"], 2);
    assert_eq!(clients["columns"]["annual_income"]["imputed"], 1);
}

#[test]
fn empty_file() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "data/clients.csv", "");
    assert_bad_input(&check(t.path(), &[]), &["clients.csv", "empty"]);
}

#[test]
fn header_only() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "data/clients.csv", "client_id,gender\n");
    assert_bad_input(&check(t.path(), &[]), &["clients.csv", "no data rows"]);
}

#[test]
fn missing_required_column() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    write(
        t.path(),
        "data/policies.csv",
        "policy_id,client_id,start_date,annual_premium\nP1,C1,2020-01-01,100\n",
    );
    assert_bad_input(
        &check(t.path(), &[]),
        &["policies.csv", "missing required column", "product"],
    );
}

#[test]
fn numeric_column_holding_text() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    write(
        t.path(),
        "data/policies.csv",
        "policy_id,client_id,product,start_date,annual_premium\nP1,C1,medical,2020-01-01,100\nP2,C2,medical,2020-01-01,lots\n",
    );
    assert_bad_input(
        &check(t.path(), &[]),
        &[
            "policies.csv",
            "row 2",
            "annual_premium",
            "a number",
            "\"lots\"",
        ],
    );
}

#[test]
fn invalid_utf8() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    std::fs::write(
        t.path().join("data/clients.csv"),
        b"client_id,region\nC1,S\xE3o Paulo\xFF\n",
    )
    .unwrap();
    assert_bad_input(&check(t.path(), &[]), &["clients.csv", "UTF-8"]);
}

#[test]
fn unparsable_date() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    write(
        t.path(),
        "data/policies.csv",
        "policy_id,client_id,product,start_date,annual_premium\nP1,C1,medical,2020-01-01,100\nP2,C2,medical,31/02/2020,100\n",
    );
    assert_bad_input(
        &check(t.path(), &[]),
        &["row 2", "start_date", "YYYY-MM-DD", "31/02/2020"],
    );
}

#[test]
fn duplicate_client_ids_with_different_attributes() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "data/clients.csv",
        "client_id,gender\nC1,male\nC2,female\nC1,female\n",
    );
    assert_bad_input(&check(t.path(), &[]), &["\"C1\"", "rows 1 and 3"]);
}

#[test]
fn exact_duplicate_clients_are_dropped_not_refused() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "data/clients.csv",
        "client_id,gender\nC1,male\nC2,female\nC1,M\n",
    );
    let r = check(t.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let json = std::fs::read_to_string(t.path().join("out/data-quality.json")).unwrap();
    assert!(json.contains("\"duplicates_dropped\": 1"), "{json}");
}

#[test]
fn policies_for_unknown_clients_above_threshold() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    write(
        t.path(),
        "data/policies.csv",
        "policy_id,client_id,product,start_date,annual_premium\nP1,C1,medical,2020-01-01,100\nP2,C9,medical,2020-01-01,100\nP3,C8,medical,2020-01-01,100\n",
    );
    let r = check(t.path(), &[]);
    assert_bad_input(&r, &["policies.csv", "2 of 3 rows", "unknown client"]);
    // The rows are not lost: they are in the quarantine file.
    let q = std::fs::read_to_string(t.path().join("out/quarantine.csv")).unwrap();
    assert_eq!(
        q.lines().filter(|l| l.contains("unknown client")).count(),
        2,
        "{q}"
    );
}

#[test]
fn config_naming_an_absent_column() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    write(
        t.path(),
        "cfg.toml",
        "[sources.clients.columns]\nannual_income = \"Income\"\n",
    );
    assert_bad_input(
        &check(t.path(), &["--config", "cfg.toml"]),
        &["'Income'", "annual_income", "no such column"],
    );
}

#[test]
fn config_with_unknown_field_or_bad_toml() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    write(
        t.path(),
        "cfg.toml",
        "[sources.clients.columns]\nincome = \"Income\"\n",
    );
    assert_bad_input(
        &check(t.path(), &["--config", "cfg.toml"]),
        &["cfg.toml", "unknown field 'income'"],
    );
    write(t.path(), "cfg.toml", "mode = [\n");
    assert_bad_input(&check(t.path(), &["--config", "cfg.toml"]), &["cfg.toml"]);
}

#[test]
fn label_with_a_third_value() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "data/flat.csv",
        "client_id,age,lapsed\nA,30,yes\nB,40,no\nC,50,maybe\n",
    );
    write(
        t.path(),
        "cfg.toml",
        "mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nlabel = \"lapsed\"\nnumeric = [\"age\"]\n",
    );
    assert_bad_input(
        &check(t.path(), &["--config", "cfg.toml"]),
        &["lapsed", "more than two values", "maybe"],
    );
}

#[test]
fn file_that_does_not_exist_or_is_unreadable() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    write(
        t.path(),
        "cfg.toml",
        "[sources.payments]\npath = \"payments.csv\"\n",
    );
    assert_bad_input(
        &check(t.path(), &["--config", "cfg.toml"]),
        &["payments.csv", "does not exist"],
    );
    // A directory where a file should be cannot be read.
    std::fs::create_dir_all(t.path().join("data/payments.csv")).unwrap();
    let r = check(t.path(), &["--config", "cfg.toml"]);
    assert_bad_input(&r, &["payments.csv"]);
}

#[test]
fn no_data_at_all() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("data")).unwrap();
    assert_bad_input(&check(t.path(), &[]), &["no source files found"]);
}

/// Values a typed fast path could read differently from the row-level parsers: each is a
/// clear error naming the file, the row, the column and the value.
#[test]
fn values_a_typed_reader_could_misread() {
    let policies = |premium: &str, start: &str| {
        format!(
            "policy_id,client_id,product,start_date,annual_premium\n\
             P1,C1,medical,2020-01-01,100\nP2,C2,medical,{start},{premium}\n"
        )
    };
    for (premium, start, needles) in [
        (
            "\"1,234\"",
            "2020-01-01",
            ["annual_premium", "a number", "1,234"],
        ),
        (
            "1e309",
            "2020-01-01",
            ["annual_premium", "a number", "1e309"],
        ),
        ("100", "2026-02-30", ["start_date", "a date", "2026-02-30"]),
    ] {
        let t = tempfile::tempdir().unwrap();
        tiny_book(t.path());
        write(t.path(), "data/policies.csv", &policies(premium, start));
        let mut all = vec!["policies.csv", "row 2"];
        all.extend(needles);
        assert_bad_input(&check(t.path(), &[]), &all);
    }
}

/// A Parquet date column stored as integers is refused by name, not read as days.
#[test]
fn parquet_column_of_the_wrong_physical_type() {
    use polars::prelude::*;
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    std::fs::remove_file(t.path().join("data/policies.csv")).unwrap();
    let mut df = df!(
        "policy_id" => ["P1"],
        "client_id" => ["C1"],
        "product" => ["medical"],
        "start_date" => [20_200_101_i64],
        "annual_premium" => [100.0],
    )
    .unwrap();
    let file = std::fs::File::create(t.path().join("data/policies.parquet")).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
    assert_bad_input(
        &check(t.path(), &[]),
        &["policies.parquet", "start_date", "expected dates"],
    );
}

/// A source present both as CSV and as Parquet is refused, naming both, not chosen.
#[test]
fn a_source_in_two_formats_is_ambiguous() {
    let t = tempfile::tempdir().unwrap();
    tiny_book(t.path());
    write(t.path(), "data/policies.parquet", "not read");
    assert_bad_input(
        &check(t.path(), &[]),
        &["policies.csv", "policies.parquet", "remove one"],
    );
}
