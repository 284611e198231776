//! The form in which the lapse model sees each numeric feature: the standardised column
//! itself (linear), or cut into quantile bins of the training clients with one indicator
//! column per bin (a scorecard). Bins follow thresholds and U-shapes a single slope
//! cannot, and each bin is still one coefficient that can be read, charted and put into
//! words. Cross-validation chooses the form per run (`lapse::fit_with_progress`).
//!
//! Bins are fitted on the model matrix the segments also use (standardised numerics, then
//! one-hot categoricals), so the form is applied to a client's row as it is: labeling
//! computes nothing new per client. Categorical columns are always kept as they are.

pub use super::bins::BinnedColumn;
use super::bins::{bin_scale, cell_scale};
use super::pair_term::PairTerm;
use super::smoothing;
use crate::features::NumericFeature;
use linfa_logistic::Penalty;
use ndarray::{Array2, ArrayView1, ArrayView2, ShapeBuilder};
use serde::{Deserialize, Serialize};

/// How the lapse model reads the model matrix. The default is linear in every column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Form {
    /// Quantile bins asked for per numeric feature; 0 for the linear form.
    pub bins: usize,
    /// Whether the bins' weights are smoothed: the penalty weighs the differences of
    /// neighbouring bins' weights instead of the weights (`Form::penalty`), so fine bins
    /// follow a threshold where the data show one and stay smooth elsewhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub smooth: bool,
    /// The binned columns, ascending by `column`; every other column stays linear.
    pub binned: Vec<BinnedColumn>,
    /// Numeric features left linear although bins were asked for, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_linear: Vec<(usize, String)>,
    /// Pairwise interaction terms, each one model column per cell after every column
    /// above; empty for an additive form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<PairTerm>,
    /// Coarse bins per numeric side the pairs were cut into (`LapseParams::pair_bins`);
    /// 0 without pairs (and in bundles written before it was recorded).
    #[serde(default, skip_serializing_if = "super::is_zero")]
    pub pair_bins: usize,
    /// The L2 penalty of the pairs' cells as a multiple of the bins' (1: the same). The
    /// fit reads it as a smaller scale of the cells' standardised columns: the penalty
    /// on an indicator's weight grows with the square of its column's scale.
    #[serde(default = "super::one", skip_serializing_if = "super::is_one")]
    pub pair_penalty: f64,
}

/// Smallest bin, as a share of the training clients: a smaller one joins a neighbour, so
/// that every bin's coefficient rests on enough clients.
const MIN_BIN_SHARE: f64 = 0.01;

impl Default for Form {
    fn default() -> Self {
        Form {
            bins: 0,
            smooth: false,
            binned: Vec::new(),
            kept_linear: Vec::new(),
            pairs: Vec::new(),
            pair_bins: 0,
            pair_penalty: 1.0,
        }
    }
}

impl Form {
    /// The linear form: every column as it is.
    pub fn linear() -> Self {
        Form::default()
    }

    /// Up to `bins` quantile bins of each of the first `numeric` columns of `x` (the
    /// training rows). Ties stay together, so a count with many zeros gets fewer, wider
    /// bins. A column with fewer than three distinct values, or one bin after ties are
    /// joined, stays linear (bins would say nothing a slope does not) and is listed in
    /// `kept_linear`.
    pub fn quantile(x: ArrayView2<f64>, numeric: usize, bins: usize) -> Self {
        let mut binned = Vec::new();
        let mut kept_linear = Vec::new();
        for column in 0..numeric.min(x.ncols()) {
            let mut values: Vec<f64> = x.column(column).iter().copied().collect();
            values.sort_by(f64::total_cmp);
            match quantile_bins(&values, bins) {
                Ok((cuts, ranges, counts)) => {
                    let n = values.len() as f64;
                    binned.push(BinnedColumn {
                        column,
                        cuts,
                        ranges,
                        shares: counts.iter().map(|&c| c as f64 / n).collect(),
                    });
                }
                Err(reason) => kept_linear.push((column, reason)),
            }
        }
        Form {
            bins,
            binned,
            kept_linear,
            ..Form::default()
        }
    }

    /// The same bins with smoothed weights (`Form::smooth`).
    pub fn smoothed(self) -> Self {
        Form {
            smooth: !self.is_linear(),
            ..self
        }
    }

