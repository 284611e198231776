//! The readout: per last month's action x segment x tier (and `all` totals), treated
//! against held-out clients on each outcome, the uplift with its interval, the
//! Benjamini-Hochberg step over cells, the premium it kept, its cost and ROI; and for
//! retention actions, the uplift by decile of last month's lapse probability with the
//! Qini curve. Intention to treat: a client counts in the arm last month's labels put it
//! in, whether or not the action was carried out.

use super::counts::{Arm, EffectCounts};
use super::interval::{
    benjamini_hochberg, newcombe, ratio_difference, two_proportion_p, z_of, Difference,
};
use super::words;
use crate::date::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The outcomes read out, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Lapse,
    Surrender,
    NewPolicy,
    PremiumKept,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Lapse,
        Outcome::Surrender,
        Outcome::NewPolicy,
        Outcome::PremiumKept,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Outcome::Lapse => "lapse",
            Outcome::Surrender => "surrender",
            Outcome::NewPolicy => "new_policy",
            Outcome::PremiumKept => "premium_kept",
        }
    }

    /// Whether a higher rate is better for the insurer.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Outcome::NewPolicy | Outcome::PremiumKept)
    }
}

/// Which rows a Benjamini-Hochberg family holds: cells, segments or action totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Cell,
    Segment,
    Action,
}

/// What a row says about the action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Helps,
    Harms,
    Unclear,
    /// No randomised holdout: nothing to compare with.
    NotIdentified,
}

/// One row of `effect.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectRow {
    pub action: String,
    pub action_code: String,
    /// A segment id or `all`.
    pub segment: String,
    /// A value tier or `all`.
    pub tier: String,
    pub level: Level,
    pub outcome: Outcome,
    pub treated: usize,
    pub holdout: usize,
    pub treated_rate: f64,
    pub holdout_rate: f64,
    pub uplift: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
    /// Benjamini-Hochberg adjusted p-value within the row's outcome and level.
    pub q_value: f64,
    pub verdict: Verdict,
    /// An arm below `min_arm_clients`.
    pub small: bool,
    /// Premium-kept rows: the uplift in premium kept times the treated clients' premium
    /// last month.
    pub incremental_premium: Option<f64>,
    /// Treated clients (every one the action went to) times the action's cost per client.
    pub cost: f64,
    /// Premium-kept rows with a cost: (incremental premium - cost) / cost.
    pub roi: Option<f64>,
}

/// Uplift of one decile of last month's lapse probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecileUplift {
    /// 1 = the lowest probabilities.
    pub decile: usize,
    pub treated: usize,
    pub holdout: usize,
    /// Lapse-or-surrender rates and their difference.
    pub treated_rate: f64,
    pub holdout_rate: f64,
    pub uplift: f64,
}

/// The targeting check of one retention action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Targeting {
    pub action: String,
    pub deciles: Vec<DecileUplift>,
    /// (share of clients targeted, riskiest first; incremental clients retained).
    pub qini: Vec<(f64, f64)>,
    /// Area between the Qini curve and the random-targeting line, per treated client.
    pub qini_coefficient: Option<f64>,
}

/// The readout, for `summary.json`, `effect.csv`, the chart and the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectReadout {
    pub previous_as_of: Option<Date>,
    /// The dates of the readouts counted (one, or a history's several).
    pub months: Vec<Date>,
    /// Whether last month's labels had randomised holdouts.
    pub identified: bool,
    pub confidence: f64,
    pub false_discovery_rate: f64,
    pub notes: Vec<String>,
    pub rows: Vec<EffectRow>,
    pub targeting: Vec<Targeting>,
}

/// Sums the cells to segment and action level.
fn levels(counts: &EffectCounts) -> BTreeMap<(String, String, String, Level), [Arm; 2]> {
    let mut out: BTreeMap<(String, String, String, Level), [Arm; 2]> = BTreeMap::new();
    let all = words::ALL.to_string();
    for ((action, segment, tier), arms) in &counts.cells {
        for key in [
            (
                action.clone(),
                segment.to_string(),
                tier.clone(),
                Level::Cell,
            ),
            (
                action.clone(),
                segment.to_string(),
                all.clone(),
                Level::Segment,
            ),
            (action.clone(), all.clone(), all.clone(), Level::Action),
        ] {
            let e = out.entry(key).or_default();
            e[0].merge(&arms[0]);
            e[1].merge(&arms[1]);
        }
    }
    out
}

