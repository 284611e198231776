//! Output safety with the real binaries: a run never deletes, replaces or hides what it
//! did not write; kills and races leave complete outputs or none; tampered bundles and
//! out-of-range settings are refused before anything is labelled or published.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A generated book and a model trained on it, shared by the tests of this file.
fn fixture() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("safety-model");
        let _ = std::fs::remove_dir_all(&dir);
        synth_book(&dir.join("data"), 3000, 5);
        let r = train(&train_args("models", "out"), &dir);
        assert_eq!(r.code, 0, "{}", r.stderr);
        dir
    })
}

fn train_args<'a>(models: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "--data",
        "data",
        "--extract-date",
        "2026-09-30",
        "--models",
        models,
        "--out",
        out,
    ]
}

/// Copies the fixture's data and models into `t`.
fn setup(t: &Path) {
    copy_dir(&fixture().join("data"), &t.join("data"));
    copy_dir(&fixture().join("models"), &t.join("models"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Every file under `dir` with its content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path(), std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// Sets `column` of the given data rows (1-based) of `root/data/policies.csv`.
fn set_policy_cells(root: &Path, column: &str, cells: &[(usize, &str)]) {
    let policies = root.join("data/policies.csv");
    let text = std::fs::read_to_string(&policies).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let at = split_csv(&lines[0])
        .iter()
        .position(|h| h == column)
        .unwrap();
    for &(row, value) in cells {
        let mut fields = split_csv(&lines[row]);
        fields[at] = value.into();
        lines[row] = fields.join(",");
    }
    std::fs::write(&policies, lines.join("\n") + "\n").unwrap();
}

fn label_into(t: &Path, out: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "--model",
        "models/latest",
        "--data",
        "data",
        "--extract-date",
        "2026-09-30",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    infer(&args, t)
}

/// `clientele-train --check-data` on `root/data` with the report in `root/q`.
fn check_into_q(root: &Path) -> Run {
    check_data_into_q(root, "data")
}

/// `clientele-train --check-data` on `root/<data>` with the report in `root/q`.
fn check_data_into_q(root: &Path, data: &str) -> Run {
    let args = [
        "--check-data",
        "--data",
        data,
        "--extract-date",
        "2026-09-30",
        "--report-dir",
        "q",
    ];
    train(&args, root)
}

/// Writes the staging marker a run puts in its staging directory (bound to it).
fn bind_staging(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).unwrap();
    let id = format!("[{},{}]", meta.dev(), meta.ino());
    std::fs::write(dir.join(".clientele-staging"), id).unwrap();
}

fn hidden_entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn an_output_never_covers_inputs_user_files_or_system_directories() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    write(root, "cfg/config.toml", "mode = \"relational\"\n");
    write(root, "user/my_analysis.xlsx", "the user's own work");
    write(root, "notes.txt", "a file, not a directory");
    let version = std::fs::read_to_string(root.join("models/latest")).unwrap();
    let version_dir = format!("models/{}", version.trim());
    let before = snapshot(root);
    let cases: &[(&str, &str)] = &[
        ("data", "is the data directory"),
        (".", "is the current directory"),
        ("models", "contains the model"),
        (&version_dir, "is the model"),
        ("cfg", "the config file"),
        ("user", "did not write"),
        ("notes.txt", "existing file"),
        ("/", "the file system root"),
    ];
    for (out, expected) in cases {
        for extra in [&[][..], &["--overwrite"][..]] {
            let mut args = extra.to_vec();
            if *out == "cfg" {
                args.extend(["--config", "cfg/config.toml"]);
            }
            let r = label_into(root, out, &args);
            assert_eq!(r.code, 2, "--out {out} {extra:?}: {}", r.stderr);
            assert!(r.stderr.contains(expected), "--out {out}: {}", r.stderr);
        }
    }
    // Training's outputs follow the same rules.
    let train_cases: &[&[&str]] = &[
        &["--models", "data"],
        &["--models", "."],
        &["--out", "data"],
        &["--out", "models"],
        &["--out", "."],
        &["--check-data", "--report-dir", "data"],
        &["--check-data", "--report-dir", "user"],
        &["--check-data", "--report-dir", "notes.txt"],
    ];
    for case in train_cases {
        let mut args = vec![
            "--data",
            "data",
            "--extract-date",
            "2026-09-30",
            "--no-charts",
        ];
        args.extend_from_slice(case);
        if !case.contains(&"--models") {
            args.extend(["--models", "models"]);
        }
        let r = train(&args, root);
        assert_eq!(r.code, 2, "{case:?}: {}", r.stderr);
    }
    assert_eq!(before, snapshot(root), "a refused run changed a file");
}

#[test]
fn overwrite_replaces_only_an_earlier_run_and_only_its_files() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    assert_eq!(label_into(root, "run", &[]).code, 0);
    let marker = std::fs::read_to_string(root.join("run/.clientele-run.json")).unwrap();
    assert!(
        marker.contains("labels.parquet") && marker.contains("charts/"),
        "{marker}"
    );
    // Without --overwrite an earlier run is kept.
    let r = label_into(root, "run", &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--overwrite"), "{}", r.stderr);
    assert_eq!(label_into(root, "run", &["--overwrite"]).code, 0);
    // A file of the user's inside the run blocks the replacement, and survives.
    write(root, "run/my_notes.xlsx", "mine");
    let r = label_into(root, "run", &["--overwrite"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("my_notes.xlsx"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(root.join("run/my_notes.xlsx")).unwrap(),
        "mine"
    );
    assert!(root.join("run/labels.csv").exists());
    // An empty directory made for the run is fine.
    std::fs::create_dir(root.join("fresh")).unwrap();
    assert_eq!(label_into(root, "fresh", &[]).code, 0);
    // A labeling run never replaces another kind of output.
    let r = check_into_q(root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = label_into(root, "q", &["--overwrite"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("a data-quality report"), "{}", r.stderr);
    assert!(
        hidden_entries(root).is_empty(),
        "{:?}",
        hidden_entries(root)
    );
}

#[test]
fn dead_runs_are_cleaned_up_and_an_interrupted_replacement_is_restored() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    assert_eq!(label_into(root, "run", &[]).code, 0);
    let labels = std::fs::read(root.join("run/labels.csv")).unwrap();
    // As a run killed mid-replacement leaves it: the earlier run set aside, the new one
    // half-written in staging, a temporary file; the dead process's id is not running.
    let dead = 999_999_999u32;
    std::fs::rename(
        root.join("run"),
        root.join(format!(".clientele-old-{dead}.run")),
    )
    .unwrap();
    write(
        root,
        &format!(".clientele-tmp-{dead}.run/labels.csv"),
        "half",
    );
    bind_staging(&root.join(format!(".clientele-tmp-{dead}.run")));
    let staged = format!("models/.clientele-tmp-{dead}.20260101T000000Z-abcdef01");
    write(root, &format!("{staged}/bundle.json"), "{");
    bind_staging(&root.join(&staged));
    write(root, &format!("models/.clientele-tmp-{dead}.latest"), "x");
    // A user's hidden files that merely look like temporaries stay.
    write(root, &format!(".notes.tmp-{dead}"), "mine");
    write(root, &format!("models/.notes.tmp-{dead}"), "mine");
    assert_eq!(label_into(root, "run2", &[]).code, 0);
    assert_eq!(std::fs::read(root.join("run/labels.csv")).unwrap(), labels);
    let notes = vec![format!(".notes.tmp-{dead}")];
    assert_eq!(hidden_entries(root), notes);
    let r = train(&train_args("models", "out"), root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(hidden_entries(&root.join("models")), notes);
    // A live process's staging is left alone.
    let live = std::process::id();
    let running = root.join(format!(".clientele-tmp-{live}.run3"));
    write(root, &format!(".clientele-tmp-{live}.run3/labels.csv"), "");
    bind_staging(&running);
    assert_eq!(label_into(root, "run4", &[]).code, 0);
    assert!(running.exists());
}

/// After a kill, `latest` names a complete bundle or is absent, every visible directory
/// under models/ and out/ is complete, and a rerun succeeds and cleans up.
fn assert_consistent(root: &Path) {
    let models = root.join("models");
    if let Ok(v) = std::fs::read_to_string(models.join("latest")) {
        assert!(models.join(v.trim()).join("bundle.json").exists());
    }
    for dir in [models, root.join("out"), root.join("run")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !e.file_type().unwrap().is_dir() {
                continue;
            }
            assert!(
                e.path().join(".clientele-run.json").exists(),
                "{} is visible but incomplete",
                e.path().display()
            );
        }
    }
}

/// Starts `bin` in `dir` and kills it (SIGKILL) after `delay_ms`.
fn kill_after(bin: &str, args: &[&str], dir: &Path, delay_ms: u64) {
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn killed_runs_leave_complete_outputs_or_none() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    copy_dir(&fixture().join("data"), &root.join("data"));
    for delay_ms in [50, 400, 1200, 2500] {
        let bin = env!("CARGO_BIN_EXE_clientele-train");
        kill_after(bin, &train_args("models", "out"), root, delay_ms);
        assert_consistent(root);
    }
    let r = train(&train_args("models", "out"), root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for dir in ["models", "out"] {
        let left = hidden_entries(&root.join(dir));
        assert!(left.is_empty(), "left in {dir}: {left:?}");
    }
    let label_args = [
        "--model",
        "models/latest",
        "--data",
        "data",
        "--out",
        "run/m",
        "--extract-date",
        "2026-09-30",
        "--overwrite",
    ];
    for delay_ms in [50, 300, 800] {
        kill_after(
            env!("CARGO_BIN_EXE_clientele-infer"),
            &label_args,
            root,
            delay_ms,
        );
        assert_consistent(root);
    }
    let r = label_into(root, "run/m", &["--overwrite"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let left = hidden_entries(&root.join("run"));
    assert!(left.is_empty(), "left in run: {left:?}");
}

#[test]
fn concurrent_runs_publish_whole_outputs_and_never_silently_replace_each_other() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    let spawn_label = || {
        Command::new(env!("CARGO_BIN_EXE_clientele-infer"))
            .args([
                "--model",
                "models/latest",
                "--data",
                "data",
                "--out",
                "same",
            ])
            .args(["--extract-date", "2026-09-30"])
            .current_dir(root)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn_label(), spawn_label());
    let mut codes = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()]
        .map(|o| o.status.code().unwrap_or(-1));
    codes.sort_unstable();
    assert_eq!(codes, [0, 2], "one run wins, the other refuses");
    assert_consistent(root);
    // Two trainings on the same data into one models directory both succeed.
    let spawn_train = || {
        Command::new(env!("CARGO_BIN_EXE_clientele-train"))
            .args(train_args("models", "out"))
            .arg("--no-charts")
            .current_dir(root)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn_train(), spawn_train());
    for o in [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()] {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_consistent(root);
    assert!(hidden_entries(&root.join("models")).is_empty());
}

#[test]
fn tampered_bundles_are_refused_naming_the_field() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    let (dir, json) = latest_bundle(&root.join("models"));
    type Tamper = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "sd",
            Box::new(|b| b["features"]["numeric"][0]["sd"] = 0.0.into()),
        ),
        (
            "above upper",
            Box::new(|b| b["features"]["numeric"][0]["lower"] = 1e12.into()),
        ),
        (
            "appears twice",
            Box::new(|b| {
                let id = b["segments"]["segments"][0]["id"].clone();
                b["segments"]["segments"][1]["id"] = id;
            }),
        ),
        (
            "reversed",
            Box::new(|b| b["lapse"]["bands"]["medium"] = 0.99.into()),
        ),
        (
            "lapse.threshold",
            Box::new(|b| b["lapse"]["threshold"] = 2.0.into()),
        ),
        (
            "horizon_months",
            Box::new(|b| b["horizon_months"] = (-5).into()),
        ),
        (
            "coefficients",
            Box::new(|b| {
                b["lapse"]["coefficients"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "invalid type: string \"high\"",
            Box::new(|b| b["lapse"]["coefficients"][0] = "high".into()),
        ),
        (
            "invalid type: null",
            Box::new(|b| b["segments"]["segments"][0]["centre"][0] = serde_json::Value::Null),
        ),
        (
            "implausibly small",
            Box::new(|b| b["features"]["numeric"][0]["sd"] = 1e-300.into()),
        ),
        (
            "beyond",
            Box::new(|b| b["lapse"]["coefficients"][0] = 1e308.into()),
        ),
        (
            "characters long",
            Box::new(|b| b["segments"]["segments"][0]["name"] = "x".repeat(5000).into()),
        ),
    ];
    for (expected, tamper) in &cases {
        let mut b = json.clone();
        tamper(&mut b);
        let bad = root.join("bad");
        copy_dir(&dir, &bad);
        std::fs::write(
            bad.join("bundle.json"),
            serde_json::to_vec_pretty(&b).unwrap(),
        )
        .unwrap();
        let r = infer(
            &[
                "--model",
                "bad",
                "--data",
                "data",
                "--out",
                "run",
                "--extract-date",
                "2026-09-30",
            ],
            root,
        );
        assert_eq!(r.code, 2, "{expected}: {}", r.stderr);
        assert!(r.stderr.contains(expected), "{expected}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        assert!(!root.join("run").exists());
        std::fs::remove_dir_all(&bad).unwrap();
    }
}

#[test]
fn settings_a_flag_would_refuse_are_refused_in_the_config_too() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    for share in ["nan", "5.0", "-1.0", "0.0"] {
        write(
            root,
            "cfg.toml",
            &format!("[lapse]\nthreshold = {{ rule = \"top_share\", share = {share} }}\n"),
        );
        let mut args = train_args("m2", "o2");
        args.extend(["--config", "cfg.toml"]);
        let r = train(&args, root);
        assert_eq!(r.code, 2, "share {share}: {}", r.stderr);
        assert!(r.stderr.contains("threshold share"), "{}", r.stderr);
        assert!(!root.join("m2").exists());
    }
}

#[test]
fn future_dates_never_move_the_cutoff_and_as_of_stays_within_the_extract() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    set_policy_cells(root, "end_date", &[(1, "2036-10-15"), (2, "9999-12-31")]);
    let r = check_into_q(root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let q: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("q/data-quality.json")).unwrap())
            .unwrap();
    let pol = q["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "policies")
        .unwrap();
    assert_eq!(pol["columns"]["end_date"]["invalid_set_missing"], 2);
    let r = train(&train_args("m2", "o2"), root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, fresh) = latest_bundle(&root.join("m2"));
    let (_, original) = latest_bundle(&root.join("models"));
    assert_eq!(fresh["cutoff"], original["cutoff"]);
    let r = label_into(root, "run", &["--as-of", "9999-12-31"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("after the data's extract date"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_source_with_a_header_and_no_rows_is_a_quiet_month() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    let claims = root.join("data/claims.csv");
    let header = std::fs::read_to_string(&claims)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&claims, format!("{header}\n")).unwrap();
    let r = label_into(root, "run", &["--partitions", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let q: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("run/data-quality.json")).unwrap())
            .unwrap();
    let c = q["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "claims")
        .unwrap();
    assert_eq!(c["rows_read"], 0);
    let r = train(&train_args("m2", "o2"), root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The clients table defines the book: empty, it is still an error.
    let clients = root.join("data/clients.csv");
    let header = std::fs::read_to_string(&clients)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&clients, format!("{header}\n")).unwrap();
    let r = label_into(root, "run2", &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no data rows"), "{}", r.stderr);
}

#[test]
fn too_many_segments_for_the_distinct_clients_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let mut csv = String::from("Id,Age,Premium,Churned\n");
    for i in 0..80 {
        let profile = i % 4;
        csv += &format!(
            "c{i},{},{},{}\n",
            30 + profile * 10,
            100 * (profile + 1),
            i % 3 == 0
        );
    }
    write(t.path(), "data/flat.csv", &csv);
    // Names match the file's header ignoring case.
    write(
        t.path(),
        "cfg.toml",
        "mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\nlabel = \"churned\"\nnumeric = [\"age\", \"PREMIUM\"]\n",
    );
    let args = |k: &'static str| {
        vec![
            "--config",
            "cfg.toml",
            "--data",
            "data",
            "--k",
            k,
            "--no-charts",
            "--extract-date",
            "2026-01-01",
        ]
    };
    let r = train(&args("8"), t.path());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("distinct client profile"), "{}", r.stderr);
    assert!(!t.path().join("models").exists());
    let r = train(&args("3"), t.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn parquet_dates_stored_as_timestamps_are_read_as_dates() {
    use polars::prelude::*;
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    let csv = root.join("data/policies.csv");
    let mut df = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(csv.clone()))
        .unwrap()
        .finish()
        .unwrap();
    for name in ["start_date", "end_date"] {
        let days: Vec<Option<i32>> = df
            .column(name)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| {
                v.and_then(clientele::Date::parse)
                    .map(clientele::Date::days)
            })
            .collect();
        let stamps = Series::new(name.into(), days)
            .cast(&DataType::Date)
            .and_then(|d| d.cast(&DataType::Datetime(TimeUnit::Microseconds, None)))
            .unwrap();
        df.with_column(stamps.into_column()).unwrap();
    }
    std::fs::remove_file(&csv).unwrap();
    let file = std::fs::File::create(root.join("data/policies.parquet")).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
    let r = check_into_q(root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = label_into(root, "run", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_bad_value_in_a_parted_run_names_the_users_file_and_row_and_leaves_no_split_files() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    // Break the premium of the 40th data row of policies.csv.
    set_policy_cells(root, "annual_premium", &[(40, "1'234")]);
    let r = label_into(root, "run", &["--partitions", "3"]);
    assert_bad_input(&r, &["policies.csv", "row 40,", "annual_premium", "1'234"]);
    assert!(!r.stderr.contains("__row__"), "{}", r.stderr);
    let left: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n == "run")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_models_directory_and_published_versions_are_checked_like_every_output() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    let version = std::fs::read_to_string(root.join("models/latest")).unwrap();
    let version = version.trim();
    // A user's own file named `latest` is never replaced.
    write(root, "m/latest", "my notes about the latest model");
    assert_eq!(label_into(root, "run", &[]).code, 0);
    let before = snapshot(root);
    let inside_version = format!("models/{version}");
    let models_inside_version = format!("models/{version}/m");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (train_args("m", "o"), "not clientele's pointer"),
        // A labeling run is not a models directory.
        (train_args("run", "o"), "a labeling run's output"),
        // Nothing is written inside a published version or a run.
        (
            train_args("models", &inside_version),
            "inside a model version",
        ),
        (
            train_args(&models_inside_version, "o"),
            "inside a model version",
        ),
        (train_args("run/models", "o"), "inside a labeling run"),
        // Files and directories in the wrong places are the user's mistake (exit 2).
        (train_args("notes.txt", "o"), "not a directory"),
    ];
    write(root, "notes.txt", "x");
    let before = {
        let mut b = before;
        b.insert(root.join("notes.txt"), b"x".to_vec());
        b
    };
    for (args, needle) in &cases {
        let r = train(args, root);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
    }
    let r = train(&train_args("models", "notes.txt"), root);
    assert_eq!(r.code, 2, "--out a file: {}", r.stderr);
    let r = label_into(root, &format!("models/{version}/run"), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("inside a model version"), "{}", r.stderr);
    assert_eq!(snapshot(root), before);
}

#[test]
fn a_stored_config_never_points_labeling_at_the_training_months_files() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    copy_dir(&root.join("data"), &root.join("training-month"));
    let month = root.join("training-month");
    let mut config = String::new();
    for e in std::fs::read_dir(&month).unwrap().flatten() {
        let path = e.path();
        let source = path.file_stem().unwrap().to_string_lossy().into_owned();
        let sources = ["clients", "policies", "payments", "claims", "contacts"];
        if !sources.contains(&source.as_str()) {
            continue;
        }
        config.push_str(&format!(
            "[sources.{source}]\npath = {:?}\n",
            path.to_string_lossy()
        ));
    }
    write(root, "absolute.toml", &config);
    let mut args = train_args("m2", "o2");
    args.extend(["--config", "absolute.toml", "--no-charts"]);
    let r = train(&args, root);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, json) = latest_bundle(&root.join("m2"));
    let stored = json["config"].to_string();
    assert!(!stored.contains("training-month"), "{stored}");
    // The training month is gone: labeling reads this month's --data, not the stored paths.
    std::fs::remove_dir_all(&month).unwrap();
    let r = infer(
        &[
            "--model",
            "m2/latest",
            "--data",
            "data",
            "--extract-date",
            "2026-09-30",
            "--out",
            "run",
        ],
        root,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn degenerate_settings_and_special_files_are_refused_as_bad_input() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    let cases = [
        ("[lapse]\nmax_iterations = 0\n", "max_iterations"),
        ("[lapse]\nalphas = [1e-300]\n", "alphas"),
        ("[segments]\nfeatures = [\"age\", \"age\"]\n", "twice"),
    ];
    for (config, needle) in cases {
        write(root, "cfg.toml", config);
        let mut args = train_args("m2", "o2");
        args.extend(["--config", "cfg.toml"]);
        let r = train(&args, root);
        assert_eq!(r.code, 2, "{config}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{config}: {}", r.stderr);
        assert!(!root.join("m2").exists());
    }
    // A directory as the config file.
    std::fs::create_dir(root.join("cfgdir")).unwrap();
    let mut args = train_args("m2", "o2");
    args.extend(["--config", "cfgdir"]);
    let r = train(&args, root);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // Named pipes as a source or as bundle.json are refused at once, not read forever.
    let fifo = |path: &Path| {
        let _ = std::fs::remove_file(path);
        let status = Command::new("mkfifo").arg(path).status().unwrap();
        assert!(status.success());
    };
    copy_dir(&root.join("data"), &root.join("piped"));
    fifo(&root.join("piped/contacts.csv"));
    let r = check_data_into_q(root, "piped");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("named pipe"), "{}", r.stderr);
    let (dir, _) = latest_bundle(&root.join("models"));
    copy_dir(&dir, &root.join("piped-model"));
    fifo(&root.join("piped-model/bundle.json"));
    let r = infer(
        &["--model", "piped-model", "--data", "data", "--out", "run"],
        root,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("named pipe"), "{}", r.stderr);
    // A file of NUL bytes is not a CSV file.
    let nul = std::fs::File::create(root.join("piped/contacts.csv.tmp")).unwrap();
    nul.set_len(3 << 20).unwrap();
    std::fs::remove_file(root.join("piped/contacts.csv")).unwrap();
    std::fs::rename(
        root.join("piped/contacts.csv.tmp"),
        root.join("piped/contacts.csv"),
    )
    .unwrap();
    let r = check_data_into_q(root, "piped");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a CSV file"), "{}", r.stderr);
}

#[test]
fn implausible_dates_and_nul_bytes_are_refused_naming_the_row() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    set_policy_cells(root, "start_date", &[(3, "0000-01-01")]);
    let r = check_into_q(root);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("row 3") && r.stderr.contains("1850-01-01"),
        "{}",
        r.stderr
    );
    setup(root);
    set_policy_cells(root, "start_date", &[(3, "2020-01-01")]);
    set_policy_cells(root, "policy_id", &[(4, "P\0X")]);
    let r = check_into_q(root);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("NUL"), "{}", r.stderr);
    // A boolean amount column (a Parquet export gone wrong) is no amount.
    setup(root);
    {
        use polars::prelude::*;
        let csv = root.join("data/payments.csv");
        let mut frame = CsvReadOptions::default()
            .try_into_reader_with_file_path(Some(csv.clone()))
            .unwrap()
            .finish()
            .unwrap();
        let flags: Vec<bool> = (0..frame.height()).map(|i| i % 2 == 0).collect();
        frame
            .replace("amount", Column::new("amount".into(), flags))
            .unwrap();
        let mut file = std::fs::File::create(root.join("data/payments.parquet")).unwrap();
        ParquetWriter::new(&mut file).finish(&mut frame).unwrap();
        std::fs::remove_file(csv).unwrap();
    }
    let r = check_into_q(root);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("true/false"), "{}", r.stderr);
}