    pub fn is_linear(&self) -> bool {
        self.binned.is_empty()
    }

    /// In words, for the console, metrics and the report.
    pub fn describe(&self) -> String {
        let bins = if self.smooth {
            format!("{} smoothed quantile bins", self.bins)
        } else {
            format!("{} quantile bins", self.bins)
        };
        if self.is_linear() {
            "linear".to_string()
        } else if self.pairs.is_empty() {
            bins
        } else if self.pair_bins == 0 {
            format!("{bins}, {} pairs", self.pairs.len())
        } else {
            format!(
                "{bins}, {} pairs ({} bins a side)",
                self.pairs.len(),
                self.pair_bins
            )
        }
    }

    /// The L2 penalty's matrix on the expanded columns (`expand`'s): the identity
    /// (ridge), except for the bins and pairs of a smoothed form (`lapse::smoothing`).
    ///
    /// # Errors
    /// Blocks that do not fit together (a defect here, never the data's).
    pub(super) fn penalty(&self, base: usize) -> crate::error::Result<Penalty<f64>> {
        let mut blocks = Vec::new();
        if self.smooth {
            for b in self.binned.iter().filter(|b| b.column < base) {
                blocks.push((self.offset(b.column), smoothing::bins_block(&b.shares)));
            }
            let mut at = self.offset(base);
            for pair in &self.pairs {
                if let Some(block) = smoothing::pair_block(pair) {
                    blocks.push((at, block));
                }
                at += pair.width();
            }
        }
        blocks
            .into_iter()
            .try_fold(Penalty::identity(), |out, (at, block)| {
                out.with_block(at, block)
                    .map_err(|e| crate::error::Error::Runtime(e.to_string()))
            })
    }

    /// The binned column of model-matrix column `column`, if it is binned.
    pub fn binned_column(&self, column: usize) -> Option<&BinnedColumn> {
        self.binned
            .binary_search_by_key(&column, |b| b.column)
            .ok()
            .and_then(|i| self.binned.get(i))
    }

    /// Number of columns the lapse model has over a model matrix of `base` columns: the
    /// columns of the additive part, then one per cell of each pair.
    pub fn width(&self, base: usize) -> usize {
        self.offset(base) + self.pair_cells()
    }

    /// Position among the lapse model's columns of model-matrix column `column`'s first.
    pub fn offset(&self, column: usize) -> usize {
        column
            + self
                .binned
                .iter()
                .filter(|b| b.column < column)
                .map(|b| b.width() - 1)
                .sum::<usize>()
    }

    /// Number of pair cells, all pairs together.
    pub fn pair_cells(&self) -> usize {
        self.pairs.iter().map(PairTerm::width).sum()
    }

    /// A pair cell's training share and the scale of its standardised column: the
    /// cell's (`cell_scale`), times the square root of `pair_penalty`.
    fn pair_cell_scale(&self, share: f64) -> (f64, f64) {
        let (p, sd) = cell_scale(share);
        (p, sd * self.pair_penalty.max(f64::MIN_POSITIVE).sqrt())
    }

    /// The lapse model's columns: each binned column becomes one per bin, named
    /// `<feature>: <range>` by `bin_name(column, bin)`.
    pub fn columns(
        &self,
        base: &[String],
        bin_name: impl Fn(usize, usize) -> String,
    ) -> Vec<String> {
        let mut out = Vec::with_capacity(self.offset(base.len()));
        for (j, name) in base.iter().enumerate() {
            match self.binned_column(j) {
                Some(b) => out.extend((0..b.width()).map(|i| bin_name(j, i))),
                None => out.push(name.clone()),
            }
        }
        out
    }

