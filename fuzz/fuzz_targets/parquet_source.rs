//! `cargo fuzz run parquet_source`: see `clientele_fuzz::parquet_source` for what it exercises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    clientele_fuzz::parquet_source(data);
});