/// The counts, rate and interval of one outcome: (x, n) per arm or the premium ratio.
fn compare(
    outcome: Outcome,
    t: &Arm,
    h: &Arm,
    z: f64,
) -> (usize, usize, f64, f64, Difference, f64) {
    let rate = |x: usize, n: usize| if n > 0 { x as f64 / n as f64 } else { f64::NAN };
    let binary = |(xt, nt): (usize, usize), (xh, nh): (usize, usize)| {
        (
            nt,
            nh,
            rate(xt, nt),
            rate(xh, nh),
            newcombe(xt, nt, xh, nh, z),
            two_proportion_p(xt, nt, xh, nh),
        )
    };
    match outcome {
        Outcome::Lapse => binary((t.lapsed, t.in_force), (h.lapsed, h.in_force)),
        Outcome::Surrender => binary((t.surrendered, t.in_force), (h.surrendered, h.in_force)),
        Outcome::NewPolicy => binary((t.bought, t.clients), (h.bought, h.clients)),
        Outcome::PremiumKept => {
            let (d, p) = ratio_difference(&t.premium, &h.premium, z);
            (
                t.premium.n,
                h.premium.n,
                t.premium.ratio(),
                h.premium.ratio(),
                d,
                p,
            )
        }
    }
}

/// The readout of the counts.
pub fn readout(counts: &EffectCounts) -> EffectReadout {
    let s = &counts.settings;
    let z = z_of(s.confidence);
    let mut notes = Vec::new();
    if let Some(why) = &counts.unavailable {
        notes.push(words::no_outcomes(why));
    }
    if !counts.randomised {
        notes.push(words::NOT_IDENTIFIED.to_string());
    }
    notes.push(words::NOT_CONTACTED_VIEW.to_string());
    let mut rows = Vec::new();
    for ((action, segment, tier, level), arms) in levels(counts) {
        let code = counts
            .codes
            .get(&action)
            .cloned()
            .unwrap_or_else(|| crate::config::actions::action_code(&action));
        let cost = arms[0].clients as f64 * s.cost_per_client(&code);
        for outcome in Outcome::ALL {
            let (nt, nh, rt, rh, d, p) = compare(outcome, &arms[0], &arms[1], z);
            if nt + nh == 0 {
                // Nobody the outcome applies to (lapse of clients not in force).
                continue;
            }
            let premium = outcome == Outcome::PremiumKept;
            let incremental =
                (premium && d.estimate.is_finite()).then(|| d.estimate * arms[0].premium.x);
            rows.push(EffectRow {
                action: action.clone(),
                action_code: code.clone(),
                segment: segment.clone(),
                tier: tier.clone(),
                level,
                outcome,
                treated: nt,
                holdout: nh,
                treated_rate: rt,
                holdout_rate: rh,
                uplift: d.estimate,
                ci_low: d.low,
                ci_high: d.high,
                p_value: p,
                q_value: f64::NAN,
                verdict: Verdict::NotIdentified,
                small: nt < s.min_arm_clients || nh < s.min_arm_clients,
                incremental_premium: incremental,
                cost,
                roi: incremental
                    .filter(|_| cost > 0.0)
                    .map(|gain| (gain - cost) / cost),
            });
        }
    }
    adjust(&mut rows, s.false_discovery_rate, counts.randomised);
    EffectReadout {
        previous_as_of: counts.previous_as_of,
        months: counts.months.clone(),
        identified: counts.randomised,
        confidence: s.confidence,
        false_discovery_rate: s.false_discovery_rate,
        notes,
        rows,
        targeting: if counts.randomised {
            targeting(counts)
        } else {
            Vec::new()
        },
    }
}

