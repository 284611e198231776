//! Helpers shared by the integration tests: run the real binaries in a temporary
//! directory and capture exit code and output.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(bin: &str, args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn train(args: &[&str], cwd: &Path) -> Run {
    run(env!("CARGO_BIN_EXE_clientele-train"), args, cwd)
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// The bundled sample's directory.
pub fn sample_dir() -> String {
    format!("{}/data/sample", env!("CARGO_MANIFEST_DIR"))
}

/// Trains on the bundled sample (export 2026-09-30) into `dir/models`, without charts.
pub fn train_on_sample(dir: &Path) {
    let r = train_without_charts(dir, &sample_dir(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Trains on the book at `data` (relative to `dir`, or absolute; export 2026-09-30) into
/// `dir/models` and `dir/out`, without charts, with `extra` flags.
pub fn train_without_charts(dir: &Path, data: &str, extra: &[&str]) -> Run {
    train_with_flags(dir, data, &[&["--no-charts"], extra].concat())
}

/// Trains on the book at `data` as `train_without_charts` does, with its charts.
pub fn train_with_flags(dir: &Path, data: &str, extra: &[&str]) -> Run {
    train_book(dir, data, ("models", "out"), extra)
}

/// Trains on the book at `data` (export 2026-09-30) into `models` and `out` under `dir`,
/// with `extra` flags.
fn train_book(dir: &Path, data: &str, (models, out): (&str, &str), extra: &[&str]) -> Run {
    let mut args = vec![
        "--data",
        data,
        "--extract-date",
        "2026-09-30",
        "--models",
        models,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    train(&args, dir)
}

/// A small, valid relational book.
pub fn tiny_book(dir: &Path) {
    write(
        dir,
        "data/clients.csv",
        "client_id,birth_date,gender,annual_income,channel,first_known_date\n\
         C1,1980-01-02,M,50000,agent,2015-03-01\n\
         C2,1990-05-06,female,42000,online,2019-07-01\n\
         C3,1970-11-30, Male ,,bank,2010-01-15\n",
    );
    write(
        dir,
        "data/policies.csv",
        "policy_id,client_id,product,start_date,end_date,end_reason,annual_premium\n\
         P1,C1,term life,2015-03-01,,,1200\n\
         P2,C2,medical,2019-07-01,2022-07-01,lapsed,600\n\
         P3,C3,annuity,2010-01-15,,,5000\n",
    );
}

/// Writes a clean generated CSV book to `dir`, exported at `end`.
fn write_generated(
    dir: &Path,
    end: &str,
    params: impl FnOnce(clientele::Date) -> clientele_synth::BookParams,
) {
    use clientele_synth::{OutputFormat, WriteOptions};
    let end = clientele::Date::parse(end).unwrap();
    let book = clientele_synth::generate(&params(end));
    let opts = WriteOptions {
        view: end,
        format: OutputFormat::Csv,
        dirt: false,
    };
    clientele_synth::write_book(&book, dir, &opts).unwrap();
}

fn book_params(clients: usize, seed: u64, end: clientele::Date) -> clientele_synth::BookParams {
    clientele_synth::BookParams {
        clients,
        seed,
        end,
        extra_months: 0,
        history_years: 5,
        income_factor: 1.0,
        lapse_shift: 0.0,
        nonlinear_lapse: false,
        interaction_lapse: false,
    }
}

/// Writes a generated book of `clients` clients (CSV, no dirt, export 2026-09-30) to `dir`.
pub fn synth_book(dir: &Path, clients: usize, seed: u64) {
    write_generated(dir, "2026-09-30", |end| book_params(clients, seed, end));
}

/// Writes a generated book whose lapse truth has a threshold and a U-shaped effect
/// (`clientele_synth::NONLINEAR_LAPSE`): CSV, no dirt, export 2026-09-30.
pub fn nonlinear_book(dir: &Path, clients: usize, seed: u64) {
    write_generated(dir, "2026-09-30", |end| clientele_synth::BookParams {
        nonlinear_lapse: true,
        interaction_lapse: false,
        ..book_params(clients, seed, end)
    });
}

/// Writes a generated book whose lapse truth has two interactions
/// (`clientele_synth::INTERACTION_LAPSE`): CSV, no dirt, export 2026-09-30.
pub fn interaction_book(dir: &Path, clients: usize, seed: u64) {
    write_generated(dir, "2026-09-30", |end| clientele_synth::BookParams {
        interaction_lapse: true,
        ..book_params(clients, seed, end)
    });
}

/// The one published version under `models`, as (directory, parsed bundle.json).
pub fn latest_bundle(models: &Path) -> (PathBuf, serde_json::Value) {
    let version = std::fs::read_to_string(models.join("latest")).unwrap();
    let dir = models.join(version.trim());
    let json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bundle.json")).unwrap()).unwrap();
    (dir, json)
}

/// Splits one CSV line, honouring double-quoted fields.
pub fn split_csv(line: &str) -> Vec<String> {
    let (mut out, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    out.push(field);
    out
}

/// Rows of a CSV file as header -> value maps.
pub fn read_csv(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = split_csv(lines.next().unwrap());
    lines
        .map(|l| header.iter().cloned().zip(split_csv(l)).collect())
        .collect()
}

pub fn infer(args: &[&str], cwd: &Path) -> Run {
    run(env!("CARGO_BIN_EXE_clientele-infer"), args, cwd)
}

/// Writes a generated book with shifted incomes and lapse drivers (for drift tests).
pub fn shifted_book(dir: &Path, clients: usize, income_factor: f64, lapse_shift: f64) {
    write_generated(dir, "2026-10-31", |end| clientele_synth::BookParams {
        income_factor,
        lapse_shift,
        ..book_params(clients, 99, end)
    });
}

/// `clientele-train --check-data` on `dir/data` (extract 2026-11-01), report into `out/`.
pub fn check(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "--check-data",
        "--data",
        "data",
        "--report-dir",
        "out",
        "--extract-date",
        "2026-11-01",
    ];
    args.extend_from_slice(extra);
    train(&args, dir)
}

/// Exit 2, no panic or internal error, and every needle in the message.
pub fn assert_bad_input(r: &Run, needles: &[&str]) {
    assert_eq!(r.code, 2, "exit code; stderr: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "panicked: {}", r.stderr);
    assert!(!r.stderr.contains("internal error"), "a bug: {}", r.stderr);
    for n in needles {
        assert!(r.stderr.contains(n), "expected {n:?} in: {}", r.stderr);
    }
}

/// `clientele-infer` with `models/latest` (below `dir`) on `data`, extract date `extract`,
/// into `out`, with `extra` flags.
pub fn infer_month(dir: &Path, data: &str, extract: &str, out: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "--model",
        "models/latest",
        "--data",
        data,
        "--extract-date",
        extract,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    infer(&args, dir)
}

/// Trains on the book at `data` (export 2026-09-30, seed 5, scores saved) into `models`
/// and `<models>-out`, with `extra` flags; the published bundle.
pub fn train_into(t: &Path, data: &str, models: &str, extra: &[&str]) -> serde_json::Value {
    let out = format!("{models}-out");
    let flags = [&["--save-scores", "--seed", "5"], extra].concat();
    let r = train_book(t, data, (models, &out), &flags);
    assert_eq!(r.code, 0, "{}", r.stderr);
    latest_bundle(&t.join(models)).1
}

/// ROC AUC of `scores` for `labels` (ties count half).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0;
        rank_sum += mid * pairs[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = labels.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Held-out AUC of the scores a training run into `models` saved and of the true
/// probabilities (`truth`, the generator's `truth.csv`), on the same test clients.
pub fn held_out_auc(truth: &Path, models: &Path) -> (f64, f64) {
    let version = std::fs::read_to_string(models.join("latest")).unwrap();
    let scores = read_csv(&models.join(version.trim()).join("scores.csv"));
    let truth: std::collections::HashMap<String, f64> = read_csv(truth)
        .into_iter()
        .filter_map(|r| Some((r["client_id"].clone(), r["lapse_probability"].parse().ok()?)))
        .collect();
    let (mut model, mut best, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for r in scores.iter().filter(|r| r["split"] == "test") {
        let Some(&p) = truth.get(&r["client_id"]) else {
            continue;
        };
        model.push(r["lapse_probability"].parse::<f64>().unwrap());
        best.push(p);
        y.push(r["label"] == "lapsed");
    }
    assert!(y.len() > 1000, "{} test clients", y.len());
    (roc_auc(&model, &y), roc_auc(&best, &y))
}

/// A seeded, deterministic uniform draw in [0, 1) (xorshift), for tables written by tests.
pub fn uniform_draws(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Writes `csv` as `data/features.csv` and trains on it in flat mode with `config` (the
/// `[flat]` part) and `[lapse] <richer>`, into `models`, and again with `[lapse]
/// <simpler>` into `simpler`: both published bundles.
pub fn flat_fits(
    dir: &Path,
    csv: &str,
    config: &str,
    (richer, simpler): (&str, &str),
) -> (serde_json::Value, serde_json::Value) {
    write(dir, "data/features.csv", csv);
    write(dir, "flat.toml", &format!("{config}[lapse]\n{richer}\n"));
    write(
        dir,
        "flat-simpler.toml",
        &format!("{config}[lapse]\n{simpler}\n"),
    );
    let fit = |models: &str, cfg: &str| {
        let r = train(
            &[
                "--config",
                cfg,
                "--data",
                "data",
                "--models",
                models,
                "--out",
                "out",
                "--no-charts",
            ],
            dir,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        latest_bundle(&dir.join(models)).1
    };
    (
        fit("models", "flat.toml"),
        fit("simpler", "flat-simpler.toml"),
    )
}

/// Labels the book at `data` (export 2026-09-30) with the bundle `model` into `dir/run`:
/// the reasons of every client (three each), in order.
pub fn labeled_reasons(dir: &Path, model: &str, data: &str) -> Vec<String> {
    let r = infer(
        &[
            "--model",
            model,
            "--data",
            data,
            "--extract-date",
            "2026-09-30",
            "--out",
            "run",
        ],
        dir,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    read_csv(&dir.join("run/labels.csv"))
        .iter()
        .flat_map(|r| ["reason_1", "reason_2", "reason_3"].map(|k| r[k].clone()))
        .collect()
}
