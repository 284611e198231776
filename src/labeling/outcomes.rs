//! How last month's predictions and actions turned out (`--previous-run`): for each
//! client the previous run scored and whose outcome is now known (lapsed or still in
//! force at this run's date), last month's probability, band and action against what
//! happened. Counted per part and added up, like every labeling total, so a book labelled
//! in parts (or in Spark) gets the same numbers.
//!
//! A 12-month probability is compared with a shorter window's outcome by assuming a
//! constant monthly hazard: over `w` of `h` months, `1 - (1 - p)^(w / h)`. The ranking
//! (ROC AUC, lift) does not depend on that assumption; calibration does. Action groups
//! are compared with the clients who got the table's default action in the same risk
//! bands: observational, not a controlled test.

use crate::date::Date;
use crate::features::Label;
use crate::vocab::RiskBand;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Probability histogram bins for the realised ROC AUC and lift (mergeable over parts;
/// ties within a bin of 0.001 count half).
const HISTOGRAM_BINS: usize = 1000;

/// One client of the previous run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PreviousClient {
    pub segment: u32,
    /// Last month's lapse probability; NaN when the client was not scored.
    pub probability: f64,
    pub band: Option<RiskBand>,
    /// Index into `PreviousRun::actions`.
    pub action: u32,
    /// Last month's lifecycle stage and value tier (their codes), when its labels had them.
    pub stage: Option<crate::vocab::LifecycleStage>,
    pub tier: Option<crate::vocab::ValueTier>,
    /// Whether the client was held out of its action; `None` when the labels had no
    /// holdout column.
    pub holdout: Option<bool>,
}

/// Last month's labels, keyed by the client id's hash (`partition::client_hash`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreviousRun {
    pub clients: HashMap<u64, PreviousClient>,
    pub actions: Vec<String>,
    /// The previous run's date; without it only the segment migration is counted.
    pub as_of: Option<Date>,
    pub model_version: Option<String>,
    /// Whether the labels carried the holdout column (randomised holdouts).
    pub randomised: bool,
    /// The effect readouts summed up to that run (its `effect-history.json`).
    pub effect_history: Option<crate::effect::EffectCounts>,
}

/// One row of last month's labels as read.
pub struct PreviousRow {
    pub client_id: String,
    pub segment: u32,
    pub probability: Option<f64>,
    pub band: Option<String>,
    pub action: Option<String>,
    /// `stage_code` and `tier_code`, when the labels have them.
    pub stage: Option<String>,
    pub tier: Option<String>,
    /// `holdout`, when the labels have it.
    pub holdout: Option<bool>,
}

impl PreviousRun {
    pub fn from_rows(rows: impl IntoIterator<Item = PreviousRow>) -> Self {
        let mut run = PreviousRun::default();
        let mut index: HashMap<String, u32> = HashMap::new();
        for r in rows {
            run.randomised |= r.holdout.is_some();
            let action = r.action.unwrap_or_default();
            let next = run.actions.len() as u32;
            let a = *index.entry(action.clone()).or_insert_with(|| {
                run.actions.push(action);
                next
            });
            run.clients.insert(
                crate::ingest::partition::client_hash(&r.client_id),
                PreviousClient {
                    segment: r.segment,
                    probability: r.probability.filter(|p| p.is_finite()).unwrap_or(f64::NAN),
                    band: r.band.as_deref().and_then(RiskBand::from_word),
                    action: a,
                    stage: r
                        .stage
                        .as_deref()
                        .and_then(crate::vocab::LifecycleStage::from_word),
                    tier: r
                        .tier
                        .as_deref()
                        .and_then(crate::vocab::ValueTier::from_word),
                    holdout: r.holdout,
                },
            );
        }
        run
    }

    /// Whole months from the previous run's date to `as_of`, when outcomes can be
    /// counted; else why not.
    pub fn window(&self, as_of: Date) -> std::result::Result<i32, String> {
        let Some(prev) = self.as_of else {
            return Err("the previous run's date is unknown (no summary.json)".into());
        };
        let (py, pm, _) = prev.ymd();
        let (y, m, _) = as_of.ymd();
        let months = (y - py) * 12 + m as i32 - pm as i32;
        if months < 1 || prev.month_end_offset(months) != as_of || prev.month_end() != prev {
            return Err(format!(
                "the previous run is as of {prev} and this one as of {as_of}: outcomes need \
                 month ends at least a month apart"
            ));
        }
        Ok(months)
    }
}