    /// The matrix the lapse model is fitted on, column by column (the layout linfa's fit
    /// wants): each bin's indicator standardised with its training share `p`, as
    /// `(indicator - p) / sqrt(p (1 - p))`. Centred and scaled like the linear columns, the
    /// bins are not collinear with the intercept and the L2 penalty weighs them as it
    /// weighs a standard deviation of a linear feature; the solver needs a fraction of the
    /// iterations raw indicators take. `to_indicators` turns the fitted weights back.
    pub fn expand(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut out = Array2::zeros((x.nrows(), self.width(x.ncols())).f());
        let mut k = 0;
        for j in 0..x.ncols() {
            match self.binned_column(j) {
                Some(b) => {
                    let scales: Vec<(f64, f64)> = b.shares.iter().map(|&p| bin_scale(p)).collect();
                    for (m, &(p, sd)) in scales.iter().enumerate() {
                        out.column_mut(k + m).fill(-p / sd);
                    }
                    for (i, &z) in x.column(j).iter().enumerate() {
                        let m = b.bin_of(z);
                        if let Some(&(p, sd)) = scales.get(m) {
                            out[[i, k + m]] = (1.0 - p) / sd;
                        }
                    }
                    k += b.width();
                }
                None => {
                    out.column_mut(k).assign(&x.column(j));
                    k += 1;
                }
            }
        }
        for pair in &self.pairs {
            let scales: Vec<(f64, f64)> = pair
                .shares
                .iter()
                .map(|&p| self.pair_cell_scale(p))
                .collect();
            for (m, &(p, sd)) in scales.iter().enumerate() {
                out.column_mut(k + m).fill(-p / sd);
            }
            for (i, row) in x.rows().into_iter().enumerate() {
                let m = pair.cell(row);
                if let Some(&(p, sd)) = scales.get(m) {
                    out[[i, k + m]] = (1.0 - p) / sd;
                }
            }
            k += pair.width();
        }
        out
    }

    /// How each column of `expand`'s matrix (of `base` model-matrix columns) is made,
    /// in its order: what builds the fitting design without the matrix (`lapse::sparse`).
    pub(super) fn expanded_columns(&self, base: usize) -> Vec<ExpandedColumn> {
        let mut out = Vec::with_capacity(self.width(base));
        for j in 0..base {
            match self.binned_column(j) {
                // (A bin without a share, which `expand` leaves at 0, is 0 here too.)
                Some(b) => out.extend((0..b.width()).map(|bin| {
                    let (inside, outside) = b.shares.get(bin).map_or((0.0, 0.0), |&p| {
                        let (p, sd) = bin_scale(p);
                        ((1.0 - p) / sd, -p / sd)
                    });
                    ExpandedColumn::Bin {
                        source: j,
                        bin,
                        inside,
                        outside,
                    }
                })),
                None => out.push(ExpandedColumn::Copy(j)),
            }
        }
        for (p, pair) in self.pairs.iter().enumerate() {
            out.extend(pair.shares.iter().enumerate().map(|(cell, &share)| {
                let (share, sd) = self.pair_cell_scale(share);
                ExpandedColumn::Bin {
                    source: base + p,
                    bin: cell,
                    inside: (1.0 - share) / sd,
                    outside: -share / sd,
                }
            }));
        }
        out
    }

    /// Weights fitted on `expand`'s matrix as weights of plain 0/1 bin indicators (what
    /// the model stores and scores with), with the intercept that keeps every log-odds.
    /// `scale_of(k)` is `Some((share, sd))` for a bin column.
    pub fn to_indicators(&self, base: usize, weights: &[f64], intercept: f64) -> (Vec<f64>, f64) {
        let scales = self.column_scales(base);
        let mut b = intercept;
        let w = weights
            .iter()
            .zip(&scales)
            .map(|(&w, scale)| match scale {
                Some((p, sd)) => {
                    b -= w * p / sd;
                    w / sd
                }
                None => w,
            })
            .collect();
        (w, b)
    }

    /// Weights on `expand`'s matrix that score (about) as the linear weights `w`, `b` on
    /// `x` do: each binned feature's slope becomes its bins' mean values times the slope.
    /// A binned form's fit starts there, from a model that already ranks as the linear
    /// one, and needs far fewer iterations than from nothing.
    pub fn start_from_linear(&self, x: ArrayView2<f64>, w: &[f64], b: f64) -> (Vec<f64>, f64) {
        let mut out = Vec::with_capacity(self.width(x.ncols()));
        let mut intercept = b;
        for j in 0..x.ncols() {
            let slope = w.get(j).copied().unwrap_or(0.0);
            match self.binned_column(j) {
                Some(bins) => {
                    let mut sums = vec![(0.0, 0usize); bins.width()];
                    for &z in x.column(j) {
                        if let Some(s) = sums.get_mut(bins.bin_of(z)) {
                            s.0 += z;
                            s.1 += 1;
                        }
                    }
                    for (&(sum, count), &p) in sums.iter().zip(&bins.shares) {
                        let mean = if count > 0 { sum / count as f64 } else { 0.0 };
                        let (p, sd) = bin_scale(p);
                        out.push(slope * mean * sd);
                        intercept += slope * mean * p;
                    }
                }
                None => out.push(slope),
            }
        }
        out.extend(std::iter::repeat_n(0.0, self.pair_cells()));
        (out, intercept)
    }

