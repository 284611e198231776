//! `cargo fuzz run csv_source`: see `clientele_fuzz::csv_source` for what it exercises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    clientele_fuzz::csv_source(data);
});
