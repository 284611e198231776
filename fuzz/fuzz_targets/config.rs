//! The config parser and its checks: any text is a config or a `Config` error.
#![no_main]

use clientele::Config;
use clientele_fuzz::{scratch, tiny_book};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, "fuzz.toml".as_ref()) {
        Ok(config) => {
            tiny_book();
            // A config that parses must also resolve its sources without panicking.
            let _ = config.resolve_sources(scratch()).map_err(|e| e.to_string());
            let _ = config.extract_date();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
