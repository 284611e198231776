//! `cargo fuzz run config`: see `clientele_fuzz::config` for what it exercises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    clientele_fuzz::config(data);
});