    /// `Some((training share, its standard deviation))` for each bin column of the model,
    /// `None` for a linear one.
    pub fn column_scales(&self, base: usize) -> Vec<Option<(f64, f64)>> {
        let mut out = Vec::with_capacity(self.width(base));
        for j in 0..base {
            match self.binned_column(j) {
                Some(b) => out.extend(b.shares.iter().map(|&p| Some(bin_scale(p)))),
                None => out.push(None),
            }
        }
        for pair in &self.pairs {
            out.extend(pair.shares.iter().map(|&p| Some(self.pair_cell_scale(p))));
        }
        out
    }

    /// `intercept` plus the weighted row, read through the form without expanding it.
    pub fn log_odds(&self, row: ArrayView1<f64>, weights: &[f64], intercept: f64) -> f64 {
        let mut z = intercept;
        let mut k = 0;
        let mut next = self.binned.iter().peekable();
        for (j, &x) in row.iter().enumerate() {
            match next.next_if(|b| b.column == j) {
                Some(b) => {
                    z += weights.get(k + b.bin_of(x)).copied().unwrap_or(0.0);
                    k += b.width();
                }
                None => {
                    z += x * weights.get(k).copied().unwrap_or(0.0);
                    k += 1;
                }
            }
        }
        for pair in &self.pairs {
            z += weights.get(k + pair.cell(row)).copied().unwrap_or(0.0);
            k += pair.width();
        }
        z
    }

    /// Each model-matrix column's contribution to the row's log-odds against the
    /// average training client (`centres`, the means of the expanded columns), then each
    /// pair's. A binned column's contribution sums its bins, a pair's its cells; all of
    /// them add up exactly to the row's log-odds minus the average client's.
    pub fn contributions(
        &self,
        row: ArrayView1<f64>,
        weights: &[f64],
        centres: &[f64],
    ) -> Vec<f64> {
        let w = |k: usize| weights.get(k).copied().unwrap_or(0.0);
        let c = |k: usize| centres.get(k).copied().unwrap_or(0.0);
        let mut out = Vec::with_capacity(row.len());
        let mut k = 0;
        let mut next = self.binned.iter().peekable();
        for (j, &x) in row.iter().enumerate() {
            match next.next_if(|b| b.column == j) {
                Some(b) => {
                    let own = b.bin_of(x);
                    let average: f64 = (k..k + b.width()).map(|m| w(m) * c(m)).sum();
                    out.push(w(k + own) - average);
                    k += b.width();
                }
                None => {
                    out.push(w(k) * (x - c(k)));
                    k += 1;
                }
            }
        }
        for pair in &self.pairs {
            let average: f64 = (k..k + pair.width()).map(|m| w(m) * c(m)).sum();
            out.push(w(k + pair.cell(row)) - average);
            k += pair.width();
        }
        out
    }
}

/// One column of `Form::expand`'s matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum ExpandedColumn {
    /// Model-matrix column `0` as it is.
    Copy(usize),
    /// Bin `bin` of code table `source`, standardised: `inside` on the rows in the bin,
    /// `outside` on the others. Code table `j` below the model matrix's width is binned
    /// column `j`'s bins; table `width + p` is pair `p`'s cells (`sparse::codes_of_rows`).
    Bin {
        source: usize,
        bin: usize,
        inside: f64,
        outside: f64,
    },
}

/// Bin `i` of a binned numeric feature in words, original units: "3 or more", "0",
/// "2 to 5", "1.50 or less".
pub fn bin_words(f: &NumericFeature, b: &BinnedColumn, i: usize) -> String {
    bin_words_in(&crate::vocab::Vocabulary::english(), f, b, i)
}

