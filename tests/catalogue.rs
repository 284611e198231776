//! The bad-input catalogue (`docs/bad-input.md`) as a table of cases, each run through
//! the real binary: what goes in, the exit code, and what the message (or, for accepted
//! input, the quality report) must say. A test below keeps the document and this table
//! in step.

mod common;
use common::*;
use std::path::Path;

const CLIENTS: &str = "client_id,birth_date,gender,annual_income,channel,first_known_date\n\
C1,1980-01-02,M,50000,agent,2015-03-01\n\
C2,1990-05-06,female,42000,online,2019-07-01\n\
C3,1970-11-30, Male ,,bank,2010-01-15\n";

const POLICIES_HEAD: &str =
    "policy_id,client_id,product,start_date,end_date,end_reason,annual_premium\n";

/// One catalogue entry. `files` are written over the tiny valid book (`tiny_book`);
/// `remove` deletes files of it; `args` follow `--check-data` (or replace it when
/// `own_args`); `needles` must appear in stderr (exit 2) or in stdout and the quality
/// report (exit 0).
struct Case {
    id: &'static str,
    files: &'static [(&'static str, Text)],
    remove: &'static [&'static str],
    args: &'static [&'static str],
    own_args: bool,
    code: i32,
    needles: &'static [&'static str],
}

