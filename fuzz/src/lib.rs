//! The fuzz harnesses: what each target does with the fuzzer's bytes. The cargo-fuzz
//! targets (`fuzz_targets/`) call these; `tests/fuzz_corpus.rs` in the main crate
//! includes this file and replays the seeds and every saved crash on the stable
//! toolchain, so a fixed crash stays fixed.
//!
//! Each harness writes into a scratch data directory per process holding a small valid
//! book, so a mutated file still links to the others. Any panic is a crash; errors are
//! the expected outcome for most inputs.

use clientele::bundle::Bundle;
use clientele::config::{LabelRules, Mode};
use clientele::ingest::{load, CleaningStats, LoadOptions, Loaded};
use clientele::labeling::{label_book, PartOf, PartTotals};
use clientele::{Config, Date, Result};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A small clean generated book (12 clients; `clientele-synth --clients 12 --seed 3
/// --format csv --no-dirt`).
const BOOK: [(&str, &str); 5] = [
    ("clients.csv", include_str!("../book/clients.csv")),
    ("policies.csv", include_str!("../book/policies.csv")),
    ("payments.csv", include_str!("../book/payments.csv")),
    ("claims.csv", include_str!("../book/claims.csv")),
    ("contacts.csv", include_str!("../book/contacts.csv")),
];

/// The flat table, with the columns the flat bundle seed was trained on.
const FLAT: &str = "id,age,premium,region,churned\n\
F1,30,100,north,1\n\
F2,41,250,south,0\n\
F3,52,300,east,0\n\
F4,,420,north,1\n";

const FLAT_CONFIG: &str = "mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\n\
label = \"churned\"\nnumeric = \"*\"\ncategorical = [\"region\"]\n";

/// The files `csv_source` may replace, picked by the input's first byte.
const CSV_TARGETS: [&str; 6] = [
    "clients.csv",
    "policies.csv",
    "payments.csv",
    "claims.csv",
    "contacts.csv",
    "flat.csv",
];

/// The CSV reader, parsers and cleaning rules: the bytes after the first become one
/// source file of the book (the first byte picks which); the book is loaded as a
/// training run loads it and its features computed.
pub fn csv_source(data: &[u8]) -> bool {
    let Some((&pick, bytes)) = data.split_first() else {
        return false;
    };
    let name = CSV_TARGETS[usize::from(pick) % CSV_TARGETS.len()];
    let dir = reset_book();
    write(&dir.join(name), bytes);
    let config = if name == "flat.csv" {
        flat_config()
    } else {
        Config::default()
    };
    let Some(loaded) = shown(load_book(&config, None)) else {
        return false;
    };
    let cutoff = Date::parse("2026-06-30").expect("a valid date");
    clientele::features::compute(&loaded.book, cutoff);
    true
}

/// The Parquet path: the bytes after the first become `policies.parquet` or
/// `payments.parquet` (the first byte picks) in place of that CSV. A damaged file must
/// be an error naming it, never a panic inside the reader.
pub fn parquet_source(data: &[u8]) -> bool {
    let Some((&pick, bytes)) = data.split_first() else {
        return false;
    };
    let source = if pick % 2 == 0 {
        "policies"
    } else {
        "payments"
    };
    let dir = reset_book();
    let _ = std::fs::remove_file(dir.join(format!("{source}.csv")));
    write(&dir.join(format!("{source}.parquet")), bytes);
    shown(load_book(&Config::default(), None)).is_some()
}

/// The config parser and its checks: any text is a config or a `Config` error; a config
/// that parses resolves its sources without panicking.
pub fn config(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    match Config::parse(text, "fuzz.toml".as_ref()) {
        Ok(config) => {
            let dir = reset_book();
            config.extract_date();
            // Files the config names need not exist here: only a panic matters.
            let _ = config.resolve_sources(&dir).map_err(|e| e.to_string());
            true
        }
        Err(e) => {
            let _ = e.to_string();
            false
        }
    }
}

/// The bundle loader: any text is a bundle or a `Bundle` error; a bundle that passes
/// the checks labels the book of its mode without panicking.
pub fn bundle(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let bundle = match Bundle::parse(text, "bundle.json".as_ref()) {
        Ok(b) => b,
        Err(e) => {
            let _ = e.to_string();
            return false;
        }
    };
    let config = match bundle.config.mode {
        Mode::Flat => flat_config(),
        Mode::Relational => Config::default(),
        Mode::Transactions => return false,
    };
    let Ok(actions) = LabelRules::from_config(&bundle.config) else {
        return false;
    };
    reset_book();
    let Some(loaded) = shown(load_book(&config, Some(&bundle.cleaning))) else {
        return false;
    };
    let part = PartOf { index: 0, parts: 1 };
    match label_book(&bundle, &loaded.book, bundle.cutoff, &actions, part) {
        Ok(labelled) => {
            let mut totals = PartTotals::new(&bundle);
            totals.add(labelled.totals);
            totals.summarise(&bundle, "fuzz".as_ref(), bundle.cutoff, false, 10);
            true
        }
        Err(e) => {
            let _ = e.to_string();
            false
        }
    }
}

fn flat_config() -> Config {
    Config::parse(FLAT_CONFIG, "fuzz.toml".as_ref()).expect("the fixed flat config parses")
}

/// Keeps the fuzzer's panic hook (which aborts: that is how libFuzzer sees a crash) for
/// every panic but those clientele expects and turns into an error itself
/// (`clientele::error::catch_expected`, around polars' Parquet reader).
fn quiet_expected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !clientele::error::panic_expected() {
                fuzzer_hook(info);
            }
        }));
    });
}

/// This process's scratch directory (in memory where the machine has /dev/shm).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("clientele-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("scratch file");
}

/// Resets the scratch directory to the valid book (relational and flat files).
fn reset_book() -> PathBuf {
    quiet_expected_panics();
    let dir = scratch();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    for (name, text) in BOOK.into_iter().chain([("flat.csv", FLAT)]) {
        write(&dir.join(name), text.as_bytes());
    }
    dir.to_path_buf()
}

/// Loads the scratch book as a training run would (or as labeling does, given a
/// model's cleaning statistics).
fn load_book(config: &Config, fitted: Option<&CleaningStats>) -> Result<Loaded> {
    let mut opts = LoadOptions::from_config(config, fitted.is_none());
    opts.extract_date = Date::parse("2026-09-30").expect("a valid date");
    let loaded = load(config, scratch(), &opts, fitted)?;
    loaded.check_thresholds()?;
    Ok(loaded)
}

/// Every error must print; a panic inside `Display` is a crash too.
/// (Harnesses return whether the input was accepted all the way: every seed must be.)
fn shown(r: Result<Loaded>) -> Option<Loaded> {
    match r {
        Ok(l) => Some(l),
        Err(e) => {
            let _ = (e.to_string(), e.exit_code());
            None
        }
    }
}
