//! The aggregates of a labeling run: what the charts, the report and `summary.json`
//! show. Counts and means only: no client appears in it.

use super::Aggregates;
use crate::bundle::Bundle;
use crate::date::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentSummary {
    pub id: u32,
    pub name: String,
    /// The segment's most distinctive traits (its generated name).
    pub traits: String,
    /// Clients in force in the segment this month.
    pub clients: usize,
    pub share: f64,
    /// Lapse rate seen in training for this segment.
    pub training_lapse_rate: Option<f64>,
    pub mean_probability: f64,
    /// 10th, 25th, 50th, 75th and 90th percentiles of the lapse probability.
    pub probability_quantiles: [f64; 5],
    pub high_risk_share: f64,
    /// The most frequent recommended action among the segment's clients in force.
    pub top_action: String,
    /// Fewer clients than the report's minimum: shown only as suppressed.
    pub suppressed: bool,
    /// Per numeric feature: (name, mean z against the training book, mean in original units).
    pub profile: Vec<(String, f64, f64)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub model_version: String,
    pub model_dir: String,
    pub model_created_at: String,
    pub model_cutoff: Date,
    pub horizon_months: i32,
    pub test_roc_auc: f64,
    pub test_lift_at_10: f64,
    pub as_of: Date,
    pub clients: usize,
    pub scored: usize,
    pub not_scored: usize,
    pub imputed_clients: usize,
    pub min_report_count: usize,
    pub segments: Vec<SegmentSummary>,
    /// (value tier, risk band, clients in force).
    pub tier_band: Vec<(String, String, usize)>,
    pub stages: Vec<(String, usize)>,
    pub actions: Vec<(String, usize)>,
    /// (last month's segment, this month's segment, clients), with --previous-run.
    pub migration: Option<Vec<(u32, u32, usize)>>,
    /// (last month's stage code, this month's, clients) and the same for value tiers,
    /// with a previous run whose labels carry them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_migration: Option<Vec<(String, String, usize)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_migration: Option<Vec<(String, String, usize)>>,
    /// How last month's predictions and actions turned out, with --previous-run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<super::outcomes::Outcomes>,
    /// Next-best products: penetration and propensity per segment (product models only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<ProductsSummary>,
    /// 13th- and 25th-month persistency over all issue cohorts, in total and by channel
    /// (relational mode; `persistency.csv` holds every cohort and grouping).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub persistency: Vec<PersistencyLine>,
    /// Win-back and second-purchase counts (relational mode; docs/domain.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<crate::lifecycle::RepeatCounts>,
    /// Annual premium in force and premium at risk (premium x lapse probability over the
    /// model's horizon), over clients in force: in total, by segment and by value tier
    /// (relational mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub premium_at_risk: Vec<PremiumAtRisk>,
    /// Clients held out of each action this month.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holdouts: Vec<crate::effect::output::HoldoutSize>,
    /// The effect of last month's actions: treated against held out (with a previous run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<crate::effect::EffectReadout>,
    /// The same over every randomised readout so far (with an effect history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect_history: Option<crate::effect::EffectReadout>,
}

/// Premium in force and at risk of one group of clients in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PremiumAtRisk {
    /// `all`, `segment` or `tier`.
    pub by: String,
    /// The segment's id and name, or the tier; `all` for the total.
    pub group: String,
    pub premium_in_force: f64,
    pub premium_at_risk: f64,
    /// Lifetime value summed (a bundle with retention models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_value: Option<f64>,
}

/// The run's premium at risk, in total, by segment and by value tier.
pub fn premium_at_risk(b: &Bundle, agg: &Aggregates) -> Vec<PremiumAtRisk> {
    if agg.premium_by_segment.is_empty() {
        return Vec::new();
    }
    let valued = b.retention.is_some();
    let line = |by: &str, group: String, v: [f64; 3]| PremiumAtRisk {
        by: by.to_string(),
        group,
        premium_in_force: v[0],
        premium_at_risk: v[1],
        lifetime_value: valued.then_some(v[2]),
    };
    let total = agg
        .premium_by_segment
        .values()
        .fold([0.0; 3], |a, v| [a[0] + v[0], a[1] + v[1], a[2] + v[2]]);
    let mut out = vec![line("all", "all".into(), total)];
    for s in &b.segments.segments {
        if let Some(v) = agg.premium_by_segment.get(&s.id) {
            out.push(line("segment", format!("{} {}", s.id, s.name), *v));
        }
    }
    for (tier, v) in &agg.premium_by_tier {
        out.push(line("tier", tier.clone(), *v));
    }
    out
}

/// One line of the report's persistency table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersistencyLine {
    /// A channel, or `all`.
    pub channel: String,
    pub month: u32,
    /// Policies in the denominator.
    pub policies: f64,
    pub by_count: Option<f64>,
    pub by_premium: Option<f64>,
}

/// The report's persistency lines from the run's counts: months 13 and 25 (those
/// configured), every cohort together, in total and per channel.
pub fn persistency_lines(
    cells: &crate::lifecycle::persistency::PersistencyCells,
) -> Vec<PersistencyLine> {
    use crate::lifecycle::persistency::{Basis, ALL};
    let mut lines: BTreeMap<(u32, bool, String), PersistencyLine> = BTreeMap::new();
    for r in cells.rows().iter().filter(|r| {
        r.cohort == ALL && matches!(r.month, 13 | 25) && r.groups[1..].iter().all(|g| g == ALL)
    }) {
        let channel = r.groups[0].clone();
        // Per month, the total first, then the channels by name.
        let line = lines
            .entry((r.month, channel != ALL, channel.clone()))
            .or_insert_with(|| PersistencyLine {
                channel,
                month: r.month,
                policies: 0.0,
                by_count: None,
                by_premium: None,
            });
        match r.basis {
            Basis::Count => {
                line.policies = r.denominator;
                line.by_count = r.rate();
            }
            Basis::Premium => line.by_premium = r.rate(),
        }
    }
    lines.into_values().collect()
}

