//! Who is held out of their recommended action: a keyed hash of (client id, the run's
//! month, the config's seed) turned into a uniform number, compared with the action's
//! holdout share. A pure function of the client, so a book labelled whole, in parts or
//! in Spark executors gets the same flags, and the action written never depends on it.
//!
//! Stratification by segment x tier is by design in expectation, not by exact counts:
//! each client of a stratum is held out with the action's share, independently (a
//! Bernoulli design). Exact counts per stratum would need the whole stratum in one place
//! (a second pass over every part); the readout compares treated and holdout within each
//! segment x tier cell, which is the stratified analysis.

use crate::config::actions::NO_CONTACT;
use crate::config::EffectSettings;
use crate::date::Date;
use crate::ingest::partition::client_hash;

/// The finaliser of SplitMix64: spreads every input bit over the output.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) from a client id's hash, a seed and a period key.
fn unit(id_hash: u64, seed: u64, period: u64) -> f64 {
    let h = mix(id_hash ^ mix(seed.wrapping_add(mix(period))));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Separates the universal control's draw from the monthly draw.
const UNIVERSAL: u64 = 0x0075_6e69_7665_7273;

/// The holdout draw of one labeling run.
#[derive(Clone, Debug, PartialEq)]
pub struct HoldoutPlan {
    seed: u64,
    month: u64,
    year: u64,
    universal: f64,
    /// The holdout shares, read through `EffectSettings::share`.
    settings: EffectSettings,
    default_code: String,
}

impl HoldoutPlan {
    /// The draw of the run as of `as_of` under `settings`; `default_code` is the action
    /// table's catch-all action.
    pub fn new(settings: &EffectSettings, default_code: &str, as_of: Date) -> Self {
        let (y, m, _) = as_of.ymd();
        HoldoutPlan {
            seed: settings.seed,
            month: (i64::from(y) * 12 + i64::from(m)) as u64,
            year: (i64::from(y) as u64) ^ UNIVERSAL,
            universal: settings.universal_control,
            settings: settings.clone(),
            default_code: default_code.to_string(),
        }
    }

    /// The holdout share of the action with `code` (`EffectSettings::share`).
    pub fn share(&self, code: &str) -> f64 {
        self.settings.share(code, &self.default_code)
    }

    /// Whether the client is in the year's universal control.
    pub fn universal_control(&self, client_id: &str) -> bool {
        self.universal > 0.0 && unit(client_hash(client_id), self.seed, self.year) < self.universal
    }

    /// Whether the client is held out of the action with `code` this month: drawn for
    /// the action's share, or in the universal control (of every action but the table's
    /// catch-all, which is no marketing action, and of no-contact actions).
    pub fn held_out(&self, client_id: &str, code: &str) -> bool {
        let share = self.share(code);
        let drawn = share > 0.0 && unit(client_hash(client_id), self.seed, self.month) < share;
        let marketing = code != self.default_code && !code.starts_with(NO_CONTACT);
        drawn || (marketing && self.universal_control(client_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::effect::ActionEffect;

    fn plan(settings: &EffectSettings, y: i32, m: u32) -> HoldoutPlan {
        let as_of = Date::from_ymd(y, m, 28).unwrap().month_end();
        HoldoutPlan::new(settings, "standard_service", as_of)
    }

    #[test]
    fn the_share_is_held_out_and_the_draw_is_pinned() {
        let s = EffectSettings::default();
        let p = plan(&s, 2026, 9);
        let ids: Vec<String> = (0..100_000).map(|i| format!("C{i:07}")).collect();
        let held = ids
            .iter()
            .filter(|id| p.held_out(id, "vip_retention_call"))
            .count();
        // Binomial(100000, 0.1): sd 95.
        assert!((held as f64 - 10_000.0).abs() < 400.0, "{held}");
        assert!(!ids.iter().any(|id| p.held_out(id, "standard_service")));
        // Another month draws anew; the same month again is the same draw.
        let oct = plan(&s, 2026, 10);
        let both = ids
            .iter()
            .filter(|id| p.held_out(id, "x") && oct.held_out(id, "x"))
            .count();
        assert!((both as f64 - 1_000.0).abs() < 150.0, "{both}");
        assert_eq!(plan(&s, 2026, 9), p);
        // Pinned: a release must never redraw last month's holdout.
        let first: Vec<usize> = (0..200).filter(|&i| p.held_out(&ids[i], "x")).collect();
        assert_eq!(first.len(), 15, "{first:?}");
        assert_eq!(&first[..4], &[1, 11, 63, 64], "{first:?}");
    }

    #[test]
    fn the_universal_control_holds_out_every_action_for_the_year() {
        let mut s = EffectSettings {
            universal_control: 0.05,
            holdout_share: 0.0,
            ..EffectSettings::default()
        };
        s.actions.insert(
            "call".into(),
            ActionEffect {
                holdout_share: Some(0.2),
                contact_cost: 1.0,
                incentive_cost: 0.0,
            },
        );
        let (jan, dec) = (plan(&s, 2026, 1), plan(&s, 2026, 12));
        let ids: Vec<String> = (0..20_000).map(|i| format!("K{i}")).collect();
        let control: Vec<&String> = ids.iter().filter(|id| jan.universal_control(id)).collect();
        assert!((control.len() as f64 - 1_000.0).abs() < 150.0);
        for id in &control {
            assert!(dec.universal_control(id));
            assert!(jan.held_out(id, "call") && dec.held_out(id, "call"));
            // Every action but the catch-all, whatever its own share.
            assert!(jan.held_out(id, "letter"));
            assert!(!jan.held_out(id, "standard_service"));
            assert!(!jan.held_out(id, "no_contact_deceased"));
        }
        let call = ids.iter().filter(|id| jan.held_out(id, "call")).count() as f64;
        // 1 - (1 - 0.2)(1 - 0.05) = 0.24.
        assert!((call / 20_000.0 - 0.24).abs() < 0.015, "{call}");
    }
}