/// `bin_words` in the words of `w` (`reason.bin_*`).
pub fn bin_words_in(
    w: &crate::vocab::Vocabulary,
    f: &NumericFeature,
    b: &BinnedColumn,
    i: usize,
) -> String {
    let Some(&(lo, hi)) = b.ranges.get(i) else {
        return String::new();
    };
    let decimals = distinct_decimals(f, b);
    let (lo, hi) = (
        number_to(f.original(lo), decimals),
        number_to(f.original(hi), decimals),
    );
    let key = if lo == hi {
        return lo;
    } else if i + 1 == b.width() {
        "reason.bin_or_more"
    } else if i == 0 {
        "reason.bin_or_less"
    } else {
        "reason.bin_range"
    };
    w.fill(key, &[("lo", &lo), ("hi", &hi)])
}

/// A value as a bin's words show it: whole numbers (and any from 100 up) without
/// decimals, others with `decimals` places.
fn number_to(v: f64, decimals: usize) -> String {
    let r = v.round();
    if (v - r).abs() < 1e-6 || v.abs() >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// Most decimal places a bin's words take: fine bins of a small-valued feature (a ratio
/// in hundredths) would otherwise print one value for a range, or the same words for
/// two bins.
const MAX_BIN_DECIMALS: usize = 4;

/// The fewest decimal places, 2 to `MAX_BIN_DECIMALS`, at which no bin of `b` that
/// spans several values prints as one, and no two bins print alike.
fn distinct_decimals(f: &NumericFeature, b: &BinnedColumn) -> usize {
    let ranges: Vec<(f64, f64)> = b
        .ranges
        .iter()
        .map(|&(lo, hi)| (f.original(lo), f.original(hi)))
        .collect();
    (2..MAX_BIN_DECIMALS)
        .find(|&d| {
            let words: Vec<(String, String)> = ranges
                .iter()
                .map(|&(lo, hi)| (number_to(lo, d), number_to(hi, d)))
                .collect();
            let spans_kept = ranges
                .iter()
                .zip(&words)
                .all(|((lo, hi), (a, b))| lo == hi || a != b);
            let apart = words
                .iter()
                .enumerate()
                .all(|(k, w)| !words[..k].contains(w));
            spans_kept && apart
        })
        .unwrap_or(MAX_BIN_DECIMALS)
}

/// Cut points, value ranges and counts of up to `bins` quantile bins of `sorted`.
///
/// A value held by at least a bin's share of the clients (the zeros of a count) is a bin
/// of its own. The values between such values share the other bins in proportion to
/// their clients and are cut into equal-frequency bins there, at changes of value, so a
/// count that is 0 for 70% of clients still gets bins 1, 2, 3, ... where its
/// thresholds lie. Bins under `MIN_BIN_SHARE` of the clients join a neighbour.
#[allow(clippy::type_complexity)]
pub(super) fn quantile_bins(
    sorted: &[f64],
    bins: usize,
) -> std::result::Result<(Vec<f64>, Vec<(f64, f64)>, Vec<usize>), String> {
    let n = sorted.len();
    let runs = runs_of(sorted);
    if runs.len() < 3 {
        return Err(format!("{} distinct training values", runs.len()));
    }
    let size = |r: &(usize, usize)| r.1 - r.0;
    let target = n as f64 / bins.max(1) as f64;
    let heavy = |r: &(usize, usize)| size(r) as f64 >= target;
    let heavy_count = runs.iter().filter(|r| heavy(r)).count();
    let light_total: usize = runs.iter().filter(|r| !heavy(r)).map(size).sum();
    let light_bins = bins.saturating_sub(heavy_count).max(1);
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        if heavy(&runs[i]) {
            spans.push(runs[i]);
            i += 1;
            continue;
        }
        let j = (i..runs.len())
            .find(|&k| heavy(&runs[k]))
            .unwrap_or(runs.len());
        let (first, end) = (runs[i].0, runs[j - 1].1);
        let share = (end - first) as f64 / light_total.max(1) as f64;
        let allot = ((light_bins as f64 * share).round() as usize).max(1);
        let step = (end - first) as f64 / allot as f64;
        let mut start = first;
        for r in &runs[i..j - 1] {
            let boundary = (((start - first) as f64 / step).floor() + 1.0) * step;
            if (r.1 - first) as f64 >= boundary - 1e-9 {
                spans.push((start, r.1));
                start = r.1;
            }
        }
        spans.push((start, end));
        i = j;
    }
    join_small(
        &mut spans,
        ((MIN_BIN_SHARE * n as f64).ceil() as usize).max(1),
    );
    if spans.len() < 2 {
        return Err("one bin after ties are kept together".into());
    }
    let cuts = spans
        .windows(2)
        .map(|w| (sorted[w[0].1 - 1] + sorted[w[1].0]) / 2.0)
        .collect();
    let ranges = spans
        .iter()
        .map(|&(a, b)| (sorted[a], sorted[b - 1]))
        .collect();
    let counts = spans.iter().map(size).collect();
    Ok((cuts, ranges, counts))
}