/// Product penetration and propensity per segment, and how many clients each product is
/// offered to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductsSummary {
    pub products: Vec<String>,
    /// (segment id, share of its clients in force holding each product).
    pub penetration: Vec<(u32, Vec<f64>)>,
    /// (segment id, mean propensity of its non-holders for each product).
    pub propensity: Vec<(u32, Vec<f64>)>,
    /// (product, clients it is the next-best product of).
    pub next_product_clients: Vec<(String, usize)>,
}

/// The products summary of a run whose bundle has product models.
pub fn products(b: &Bundle, agg: &Aggregates) -> Option<ProductsSummary> {
    let models = b.products.as_ref().filter(|p| !p.models.is_empty())?;
    let mut penetration = Vec::new();
    let mut propensity = Vec::new();
    for (seg, sums) in b.segments.segments.iter().zip(&agg.products) {
        let share = |n: usize, total: usize| {
            if total > 0 {
                n as f64 / total as f64
            } else {
                f64::NAN
            }
        };
        penetration.push((seg.id, sums.iter().map(|s| share(s.0, s.0 + s.1)).collect()));
        propensity.push((
            seg.id,
            sums.iter()
                .map(|s| if s.1 > 0 { s.2 / s.1 as f64 } else { f64::NAN })
                .collect(),
        ));
    }
    Some(ProductsSummary {
        products: models.names(),
        penetration,
        propensity,
        next_product_clients: agg
            .next_products
            .iter()
            .map(|(p, n)| (p.clone(), *n))
            .collect(),
    })
}

fn quantiles(mut v: Vec<f64>) -> [f64; 5] {
    v.sort_by(f64::total_cmp);
    [0.1, 0.25, 0.5, 0.75, 0.9].map(|q| crate::stats::quantile_sorted(&v, q))
}

pub fn summarise(
    b: &Bundle,
    model_dir: &Path,
    as_of: Date,
    agg: &Aggregates,
    migration: Option<Vec<(u32, u32, usize)>>,
    min_report_count: usize,
) -> RunSummary {
    let scored = agg.active_probabilities.len();
    let mut by_segment: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for (&s, &p) in agg.active_segments.iter().zip(&agg.active_probabilities) {
        by_segment.entry(s).or_default().push(p);
    }
    let segments = b
        .segments
        .segments
        .iter()
        .enumerate()
        .map(|(i, seg)| {
            let probs = by_segment.remove(&seg.id).unwrap_or_default();
            segment_summary(b, (i, seg), probs, agg, scored, min_report_count)
        })
        .collect();
    let mut actions: BTreeMap<String, usize> = BTreeMap::new();
    for ((_, a), n) in &agg.actions {
        *actions.entry(a.clone()).or_default() += n;
    }
    RunSummary {
        model_version: b.version.clone(),
        model_dir: model_dir.display().to_string(),
        model_created_at: b.created_at.clone(),
        model_cutoff: b.cutoff,
        horizon_months: b.horizon_months,
        test_roc_auc: b.metrics.test.roc_auc,
        test_lift_at_10: b.metrics.test.lift_at(0.1).unwrap_or(f64::NAN),
        as_of,
        clients: agg.clients,
        scored,
        not_scored: agg.clients - scored,
        imputed_clients: agg.imputed_clients,
        min_report_count,
        segments,
        tier_band: agg
            .tier_band
            .iter()
            .map(|((t, r), n)| (t.clone(), r.clone(), *n))
            .collect(),
        stages: agg.stages.iter().map(|(s, n)| (s.clone(), *n)).collect(),
        actions: actions.into_iter().collect(),
        migration,
        stage_migration: None,
        tier_migration: None,
        premium_at_risk: Vec::new(),
        holdouts: Vec::new(),
        effect: None,
        effect_history: None,
        outcomes: None,
        products: None,
        persistency: persistency_lines(&agg.persistency),
        // Relational mode, where persistency is counted too.
        repeat: (!agg.persistency.is_empty()).then_some(agg.repeat),
    }
}

/// One segment's line of the run summary: size, risk, the commonest action, the profile.
fn segment_summary(
    b: &Bundle,
    (i, seg): (usize, &crate::segment::Segment),
    probs: Vec<f64>,
    agg: &Aggregates,
    scored: usize,
    min_report_count: usize,
) -> SegmentSummary {
    let count = agg.counts[i];
    let nf = count.max(1) as f64;
    let top_action = agg
        .active_actions
        .iter()
        .filter(|((id, _), _)| *id == seg.id)
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0 .1.cmp(&a.0 .1)))
        .map_or_else(String::new, |((_, a), _)| a.clone());
    SegmentSummary {
        id: seg.id,
        name: seg.name.clone(),
        traits: seg.generated_name.clone(),
        clients: count,
        share: count as f64 / scored.max(1) as f64,
        training_lapse_rate: seg.lapse_rate,
        mean_probability: probs.iter().sum::<f64>() / nf,
        high_risk_share: probs.iter().filter(|&&p| p >= b.lapse.bands.high).count() as f64 / nf,
        probability_quantiles: quantiles(probs),
        top_action,
        suppressed: count < min_report_count,
        profile: b
            .features
            .numeric
            .iter()
            .enumerate()
            .map(|(j, f)| {
                (
                    f.name.clone(),
                    agg.column_sums[i][j] / nf,
                    agg.original_sums[i][j] / nf,
                )
            })
            .collect(),
    }
}
