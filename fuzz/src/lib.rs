//! What the fuzz targets share: a scratch data directory per process holding a tiny
//! valid book, into which a target writes the fuzzer's bytes as one source file.

use clientele::ingest::{load, LoadOptions, Loaded};
use clientele::{Config, Date, Result};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const CLIENTS: &str = "client_id,birth_date,gender,annual_income,channel,first_known_date\n\
C1,1980-01-02,M,50000,agent,2015-03-01\n\
C2,1990-05-06,female,42000,online,2019-07-01\n\
C3,1970-11-30, Male ,,bank,2010-01-15\n";

const POLICIES: &str = "policy_id,client_id,product,start_date,end_date,end_reason,annual_premium\n\
P1,C1,term life,2015-03-01,,,1200\n\
P2,C2,medical,2019-07-01,2022-07-01,lapsed,600\n\
P3,C3,annuity,2010-01-15,,,5000\n";

/// The flat table the bundle seeds were trained on (same columns).
pub const FLAT: &str = "id,age,premium,region,churned\n\
F1,30,100,north,1\n\
F2,41,250,south,0\n\
F3,52,300,east,0\n\
F4,,420,north,1\n";

pub const FLAT_CONFIG: &str = "mode = \"flat\"\n[flat]\npath = \"flat.csv\"\nid = \"id\"\n\
label = \"churned\"\nnumeric = \"*\"\ncategorical = [\"region\"]\n";

/// This process's scratch directory (in memory where the machine has /dev/shm).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("clientele-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

/// Resets the scratch directory to the tiny valid book (relational and flat files).
pub fn tiny_book() -> &'static Path {
    let dir = scratch();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    for (name, text) in [
        ("clients.csv", CLIENTS),
        ("policies.csv", POLICIES),
        ("flat.csv", FLAT),
    ] {
        std::fs::write(dir.join(name), text).expect("scratch file");
    }
    dir
}

/// Loads the scratch book as a training run would (or as labeling does, given a
/// model's cleaning statistics).
pub fn load_book(
    config: &Config,
    fitted: Option<&clientele::ingest::CleaningStats>,
) -> Result<Loaded> {
    let mut opts = LoadOptions::from_config(config, fitted.is_none());
    opts.extract_date = Date::parse("2026-09-30").expect("a valid date");
    let loaded = load(config, scratch(), &opts, fitted)?;
    loaded.check_thresholds()?;
    Ok(loaded)
}

/// Every error must print; a panic inside `Display` is a crash too.
pub fn shown(r: Result<Loaded>) -> Option<Loaded> {
    match r {
        Ok(l) => Some(l),
        Err(e) => {
            let _ = e.to_string();
            let _ = e.exit_code();
            None
        }
    }
}