/// Benjamini-Hochberg within each outcome and level, and each row's verdict.
fn adjust(rows: &mut [EffectRow], fdr: f64, randomised: bool) {
    if !randomised {
        return;
    }
    let mut families: BTreeMap<(Outcome, Level), Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        families.entry((r.outcome, r.level)).or_default().push(i);
    }
    for members in families.values() {
        let p: Vec<f64> = members.iter().map(|&i| rows[i].p_value).collect();
        for (&i, q) in members.iter().zip(benjamini_hochberg(&p)) {
            let r = &mut rows[i];
            r.q_value = q;
            let better = if r.outcome.higher_is_better() {
                r.uplift > 0.0
            } else {
                r.uplift < 0.0
            };
            r.verdict = match (q <= fdr, better) {
                // An action drawn no holdout (the catch-all): nothing to compare with.
                _ if r.holdout == 0 => Verdict::NotIdentified,
                (true, true) => Verdict::Helps,
                (true, false) => Verdict::Harms,
                _ => Verdict::Unclear,
            };
        }
    }
}

/// Uplift by decile and the Qini curve of every retention action with both arms.
fn targeting(counts: &EffectCounts) -> Vec<Targeting> {
    let mut out = Vec::new();
    for action in &counts.retention {
        let deciles: Vec<(usize, [(usize, usize); 2])> = counts
            .deciles
            .range((action.clone(), 0)..=(action.clone(), usize::MAX))
            .map(|((_, d), arms)| (*d, *arms))
            .collect();
        let (nt, nh) = deciles
            .iter()
            .fold((0, 0), |(a, b), (_, arms)| (a + arms[0].0, b + arms[1].0));
        if nt == 0 || nh == 0 {
            continue;
        }
        let rate = |(n, x): (usize, usize)| if n > 0 { x as f64 / n as f64 } else { f64::NAN };
        out.push(Targeting {
            action: action.clone(),
            deciles: deciles
                .iter()
                .map(|(d, [t, h])| DecileUplift {
                    decile: d + 1,
                    treated: t.0,
                    holdout: h.0,
                    treated_rate: rate(*t),
                    holdout_rate: rate(*h),
                    uplift: rate(*t) - rate(*h),
                })
                .collect(),
            qini: qini_curve(&deciles),
            qini_coefficient: qini_coefficient(&qini_curve(&deciles), nt),
        });
    }
    out
}

/// The Qini curve (Radcliffe 2007) over deciles, riskiest first: at each cut, clients
/// retained among the treated targeted minus those retained among the held-out targeted
/// scaled to the treated's number.
pub fn qini_curve(deciles: &[(usize, [(usize, usize); 2])]) -> Vec<(f64, f64)> {
    let total: usize = deciles.iter().map(|(_, a)| a[0].0 + a[1].0).sum();
    let mut curve = vec![(0.0, 0.0)];
    let (mut nt, mut rt, mut nh, mut rh, mut seen) = (0usize, 0usize, 0usize, 0usize, 0usize);
    for (_, [t, h]) in deciles.iter().rev() {
        nt += t.0;
        rt += t.0 - t.1;
        nh += h.0;
        rh += h.0 - h.1;
        seen += t.0 + h.0;
        let gain = if nh > 0 {
            rt as f64 - rh as f64 * nt as f64 / nh as f64
        } else {
            0.0
        };
        curve.push((seen as f64 / total.max(1) as f64, gain));
    }
    curve
}

/// Area between the Qini curve and the line from (0, 0) to its end (random targeting),
/// by trapezoids, per treated client: positive when the riskiest gain most.
pub fn qini_coefficient(curve: &[(f64, f64)], treated: usize) -> Option<f64> {
    let &(_, end) = curve.last()?;
    if treated == 0 || curve.len() < 2 {
        return None;
    }
    let area: f64 = curve
        .windows(2)
        .map(|w| {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            let (r0, r1) = (end * x0, end * x1);
            (x1 - x0) * ((y0 - r0) + (y1 - r1)) / 2.0
        })
        .sum();
    Some(area / treated as f64)
}

