//! `[persistency]`: how persistency is counted (see the lifecycle module).

/// Settings (`[persistency]` in the config); see `docs/domain.md` for the defaults' sources.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersistencySettings {
    /// Policy months reported (13 = the first renewal premium).
    pub months: Vec<u32>,
    /// Days after a premium falls due within which paying it keeps the policy in force.
    pub grace_days: u32,
    /// Days after issue within which a cancellation is a free-look cancellation.
    pub free_look_days: u32,
    /// Issue cohorts by `quarter` or `month`.
    pub cohort: CohortPeriod,
    /// Months within which a purchase counts as a win-back (after cover was lost) or a
    /// second purchase (after the first policy). Left out of a bundle's JSON when
    /// default, like every setting added after bundles were published: their content
    /// digests stay theirs.
    #[serde(skip_serializing_if = "is_12")]
    pub repeat_months: u32,
    /// Years of losses of cover and first policies counted, before the last date observed
    /// for the whole `repeat_months`.
    #[serde(skip_serializing_if = "is_3")]
    pub repeat_window_years: u32,
}

fn is_12(v: &u32) -> bool {
    *v == 12
}

fn is_3(v: &u32) -> bool {
    *v == 3
}

/// Lifetime value (`[value]` in the config); see `docs/domain.md` ("Lifetime value").
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValueSettings {
    /// Yearly discount rate of future premiums.
    pub discount_rate: f64,
    /// Share of the premium counted as value (1: the value is in premium).
    pub margin: f64,
    /// Years of premium counted at most.
    pub horizon_years: u32,
    /// No premium is counted past this age.
    pub max_age: f64,
}

impl Default for ValueSettings {
    fn default() -> Self {
        ValueSettings {
            discount_rate: 0.08,
            margin: 1.0,
            horizon_years: 30,
            max_age: 85.0,
        }
    }
}

impl ValueSettings {
    pub fn is_default(&self) -> bool {
        *self == ValueSettings::default()
    }

    /// # Errors
    /// The key, its value and the allowed range.
    pub fn check(&self) -> std::result::Result<(), String> {
        let ranges: [(&str, f64, f64, f64); 4] = [
            ("discount_rate", self.discount_rate, 0.0001, 1.0),
            ("margin", self.margin, 0.0001, 1.0),
            ("horizon_years", f64::from(self.horizon_years), 1.0, 100.0),
            ("max_age", self.max_age, 18.0, 120.0),
        ];
        for (key, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err(format!(
                    "{key} = {v} is out of range: expected {lo} to {hi}"
                ));
            }
        }
        Ok(())
    }
}

impl Default for PersistencySettings {
    fn default() -> Self {
        PersistencySettings {
            months: vec![13, 25, 37, 49, 61],
            grace_days: 30,
            free_look_days: 15,
            cohort: CohortPeriod::Quarter,
            repeat_months: 12,
            repeat_window_years: 3,
        }
    }
}

impl PersistencySettings {
    /// # Errors
    /// The key, its value and the allowed range.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.months.is_empty() || self.months.iter().any(|&m| !(2..=600).contains(&m)) {
            return Err(format!(
                "months = {:?} is out of range: expected policy months from 2 to 600",
                self.months
            ));
        }
        for (key, v) in [
            ("grace_days", self.grace_days),
            ("free_look_days", self.free_look_days),
        ] {
            if v > 366 {
                return Err(format!("{key} = {v} is out of range: expected 0 to 366"));
            }
        }
        for (key, v, max) in [
            ("repeat_months", self.repeat_months, 120),
            ("repeat_window_years", self.repeat_window_years, 50),
        ] {
            if !(1..=max).contains(&v) {
                return Err(format!("{key} = {v} is out of range: expected 1 to {max}"));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortPeriod {
    Month,
    Quarter,
}
