//! Needs tags and the protection gap (docs/domain.md, "Needs"): what a client's age,
//! dependants, income and products held say they need, and how far the death cover in
//! force falls short of the income-multiple rule. Income and dependants are read as
//! reported: a value cleaning imputed is unknown here, never a median.

use super::rules::{quantile_of, ClientView};
use crate::bundle::Bundle;
use crate::config::{Mode, NeedsSettings};
use crate::features::Feature;
use crate::vocab::{CoverageBand, Need};

/// The settings and the training income from which wealth is a need.
pub struct NeedCuts {
    settings: NeedsSettings,
    wealth_income: Option<f64>,
}

impl NeedCuts {
    pub fn new(settings: &NeedsSettings, wealth_income: Option<f64>) -> Self {
        NeedCuts {
            settings: settings.clone(),
            wealth_income,
        }
    }

    /// The wealth cut from the bundle's stored income distribution (log income).
    pub fn from_bundle(b: &Bundle, settings: &NeedsSettings) -> Self {
        let wealth_income = b
            .features
            .numeric
            .iter()
            .find(|f| f.name == Feature::LogIncome.name())
            .and_then(|f| quantile_of(&f.distribution, settings.wealth_income_quantile))
            .map(f64::exp_m1);
        NeedCuts::new(settings, wealth_income)
    }
}

/// A client's needs and protection gap.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Needs {
    pub tags: Vec<Need>,
    /// max(0, multiple x income - death cover); `None` when unknown.
    pub gap: Option<f64>,
    /// `None` outside relational mode.
    pub band: Option<CoverageBand>,
}

impl Needs {
    /// The tags' codes joined by `|` (empty without needs).
    pub fn codes(&self) -> String {
        let mut out = String::new();
        self.write_codes(&mut out);
        out
    }

    /// `codes` written into `out` (cleared first): labeling reuses one buffer.
    pub fn write_codes(&self, out: &mut String) {
        out.clear();
        for (i, need) in self.tags.iter().enumerate() {
            if i > 0 {
                out.push('|');
            }
            out.push_str(need.code());
        }
    }

    /// The product line a first policy is chosen as: the first need's.
    pub fn first_product(&self) -> Option<&'static str> {
        self.tags.first().map(|n| n.product())
    }
}

/// The client's age when known (NaN for cleaning's imputed median).
fn known_age(c: &ClientView) -> f64 {
    if c.facts().age_known(c.client) {
        c.get(Feature::Age)
    } else {
        f64::NAN
    }
}

/// The protection gap and its band from reported income and death cover.
fn gap(s: &NeedsSettings, income: f64, cover: f64) -> (Option<f64>, CoverageBand) {
    if !income.is_finite() || !cover.is_finite() {
        return (None, CoverageBand::Unknown);
    }
    let need = s.income_multiple * income.max(0.0);
    let band = if need <= 0.0 || cover >= need {
        CoverageBand::Adequate
    } else if cover <= 0.0 {
        CoverageBand::NoCover
    } else if cover / need < s.low_coverage {
        CoverageBand::Low
    } else {
        CoverageBand::Partial
    };
    (Some((need - cover).max(0.0)), band)
}

/// The client's needs (relational mode; none elsewhere).
pub fn needs(mode: Mode, cuts: &NeedCuts, c: &ClientView) -> Needs {
    if mode != Mode::Relational {
        return Needs::default();
    }
    let s = &cuts.settings;
    let facts = c.facts();
    let (age, dependants) = (known_age(c), facts.dependants(c.client));
    let income = facts.income(c.client);
    let (gap, band) = gap(s, income, facts.death_cover(c.client));
    let holds = |line: &str| facts.holds(c.client, line);
    let death_cover_held = crate::features::DEATH_COVER_PRODUCTS
        .iter()
        .any(|l| holds(l));
    let short = match band {
        CoverageBand::NoCover | CoverageBand::Low | CoverageBand::Partial => true,
        CoverageBand::Unknown => !death_cover_held,
        CoverageBand::Adequate => false,
    };
    let supports = dependants >= 1.0;
    let mut tags = Vec::new();
    if supports && age < s.protection_max_age && short {
        tags.push(Need::Protection);
    }
    if age < s.health_max_age && !holds("medical") && !holds("critical_illness") {
        tags.push(Need::Health);
    }
    if supports && age < s.education_max_age && !holds("education") {
        tags.push(Need::Education);
    }
    let retiring = age >= s.retirement_min_age && age < s.retirement_max_age;
    if retiring && !holds("annuity") {
        tags.push(Need::Retirement);
    }
    let savings = ["annuity", "education", "universal_life"]
        .iter()
        .any(|l| holds(l));
    if cuts.wealth_income.is_some_and(|w| income >= w) && !savings {
        tags.push(Need::Wealth);
    }
    Needs {
        tags,
        gap,
        band: Some(band),
    }
}

/// Whether a product is ruled out for the client by age and dependants: an education
/// plan without dependants or past `education_max_age`, an annuity past
/// `retirement_max_age`, term life past `protection_max_age`, health cover past
/// `health_max_age`. An unknown age rules nothing out.
pub fn ruled_out(s: &NeedsSettings, product: &str, c: &ClientView) -> bool {
    let age = known_age(c);
    match product {
        "education" => age >= s.education_max_age || c.facts().dependants(c.client) == 0.0,
        "annuity" => age >= s.retirement_max_age,
        "term_life" => age >= s.protection_max_age,
        "medical" | "critical_illness" => age >= s.health_max_age,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gap_is_unknown_without_income_and_banded_by_coverage() {
        let s = NeedsSettings::default();
        assert_eq!(gap(&s, f64::NAN, 0.0), (None, CoverageBand::Unknown));
        assert_eq!(
            gap(&s, 50_000.0, 0.0),
            (Some(500_000.0), CoverageBand::NoCover)
        );
        assert_eq!(
            gap(&s, 50_000.0, 100_000.0),
            (Some(400_000.0), CoverageBand::Low)
        );
        assert_eq!(
            gap(&s, 50_000.0, 300_000.0),
            (Some(200_000.0), CoverageBand::Partial)
        );
        assert_eq!(
            gap(&s, 50_000.0, 600_000.0),
            (Some(0.0), CoverageBand::Adequate)
        );
        // A policy without a sum assured leaves the cover, hence the gap, unknown.
        assert_eq!(gap(&s, 50_000.0, f64::NAN), (None, CoverageBand::Unknown));
    }
}