/// Realised outcomes summed over parts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// The previous run's date and model, and the months counted or why none were: set
    /// by every part labelled with a previous run.
    pub previous_as_of: Option<Date>,
    pub previous_model: Option<String>,
    pub window: Option<std::result::Result<i32, String>>,
    /// The action table's catch-all action, which the other actions are compared with.
    pub default_action: String,
    /// Scored last month and lapsed or still in force now.
    pub known: usize,
    pub lapsed: usize,
    /// Scored last month, in this book, but matured, died or otherwise left without a
    /// lapse: no outcome.
    pub excluded: usize,
    /// Per band (low, medium, high): clients, lapsed, sum of predicted probabilities over
    /// the window.
    pub bands: [(usize, usize, f64); 3],
    /// (action, band) -> (clients, lapsed).
    #[serde(with = "super::totals::pairs")]
    pub actions: BTreeMap<(String, String), (usize, usize)>,
    /// Last month's probability in `HISTOGRAM_BINS` equal bins: (stayed, lapsed).
    pub histogram: Vec<(usize, usize)>,
    /// Per bin of the training score distribution: clients, lapsed, sum of predicted.
    pub calibration: Vec<(usize, usize, f64)>,
}

fn band_index(band: Option<RiskBand>) -> Option<usize> {
    match band? {
        RiskBand::Low => Some(0),
        RiskBand::Medium => Some(1),
        RiskBand::High => Some(2),
    }
}

impl OutcomeCounts {
    pub fn new(score_bins: usize) -> Self {
        OutcomeCounts {
            histogram: vec![(0, 0); HISTOGRAM_BINS],
            calibration: vec![(0, 0, 0.0); score_bins],
            ..OutcomeCounts::default()
        }
    }

    /// Counts one client of the previous run: `label` is its outcome over the window,
    /// `predicted` last month's probability over the window, `score_bin` its bin of the
    /// training score distribution.
    pub fn count(
        &mut self,
        prev: &PreviousClient,
        action: &str,
        label: Label,
        (predicted, score_bin): (f64, usize),
    ) {
        let lapsed = match label {
            Label::Lapsed => true,
            Label::Stayed => false,
            Label::Excluded => {
                self.excluded += 1;
                return;
            }
        };
        let l = usize::from(lapsed);
        self.known += 1;
        self.lapsed += l;
        if let Some(b) = band_index(prev.band).and_then(|i| self.bands.get_mut(i)) {
            b.0 += 1;
            b.1 += l;
            b.2 += predicted;
        }
        let band = crate::vocab::band_word(prev.band).to_string();
        let a = self.actions.entry((action.to_string(), band)).or_default();
        a.0 += 1;
        a.1 += l;
        let h = ((prev.probability * HISTOGRAM_BINS as f64) as usize).min(HISTOGRAM_BINS - 1);
        if let Some(bin) = self.histogram.get_mut(h) {
            if lapsed {
                bin.1 += 1;
            } else {
                bin.0 += 1;
            }
        }
        if let Some(c) = self.calibration.get_mut(score_bin) {
            c.0 += 1;
            c.1 += l;
            c.2 += predicted;
        }
    }

    /// Records which previous run the part was compared with.
    pub fn compared_with(
        &mut self,
        previous: &PreviousRun,
        window: std::result::Result<i32, String>,
        default_action: &str,
    ) {
        self.default_action = default_action.to_string();
        self.previous_as_of = previous.as_of;
        self.previous_model.clone_from(&previous.model_version);
        self.window = Some(window);
    }

