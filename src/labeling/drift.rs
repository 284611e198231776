//! Drift alarms: population stability index (PSI) of every model feature, the segment
//! shares and the score distribution against the training distributions in the bundle.

use crate::bundle::Bundle;
use crate::features::RawFeatures;
use crate::ingest::Coded;
use crate::stats::{psi, Distribution};
use serde::{Deserialize, Serialize};

pub const WATCH: f64 = 0.1;
pub const RETRAIN: f64 = 0.25;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Watch,
    Retrain,
}

impl Status {
    pub fn of(psi: f64) -> Self {
        if psi >= RETRAIN {
            Status::Retrain
        } else if psi >= WATCH {
            Status::Watch
        } else {
            Status::Ok
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Watch => "watch",
            Status::Retrain => "retrain",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftItem {
    /// `feature`, `categorical`, `segments` or `score`.
    pub kind: String,
    pub name: String,
    pub psi: f64,
    pub status: Status,
    /// Extra detail: missing shares, or the share of unseen/rare levels.
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub watch_threshold: f64,
    pub retrain_threshold: f64,
    pub status: Status,
    pub items: Vec<DriftItem>,
    /// Levels never seen in training, per categorical, with their share now.
    pub unseen_levels: Vec<(String, String, f64)>,
}

impl DriftReport {
    pub fn worst(&self, n: usize) -> Vec<&DriftItem> {
        let mut v: Vec<&DriftItem> = self.items.iter().collect();
        v.sort_by(|a, b| b.psi.total_cmp(&a.psi));
        v.truncate(n);
        v
    }
}

/// Shares over `dist`'s bins plus a trailing missing bin.
fn with_missing(shares: &[f64], missing: f64) -> Vec<f64> {
    shares
        .iter()
        .map(|s| s * (1.0 - missing))
        .chain(std::iter::once(missing))
        .collect()
}

fn numeric_psi(dist: &Distribution, values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (shares, missing) = dist.bin_shares(values);
    let expected = with_missing(&dist.shares, dist.missing_share);
    let actual = with_missing(&shares, missing);
    (psi(&expected, &actual), missing)
}

/// Computes the drift of this batch (the `rows` scored as in force) against training.
pub fn drift(
    b: &Bundle,
    raw: &RawFeatures,
    categorical: &[(String, Option<&Coded>)],
    rows: &[usize],
    segment_ids: &[u32],
    probabilities: &[f64],
) -> DriftReport {
    let mut items = Vec::new();
    for f in &b.features.numeric {
        let col = raw.column(&f.name);
        let values = rows
            .iter()
            .map(|&r| col.and_then(|c| c.get(r)).copied().unwrap_or(f64::NAN));
        let (p, missing) = numeric_psi(&f.distribution, values);
        items.push(DriftItem {
            kind: "feature".into(),
            name: f.name.clone(),
            psi: p,
            status: Status::of(p),
            detail: format!(
                "missing {:.1}% (training {:.1}%)",
                missing * 100.0,
                f.distribution.missing_share * 100.0
            ),
        });
    }
    let mut unseen_levels = Vec::new();
    for c in &b.features.categorical {
        let col = categorical
            .iter()
            .find(|(n, _)| *n == c.name)
            .and_then(|(_, col)| *col);
        let mut counts = vec![0usize; c.levels.len() + 1];
        let mut unseen: std::collections::BTreeMap<String, usize> = Default::default();
        for &r in rows {
            let v = col.and_then(|col| col.get(r));
            let slot = c.slot(v);
            counts[slot] += 1;
            if slot == c.levels.len() {
                if let Some(v) = v {
                    *unseen.entry(v.to_string()).or_default() += 1;
                }
            }
        }
        let n = rows.len().max(1) as f64;
        let actual: Vec<f64> = counts.iter().map(|&k| k as f64 / n).collect();
        let p = psi(&c.shares, &actual);
        let other_now = actual.last().copied().unwrap_or(0.0);
        for (level, k) in unseen {
            // Levels that were rare in training also land in `other`; report only the
            // ones holding at least 1% now, which a retrain would give their own column.
            if k as f64 / n >= 0.01 {
                unseen_levels.push((c.name.clone(), level, k as f64 / n));
            }
        }
        items.push(DriftItem {
            kind: "categorical".into(),
            name: c.name.clone(),
            psi: p,
            status: Status::of(p),
            detail: format!(
                "other/unseen {:.1}% (training {:.1}%)",
                other_now * 100.0,
                c.shares.last().copied().unwrap_or(0.0) * 100.0
            ),
        });
    }
    // Segment shares.
    let n = segment_ids.len().max(1) as f64;
    let expected: Vec<f64> = b.drift.segment_shares.iter().map(|(_, s)| *s).collect();
    let actual: Vec<f64> = b
        .drift
        .segment_shares
        .iter()
        .map(|(id, _)| segment_ids.iter().filter(|&&s| s == *id).count() as f64 / n)
        .collect();
    let p = psi(&expected, &actual);
    items.push(DriftItem {
        kind: "segments".into(),
        name: "segment shares".into(),
        psi: p,
        status: Status::of(p),
        detail: b
            .drift
            .segment_shares
            .iter()
            .zip(&actual)
            .map(|((id, e), a)| format!("{id}: {:.1}%->{:.1}%", e * 100.0, a * 100.0))
            .collect::<Vec<_>>()
            .join(", "),
    });
    let (p, _) = numeric_psi(&b.drift.score, probabilities.iter().copied());
    let mean = probabilities.iter().sum::<f64>() / probabilities.len().max(1) as f64;
    items.push(DriftItem {
        kind: "score".into(),
        name: "lapse probability".into(),
        psi: p,
        status: Status::of(p),
        detail: format!(
            "mean {:.1}% (training lapse rate {:.1}%)",
            mean * 100.0,
            b.lapse.training_lapse_rate * 100.0
        ),
    });
    let status = items.iter().map(|i| i.status).max().unwrap_or(Status::Ok);
    DriftReport {
        watch_threshold: WATCH,
        retrain_threshold: RETRAIN,
        status,
        items,
        unseen_levels,
    }
}
