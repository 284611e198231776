//! `[effect]`: randomised holdouts per action and what the readout of their effect counts
//! (costs, the small-cell flag, the interval's confidence, the false discovery rate).
//! Definitions and sources: `docs/domain.md` ("Marketing effect").

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Settings (`[effect]` in the config).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EffectSettings {
    /// Seed of the holdout draw: with the client id and the run's month, it decides who is
    /// held out. Change it to draw a new holdout; keep it to reproduce one.
    pub seed: u64,
    /// Share of the clients an action is recommended to that is held out (not contacted),
    /// for every action without its own `[effect.actions.<code>]` share; the table's
    /// catch-all action (no marketing action) defaults to 0. 0 turns holdouts off.
    pub holdout_share: f64,
    /// Share of clients held out of every action for a calendar year (universal control;
    /// 0: none).
    pub universal_control: f64,
    /// A readout cell whose treated or holdout arm has fewer clients is flagged small.
    pub min_arm_clients: usize,
    /// Confidence of the uplift intervals.
    pub confidence: f64,
    /// False discovery rate of the Benjamini-Hochberg step over cells.
    pub false_discovery_rate: f64,
    /// Per action code: holdout share and costs (see `ActionEffect`).
    pub actions: BTreeMap<String, ActionEffect>,
}

/// One action's holdout share and costs per treated client (`[effect.actions.<code>]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionEffect {
    /// Overrides `holdout_share` for this action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_share: Option<f64>,
    /// Cost of contacting one client with this action (its channel: a call, a visit, a
    /// letter), in premium currency.
    #[serde(default)]
    pub contact_cost: f64,
    /// Cost of the incentive the action gives one client (a discount, a gift).
    #[serde(default)]
    pub incentive_cost: f64,
}

impl ActionEffect {
    fn cost(contact_cost: f64, incentive_cost: f64) -> Self {
        ActionEffect {
            holdout_share: None,
            contact_cost,
            incentive_cost,
        }
    }
}

/// Illustrative costs per client of the default action table (a call 15-25, an agent's
/// visit 40, a letter or e-mail offer 1-3, an SMS reminder 0.5): an insurer sets its own.
fn default_action_costs() -> BTreeMap<String, ActionEffect> {
    [
        ("reinstatement_offer", 5.0, 0.0),
        ("first_policy_offer", 3.0, 0.0),
        ("vip_retention_call", 25.0, 0.0),
        ("policy_loan_or_partial_withdrawal", 15.0, 0.0),
        ("premium_holiday", 15.0, 0.0),
        ("change_to_monthly_premiums", 5.0, 0.0),
        ("reduce_sum_assured", 15.0, 0.0),
        ("paid_up_conversion", 15.0, 0.0),
        ("agent_policy_review", 40.0, 0.0),
        ("health_management_offer", 3.0, 20.0),
        ("payment_reminder", 0.5, 0.0),
        ("cross_sell", 3.0, 0.0),
    ]
    .into_iter()
    .map(|(code, contact, incentive)| (code.to_string(), ActionEffect::cost(contact, incentive)))
    .collect()
}

impl Default for EffectSettings {
    fn default() -> Self {
        EffectSettings {
            seed: 31,
            holdout_share: 0.10,
            universal_control: 0.0,
            min_arm_clients: 30,
            confidence: 0.95,
            false_discovery_rate: 0.05,
            actions: default_action_costs(),
        }
    }
}

impl EffectSettings {
    pub fn is_default(&self) -> bool {
        *self == EffectSettings::default()
    }

    /// The holdout share of the action with `code`; `default_code` is the table's
    /// catch-all action, held out only when its own share says so. A no-contact action
    /// (code `no_contact...`) is never held out: there is nothing to withhold.
    pub fn share(&self, code: &str, default_code: &str) -> f64 {
        if code.starts_with(super::actions::NO_CONTACT) {
            return 0.0;
        }
        match self.actions.get(code).and_then(|a| a.holdout_share) {
            Some(s) => s,
            None if code == default_code => 0.0,
            None => self.holdout_share,
        }
    }

    /// Cost per treated client of the action with `code` (contact and incentive).
    pub fn cost_per_client(&self, code: &str) -> f64 {
        self.actions
            .get(code)
            .map_or(0.0, |a| a.contact_cost + a.incentive_cost)
    }

    /// # Errors
    /// The key, its value and the allowed range.
    pub fn check(&self) -> std::result::Result<(), String> {
        let share = |key: &str, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "{key} = {v} is out of range: expected a share in [0, 1)"
                ))
            }
        };
        share("holdout_share", self.holdout_share)?;
        share("universal_control", self.universal_control)?;
        for (key, v) in [
            ("confidence", self.confidence),
            ("false_discovery_rate", self.false_discovery_rate),
        ] {
            if !(v > 0.0 && v < 1.0) {
                return Err(format!(
                    "{key} = {v} is out of range: expected 0 < {key} < 1"
                ));
            }
        }
        for (code, a) in &self.actions {
            if let Some(s) = a.holdout_share {
                share(&format!("actions.{code}.holdout_share"), s)?;
            }
            for (key, v) in [
                ("contact_cost", a.contact_cost),
                ("incentive_cost", a.incentive_cost),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(format!(
                        "actions.{code}.{key} = {v} is out of range: expected a cost of 0 or more"
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_costs_are_checked_and_looked_up_by_code() {
        let mut s = EffectSettings::default();
        assert!(s.check().is_ok());
        assert_eq!(s.share("vip_retention_call", "standard_service"), 0.10);
        assert_eq!(s.share("standard_service", "standard_service"), 0.0);
        assert_eq!(s.share("no_contact_deceased", "standard_service"), 0.0);
        assert_eq!(s.cost_per_client("health_management_offer"), 23.0);
        assert_eq!(s.cost_per_client("no_such_action"), 0.0);
        s.holdout_share = 1.0;
        assert!(s.check().unwrap_err().contains("holdout_share = 1"));
        s.holdout_share = 0.0;
        s.actions.insert("x".into(), ActionEffect::cost(-1.0, 0.0));
        assert!(s.check().unwrap_err().contains("actions.x.contact_cost"));
    }
}
