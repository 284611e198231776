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
    /// Source columns this batch has that the data contract does not use (ignored).
    pub unused_columns: Vec<(String, String)>,
}

impl DriftReport {
    pub fn worst(&self, n: usize) -> Vec<&DriftItem> {
        let mut v: Vec<&DriftItem> = self.items.iter().collect();
        v.sort_by(|a, b| b.psi.total_cmp(&a.psi));
        v.truncate(n);
        v
    }
}

/// Shares over a distribution's bins plus a trailing missing bin.
fn with_missing(shares: &[f64], missing: f64) -> Vec<f64> {
    shares
        .iter()
        .map(|s| s * (1.0 - missing))
        .chain(std::iter::once(missing))
        .collect()
}

/// Bin counts of one numeric quantity: present values per bin, and missing values.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Bins {
    counts: Vec<usize>,
    missing: usize,
}

impl Bins {
    fn new(dist: &Distribution) -> Self {
        Bins {
            counts: vec![0; dist.edges.len() + 1],
            missing: 0,
        }
    }

    fn add(&mut self, dist: &Distribution, v: f64) {
        if v.is_nan() {
            self.missing += 1;
        } else if let Some(c) = self.counts.get_mut(dist.bin(v)) {
            *c += 1;
        }
    }

    fn merge(&mut self, other: &Bins) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.missing += other.missing;
    }

    /// (PSI against the training distribution, missing share now).
    fn psi(&self, dist: &Distribution) -> (f64, f64) {
        let present: usize = self.counts.iter().sum();
        let total = (present + self.missing).max(1) as f64;
        let shares: Vec<f64> = self
            .counts
            .iter()
            .map(|&c| c as f64 / present.max(1) as f64)
            .collect();
        let missing = self.missing as f64 / total;
        let expected = with_missing(&dist.shares, dist.missing_share);
        (psi(&expected, &with_missing(&shares, missing)), missing)
    }
}

/// Drift counts, accumulated batch by batch (the book may be labelled in parts) and
/// turned into PSI at the end. Serialisable: a part labelled elsewhere (a Spark executor)
/// sends its counts to where the run is summed.
#[derive(Serialize, Deserialize)]
pub struct DriftCounts {
    numeric: Vec<Bins>,
    categorical: Vec<Vec<usize>>,
    unseen: Vec<std::collections::BTreeMap<String, usize>>,
    segments: std::collections::BTreeMap<u32, usize>,
    score: Bins,
    clients: usize,
}

impl DriftCounts {
    pub fn new(b: &Bundle) -> Self {
        DriftCounts {
            numeric: b
                .features
                .numeric
                .iter()
                .map(|f| Bins::new(&f.distribution))
                .collect(),
            categorical: b
                .features
                .categorical
                .iter()
                .map(|c| vec![0; c.levels.len() + 1])
                .collect(),
            unseen: vec![Default::default(); b.features.categorical.len()],
            segments: Default::default(),
            score: Bins::new(&b.drift.score),
            clients: 0,
        }
    }

    /// Adds the clients in force of one batch: their raw features, segments and scores.
    /// Whether these counts have the shape of `b`'s features and score bins.
    pub fn fits(&self, b: &Bundle) -> bool {
        let numeric = &b.features.numeric;
        let categorical = &b.features.categorical;
        self.numeric.len() == numeric.len()
            && self
                .numeric
                .iter()
                .zip(numeric)
                .all(|(bins, f)| bins.counts.len() == f.distribution.edges.len() + 1)
            && self.categorical.len() == categorical.len()
            && self
                .categorical
                .iter()
                .zip(categorical)
                .all(|(counts, c)| counts.len() == c.levels.len() + 1)
            && self.unseen.len() == categorical.len()
            && self.score.counts.len() == b.drift.score.edges.len() + 1
    }

    /// Adds another part's counts (of the same bundle).
    pub fn merge(&mut self, other: DriftCounts) {
        for (a, b) in self.numeric.iter_mut().zip(&other.numeric) {
            a.merge(b);
        }
        for (a, b) in self.categorical.iter_mut().zip(&other.categorical) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.unseen.iter_mut().zip(other.unseen) {
            for (level, n) in b {
                *a.entry(level).or_default() += n;
            }
        }
        for (id, n) in other.segments {
            *self.segments.entry(id).or_default() += n;
        }
        self.score.merge(&other.score);
        self.clients += other.clients;
    }