    pub fn merge(&mut self, other: OutcomeCounts) {
        if self.window.is_none() {
            self.previous_as_of = other.previous_as_of;
            self.previous_model = other.previous_model;
            self.window = other.window;
            self.default_action = other.default_action;
        }
        self.known += other.known;
        self.lapsed += other.lapsed;
        self.excluded += other.excluded;
        for (a, b) in self.bands.iter_mut().zip(other.bands) {
            a.0 += b.0;
            a.1 += b.1;
            a.2 += b.2;
        }
        for (k, (n, l)) in other.actions {
            let e = self.actions.entry(k).or_default();
            e.0 += n;
            e.1 += l;
        }
        add_pairs(&mut self.histogram, &other.histogram);
        if self.calibration.len() < other.calibration.len() {
            self.calibration
                .resize(other.calibration.len(), (0, 0, 0.0));
        }
        for (a, b) in self.calibration.iter_mut().zip(other.calibration) {
            a.0 += b.0;
            a.1 += b.1;
            a.2 += b.2;
        }
    }
}

fn add_pairs(into: &mut Vec<(usize, usize)>, from: &[(usize, usize)]) {
    if into.len() < from.len() {
        into.resize(from.len(), (0, 0));
    }
    for (a, b) in into.iter_mut().zip(from) {
        a.0 += b.0;
        a.1 += b.1;
    }
}

/// The window's probability from a horizon's, at a constant monthly hazard.
pub fn over_window(p: f64, window_months: i32, horizon_months: i32) -> f64 {
    1.0 - (1.0 - p).powf(f64::from(window_months) / f64::from(horizon_months.max(1)))
}

/// Lapses in one risk band of last month.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BandOutcome {
    pub band: String,
    pub clients: usize,
    pub lapsed: usize,
    pub lapse_rate: f64,
    /// Mean of last month's probabilities over the window.
    pub predicted_rate: f64,
}

/// Retention of one action group against clients of the same bands given the default
/// action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    pub action: String,
    pub clients: usize,
    pub lapsed: usize,
    pub retention: f64,
    /// The default action's retention, weighted to this group's risk-band mix; `None`
    /// when no default-action client shares a band with the group.
    pub comparable_retention: Option<f64>,
}

/// One bin of the training score distribution: predicted against realised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub clients: usize,
    pub predicted_rate: f64,
    pub lapse_rate: f64,
}

/// How last month's predictions and actions turned out, for `summary.json` and the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcomes {
    pub previous_as_of: Option<Date>,
    pub previous_model: Option<String>,
    pub window_months: i32,
    pub known: usize,
    pub lapsed: usize,
    pub excluded: usize,
    pub roc_auc: Option<f64>,
    pub lift_at_10: Option<f64>,
    pub bands: Vec<BandOutcome>,
    /// The action compared against (the action table's catch-all).
    pub default_action: String,
    pub actions: Vec<ActionOutcome>,
    pub calibration: Vec<CalibrationBin>,
    /// Why outcomes are missing or how to read them.
    pub notes: Vec<String>,
}

/// Summarises the counts against this run's model.
pub fn summarise(counts: &OutcomeCounts, model_version: &str) -> Outcomes {
    let default_action = counts.default_action.as_str();
    let mut notes = Vec::new();
    let window_months = match &counts.window {
        Some(Ok(w)) => *w,
        Some(Err(why)) => {
            notes.push(format!("no realised outcomes: {why}"));
            0
        }
        None => {
            notes.push("no realised outcomes: no part was compared with a previous run".into());
            0
        }
    };
    if let Some(previous) = counts
        .previous_model
        .as_deref()
        .filter(|v| *v != model_version)
    {
        notes.push(format!(
            "last month's labels come from model {previous}, this run uses {model_version}: \
             the outcomes evaluate last month's model"
        ));
    }
    if window_months > 0 && counts.known == 0 {
        notes.push(
            "no client scored in the previous run has a known outcome in this book: do the \
             two runs cover the same clients?"
                .into(),
        );
    }
    let rate = |l: usize, n: usize| if n > 0 { l as f64 / n as f64 } else { f64::NAN };
    let bands = [RiskBand::Low, RiskBand::Medium, RiskBand::High]
        .iter()
        .zip(counts.bands)
        .map(|(band, (n, l, predicted))| BandOutcome {
            band: band.as_str().to_string(),
            clients: n,
            lapsed: l,
            lapse_rate: rate(l, n),
            predicted_rate: if n > 0 {
                predicted / n as f64
            } else {
                f64::NAN
            },
        })
        .collect();
    Outcomes {
        previous_as_of: counts.previous_as_of,
        previous_model: counts.previous_model.clone(),
        window_months,
        known: counts.known,
        lapsed: counts.lapsed,
        excluded: counts.excluded,
        roc_auc: histogram_auc(&counts.histogram),
        lift_at_10: histogram_lift(&counts.histogram, 0.10),
        bands,
        default_action: default_action.to_string(),
        actions: action_outcomes(counts, default_action),
        calibration: counts
            .calibration
            .iter()
            .map(|&(n, l, predicted)| CalibrationBin {
                clients: n,
                predicted_rate: if n > 0 {
                    predicted / n as f64
                } else {
                    f64::NAN
                },
                lapse_rate: rate(l, n),
            })
            .collect(),
        notes,
    }
}

