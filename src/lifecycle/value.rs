//! Lifetime value per client: the expected discounted premium still to come, from a
//! retention curve that combines the segment's shifted-beta-geometric model (fitted at
//! training on who stayed and who left at each policy year) with the client's own
//! lapse score (docs/domain.md, "Lifetime value").

use super::sbg::{residual_premiums, DiscountRate, ShiftedBetaGeometric};
use crate::config::ValueSettings;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Ages (completed periods) counted apart; older clients are pooled into the last.
const MAX_AGE_PERIODS: usize = 40;
/// A segment with fewer labelled clients, or fewer who left, uses the book's model.
const MIN_SEGMENT_CLIENTS: usize = 200;
const MIN_SEGMENT_LEAVERS: f64 = 20.0;

/// One segment's retention model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentRetention {
    pub segment: u32,
    pub model: ShiftedBetaGeometric,
    /// Labelled clients it was fitted on.
    pub clients: usize,
}

/// The retention models of a book, stored in the bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetentionModel {
    /// The length of one period in months: the model's label horizon.
    pub period_months: i32,
    /// Fitted on every labelled client: used for a segment without its own.
    pub book: ShiftedBetaGeometric,
    pub segments: Vec<SegmentRetention>,
    /// The training clients' lifetime values (in force at the cut-off, under the
    /// training config's `[value]`): what `[tiers] basis = "lifetime_value"` cuts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_distribution: Option<crate::stats::Distribution>,
}

/// One labelled client of the training snapshot.
#[derive(Clone, Copy, Debug)]
pub struct RetentionRow {
    pub tenure_years: f64,
    pub left: bool,
    pub segment: u32,
}

impl RetentionModel {
    /// Fits the book's and each segment's model from the training snapshot.
    ///
    /// # Errors
    /// `Error::NoData` when the book's model cannot be fitted (no one left or stayed, or
    /// every client of one tenure).
    pub fn fit(rows: &[RetentionRow], period_months: i32) -> Result<Self> {
        let book = ShiftedBetaGeometric::fit_one_period(&counts(rows, period_months, None))?;
        let mut ids: Vec<u32> = rows.iter().map(|r| r.segment).collect();
        ids.sort_unstable();
        ids.dedup();
        let segments = ids
            .into_iter()
            .filter_map(|id| {
                let at_age = counts(rows, period_months, Some(id));
                let clients = at_age.iter().map(|c| c[0] + c[1]).sum::<f64>() as usize;
                let left: f64 = at_age.iter().map(|c| c[1]).sum();
                if clients < MIN_SEGMENT_CLIENTS || left < MIN_SEGMENT_LEAVERS {
                    return None;
                }
                let model = ShiftedBetaGeometric::fit_one_period(&at_age).ok()?;
                Some(SegmentRetention {
                    segment: id,
                    model,
                    clients,
                })
            })
            .collect();
        Ok(RetentionModel {
            period_months,
            book,
            segments,
            value_distribution: None,
        })
    }

    /// The model of segment `id` (the book's when it has none of its own).
    pub fn for_segment(&self, id: u32) -> &ShiftedBetaGeometric {
        self.segments
            .iter()
            .find(|s| s.segment == id)
            .map_or(&self.book, |s| &s.model)
    }

    /// Checks what a bundle holds.
    ///
    /// # Errors
    /// A message naming the field.
    pub fn check(&self) -> std::result::Result<(), String> {
        if !(1..=120).contains(&self.period_months) {
            return Err(format!(
                "retention.period_months = {} is out of range (1 to 120)",
                self.period_months
            ));
        }
        let all = std::iter::once(("book".to_string(), self.book)).chain(
            self.segments
                .iter()
                .map(|s| (format!("segments[{}]", s.segment), s.model)),
        );
        if let Some(d) = &self.value_distribution {
            let ordered = d.edges.windows(2).all(|w| w[0] < w[1]);
            let finite = d.edges.iter().chain(&d.shares).all(|v| v.is_finite());
            if !ordered || !finite || d.shares.len() != d.edges.len() + 1 {
                return Err(
                    "retention.value_distribution: edges must be finite and ascending, with \
                     one share more than edges"
                        .to_string(),
                );
            }
        }
        for (what, m) in all {
            if ShiftedBetaGeometric::new(m.a, m.b).is_err() {
                return Err(format!(
                    "retention.{what}: a = {}, b = {} must be positive and finite",
                    m.a, m.b
                ));
            }
        }
        Ok(())
    }

