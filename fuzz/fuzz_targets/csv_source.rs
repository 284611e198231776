//! The CSV reader, parsers and cleaning rules: the fuzzer's bytes become one source file
//! of an otherwise valid book (the first byte picks which), and the book is loaded and
//! its features computed.
#![no_main]

use clientele::{Config, Date};
use clientele_fuzz::{load_book, shown, tiny_book, FLAT_CONFIG};
use libfuzzer_sys::fuzz_target;

const TARGETS: [&str; 6] = [
    "clients.csv",
    "policies.csv",
    "payments.csv",
    "claims.csv",
    "contacts.csv",
    "flat.csv",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = TARGETS[usize::from(pick) % TARGETS.len()];
    let dir = tiny_book();
    std::fs::write(dir.join(name), bytes).expect("scratch file");
    let config = if name == "flat.csv" {
        Config::parse(FLAT_CONFIG, "fuzz.toml".as_ref()).expect("the fixed config parses")
    } else {
        Config::default()
    };
    if let Some(loaded) = shown(load_book(&config, None)) {
        let cutoff = Date::parse("2026-06-30").expect("a valid date");
        let _ = clientele::features::compute(&loaded.book, cutoff);
    }
});
