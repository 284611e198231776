//! Monthly labeling with the real binaries: a model trained on the sample labels the
//! sample's next month; outputs, report, drift, repeatability, skew and bad input.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn sample(sub: &str) -> String {
    format!("{}/data/sample{sub}", env!("CARGO_MANIFEST_DIR"))
}

/// One model trained on the sample (with scores), shared by the tests of this file.
fn model() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Under the target directory (not /tmp), replaced on every test run.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("infer-model");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let r = train(
            &[
                "--data",
                &sample(""),
                "--extract-date",
                "2026-09-30",
                "--save-scores",
                "--models",
                "models",
                "--out",
                "out",
                "--no-charts",
            ],
            &dir,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        dir
    })
}

fn model_arg() -> String {
    model().join("models/latest").to_string_lossy().into_owned()
}

/// Labels `data` (relative to `t` or absolute) with the shared model into `out`.
fn label(t: &Path, data: &str, out: &str, extra: &[&str]) -> Run {
    let m = model_arg();
    let mut args = vec![
        "--model",
        m.as_str(),
        "--data",
        data,
        "--extract-date",
        "2026-10-31",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    infer(&args, t)
}

fn label_next_month(t: &Path, out: &str, extra: &[&str]) -> Run {
    label(t, &sample("/next-month"), out, extra)
}

/// One item of a run's drift.json, by name.
fn drift_item(run: &Path, name: &str) -> serde_json::Value {
    let drift: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("drift.json")).unwrap()).unwrap();
    drift["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap()
        .clone()
}

#[test]
fn labels_the_next_month_with_charts_and_a_self_contained_report() {
    let t = tempfile::tempdir().unwrap();
    let r = label_next_month(t.path(), "run1", &["--fail-on-drift"]);
    assert_eq!(
        r.code, 0,
        "unshifted data must not raise a retrain alarm: {}{}",
        r.stdout, r.stderr
    );
    let run = t.path().join("run1");
    let labels = read_csv(&run.join("labels.csv"));
    assert_eq!(labels.len(), 20_000, "every client of the book is listed");
    assert!(run.join("labels.parquet").exists());
    let scored: Vec<_> = labels
        .iter()
        .filter(|r| !r["lapse_probability"].is_empty())
        .collect();
    assert!(scored.len() > 10_000);
    for r in &scored {
        assert!(["low", "medium", "high"].contains(&r["risk_band"].as_str()));
        assert!(
            ["high", "potential", "general", "low"].contains(&r["value_tier"].as_str()),
            "{r:?}"
        );
        assert!(
            ["at risk", "new", "won back", "loyal", "established"]
                .contains(&r["lifecycle_stage"].as_str()),
            "{r:?}"
        );
        assert!(!r["action"].is_empty() && !r["segment_name"].is_empty());
        // Codes sit beside the words, for joins that do not depend on the wording.
        assert_eq!(r["stage_code"], r["lifecycle_stage"].replace(' ', "_"));
        assert_eq!(r["tier_code"], r["value_tier"]);
        assert!(!r["action_code"].is_empty() && !r["action_code"].contains(' '));
    }
    let high = scored.iter().find(|r| r["risk_band"] == "high").unwrap();
    assert!(
        !high["reason_1"].is_empty(),
        "high-risk clients get reasons: {high:?}"
    );
    let unscored = labels
        .iter()
        .find(|r| r["lapse_probability"].is_empty())
        .unwrap();
    assert!(unscored["note"].contains("not scored") && unscored["lifecycle_stage"] == "lapsed");

    let drift: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("drift.json")).unwrap()).unwrap();
    assert_ne!(drift["status"], "retrain");
    assert!(drift["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["kind"] == "segments"));

    // The report: every chart inline as SVG, no network, no client identifiers.
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    for chart in [
        "segment_risk",
        "profile_heatmap",
        "segment_centres",
        "projection",
        "risk_distribution",
        "tier_band",
    ] {
        let start = html
            .find(&format!("<figure id=\"chart-{chart}\""))
            .unwrap_or_else(|| panic!("{chart} missing"));
        let figure = &html[start..start + html[start..].find("</figure>").unwrap()];
        assert!(
            figure.contains("<svg") && figure.contains("</svg>"),
            "{chart} has no inline SVG"
        );
        assert!(run.join(format!("charts/{chart}.png")).exists());
    }
    for section in ["model", "drift", "segments", "quality"] {
        assert!(html.contains(&format!("id=\"{section}\"")), "{section}");
    }
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no remote resources"
    );
    assert!(!html.contains("<script"));
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
    for r in labels.iter().take(200) {
        let id = &r["client_id"];
        assert!(
            !html.contains(id.as_str()) && !summary.contains(id.as_str()),
            "client id {id} leaked"
        );
    }
}