    /// Expected discounted premium (times the margin) still to come from a client in
    /// force with `annual_premium`, `tenure_years` since the first policy, `age` (NaN:
    /// unknown) and probability `p` of leaving within the coming period; the next
    /// period's premium counts undiscounted if the client stays.
    ///
    /// # Errors
    /// `Error::InvalidParameter` for a discount rate out of range.
    pub fn lifetime_value(&self, client: &ValueInput, s: &ValueSettings) -> Result<f64> {
        let period = f64::from(self.period_months) / 12.0;
        let years_left = if client.age.is_finite() {
            (s.max_age - client.age).min(f64::from(s.horizon_years))
        } else {
            f64::from(s.horizon_years)
        };
        let remaining = (years_left.max(0.0) / period).floor() as usize;
        if remaining == 0 || !client.annual_premium.is_finite() || client.annual_premium <= 0.0 {
            return Ok(0.0);
        }
        let d = DiscountRate::new((1.0 + s.discount_rate).powf(period) - 1.0)
            .map_err(|e| Error::InvalidParameter(format!("[value] discount_rate: {e}")))?;
        let completed = (client.tenure_years.max(0.0) / period).floor() as usize;
        let model = self.for_segment(client.segment);
        let premiums = residual_premiums(model, completed + 1, client.p, remaining, d);
        Ok(s.margin * client.annual_premium * period * premiums)
    }
}

/// What a client's lifetime value is computed from.
#[derive(Clone, Copy, Debug)]
pub struct ValueInput {
    pub segment: u32,
    pub annual_premium: f64,
    pub tenure_years: f64,
    pub age: f64,
    /// Probability of leaving within the model's period.
    pub p: f64,
}

/// Premium at risk over 12 months: the annual premium times the probability of leaving
/// within 12 months, from `p` over `period_months` at a constant hazard.
pub fn premium_at_risk_12m(annual_premium: f64, p: f64, period_months: i32) -> f64 {
    let p12 = 1.0 - (1.0 - p.clamp(0.0, 1.0)).powf(12.0 / f64::from(period_months.max(1)));
    annual_premium * p12
}

/// [stayed, left] by completed periods, for one segment or all.
fn counts(rows: &[RetentionRow], period_months: i32, segment: Option<u32>) -> Vec<[f64; 2]> {
    let period = f64::from(period_months.max(1)) / 12.0;
    let mut out = vec![[0.0; 2]; MAX_AGE_PERIODS + 1];
    for r in rows
        .iter()
        .filter(|r| segment.is_none_or(|s| s == r.segment))
    {
        if !r.tenure_years.is_finite() {
            continue;
        }
        let age = ((r.tenure_years.max(0.0) / period).floor() as usize).min(MAX_AGE_PERIODS);
        out[age][usize::from(r.left)] += 1.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> RetentionModel {
        RetentionModel {
            period_months: 12,
            book: ShiftedBetaGeometric::new(0.668, 3.806).unwrap(),
            segments: Vec::new(),
            value_distribution: None,
        }
    }

    fn input(p: f64) -> ValueInput {
        ValueInput {
            segment: 0,
            annual_premium: 1000.0,
            tenure_years: 3.5,
            age: 40.0,
            p,
        }
    }

    #[test]
    fn value_falls_with_risk_and_stops_at_the_age_limit() {
        let s = ValueSettings::default();
        let m = model();
        let safe = m.lifetime_value(&input(0.05), &s).unwrap();
        let risky = m.lifetime_value(&input(0.40), &s).unwrap();
        assert!(safe > risky && risky > 0.0, "{safe} {risky}");
        // Staying for certain one more year is worth at least that year's premium.
        assert!(risky >= 1000.0 * 0.6 - 1e-9, "{risky}");
        let old = ValueInput {
            age: 85.5,
            ..input(0.05)
        };
        assert_eq!(m.lifetime_value(&old, &s).unwrap(), 0.0);
        // A one-year horizon: the next premium if the client stays, nothing more.
        let one = ValueSettings {
            horizon_years: 1,
            ..s
        };
        let v = m.lifetime_value(&input(0.25), &one).unwrap();
        assert!((v - 750.0).abs() < 1e-9, "{v}");
    }

    #[test]
    fn premium_at_risk_converts_the_horizon() {
        assert!((premium_at_risk_12m(1000.0, 0.2, 12) - 200.0).abs() < 1e-9);
        // 6-month probability 0.1: 12-month 1 - 0.9^2 = 0.19.
        assert!((premium_at_risk_12m(1000.0, 0.1, 6) - 190.0).abs() < 1e-9);
    }
}
