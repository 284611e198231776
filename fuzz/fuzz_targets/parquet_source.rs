//! The Parquet path: the fuzzer's bytes become `policies.parquet` or `payments.parquet`
//! (the first byte picks) beside a valid CSV book. A damaged file must be an error
//! naming it, never a panic or an abort inside the reader.
#![no_main]

use clientele::Config;
use clientele_fuzz::{load_book, shown, tiny_book};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let dir = tiny_book();
    if pick % 2 == 0 {
        std::fs::remove_file(dir.join("policies.csv")).expect("scratch file");
        std::fs::write(dir.join("policies.parquet"), bytes).expect("scratch file");
    } else {
        std::fs::write(dir.join("payments.parquet"), bytes).expect("scratch file");
    }
    let _ = shown(load_book(&Config::default(), None));
});
