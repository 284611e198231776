//! Marketing effect: randomised holdouts per action (`holdout`), what next month's run
//! counts of them (`counts`), the readout with its intervals (`readout`, `interval`),
//! `effect.csv` and the report section (`output`), and their words (`words`).
//! Definitions and sources: `docs/domain.md` ("Marketing effect").

pub mod counts;
pub mod holdout;
pub mod interval;
pub mod output;
pub mod readout;
pub mod words;

pub use counts::{client_outcomes, ClientOutcome, Comparison, Counted, EffectCounts};
pub use holdout::HoldoutPlan;
pub use readout::{readout, EffectReadout, EffectRow, Level, Outcome, Verdict};
