//! The bundle loader: any text is a bundle or a `Bundle` error; a bundle that passes
//! the checks must label the tiny book of its mode without panicking.
#![no_main]

use clientele::bundle::Bundle;
use clientele::config::{ActionTable, Mode};
use clientele::labeling::{label_book, PartOf, PartTotals};
use clientele::Config;
use clientele_fuzz::{load_book, shown, tiny_book, FLAT_CONFIG};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let bundle = match Bundle::parse(text, "bundle.json".as_ref()) {
        Ok(b) => b,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let config = match bundle.config.mode {
        Mode::Flat => Config::parse(FLAT_CONFIG, "fuzz.toml".as_ref()).expect("fixed config"),
        Mode::Relational => Config::default(),
        Mode::Transactions => return,
    };
    let Ok(actions) = ActionTable::check(&bundle.config.actions) else {
        return;
    };
    tiny_book();
    let Some(loaded) = shown(load_book(&config, Some(&bundle.cleaning))) else {
        return;
    };
    let part = PartOf { index: 0, parts: 1 };
    if let Ok(labelled) = label_book(&bundle, &loaded.book, bundle.cutoff, &actions, part) {
        let mut totals = PartTotals::new(&bundle);
        totals.add(labelled.totals);
        let _ = totals.summarise(&bundle, "fuzz".as_ref(), bundle.cutoff, false, 10);
    }
});