/// Runs of equal values of `sorted`, as (first, end) positions.
fn runs_of(sorted: &[f64]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=sorted.len() {
        if i == sorted.len() || sorted[i] != sorted[i - 1] {
            runs.push((start, i));
            start = i;
        }
    }
    runs
}

/// Bins (as (first, end) spans) of fewer than `min_count` values join their smaller
/// neighbour, smallest first.
fn join_small(spans: &mut Vec<(usize, usize)>, min_count: usize) {
    let size = |r: &(usize, usize)| r.1 - r.0;
    while spans.len() > 1 {
        let Some((k, _)) = spans
            .iter()
            .enumerate()
            .filter(|(_, s)| size(s) < min_count)
            .min_by_key(|(k, s)| (size(s), *k))
        else {
            break;
        };
        let left = k.checked_sub(1).map(|l| size(&spans[l]));
        let right = spans.get(k + 1).map(size);
        let into = match (left, right) {
            (Some(l), Some(r)) if r < l => k + 1,
            (Some(_), _) => k - 1,
            _ => k + 1,
        };
        let (a, b) = (k.min(into), k.max(into));
        spans[a] = (spans[a].0, spans[b].1);
        spans.remove(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};

    #[test]
    fn quantile_bins_keep_ties_together_and_cover_every_value() {
        // 60% zeros, then 1..=40 once each.
        let mut v: Vec<f64> = vec![0.0; 60];
        v.extend((1..=40).map(f64::from));
        let (cuts, ranges, counts) = quantile_bins(&v, 4).unwrap();
        assert_eq!(ranges[0], (0.0, 0.0));
        assert_eq!(counts.iter().sum::<usize>(), 100);
        assert_eq!(cuts.len() + 1, ranges.len());
        // The zeros are a bin of their own; the rest share the other three bins.
        assert_eq!(counts, [60, 14, 13, 13]);
        assert_eq!(cuts, [0.5, 14.5, 27.5]);
        // A count that is 0 for 70% of clients keeps its upper values apart: a
        // threshold at 3 can be seen.
        let mut missed: Vec<f64> = Vec::new();
        for (value, count) in [(0.0, 700), (1.0, 120), (2.0, 70), (3.0, 40), (4.0, 30)] {
            missed.extend(std::iter::repeat_n(value, count));
        }
        missed.extend((0..40).map(|i| 5.0 + f64::from(i % 5)));
        let (cuts, _, counts) = quantile_bins(&missed, 10).unwrap();
        assert!(cuts.contains(&2.5), "{cuts:?}");
        assert!(counts.iter().all(|&c| c >= 10), "{counts:?}");
        assert!(quantile_bins(&[1.0, 1.0, 2.0, 2.0], 4).is_err());
        assert!(quantile_bins(&[3.0; 10], 4).is_err());
    }

    #[test]
    fn fine_bins_of_a_small_ratio_get_distinct_words() {
        let f = super::super::tests::standard_numeric("burden", 1.0);
        let bins = |ranges: Vec<(f64, f64)>| BinnedColumn {
            column: 0,
            cuts: ranges.windows(2).map(|w| (w[0].1 + w[1].0) / 2.0).collect(),
            shares: vec![1.0 / ranges.len() as f64; ranges.len()],
            ranges,
        };
        let words = |b: &BinnedColumn| {
            (0..b.width())
                .map(|i| bin_words(&f, b, i))
                .collect::<Vec<_>>()
        };
        // Hundredths cannot tell these apart; thousandths can.
        let fine = bins(vec![
            (0.001, 0.004),
            (0.005, 0.009),
            (0.011, 0.014),
            (0.02, 0.5),
        ]);
        assert_eq!(
            words(&fine),
            [
                "0.004 or less",
                "0.005 to 0.009",
                "0.011 to 0.014",
                "0.020 or more"
            ]
        );
        // Bins hundredths tell apart keep two decimals, whole numbers none.
        let coarse = bins(vec![(0.1, 0.25), (0.3, 0.5), (0.67, 0.9)]);
        assert_eq!(
            words(&coarse),
            ["0.25 or less", "0.30 to 0.50", "0.67 or more"]
        );
        let counts = bins(vec![(0.0, 0.0), (1.0, 2.0), (3.0, 9.0)]);
        assert_eq!(words(&counts), ["0", "1 to 2", "3 or more"]);
    }

    #[test]
    fn the_form_scores_and_explains_without_expanding() {
        let x = Array2::from_shape_fn((200, 2), |(i, j)| {
            if j == 0 {
                (i % 10) as f64
            } else {
                f64::from(u8::from(i % 3 == 0))
            }
        });
        let form = Form::quantile(x.view(), 1, 5);
        assert_eq!(form.binned.len(), 1);
        let width = form.width(2);
        assert_eq!(width, 6);
        let standardised = form.expand(x.view());
        assert_eq!(standardised.ncols(), width);
        // Standardised bins: mean 0, variance 1 on the training rows.
        for col in standardised.columns().into_iter().take(5) {
            let mean = col.mean().unwrap();
            assert!(mean.abs() < 1e-9 && (col.mapv(|v| v * v).mean().unwrap() - 1.0).abs() < 1e-9);
        }
        // Weights on the standardised bins, turned to indicator weights, give the same
        // log-odds; every client sits in exactly one bin.
        let fitted: Vec<f64> = (0..width).map(|k| k as f64 * 0.2 - 0.4).collect();
        let (weights, b) = form.to_indicators(2, &fitted, 0.3);
        let scales = form.column_scales(2);
        let expanded = Array2::from_shape_fn((200, width), |(i, k)| match scales[k] {
            Some((p, sd)) => standardised[[i, k]] * sd + p,
            None => standardised[[i, k]],
        });
        for (i, row) in expanded.rows().into_iter().enumerate() {
            assert!((row.iter().take(5).sum::<f64>() - 1.0).abs() < 1e-9);
            let on_fit: f64 = 0.3 + standardised.row(i).dot(&Array1::from(fitted.clone()));
            assert!((form.log_odds(x.row(i), &weights, b) - on_fit).abs() < 1e-9);
        }
        let weights: Vec<f64> = (0..width).map(|k| k as f64 * 0.3 - 0.5).collect();
        let centres: Vec<f64> = expanded.mean_axis(ndarray::Axis(0)).unwrap().to_vec();
        let average = -0.2
            + weights
                .iter()
                .zip(&centres)
                .map(|(w, c)| w * c)
                .sum::<f64>();
        for i in [0, 7, 55, 199] {
            let direct: f64 = -0.2
                + expanded
                    .row(i)
                    .iter()
                    .zip(&weights)
                    .map(|(a, w)| a * w)
                    .sum::<f64>();
            let z = form.log_odds(x.row(i), &weights, -0.2);
            assert!((z - direct).abs() < 1e-9);
            let total: f64 = form
                .contributions(x.row(i), &weights, &centres)
                .iter()
                .sum();
            assert!((total - (z - average)).abs() < 1e-9);
        }
        // The linear form is the row itself.
        let linear = Form::linear();
        let row = Array1::from(vec![2.0, -1.0]);
        assert_eq!(linear.log_odds(row.view(), &[0.5, 2.0], 1.0), 0.0);
        assert_eq!(linear.expand(array![[1.0, 2.0]].view()), array![[1.0, 2.0]]);
        assert_eq!(
            linear.to_indicators(2, &[0.5, 2.0], 1.0),
            (vec![0.5, 2.0], 1.0)
        );
    }
}
