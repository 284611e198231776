//! Replays the fuzz seeds and every saved crash input (`fuzz/regressions/<target>/`)
//! through the same harnesses the cargo-fuzz targets run, on the stable toolchain: a
//! crash found once stays fixed, without the nightly fuzz build in CI.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

/// Runs every seed (each must be accepted all the way, or the fuzzer would start from
/// shallow inputs) and every saved crash (each must now end without a panic).
fn replay(target: &str, harness: fn(&[u8]) -> bool) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut seeds = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            let accepted = harness(&std::fs::read(e.path()).unwrap());
            if dir == "seeds" {
                assert!(accepted, "seed {} is not accepted", e.path().display());
                seeds += 1;
            }
        }
    }
    seeds
}

#[test]
fn seeds_and_saved_crashes_replay_without_a_panic() {
    assert!(replay("csv_source", harness::csv_source) >= 6);
    assert!(replay("parquet_source", harness::parquet_source) >= 2);
    assert!(replay("config", harness::config) >= 2);
    assert!(replay("bundle", harness::bundle) >= 2);
}