    pub fn add(
        &mut self,
        b: &Bundle,
        raw: &RawFeatures,
        categorical: &[(String, Option<&Coded>)],
        rows: &[usize],
        segment_ids: &[u32],
        probabilities: &[f64],
    ) {
        self.clients += rows.len();
        for (f, bins) in b.features.numeric.iter().zip(&mut self.numeric) {
            let col = raw.column(&f.name);
            for &r in rows {
                bins.add(
                    &f.distribution,
                    col.and_then(|c| c.get(r)).copied().unwrap_or(f64::NAN),
                );
            }
        }
        for ((c, counts), unseen) in b
            .features
            .categorical
            .iter()
            .zip(&mut self.categorical)
            .zip(&mut self.unseen)
        {
            let col = categorical
                .iter()
                .find(|(n, _)| *n == c.name)
                .and_then(|(_, col)| *col);
            for &r in rows {
                let v = col.and_then(|col| col.get(r));
                let slot = c.slot(v);
                counts[slot] += 1;
                if let (true, Some(v)) = (slot == c.levels.len(), v) {
                    *unseen.entry(v.to_string()).or_default() += 1;
                }
            }
        }
        for &s in segment_ids {
            *self.segments.entry(s).or_default() += 1;
        }
        for &p in probabilities {
            self.score.add(&b.drift.score, p);
        }
    }

    /// The drift report of everything added.
    pub fn finish(&self, b: &Bundle, mean_probability: f64) -> DriftReport {
        let mut items = self.numeric_items(b);
        let (categorical, unseen_levels) = self.categorical_items(b);
        items.extend(categorical);
        items.push(self.segment_item(b));
        let (p, _) = self.score.psi(&b.drift.score);
        items.push(DriftItem {
            kind: "score".into(),
            name: "lapse probability".into(),
            psi: p,
            status: Status::of(p),
            detail: format!(
                "mean {:.1}% (training lapse rate {:.1}%)",
                mean_probability * 100.0,
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
            unused_columns: Vec::new(),
        }
    }

    fn numeric_items(&self, b: &Bundle) -> Vec<DriftItem> {
        b.features
            .numeric
            .iter()
            .zip(&self.numeric)
            .map(|(f, bins)| {
                let (p, missing) = bins.psi(&f.distribution);
                DriftItem {
                    kind: "feature".into(),
                    name: f.name.clone(),
                    psi: p,
                    status: Status::of(p),
                    detail: format!(
                        "missing {:.1}% (training {:.1}%)",
                        missing * 100.0,
                        f.distribution.missing_share * 100.0
                    ),
                }
            })
            .collect()
    }

    /// One item per categorical feature, and the levels unseen in training that now
    /// hold at least 1% of clients: (feature, level, share).
    fn categorical_items(&self, b: &Bundle) -> (Vec<DriftItem>, Vec<(String, String, f64)>) {
        let n = self.clients.max(1) as f64;
        let mut items = Vec::new();
        let mut unseen_levels = Vec::new();
        for ((c, counts), unseen) in b
            .features
            .categorical
            .iter()
            .zip(&self.categorical)
            .zip(&self.unseen)
        {
            let actual: Vec<f64> = counts.iter().map(|&k| k as f64 / n).collect();
            let p = psi(&c.shares, &actual);
            // Levels rare in training also land in `other`; report those holding >= 1% now,
            // which a retrain would give their own column.
            for (level, k) in unseen {
                if *k as f64 / n >= 0.01 {
                    unseen_levels.push((c.name.clone(), level.clone(), *k as f64 / n));
                }
            }
            items.push(DriftItem {
                kind: "categorical".into(),
                name: c.name.clone(),
                psi: p,
                status: Status::of(p),
                detail: format!(
                    "other/unseen {:.1}% (training {:.1}%)",
                    actual.last().copied().unwrap_or(0.0) * 100.0,
                    c.shares.last().copied().unwrap_or(0.0) * 100.0
                ),
            });
        }
        (items, unseen_levels)
    }

    fn segment_item(&self, b: &Bundle) -> DriftItem {
        let n = self.clients.max(1) as f64;
        let expected: Vec<f64> = b.drift.segment_shares.iter().map(|(_, s)| *s).collect();
        let actual: Vec<f64> = b
            .drift
            .segment_shares
            .iter()
            .map(|(id, _)| self.segments.get(id).copied().unwrap_or(0) as f64 / n)
            .collect();
        let p = psi(&expected, &actual);
        DriftItem {
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
        }
    }
}