#[test]
fn an_edited_bundle_is_refused_and_a_derived_version_is_the_way_to_change_one() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    let (dir, json) = latest_bundle(&root.join("models"));
    let version = json["version"].as_str().unwrap().to_string();
    // A plausible hand edit of the threshold, in place: refused, saying what to do.
    let original = std::fs::read(dir.join("bundle.json")).unwrap();
    let mut edited = json.clone();
    edited["lapse"]["threshold"] = 0.9.into();
    std::fs::write(
        dir.join("bundle.json"),
        serde_json::to_vec_pretty(&edited).unwrap(),
    )
    .unwrap();
    let r = label_into(root, "run", &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("changed after it was published"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--derive-from"), "{}", r.stderr);
    // The version field must name the directory's content.
    let mut renamed = json.clone();
    renamed["version"] = "20990101T000000Z-deadbeef".into();
    std::fs::write(
        dir.join("bundle.json"),
        serde_json::to_vec_pretty(&renamed).unwrap(),
    )
    .unwrap();
    let r = label_into(root, "run", &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!root.join("run").exists());
    std::fs::write(dir.join("bundle.json"), original).unwrap();

    // Renaming a segment without retraining: a new version recording its parent.
    let id = json["segments"]["segments"][0]["id"].as_u64().unwrap();
    write(root, "names.toml", &format!("{id} = \"Young families\"\n"));
    let r = train(
        &[
            "--derive-from",
            "models/latest",
            "--names",
            "names.toml",
            "--models",
            "models",
        ],
        root,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (derived_dir, derived) = latest_bundle(&root.join("models"));
    assert_ne!(derived_dir, dir);
    assert_eq!(derived["parent"].as_str(), Some(version.as_str()));
    assert_eq!(derived["segments"]["segments"][0]["name"], "Young families");
    assert_eq!(derived["lapse"], json["lapse"]);
    assert_eq!(label_into(root, "run", &[]).code, 0);
    let labels = std::fs::read_to_string(root.join("run/labels.csv")).unwrap();
    assert!(labels.contains("Young families"));
    // A name with a NUL byte is refused naming the file, before anything is published.
    write(
        root,
        "nul.toml",
        &format!("{id} = \"Young\\u0000families\"\n"),
    );
    let r = train(
        &[
            "--derive-from",
            "models/latest",
            "--names",
            "nul.toml",
            "--models",
            "models",
        ],
        root,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("nul.toml") && r.stderr.contains("control"),
        "{}",
        r.stderr
    );
    // Nothing to change, or a fitted setting changed: refused.
    let r = train(
        &["--derive-from", "models/latest", "--models", "models"],
        root,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    write(root, "k.toml", "[segments]\nk = 3\n");
    let r = train(
        &[
            "--derive-from",
            "models/latest",
            "--config",
            "k.toml",
            "--models",
            "models",
        ],
        root,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("retrain"), "{}", r.stderr);
}

#[test]
fn partitioned_runs_name_part_files_by_source_and_stay_beside_the_output() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    // Two sources whose files share a name in different folders.
    std::fs::create_dir_all(root.join("data/a")).unwrap();
    std::fs::create_dir_all(root.join("data/b")).unwrap();
    std::fs::rename(root.join("data/claims.csv"), root.join("data/a/events.csv")).unwrap();
    std::fs::rename(
        root.join("data/contacts.csv"),
        root.join("data/b/events.csv"),
    )
    .unwrap();
    write(
        root,
        "cfg.toml",
        "[sources.claims]\npath = \"a/events.csv\"\n[sources.contacts]\npath = \"b/events.csv\"\n",
    );
    let r = label_into(root, "run", &["--config", "cfg.toml", "--partitions", "3"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // `--out` with no parent: the part files went beside it, not to ./notebooks-out.
    assert!(!root.join("notebooks-out").exists());
    assert!(
        hidden_entries(root).is_empty(),
        "{:?}",
        hidden_entries(root)
    );
    // Far more parts than files can be open: the limit is raised, or the count refused.
    let r = label_into(
        root,
        "run2",
        &["--config", "cfg.toml", "--partitions", "100000"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("use at most"), "{}", r.stderr);
}

#[test]
fn a_forged_marker_never_deletes_through_a_link() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    setup(root);
    write(root, "elsewhere/victim.txt", "the user's file");
    assert_eq!(label_into(root, "run", &[]).code, 0);
    // The run's marker edited to list a linked directory and a file through it.
    std::os::unix::fs::symlink(root.join("elsewhere"), root.join("run/sub")).unwrap();
    let marker = root.join("run/.clientele-run.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&marker).unwrap()).unwrap();
    let first = json["written"][0].clone();
    for f in ["sub", "sub/victim.txt"] {
        json["files"].as_array_mut().unwrap().push(f.into());
        json["written"].as_array_mut().unwrap().push(first.clone());
    }
    std::fs::write(&marker, serde_json::to_vec(&json).unwrap()).unwrap();
    let r = label_into(root, "run", &["--overwrite"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("sub"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(root.join("elsewhere/victim.txt")).unwrap(),
        "the user's file"
    );
}