#[cfg(test)]
mod tests {
    use super::super::counts::{ClientOutcome, Counted};
    use super::*;

    fn outcome(lapsed: bool) -> ClientOutcome {
        ClientOutcome {
            lapsed,
            premium_then: 100.0,
            premium_kept: if lapsed { 0.0 } else { 100.0 },
            ..ClientOutcome::default()
        }
    }

    /// A call that halves lapses (20% -> 10%) in segment 1, nothing in segment 2.
    fn counts(randomised: bool) -> EffectCounts {
        let mut c = EffectCounts::default();
        c.randomised = randomised;
        c.retention = vec!["call".into()];
        for i in 0..8000usize {
            let segment = 1 + (i % 2) as u32;
            let holdout = (i / 2) % 10 == 0;
            let u = (i * 7919 % 1000) as f64 / 1000.0;
            let rate = if segment == 1 && !holdout { 0.1 } else { 0.2 };
            let counted = Counted {
                action: "call",
                segment,
                tier: "high",
                holdout: randomised.then_some(holdout),
                decile: Some(i % 10),
            };
            c.count(&counted, &outcome(u < rate));
        }
        c
    }

    #[test]
    fn the_readout_finds_the_effect_where_it_is() {
        let r = readout(&counts(true));
        let row = |segment: &str, outcome: Outcome| {
            r.rows
                .iter()
                .find(|x| x.segment == segment && x.tier == "all" && x.outcome == outcome)
                .unwrap()
        };
        let one = row("1", Outcome::Lapse);
        assert_eq!((one.treated, one.holdout), (3600, 400));
        assert!(one.uplift < -0.05 && one.ci_high < 0.0, "{one:?}");
        assert_eq!(one.verdict, Verdict::Helps);
        let two = row("2", Outcome::Lapse);
        assert!(two.ci_low < 0.0 && two.ci_high > 0.0, "{two:?}");
        assert_eq!(two.verdict, Verdict::Unclear);
        let kept = row("1", Outcome::PremiumKept);
        assert!(kept.uplift > 0.05 && kept.incremental_premium.unwrap() > 0.0);
        // No cost set for "call": no ROI.
        assert_eq!((kept.cost, kept.roi), (0.0, None));
        let total = r
            .rows
            .iter()
            .find(|x| x.level == Level::Action && x.outcome == Outcome::Lapse)
            .unwrap();
        assert_eq!(total.treated + total.holdout, 8000);
        assert_eq!(r.targeting.len(), 1);
        assert_eq!(r.targeting[0].deciles.len(), 10);
        assert!(r.targeting[0].qini_coefficient.is_some());
    }

    #[test]
    fn without_a_holdout_the_effect_is_not_identified() {
        let r = readout(&counts(false));
        assert!(!r.identified);
        assert!(r.notes.iter().any(|n| n == words::NOT_IDENTIFIED));
        assert!(r.rows.iter().all(|x| x.holdout == 0 && x.uplift.is_nan()));
        assert!(r.rows.iter().all(|x| x.verdict == Verdict::NotIdentified));
        assert!(r.targeting.is_empty());
    }

    #[test]
    fn the_qini_curve_rises_when_the_riskiest_gain_most() {
        // Ten deciles of 100 treated and 100 held out; only the top decile gains 30.
        let deciles: Vec<(usize, [(usize, usize); 2])> = (0..10)
            .map(|d| (d, [(100, if d == 9 { 10 } else { 40 }), (100, 40)]))
            .collect();
        let curve = qini_curve(&deciles);
        assert_eq!(curve.len(), 11);
        assert!((curve[1].1 - 30.0).abs() < 1e-9 && (curve[10].1 - 30.0).abs() < 1e-9);
        let q = qini_coefficient(&curve, 1000).unwrap();
        // 0.1 x (30 - 3) / 2 over the first decile, then the integral of 30 - 30x.
        assert!((q - (1.35 + 12.15) / 1000.0).abs() < 1e-9, "{q}");
    }
}