/// Each action's retention, and the default action's in the same bands weighted to the
/// action's band mix (direct standardisation).
fn action_outcomes(counts: &OutcomeCounts, default_action: &str) -> Vec<ActionOutcome> {
    let mut by_action: BTreeMap<&str, Vec<(&str, usize, usize)>> = BTreeMap::new();
    for ((action, band), &(n, l)) in &counts.actions {
        by_action.entry(action).or_default().push((band, n, l));
    }
    let reference: HashMap<&str, f64> = by_action
        .get(default_action)
        .map(|bands| {
            bands
                .iter()
                .filter(|(_, n, _)| *n > 0)
                .map(|&(band, n, l)| (band, 1.0 - l as f64 / n as f64))
                .collect()
        })
        .unwrap_or_default();
    by_action
        .iter()
        .map(|(action, bands)| {
            let clients: usize = bands.iter().map(|b| b.1).sum();
            let lapsed: usize = bands.iter().map(|b| b.2).sum();
            let covered: Vec<(f64, usize)> = bands
                .iter()
                .filter_map(|&(band, n, _)| reference.get(band).map(|&r| (r, n)))
                .collect();
            let weight: usize = covered.iter().map(|c| c.1).sum();
            let comparable_retention = (*action != default_action && weight > 0)
                .then(|| covered.iter().map(|&(r, n)| r * n as f64).sum::<f64>() / weight as f64);
            ActionOutcome {
                action: (*action).to_string(),
                clients,
                lapsed,
                retention: 1.0 - lapsed as f64 / clients.max(1) as f64,
                comparable_retention,
            }
        })
        .collect()
}

/// ROC AUC from the probability histogram: pairs in the same bin count half.
fn histogram_auc(h: &[(usize, usize)]) -> Option<f64> {
    let pos: usize = h.iter().map(|b| b.1).sum();
    let neg: usize = h.iter().map(|b| b.0).sum();
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut below = 0.0;
    let mut wins = 0.0;
    for &(stayed, lapsed) in h {
        wins += lapsed as f64 * (below + stayed as f64 / 2.0);
        below += stayed as f64;
    }
    Some(wins / (pos as f64 * neg as f64))
}

