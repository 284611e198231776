//! `cargo fuzz run bundle`: see `clientele_fuzz::bundle` for what it exercises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    clientele_fuzz::bundle(data);
});