#[test]
fn repeat_runs_refuse_to_overwrite_and_give_identical_tables() {
    let t = tempfile::tempdir().unwrap();
    assert_eq!(label_next_month(t.path(), "run", &[]).code, 0);
    let first_csv = std::fs::read(t.path().join("run/labels.csv")).unwrap();
    let first_pq = std::fs::read(t.path().join("run/labels.parquet")).unwrap();
    let r = label_next_month(t.path(), "run", &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--overwrite"), "{}", r.stderr);
    let r = label_next_month(t.path(), "run", &["--overwrite"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        first_csv,
        std::fs::read(t.path().join("run/labels.csv")).unwrap()
    );
    assert_eq!(
        first_pq,
        std::fs::read(t.path().join("run/labels.parquet")).unwrap()
    );
    // No staging directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A second month with --previous-run draws the migration matrix.
    let prev = t.path().join("run").to_string_lossy().into_owned();
    let r = label_next_month(t.path(), "run2", &["--previous-run", &prev]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(t.path().join("run2/report.html")).unwrap();
    assert!(html.contains("<figure id=\"chart-migration\""));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("run2/summary.json")).unwrap())
            .unwrap();
    let moved: u64 = summary["migration"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[2].as_u64().unwrap())
        .sum();
    assert_eq!(moved, 20_000);
}

#[test]
fn labeling_the_training_book_reproduces_training_scores_exactly() {
    let t = tempfile::tempdir().unwrap();
    let m = model_arg();
    let data = sample("");
    let r = infer(
        &[
            "--model",
            &m,
            "--data",
            &data,
            "--extract-date",
            "2026-09-30",
            "--as-of",
            "2025-09-30",
            "--out",
            "skew",
        ],
        t.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let labels: std::collections::HashMap<String, _> = read_csv(&t.path().join("skew/labels.csv"))
        .into_iter()
        .map(|r| (r["client_id"].clone(), r))
        .collect();
    let version = std::fs::read_to_string(model().join("models/latest")).unwrap();
    let scores = read_csv(
        &model()
            .join("models")
            .join(version.trim())
            .join("scores.csv"),
    );
    assert!(scores.len() > 10_000);
    for s in &scores {
        let l = &labels[&s["client_id"]];
        assert_eq!(
            l["lapse_probability"], s["lapse_probability"],
            "{}",
            s["client_id"]
        );
        assert_eq!(l["segment_id"], s["segment_id"]);
        assert_eq!(l["segment_distance"], s["distance"]);
    }
}

#[test]
fn a_shifted_book_raises_the_drift_alarm() {
    let t = tempfile::tempdir().unwrap();
    shifted_book(&t.path().join("shifted"), 4000, 2.0, 1.0);
    let r = label(t.path(), "shifted", "run", &["--fail-on-drift"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("drift     retrain"), "{}", r.stdout);
    let income = drift_item(&t.path().join("run"), "log_income");
    assert_eq!(income["status"], "retrain", "{income}");
    // Without the flag the same run succeeds (and still reports the drift).
    let r = label(t.path(), "shifted", "run2", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn bad_bundles_dates_sources_and_outputs_are_clear_errors() {
    let t = tempfile::tempdir().unwrap();
    let version = std::fs::read_to_string(model().join("models/latest")).unwrap();
    let bundle = std::fs::read_to_string(
        model()
            .join("models")
            .join(version.trim())
            .join("bundle.json"),
    )
    .unwrap();
    write(
        t.path(),
        "other/bundle.json",
        &bundle.replacen("\"format_version\": 3", "\"format_version\": 99", 1),
    );
    write(t.path(), "damaged/bundle.json", &bundle[..bundle.len() / 2]);
    // A model from before the collection rate was named as such: refused, not fed the
    // renamed feature under its old name.
    assert!(bundle.contains("\"collection_rate_12m\""));
    write(
        t.path(),
        "renamed/bundle.json",
        &bundle.replace("\"collection_rate_12m\"", "\"renewal_rate_12m\""),
    );
    let next = sample("/next-month");
    let cases: &[(&[&str], i32, &str)] = &[
        (&["--model", "other"], 2, "format version 99"),
        (
            &["--model", "renamed"],
            2,
            "renewal_rate_12m is now collection_rate_12m",
        ),
        (&["--model", "damaged"], 2, "damaged"),
        (&["--model", "nowhere"], 2, "no model here"),
        (
            &["--model", "MODEL", "--as-of", "2024-12-31"],
            2,
            "before the model's training cut-off",
        ),
        (&["--model", "MODEL", "--data", "empty"], 2, "empty"),
        (&["--model", "MODEL", "--out", "blocker/run"], 2, "blocker"),
    ];
    std::fs::create_dir_all(t.path().join("empty")).unwrap();
    write(t.path(), "blocker", "a file where a directory should be");
    let m = model_arg();
    for (args, code, expected) in cases {
        let mut a: Vec<&str> = args
            .iter()
            .map(|x| if *x == "MODEL" { m.as_str() } else { x })
            .collect();
        if !a.contains(&"--data") {
            a.extend(["--data", next.as_str()]);
        }
        if !a.contains(&"--out") {
            a.extend(["--out", "out"]);
        }
        a.extend(["--extract-date", "2026-10-31"]);
        let r = infer(&a, t.path());
        assert_eq!(r.code, *code, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(expected), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"));
    }
    // A source the model was trained with is missing: refused, not silently zero.
    for f in [
        "clients.csv",
        "policies.csv",
        "payments.parquet",
        "claims.csv",
    ] {
        let from = Path::new(&next).join(f);
        let to = t.path().join("partial").join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        if from.exists() {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    let r = label(t.path(), "partial", "out2", &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("contacts"), "{}", r.stderr);
    assert!(
        !t.path().join("out").exists() && !t.path().join("out2").exists(),
        "no output on failure"
    );
}

#[test]
fn labeling_in_client_parts_gives_the_same_labels_drift_and_quality() {
    let t = tempfile::tempdir().unwrap();
    assert_eq!(label_next_month(t.path(), "whole", &[]).code, 0);
    let r = label_next_month(t.path(), "parts", &["--partitions", "3"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let by_id = |dir: &str| -> std::collections::BTreeMap<String, _> {
        read_csv(&t.path().join(dir).join("labels.csv"))
            .into_iter()
            .map(|r| (r["client_id"].clone(), r))
            .collect()
    };
    assert_eq!(by_id("whole"), by_id("parts"));
    let json = |dir: &str, f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(t.path().join(dir).join(f)).unwrap()).unwrap()
    };
    // Quality counts (and the user's file names) are the same; so is every PSI.
    assert_eq!(
        json("whole", "data-quality.json"),
        json("parts", "data-quality.json")
    );
    let (a, b) = (json("whole", "drift.json"), json("parts", "drift.json"));
    for (x, y) in a["items"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["items"].as_array().unwrap())
    {
        assert_eq!(x["name"], y["name"]);
        assert!((x["psi"].as_f64().unwrap() - y["psi"].as_f64().unwrap()).abs() < 1e-12);
    }
    let mut qa: Vec<String> = std::fs::read_to_string(t.path().join("whole/quarantine.csv"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let mut qb: Vec<String> = std::fs::read_to_string(t.path().join("parts/quarantine.csv"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    qa.sort();
    qb.sort();
    assert_eq!(qa, qb, "quarantined rows keep their original file rows");
    // The split files are gone.
    let hidden: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn a_renamed_column_is_reported_not_silently_ignored() {
    let t = tempfile::tempdir().unwrap();
    shifted_book(&t.path().join("book"), 2000, 1.0, 0.0);
    let clients = t.path().join("book/clients.csv");
    let text = std::fs::read_to_string(&clients).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    assert!(header.contains("annual_income"));
    std::fs::write(
        &clients,
        format!("{}\n{rest}", header.replace("annual_income", "income_eur")),
    )
    .unwrap();
    let r = label(t.path(), "book", "run", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("unused columns (ignored): clients.income_eur"),
        "{}",
        r.stdout
    );
    let income = drift_item(&t.path().join("run"), "log_income");
    assert_eq!(
        income["status"], "retrain",
        "income now missing for everyone: {income}"
    );
    let html = std::fs::read_to_string(t.path().join("run/report.html")).unwrap();
    assert!(html.contains("clients: income_eur"));
}

/// A client id that a spreadsheet would run as a formula is written as text in
/// labels.csv (a leading `'`) and kept raw in labels.parquet.
#[test]
fn formula_like_ids_are_neutralised_in_the_csv_only() {
    use polars::prelude::*;
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("book");
    std::fs::create_dir_all(&data).unwrap();
    for entry in std::fs::read_dir(sample("/next-month")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, data.join(p.file_name().unwrap())).unwrap();
    }
    let clients_path = data.join("clients.parquet");
    let clients = ParquetReader::new(std::fs::File::open(&clients_path).unwrap())
        .finish()
        .unwrap();
    let mut extra = clients.slice(0, 1);
    extra
        .with_column(Column::new("client_id".into(), ["=HYPERLINK(\"x\")"]))
        .unwrap();
    let mut clients = clients.vstack(&extra).unwrap();
    ParquetWriter::new(std::fs::File::create(&clients_path).unwrap())
        .finish(&mut clients)
        .unwrap();

    let r = label(t.path(), "book", "run", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let csv = std::fs::read_to_string(t.path().join("run/labels.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("\"'=HYPERLINK(\"\"x\"\")\",")),
        "neutralised id not found"
    );
    assert!(!csv.lines().any(|l| l.starts_with('=')));
    let labels =
        ParquetReader::new(std::fs::File::open(t.path().join("run/labels.parquet")).unwrap())
            .finish()
            .unwrap();
    let ids = labels.column("client_id").unwrap().str().unwrap().clone();
    assert!(ids.iter().any(|v| v == Some("=HYPERLINK(\"x\")")));
}

/// Forty people known to the insurer but without any policy, added to the next month:
/// prospects, sent a first-policy offer chosen from their needs, described without
/// words about policies they do not hold.
#[test]
fn prospects_get_a_first_policy_offer_never_a_cross_sell() {
    use polars::prelude::*;
    let t = tempfile::tempdir().unwrap();
    let next = Path::new(&sample("/next-month")).to_path_buf();
    let data = t.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for e in std::fs::read_dir(&next).unwrap().flatten() {
        std::fs::copy(e.path(), data.join(e.file_name())).unwrap();
    }
    let read = |p: &Path| {
        ParquetReader::new(std::fs::File::open(p).unwrap())
            .finish()
            .unwrap()
    };
    let mut clients = read(&data.join("clients.parquet"));
    let mut people = clients.slice(0, 40);
    let ids: Vec<String> = (0..40).map(|i| format!("PROSPECT{i:02}")).collect();
    people
        .replace("client_id", Column::new("client_id".into(), ids))
        .unwrap();
    clients.vstack_mut(&people).unwrap();
    let mut file = std::fs::File::create(data.join("clients.parquet")).unwrap();
    ParquetWriter::new(&mut file).finish(&mut clients).unwrap();

    let r = label(t.path(), "data", "run", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let labels = read_csv(&t.path().join("run/labels.csv"));
    let prospects: Vec<_> = labels
        .iter()
        .filter(|l| l["client_id"].starts_with("PROSPECT"))
        .collect();
    assert_eq!(prospects.len(), 40);
    for p in &prospects {
        assert_eq!(p["lifecycle_stage"], "prospect", "{p:?}");
        assert_eq!(p["stage_code"], "prospect");
        assert_eq!(p["action_code"], "first_policy_offer", "{p:?}");
        let name = p["segment_name"].to_lowercase();
        assert!(name.starts_with("prospects"), "{name}");
        assert!(
            !name.contains("polic") && !name.contains("premium") && !name.contains("product"),
            "{name}"
        );
        // The offer is a product one of the needs calls for (none without needs).
        let called_for: Vec<&str> = p["needs"]
            .split('|')
            .filter_map(|n| match n {
                "protection" => Some("term_life"),
                "health" => Some("medical"),
                "education" => Some("education"),
                "retirement" => Some("annuity"),
                "wealth" => Some("universal_life"),
                _ => None,
            })
            .collect();
        if p["needs"].is_empty() {
            assert!(p["next_product"].is_empty(), "{p:?}");
        } else {
            assert!(called_for.contains(&p["next_product"].as_str()), "{p:?}");
        }
    }
    // Nobody in the book is sent a cross-sell without holding a policy.
    assert!(labels
        .iter()
        .filter(|l| l["action_code"] == "cross_sell")
        .all(|l| !l["lapse_probability"].is_empty()));
}

/// After training with `--extract-date` (the shared model's is 2026-09-30), labeling the
/// next month with no date given is the same on the CLI and on tables in memory (the
/// Python package's path): both take the extract date and the as-of date by
/// `run::labeling_config`'s rule, never training's extract date.
#[test]
fn with_no_date_given_the_cli_and_tables_in_memory_label_the_same_month_alike() {
    use clientele::ingest::Frames;
    use clientele::schema::Source;
    use polars::prelude::*;
    let t = tempfile::tempdir().unwrap();
    let m = model_arg();
    let next = sample("/next-month");
    let r = infer(&["--model", &m, "--data", &next, "--out", "run"], t.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let located = clientele::bundle::Bundle::load(Path::new(&m)).unwrap();
    let bundle = &located.bundle;
    assert_eq!(
        bundle.config.cleaning.extract_date.map(|d| d.to_string()),
        Some("2026-09-30".to_string()),
        "the model must carry training's extract date for this test to mean anything"
    );
    let mut frames = Frames::new();
    for source in Source::RELATIONAL {
        let file = std::fs::File::open(Path::new(&next).join(format!("{source}.parquet"))).unwrap();
        frames = frames.with(source, ParquetReader::new(file).finish().unwrap());
    }
    let config = clientele::run::labeling_config(bundle, None, None);
    let ours = clientele::run::label_frames(
        bundle,
        &config,
        &frames,
        None,
        &clientele::vocab::Vocabulary::english(),
    )
    .unwrap();
    assert_eq!(ours.as_of.to_string(), "2026-10-31");
    assert!(r.stdout.contains("as of 2026-10-31"), "{}", r.stdout);
    let file = std::fs::File::open(t.path().join("run/labels.parquet")).unwrap();
    let cli = ParquetReader::new(file).finish().unwrap();
    assert_eq!(cli.schema(), ours.labels.schema());
    assert!(cli.equals_missing(&ours.labels), "labels differ");
}

/// The next month with one contact dated 30 November, after every policy and payment:
/// read last, it moves the data's last full month from October to November after the
/// payments' rows were freed.
fn next_month_with_a_late_contact(dir: &Path) {
    use polars::prelude::*;
    std::fs::create_dir_all(dir).unwrap();
    let next = PathBuf::from(sample("/next-month"));
    for entry in std::fs::read_dir(&next).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n != "contacts.parquet") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let file = std::fs::File::open(next.join("contacts.parquet")).unwrap();
    let mut contacts = ParquetReader::new(file).finish().unwrap();
    let mut csv = Vec::new();
    CsvWriter::new(&mut csv).finish(&mut contacts).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let at = split_csv(header)
        .iter()
        .position(|c| c == "contact_date")
        .unwrap();
    let mut late = split_csv(lines.next().unwrap());
    late[at] = "2026-11-30".into();
    write(dir, "contacts.csv", &format!("{csv}{}\n", late.join(",")));
}

#[test]
fn a_contact_read_last_that_moves_the_month_gives_the_labels_of_that_month() {
    use polars::prelude::*;
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    next_month_with_a_late_contact(&data);
    let data = data.to_string_lossy().into_owned();
    let m = model_arg();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "--model",
            &m,
            "--data",
            &data,
            "--extract-date",
            "2026-11-30",
        ];
        args.extend_from_slice(&["--out", out]);
        args.extend_from_slice(extra);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_clientele-infer"));
        let r = cmd
            .args(&args)
            .current_dir(t.path())
            .env("CLIENTELE_TIMINGS", "1");
        let r = r.output().unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let (stdout, stderr) = (r.stdout, r.stderr);
        (
            String::from_utf8(stdout).unwrap(),
            String::from_utf8(stderr).unwrap(),
        )
    };
    let (derived, timings) = run("derived", &[]);
    assert!(derived.contains("as of 2026-11-30"), "{derived}");
    assert!(
        timings.contains("read again: the last month moved"),
        "{timings}"
    );
    let (_, timings) = run("given", &["--as-of", "2026-11-30"]);
    assert!(!timings.contains("read again"), "{timings}");
    let labels = |dir: &str| {
        let file = std::fs::File::open(t.path().join(dir).join("labels.parquet")).unwrap();
        ParquetReader::new(file).finish().unwrap()
    };
    assert!(
        labels("derived").equals_missing(&labels("given")),
        "labels differ"
    );
}