/// Lift of the riskiest `share` by last month's probability, from the histogram (the
/// bin at the edge counted in proportion).
fn histogram_lift(h: &[(usize, usize)], share: f64) -> Option<f64> {
    let total: usize = h.iter().map(|b| b.0 + b.1).sum();
    let lapsed: usize = h.iter().map(|b| b.1).sum();
    if total == 0 || lapsed == 0 {
        return None;
    }
    let want = share * total as f64;
    let (mut taken, mut caught) = (0.0, 0.0);
    for &(stayed, l) in h.iter().rev() {
        let n = (stayed + l) as f64;
        if n == 0.0 {
            continue;
        }
        let part = ((want - taken) / n).min(1.0);
        taken += part * n;
        caught += part * l as f64;
        if taken >= want {
            break;
        }
    }
    Some((caught / taken.max(1.0)) / (lapsed as f64 / total as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(p: f64, band: RiskBand, action: u32) -> PreviousClient {
        PreviousClient {
            segment: 1,
            probability: p,
            band: Some(band),
            action,
            stage: None,
            tier: None,
            holdout: None,
        }
    }

    #[test]
    fn counts_add_up_and_rank_like_the_exact_auc() {
        let mut whole = OutcomeCounts::new(10);
        let mut parts = [OutcomeCounts::new(10), OutcomeCounts::new(10)];
        // Riskier clients lapse more often.
        let cases: Vec<(f64, bool)> = (0..400)
            .map(|i| {
                let p = f64::from(i) / 400.0;
                (p, (i * 7919) % 400 < i)
            })
            .collect();
        for (i, &(p, lapsed)) in cases.iter().enumerate() {
            let band = if p > 0.6 {
                RiskBand::High
            } else {
                RiskBand::Low
            };
            let action = if band == RiskBand::High {
                "call"
            } else {
                "standard service"
            };
            let label = if lapsed { Label::Lapsed } else { Label::Stayed };
            let c = client(p, band, 0);
            whole.count(&c, action, label, (p, (p * 10.0) as usize));
            parts[i % 2].count(&c, action, label, (p, (p * 10.0) as usize));
        }
        let [mut a, b] = parts;
        a.merge(b);
        // Counts add up exactly; float sums to rounding (another summation order).
        assert_eq!(
            (a.known, a.lapsed, &a.actions, &a.histogram),
            (whole.known, whole.lapsed, &whole.actions, &whole.histogram)
        );
        for (x, y) in a
            .calibration
            .iter()
            .zip(&whole.calibration)
            .map(|(x, y)| ((x.0, x.1, x.2), (y.0, y.1, y.2)))
        {
            assert_eq!((x.0, x.1), (y.0, y.1));
            assert!((x.2 - y.2).abs() < 1e-9);
        }
        let exact = {
            let (pos, neg): (Vec<f64>, Vec<f64>) = (
                cases.iter().filter(|c| c.1).map(|c| c.0).collect(),
                cases.iter().filter(|c| !c.1).map(|c| c.0).collect(),
            );
            let wins: f64 = pos
                .iter()
                .map(|&p| {
                    neg.iter()
                        .map(|&q| {
                            if p > q {
                                1.0
                            } else if p == q {
                                0.5
                            } else {
                                0.0
                            }
                        })
                        .sum::<f64>()
                })
                .sum();
            wins / (pos.len() * neg.len()) as f64
        };
        let auc = histogram_auc(&whole.histogram).unwrap();
        assert!((auc - exact).abs() < 0.005, "{auc} vs {exact}");
        assert!(histogram_lift(&whole.histogram, 0.1).unwrap() > 1.5);
        let run = PreviousRun {
            as_of: Date::from_ymd(2026, 9, 30),
            model_version: Some("m1".into()),
            ..PreviousRun::default()
        };
        whole.compared_with(&run, Ok(1), "standard service");
        let o = summarise(&whole, "m2");
        assert!(o.notes.iter().any(|n| n.contains("model m1")));
        assert!(o.bands[2].lapse_rate > o.bands[0].lapse_rate);
        let call = o.actions.iter().find(|a| a.action == "call").unwrap();
        // The default action was never given to a high-band client: nothing to compare.
        assert_eq!(call.comparable_retention, None);
        assert_eq!(o.known, 400);
    }

    #[test]
    fn the_window_is_whole_months_between_month_ends() {
        let run = PreviousRun {
            as_of: Date::from_ymd(2026, 9, 30),
            ..PreviousRun::default()
        };
        let oct = Date::from_ymd(2026, 10, 31).unwrap();
        assert_eq!(run.window(oct), Ok(1));
        assert!(run.window(Date::from_ymd(2026, 9, 30).unwrap()).is_err());
        assert!(run.window(Date::from_ymd(2026, 10, 15).unwrap()).is_err());
        assert!(PreviousRun::default().window(oct).is_err());
        assert!((over_window(0.2, 12, 12) - 0.2).abs() < 1e-12);
        assert!(over_window(0.2, 1, 12) < 0.02);
    }
}