#[derive(Clone, Copy)]
enum Text {
    Str(&'static str),
    Bytes(&'static [u8]),
    /// The clients file with one transformation applied.
    Clients(fn(&str) -> String),
    /// The policies header and these rows.
    Policies(&'static str),
    /// A saved fuzz input: its first byte picked the target, the rest is the file.
    FuzzInput(&'static [u8]),
}

const NONE: Case = Case {
    id: "",
    files: &[],
    remove: &[],
    args: &[],
    own_args: false,
    code: 2,
    needles: &[],
};

const CASES: &[Case] = &[
    // --- Files and their encoding -------------------------------------------------
    Case { id: "empty_file", files: &[("data/clients.csv", Text::Str(""))], needles: &["clients.csv", "the file is empty"], ..NONE },
    Case { id: "header_only_required_source", files: &[("data/clients.csv", Text::Str("client_id,gender\n"))], needles: &["clients.csv", "no data rows"], ..NONE },
    Case { id: "header_only_optional_source", files: &[("data/claims.csv", Text::Str("claim_id,client_id,policy_id,claim_date,amount_claimed,status\n"))], code: 0, needles: &["\"source\": \"claims\"", "\"rows_read\": 0"], ..NONE },
    Case { id: "utf8_byte_order_mark", files: &[("data/clients.csv", Text::Clients(|c| format!("\u{feff}{c}")))], code: 0, needles: &["\"clients\": 3"], ..NONE },
    Case { id: "crlf_line_endings", files: &[("data/clients.csv", Text::Clients(|c| c.replace('\n', "\r\n")))], code: 0, needles: &["\"clients\": 3"], ..NONE },
    Case { id: "cr_only_line_endings", files: &[("data/clients.csv", Text::Clients(|c| c.replace('\n', "\r")))], needles: &["clients.csv", "carriage return only"], ..NONE },
    Case { id: "tab_separated", files: &[("data/clients.csv", Text::Clients(|c| c.replace(',', "\t")))], needles: &["clients.csv", "separated by tabs", "commas"], ..NONE },
    Case { id: "semicolon_separated", files: &[("data/clients.csv", Text::Clients(|c| c.replace(',', ";")))], needles: &["clients.csv", "separated by semicolons"], ..NONE },
    Case { id: "unterminated_quote", files: &[("data/clients.csv", Text::Clients(|c| format!("{c}C4,\"1980-01-02,M,1,agent,2015-03-01\n")))], needles: &["clients.csv", "row 4", "never closed"], ..NONE },
    Case { id: "row_with_too_many_fields", files: &[("data/clients.csv", Text::Clients(|c| format!("{c}C4,1980-01-02,M,1,agent,2015-03-01,extra\n")))], needles: &["clients.csv", "row 4 has 7 fields but the header has 6"], ..NONE },
    Case { id: "row_with_too_few_fields", files: &[("data/clients.csv", Text::Clients(|c| format!("{c}C4,1980-01-02\n")))], code: 0, needles: &["\"clients\": 4"], ..NONE },
    Case { id: "utf16_text", files: &[("data/clients.csv", Text::Bytes(b"\xff\xfec\x00l\x00i\x00e\x00n\x00t\x00_\x00i\x00d\x00\n\x00C\x001\x00\n\x00"))], needles: &["clients.csv", "not valid UTF-8", "save it as UTF-8"], ..NONE },
    Case { id: "invalid_utf8_in_a_value", files: &[("data/clients.csv", Text::Bytes(b"client_id,region\nC1,S\xE3o Paulo\n"))], needles: &["clients.csv", "not valid UTF-8"], ..NONE },
    Case { id: "nul_byte_in_a_number", files: &[("data/clients.csv", Text::Clients(|c| c.replace("50000", "500\u{0}00")))], needles: &["clients.csv", "row 1", "annual_income", "a number"], ..NONE },
    Case { id: "parquet_file_named_csv", files: &[("data/clients.csv", Text::Bytes(b"PAR1\x15\x04\x15\x00"))], needles: &["clients.csv", "is a Parquet file", "rename it to .parquet"], ..NONE },
    Case { id: "csv_file_named_parquet", files: &[("data/policies.parquet", Text::Policies("P1,C1,medical,2020-01-01,,,100\n"))], remove: &["data/policies.csv"], needles: &["policies.parquet", "cannot be read as Parquet"], ..NONE },
    Case { id: "damaged_parquet_metadata", files: &[("data/policies.parquet", Text::FuzzInput(include_bytes!("../fuzz/regressions/parquet_source/thrift-bool-field")))], remove: &["data/policies.csv"], needles: &["policies.parquet", "cannot be read as Parquet", "thrift bool field"], ..NONE },
    Case { id: "unsupported_extension", files: &[("data/clients.xlsx", Text::Str("x")), ("cfg.toml", Text::Str("[sources.clients]\npath = \"clients.xlsx\"\n"))], args: &["--config", "cfg.toml"], needles: &["clients.xlsx", "unsupported file type"], ..NONE },
    Case { id: "directory_where_a_file_should_be", files: &[("cfg.toml", Text::Str("[sources.payments]\npath = \"payments.csv\"\n")), ("data/payments.csv/x", Text::Str(""))], args: &["--config", "cfg.toml"], needles: &["payments.csv", "directory"], ..NONE },
    Case { id: "configured_file_missing", files: &[("cfg.toml", Text::Str("[sources.payments]\npath = \"payments.csv\"\n"))], args: &["--config", "cfg.toml"], needles: &["payments.csv", "does not exist"], ..NONE },
    Case { id: "no_source_files", remove: &["data/clients.csv", "data/policies.csv"], needles: &["no source files found"], ..NONE },
    Case { id: "source_in_two_formats", files: &[("data/policies.parquet", Text::Str("x"))], needles: &["policies.csv", "policies.parquet", "remove one"], ..NONE },
    // --- Headers ----------------------------------------------------------------------
    Case { id: "missing_required_column", files: &[("data/policies.csv", Text::Str("policy_id,client_id,start_date,annual_premium\nP1,C1,2020-01-01,100\n"))], needles: &["policies.csv", "missing required column", "product"], ..NONE },
    Case { id: "header_with_spaces_and_capitals", files: &[("data/clients.csv", Text::Clients(|c| c.replacen("client_id", " CLIENT_ID ", 1)))], code: 0, needles: &["\"clients\": 3"], ..NONE },
    Case { id: "column_named_twice", files: &[("data/clients.csv", Text::Str("client_id,gender,Gender\nC1,M,F\n"))], needles: &["clients.csv", "\"Gender\" appears twice", "columns 2 and 3"], ..NONE },
    Case { id: "extra_unknown_columns", files: &[("data/clients.csv", Text::Clients(|c| c.replace('\n', ",x\n")))], code: 0, needles: &["\"clients\": 3"], ..NONE },
    // --- Values -------------------------------------------------------------------------
    Case { id: "text_in_a_number_column", files: &[("data/policies.csv", Text::Policies("P1,C1,medical,2020-01-01,,,100\nP2,C2,medical,2020-01-01,,,lots\n"))], needles: &["policies.csv", "row 2", "annual_premium", "a number", "\"lots\""], ..NONE },
    Case { id: "thousands_separator", files: &[("data/policies.csv", Text::Policies("P1,C1,medical,2020-01-01,,,\"1,234\"\n"))], needles: &["row 1", "annual_premium", "\"1,234\""], ..NONE },
    Case { id: "number_beyond_f64", files: &[("data/policies.csv", Text::Policies("P1,C1,medical,2020-01-01,,,1e309\n"))], needles: &["row 1", "annual_premium", "1e309"], ..NONE },
    Case { id: "infinity_spelled_out", files: &[("data/clients.csv", Text::Clients(|c| c.replace("50000", "inf")))], needles: &["row 1", "annual_income", "\"inf\""], ..NONE },
    Case { id: "missing_value_tokens", files: &[("data/clients.csv", Text::Clients(|c| c.replace("50000", "NA")))], code: 0, needles: &["\"imputed\": 2"], ..NONE },
    Case { id: "impossible_attribute", files: &[("data/clients.csv", Text::Clients(|c| c.replace("50000", "-5")))], code: 0, needles: &["\"invalid_set_missing\": 1"], ..NONE },
    Case { id: "date_in_another_format", files: &[("data/policies.csv", Text::Policies("P1,C1,medical,31/01/2020,,,100\n"))], needles: &["row 1", "start_date", "YYYY-MM-DD", "31/01/2020"], ..NONE },
    Case { id: "date_that_does_not_exist", files: &[("data/policies.csv", Text::Policies("P1,C1,medical,2026-02-30,,,100\n"))], needles: &["row 1", "start_date", "a date", "2026-02-30"], ..NONE },
    Case { id: "unknown_category_spelling", files: &[("data/policies.csv", Text::Policies("P1,C1,carrier pigeon,2020-01-01,,,100\n"))], code: 0, needles: &["\"mapped_to_other\": 1"], ..NONE },
    Case { id: "rows_dated_after_the_extract", files: &[("data/policies.csv", Text::Policies("P1,C1,medical,2020-01-01,,,100\nP2,C2,medical,2030-01-01,,,100\nP3,C3,medical,2020-01-01,,,100\n"))], needles: &["policies.csv", "1 of 3 rows", "quarantine file"], ..NONE },
    // --- Identity and links -----------------------------------------------------------
    Case { id: "duplicate_id_with_different_attributes", files: &[("data/clients.csv", Text::Str("client_id,gender\nC1,male\nC2,female\nC1,female\n"))], needles: &["\"C1\"", "rows 1 and 3"], ..NONE },
    Case { id: "exact_duplicate_rows", files: &[("data/clients.csv", Text::Clients(|c| format!("{c}C1,1980-01-02,M,50000,agent,2015-03-01\n")))], code: 0, needles: &["\"duplicates_dropped\": 1"], ..NONE },
    Case { id: "empty_client_id", files: &[("data/clients.csv", Text::Clients(|c| format!("{c},1980-01-02,M,1,agent,2015-03-01\n")))], needles: &["clients.csv", "missing client_id"], ..NONE },
    Case { id: "policies_of_unknown_clients", files: &[("data/policies.csv", Text::Policies("P1,C1,medical,2020-01-01,,,100\nP2,C9,medical,2020-01-01,,,100\n"))], needles: &["policies.csv", "1 of 2 rows", "unknown client"], ..NONE },
    Case { id: "a_few_invalid_rows_under_the_threshold", files: &[("data/policies.csv", Text::Policies("P1,C1,medical,2020-01-01,,,100\nP2,C9,medical,2020-01-01,,,100\n")), ("cfg.toml", Text::Str("[cleaning]\nmax_invalid_percent = 60.0\n"))], args: &["--config", "cfg.toml"], code: 0, needles: &["\"unknown client\": 1"], ..NONE },
    // --- Config -----------------------------------------------------------------------
    Case { id: "config_unknown_field", files: &[("cfg.toml", Text::Str("[sources.clients.columns]\nincome = \"Income\"\n"))], args: &["--config", "cfg.toml"], needles: &["cfg.toml", "unknown field 'income'"], ..NONE },
    Case { id: "config_not_toml", files: &[("cfg.toml", Text::Str("mode = [\n"))], args: &["--config", "cfg.toml"], needles: &["cfg.toml", "TOML parse error"], ..NONE },
    Case { id: "config_not_text", files: &[("cfg.toml", Text::Bytes(b"\xff\xfe\x00\x9f"))], args: &["--config", "cfg.toml"], needles: &["cfg.toml", "UTF-8"], ..NONE },
    Case { id: "config_file_missing", args: &["--config", "nope.toml"], needles: &["cannot read nope.toml: No such file or directory (os error 2)\n"], ..NONE },
    Case { id: "config_names_an_absent_column", files: &[("cfg.toml", Text::Str("[sources.clients.columns]\nannual_income = \"Income\"\n"))], args: &["--config", "cfg.toml"], needles: &["'Income'", "annual_income", "no such column"], ..NONE },
    Case { id: "config_unknown_source", files: &[("cfg.toml", Text::Str("[sources.invoices]\npath = \"x.csv\"\n"))], args: &["--config", "cfg.toml"], needles: &["cfg.toml", "unknown source [sources.invoices]"], ..NONE },
    Case { id: "config_value_out_of_range", files: &[("cfg.toml", Text::Str("[cleaning]\nmax_invalid_percent = 150.0\n"))], args: &["--config", "cfg.toml"], needles: &["cfg.toml", "max_invalid_percent must lie in 0..=100"], ..NONE },
    Case { id: "config_segment_feature_misspelt", files: &[("cfg.toml", Text::Str("[segments]\nfeatures = [\"tenure_yrs\"]\n"))], args: &["--config", "cfg.toml"], needles: &["cfg.toml", "'tenure_yrs'"], ..NONE },
    // --- Flat mode ----------------------------------------------------------------------
    Case { id: "flat_label_with_a_third_value", files: &[("data/flat.csv", Text::Str("id,age,lapsed\nA,30,yes\nB,40,no\nC,50,maybe\n")), ("cfg.toml", Text::Str("mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\nlabel = \"lapsed\"\nnumeric = [\"age\"]\n"))], args: &["--config", "cfg.toml"], needles: &["lapsed", "more than two values", "maybe"], ..NONE },
    Case { id: "flat_positive_value_absent", files: &[("data/flat.csv", Text::Str("id,age,lapsed\nA,30,yes\nB,40,no\n")), ("cfg.toml", Text::Str("mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\nlabel = \"lapsed\"\npositive = \"churned\"\nnumeric = [\"age\"]\n"))], args: &["--config", "cfg.toml"], needles: &["lapsed", "\"churned\" does not occur"], ..NONE },
    Case { id: "flat_id_listed_as_a_feature", files: &[("data/flat.csv", Text::Str("id,age,lapsed\nA,30,1\n")), ("cfg.toml", Text::Str("mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\nlabel = \"lapsed\"\nnumeric = [\"id\", \"age\"]\n"))], args: &["--config", "cfg.toml"], needles: &["cfg.toml", "the id cannot be a feature"], ..NONE },
    Case { id: "flat_label_listed_as_a_feature", files: &[("data/flat.csv", Text::Str("id,age,lapsed\nA,30,1\n")), ("cfg.toml", Text::Str("mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\nlabel = \"lapsed\"\nnumeric = [\"lapsed\", \"age\"]\n"))], args: &["--config", "cfg.toml"], needles: &["cfg.toml", "the label cannot be a feature"], ..NONE },
    Case { id: "flat_without_an_id_column", files: &[("data/flat.csv", Text::Str("age,lapsed\n30,1\n")), ("cfg.toml", Text::Str("mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nlabel = \"lapsed\"\nnumeric = [\"age\"]\n"))], args: &["--config", "cfg.toml"], needles: &["flat.csv", "client_id", "no such column"], ..NONE },
    Case { id: "flat_star_takes_a_text_column", files: &[("data/flat.csv", Text::Str("id,age,note,lapsed\nA,30,hello,1\nB,40,x,0\n")), ("cfg.toml", Text::Str("mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\nlabel = \"lapsed\"\nnumeric = \"*\"\n"))], args: &["--config", "cfg.toml"], needles: &["flat.csv", "row 1", "'note'", "exclude = [...]"], ..NONE },
    Case { id: "flat_numeric_misspelt", files: &[("data/flat.csv", Text::Str("id,age,lapsed\nA,30,1\n")), ("cfg.toml", Text::Str("mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\nlabel = \"lapsed\"\nnumeric = \"all\"\n"))], args: &["--config", "cfg.toml"], needles: &["cfg.toml", "expected a list of column names or \"*\""], ..NONE },
    Case { id: "flat_config_without_features", files: &[("cfg.toml", Text::Str(FLAT_NO_FEATURES))], args: &["--config", "cfg.toml"], needles: &["cfg.toml", "declares no feature columns"], ..NONE },
    // --- Flags --------------------------------------------------------------------------
    Case { id: "unknown_flag", args: &["--check-data", "--data", "data", "--colour", "red"], own_args: true, needles: &["--colour"], ..NONE },
    Case { id: "flag_value_not_a_number", args: &["--data", "data", "--k", "three"], own_args: true, needles: &["--k", "three"], ..NONE },
    Case { id: "extract_date_not_a_date", args: &["--check-data", "--data", "data", "--extract-date", "2026-13-01"], own_args: true, needles: &["2026-13-01"], ..NONE },
    Case { id: "data_directory_missing", args: &["--check-data", "--data", "nowhere"], own_args: true, needles: &["nowhere"], ..NONE },
];

const FLAT_NO_FEATURES: &str = "mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\n";

fn text_of(t: Text) -> Vec<u8> {
    match t {
        Text::Str(s) => s.as_bytes().to_vec(),
        Text::Bytes(b) => b.to_vec(),
        Text::Clients(f) => f(CLIENTS).into_bytes(),
        Text::Policies(rows) => format!("{POLICIES_HEAD}{rows}").into_bytes(),
        Text::FuzzInput(b) => b.get(1..).unwrap_or_default().to_vec(),
    }
}

fn run_case(case: &Case, dir: &Path) -> Run {
    tiny_book(dir);
    for (name, text) in case.files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text_of(*text)).unwrap();
    }
    for name in case.remove {
        std::fs::remove_file(dir.join(name)).unwrap();
    }
    if case.own_args {
        train(case.args, dir)
    } else {
        check(dir, case.args)
    }
}

#[test]
fn every_catalogued_case_behaves_as_documented() {
    let mut failures = Vec::new();
    for case in CASES {
        let t = tempfile::tempdir().unwrap();
        let r = run_case(case, t.path());
        let report =
            std::fs::read_to_string(t.path().join("out/data-quality.json")).unwrap_or_default();
        let said = if case.code == 0 {
            format!("{}\n{report}", r.stdout)
        } else {
            r.stderr.clone()
        };
        let missing: Vec<&&str> = case
            .needles
            .iter()
            .filter(|n| !said.contains(**n))
            .collect();
        let crashed = r.stderr.contains("panicked") || r.stderr.contains("internal error");
        if r.code != case.code || !missing.is_empty() || crashed {
            failures.push(format!(
                "{}: exit {} (expected {}), missing {missing:?}\n{said}",
                case.id, r.code, case.code
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

/// `docs/bad-input.md` lists every case of this table once, and every test it names for
/// the cases covered elsewhere exists; the catalogue holds at least 40 cases.
#[test]
fn the_catalogue_document_matches_the_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/bad-input.md")).unwrap();
    let rows: Vec<Vec<String>> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| #") && !l.starts_with("|--"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    assert!(rows.len() >= 40, "only {} catalogued cases", rows.len());
    let mut listed = Vec::new();
    for row in &rows {
        let test = row.last().unwrap().trim_matches('`');
        let (file, name) = test.split_once("::").unwrap_or_else(|| panic!("{row:?}"));
        let code = &row[row.len() - 2];
        if file == "catalogue" {
            let case = CASES.iter().find(|c| c.id == name);
            let case = case.unwrap_or_else(|| panic!("no case {name}"));
            assert_eq!(
                *code,
                case.code.to_string(),
                "exit code of {name} in the document"
            );
            listed.push(name.to_string());
        } else {
            let source = std::fs::read_to_string(root.join(format!("tests/{file}.rs")))
                .unwrap_or_else(|_| panic!("no tests/{file}.rs for {row:?}"));
            assert!(source.contains(&format!("fn {name}(")), "no test {test}");
        }
        assert!(
            ["0", "1", "2", "0 or 2"].contains(&code.as_str()),
            "{row:?}"
        );
    }
    for case in CASES {
        assert!(
            listed.iter().filter(|l| *l == case.id).count() == 1,
            "case {} is not listed once in docs/bad-input.md",
            case.id
        );
    }
}

/// The catalogue through the in-memory entry point the Python package and the Spark
/// runner call (`ingest::load_from` on frames): every case that fails on a file's values,
/// identities, links or config (not on the file's bytes, which a table never has) fails
/// the same way, with the same message, the file named as its table (`<policies
/// table>`) and rows counted as in the file.
/// Leaves a case run from tables where the Python suite (`python/tests/test_catalogue.py`)
/// runs it again through the package: the book, the config, and what the message must
/// name (one needle a line; `config.txt` holds the config's path when there is one).
fn export_case(book: &Path, to: &Path, case: &Case, needles: &[String]) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().map(|e| e.unwrap()) {
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    copy(book, to);
    std::fs::write(to.join("needles.txt"), needles.join("\n")).unwrap();
    if let Some(i) = case.args.iter().position(|a| *a == "--config") {
        std::fs::write(to.join("config.txt"), case.args[i + 1]).unwrap();
    }
}

#[test]
fn table_cases_fail_alike_from_tables_in_memory() {
    use clientele::config::{Config, Mode};
    use clientele::ingest::{load_from, Frames, Input, LoadOptions};
    use clientele::schema::Source;
    use polars::prelude::*;

    // Cases about a file's bytes or presence, which a table cannot have (polars may still
    // read their bytes as some table): separators, line endings, encodings, a Parquet
    // file's name, files absent or doubled. A table's column names match exactly, so two
    // spellings of one name are two columns there, not the file's ambiguity.
    const FILE_LEVEL: &[&str] = &[
        "cr_only_line_endings",
        "tab_separated",
        "semicolon_separated",
        "utf16_text",
        "parquet_file_named_csv",
        "configured_file_missing",
        "no_source_files",
        "column_named_twice",
    ];
    let (mut ran, mut failures) = (Vec::new(), Vec::new());
    let cases = CASES.iter().filter(|c| c.code == 2 && !c.own_args);
    for case in cases.filter(|c| !FILE_LEVEL.contains(&c.id)) {
        let t = tempfile::tempdir().unwrap();
        tiny_book(t.path());
        for (name, text) in case.files {
            let path = t.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text_of(*text)).unwrap();
        }
        for name in case.remove {
            std::fs::remove_file(t.path().join(name)).unwrap();
        }
        let config_path = case
            .args
            .iter()
            .position(|a| *a == "--config")
            .map(|i| t.path().join(case.args[i + 1]));
        let config = match &config_path {
            None => Ok(Config::default()),
            Some(p) => match std::fs::read(p)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            {
                Some(text) => Config::parse(&text, p),
                None => continue, // an unreadable config file: a file-level case
            },
        };
        // Every source file as text, as the Python package reads CSV; a file polars
        // cannot read as a table is a file-level case.
        let mut frames = Frames::new();
        let mut readable = true;
        let entries = std::fs::read_dir(t.path().join("data")).unwrap();
        for entry in entries.map(|e| e.unwrap().path()) {
            let Some(stem) = entry.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let source = match (config.as_ref().map(|c| c.mode), stem) {
                (Ok(Mode::Flat), "flat") => Source::Flat,
                (_, s) => match Source::named(s) {
                    Some(x) => x,
                    None => continue,
                },
            };
            if entry.extension().and_then(|e| e.to_str()) != Some("csv") || !entry.is_file() {
                readable = false;
                break;
            }
            let read = CsvReadOptions::default()
                .with_infer_schema_length(Some(0))
                .try_into_reader_with_file_path(Some(entry.clone()))
                .and_then(|r| r.finish());
            match read {
                Ok(df) => frames = frames.with(source, df),
                Err(_) => {
                    readable = false;
                    break;
                }
            }
        }
        if !readable {
            continue;
        }
        let outcome = config.and_then(|config| {
            let opts = LoadOptions::from_config(&config, config.mode == Mode::Flat);
            let loaded = load_from(&config, Input::Frames(&frames), &opts, None)?;
            loaded.check_thresholds().map(|_| ())
        });
        let Err(e) = outcome else {
            failures.push(format!("{}: accepted from tables", case.id));
            continue;
        };
        let chain = std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |c| {
            c.source()
        });
        let said = clientele::error::message_chain(chain);
        let table_named = |needle: &str| {
            let csv = needle.strip_suffix(".csv").filter(|s| !s.contains(' '));
            csv.map_or(needle.to_string(), |source| format!("<{source} table>"))
        };
        let missing: Vec<String> = case
            .needles
            .iter()
            .map(|n| table_named(n))
            .filter(|n| !said.contains(n.as_str()))
            .collect();
        if !missing.is_empty() || !e.is_bad_input() {
            failures.push(format!("{}: missing {missing:?} in {said}", case.id));
        }
        if let Some(dir) = std::env::var_os("CLIENTELE_CATALOGUE_EXPORT") {
            let needles: Vec<String> = case.needles.iter().map(|n| table_named(n)).collect();
            export_case(t.path(), &Path::new(&dir).join(case.id), case, &needles);
        }
        ran.push(case.id);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
    assert!(
        ran.len() >= 25,
        "only {} cases ran from tables: {ran:?}",
        ran.len()
    );
}
