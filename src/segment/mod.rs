//! Client segments: k-means on the standardised behaviour and value features, the choice
//! of k, profiles in original units, plain-word names, and stable ids across retrains.

mod choose;
mod matching;
mod names;
#[cfg(test)]
mod patched_kmeans;

use crate::params::Checked;
pub use crate::params::SegmentParams;
use choose::Convergence;
pub use choose::{assign, Euclidean, KScore, SILHOUETTE_TIE};
pub use matching::optimal_matching;
pub use names::{prospect_name, read_names_file};

use crate::error::{Error, Result};
use crate::features::{Feature, FittedFeatures, Label, RawFeatures};
use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Features segments are built on by default (when the data has them): life stage and
/// value (age, income, premium in force, tenure) and digital engagement. Counts of rare
/// events (complaints, missed premiums) and 0/1 product flags are left out: on the sample
/// they split clients by noise rather than by kind (adjusted Rand index against the
/// generator's archetypes fell from 0.81 to 0.45-0.64 when they were added).
pub const DEFAULT_FEATURES: &[Feature] = &[
    Feature::Age,
    Feature::LogIncome,
    Feature::PremiumInForce,
    Feature::TenureYears,
    Feature::Logins6m,
];

/// A segment's mean of one model column: original units for numeric features, share of
/// clients for one-hot columns; `z` against the whole book.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileEntry {
    pub feature: String,
    pub mean: f64,
    pub z: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Stable id: carried over from the previous model when matched.
    pub id: u32,
    pub name: String,
    /// The name generated from the traits (kept when a names file overrides `name`).
    pub generated_name: String,
    pub size: usize,
    pub share: f64,
    /// Lapse rate among the segment's labelled clients; `None` without labels.
    pub lapse_rate: Option<f64>,
    /// Lapse (or non-renewal) and surrender rates apart, among the same clients,
    /// whatever the modelled outcome (relational mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_rates: Option<ExitRates>,
    pub labelled: usize,
    /// Centre in the standardised space of `SegmentModel::features`.
    pub centre: Vec<f64>,
    /// The same centre in original units.
    pub centre_original: Vec<f64>,
    pub profile: Vec<ProfileEntry>,
}

/// A segment's lapse and surrender rates, reported apart.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExitRates {
    pub lapse: f64,
    pub surrender: f64,
}

/// How the new segments relate to a previous model's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub previous_version: String,
    /// (new id, previous id or None for a new segment, centre distance).
    pub matches: Vec<(u32, Option<u32>, f64)>,
    /// Previous segments with no successor.
    pub retired: Vec<u32>,
    /// Clients per (previous segment id, new segment id), both models applied to this book.
    pub migration: Vec<(u32, u32, usize)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentModel {
    /// Model columns the centres live in.
    pub features: Vec<String>,
    pub segments: Vec<Segment>,
    /// Indices of every k tried (empty when k was fixed).
    pub choice: Vec<KScore>,
    /// Why this k, in words.
    pub k_reason: String,
    pub transition: Option<Transition>,
}

/// A segment in a run's words: its name (a names file's as given), its traits (the
/// generated name) and its description for prospects.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentWords {
    pub id: u32,
    pub name: String,
    pub traits: String,
    pub prospects: String,
}

impl SegmentModel {
    pub fn k(&self) -> usize {
        self.segments.len()
    }

    /// Every segment in the words of `w`. Names are stored in English; in another
    /// vocabulary they are generated again from the stored profiles (flags known by
    /// their stored training distribution holding only 0 and 1), and a name a names
    /// file gave is kept as given.
    pub fn display_names(
        &self,
        numeric: &[crate::features::NumericFeature],
        w: &crate::vocab::Vocabulary,
    ) -> Vec<SegmentWords> {
        let prospects = |s: &Segment| names::prospect_name(w, &s.profile);
        if w.is_english() {
            return self
                .segments
                .iter()
                .map(|s| SegmentWords {
                    id: s.id,
                    name: s.name.clone(),
                    traits: s.generated_name.clone(),
                    prospects: prospects(s),
                })
                .collect();
        }
        let binary: std::collections::BTreeSet<String> = numeric
            .iter()
            .filter(|f| {
                !f.distribution.edges.is_empty()
                    && f.distribution.edges.iter().all(|&e| e == 0.0 || e == 1.0)
            })
            .map(|f| f.name.clone())
            .collect();
        let mut generated: Vec<(u32, String)> = self
            .segments
            .iter()
            .map(|s| (s.id, names::generate(w, &s.profile, &binary)))
            .collect();
        names::deduplicate(w, &mut generated);
        self.segments
            .iter()
            .zip(generated)
            .map(|(s, (_, traits))| SegmentWords {
                id: s.id,
                name: if s.name == s.generated_name {
                    traits.clone()
                } else {
                    s.name.clone()
                },
                traits,
                prospects: prospects(s),
            })
            .collect()
    }

    /// Positions of the segment features among the model columns.
    ///
    /// # Errors
    /// `Error::NoData` when a segment feature is not a model column.
    pub fn column_indices(&self, columns: &[String]) -> Result<Vec<usize>> {
        self.features
            .iter()
            .map(|f| {
                columns.iter().position(|c| c == f).ok_or_else(|| {
                    Error::NoData(format!(
                        "segment feature '{f}' is not among the model's features"
                    ))
                })
            })
            .collect()
    }

    fn centres(&self) -> Array2<f64> {
        let d = self.features.len();
        Array2::from_shape_fn((self.segments.len(), d), |(s, j)| {
            self.segments[s].centre.get(j).copied().unwrap_or(0.0)
        })
    }

    /// Segment index (into `segments`) and distance to its centre for every row of the
    /// model matrix `x`, whose columns are `columns`.
    pub fn assign(&self, x: ArrayView2<f64>, columns: &[String]) -> Result<(Vec<usize>, Vec<f64>)> {
        let idx = self.column_indices(columns)?;
        let xs = x.select(Axis(1), &idx);
        Ok(assign(xs.view(), &self.centres()))
    }
}

/// Everything segment fitting needs about the book.
pub struct SegmentInput<'a> {
    pub fitted: &'a FittedFeatures,
    pub raw: &'a RawFeatures,
    /// Model matrix of `rows`.
    pub x: ArrayView2<'a, f64>,
    /// Client index of each matrix row.
    pub rows: &'a [usize],
    /// Label of every client of the book (indexed by client).
    pub labels: &'a [Label],
    /// Each client's exits within the horizon as bits, 1 lapse, 2 surrender (indexed by
    /// client; empty when not known).
    pub exits: &'a [u8],
}

/// The segment features for these params and model columns.
pub fn segment_features(params: &SegmentParams, fitted: &FittedFeatures) -> Result<Vec<String>> {
    let numeric: Vec<&str> = fitted.numeric.iter().map(|f| f.name.as_str()).collect();
    if !params.features.is_empty() {
        let columns = fitted.columns();
        for f in &params.features {
            if !columns.contains(f) {
                return Err(Error::InvalidParameter(format!(
                    "[segments] features names '{f}', which is not a model feature; \
                     available: {}",
                    columns.join(", ")
                )));
            }
        }
        return Ok(params.features.clone());
    }
    let defaults: Vec<String> = DEFAULT_FEATURES
        .iter()
        .map(|f| f.name())
        .filter(|f| numeric.contains(f))
        .map(str::to_string)
        .collect();
    Ok(if defaults.len() >= 2 {
        defaults
    } else {
        numeric.iter().map(|f| (*f).to_string()).collect()
    })
}

fn derived_seed(seed: u64, salt: u64) -> u64 {
    // SplitMix64 step: independent streams for each k from one user seed.
    let mut z = seed.wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fits the segments.
///
/// # Errors
/// Fewer clients than k, or no admissible k.
pub fn fit(
    input: &SegmentInput,
    params: &Checked<SegmentParams>,
    seed: u64,
) -> Result<SegmentModel> {
    fit_with_progress(input, params, seed, &|| {})
}

/// Number of `step` calls `fit_with_progress` makes for these params and clients.
pub fn progress_steps(params: &SegmentParams, clients: usize) -> u64 {
    match params.k {
        Some(_) => 1,
        None => (params.k_max.min(clients).saturating_sub(params.k_min) + 2) as u64,
    }
}

/// `fit`, calling `step` after each k tried and after the final fit (progress bars).
///
/// # Errors
/// As `fit`.
pub fn fit_with_progress(
    input: &SegmentInput,
    params: &Checked<SegmentParams>,
    seed: u64,
    step: &(dyn Fn() + Sync),
) -> Result<SegmentModel> {
    let features = segment_features(params, input.fitted)?;
    let columns = input.fitted.columns();
    let idx: Vec<usize> = features
        .iter()
        .filter_map(|f| columns.iter().position(|c| c == f))
        .collect();
    let xs = input.x.select(Axis(1), &idx);
    let n = xs.nrows();
    if n < 2 {
        return Err(Error::NoData("fewer than 2 clients to segment".into()));
    }
    let sample = ChoiceSample::draw(xs.view(), params, seed);
    let (k, sample_centres, choice, k_reason) = match params.k {
        Some(k) => {
            if n < k {
                return Err(Error::InvalidParameter(format!(
                    "{n} clients cannot form {k} segments: use a smaller --k"
                )));
            }
            let centres = sample.fit(k, params, seed, Convergence::Full)?;
            (k, centres, Vec::new(), format!("k = {k} fixed by --k"))
        }
        None => {
            let mut scores = crate::progress::timed("segments: k range on the sample", || {
                score_range(&sample, params, seed, step)
            })?;
            let k = choose::pick_k(&scores, params.min_share)?;
            let centres = crate::progress::timed("segments: the chosen k in full", || {
                sample.fit(k, params, seed, Convergence::Full)
            })?;
            // The table shows the chosen k as fitted, not as scored early.
            if let Some(chosen) = scores.iter_mut().find(|s| s.k == k) {
                *chosen = sample.score(&centres, params);
            }
            let reason = format!(
                "k = {k}: highest silhouette among k in {}..={} whose smallest segment holds \
                 >= {:.0}% of clients (ties within {SILHOUETTE_TIE} go to the smaller k)",
                params.k_min,
                params.k_max.min(n),
                params.min_share * 100.0
            );
            (k, centres, scores, reason)
        }
    };
    // The restarts ran on the sample; one run on every client refines the best of them.
    let centres = crate::progress::timed("segments: refine on every client", || {
        choose::refine_kmeans(xs.view(), sample_centres)
    })?;
    step();
    let (labels, _) = assign(xs.view(), &centres);
    every_segment_filled(k, &labels)?;
    let order = canonical_order(&centres, &labels);
    let mut segments = describe(input, &features, &centres, &labels, &order);
    let mut named: Vec<(u32, String)> = segments.iter().map(|s| (s.id, s.name.clone())).collect();
    names::deduplicate(&crate::vocab::Vocabulary::english(), &mut named);
    for (s, (_, n)) in segments.iter_mut().zip(named) {
        s.name = n.clone();
        s.generated_name = n;
    }
    Ok(SegmentModel {
        features,
        segments,
        choice,
        k_reason,
        transition: None,
    })
}

/// Refuses a k that leaves a segment without any client (fewer distinct profiles than k).
fn every_segment_filled(k: usize, labels: &[usize]) -> Result<()> {
    let mut used = vec![false; k];
    for &l in labels {
        if let Some(u) = used.get_mut(l) {
            *u = true;
        }
    }
    let filled = used.iter().filter(|&&u| u).count();
    if filled < k {
        return Err(Error::InvalidParameter(format!(
            "k = {k} leaves {} segment(s) without any client: the data has only {filled} \
             distinct client profile(s) on the segment features; use --k {filled} or fewer",
            k - filled
        )));
    }
    Ok(())
}

/// The clients k is chosen on (all when fewer than `choice_sample`) and the rows of
/// them the silhouette is computed on.
struct ChoiceSample {
    x: Array2<f64>,
    silhouette_rows: Vec<usize>,
}

impl ChoiceSample {
    fn draw(xs: ArrayView2<f64>, params: &SegmentParams, seed: u64) -> Self {
        let n = xs.nrows();
        let mut rng = Xoshiro256Plus::seed_from_u64(derived_seed(seed, 1));
        let sample: Vec<usize> = if n > params.choice_sample {
            let mut s = rand::seq::index::sample(&mut rng, n, params.choice_sample).into_vec();
            s.sort_unstable();
            s
        } else {
            (0..n).collect()
        };
        let x = xs.select(Axis(0), &sample);
        let mut silhouette_rows: Vec<usize> = if sample.len() > params.silhouette_sample {
            rand::seq::index::sample(&mut rng, sample.len(), params.silhouette_sample).into_vec()
        } else {
            (0..sample.len()).collect()
        };
        silhouette_rows.sort_unstable();
        ChoiceSample { x, silhouette_rows }
    }

    /// The quality indices of `centres` on the sample.
    fn score(&self, centres: &Array2<f64>, params: &SegmentParams) -> KScore {
        let (labels, distances) = assign(self.x.view(), centres);
        choose::score(
            self.x.view(),
            centres,
            &labels,
            &distances,
            &self.silhouette_rows,
            params.min_share,
        )
    }

    /// k-means with `params.restarts` k-means++ starts on the sample.
    fn fit(
        &self,
        k: usize,
        params: &SegmentParams,
        seed: u64,
        convergence: Convergence,
    ) -> Result<Array2<f64>> {
        choose::fit_kmeans(
            self.x.view(),
            k,
            params.restarts,
            derived_seed(seed, k as u64),
            convergence,
        )
    }
}

/// Fits and scores every k of the range on the sample, in parallel (each k has its own
/// seed, so the result does not depend on threads), stopping early (`Convergence::Scoring`).
fn score_range(
    sample: &ChoiceSample,
    params: &SegmentParams,
    seed: u64,
    step: &(dyn Fn() + Sync),
) -> Result<Vec<KScore>> {
    use rayon::prelude::*;
    let x = sample.x.view();
    let k_max = params.k_max.min(x.nrows());
    if k_max < params.k_min {
        return Err(Error::InvalidParameter(format!(
            "{} clients are too few to try k from {}",
            x.nrows(),
            params.k_min
        )));
    }
    (params.k_min..=k_max)
        .into_par_iter()
        .map(|k| {
            let c = sample.fit(k, params, seed, Convergence::Scoring)?;
            step();
            Ok(sample.score(&c, params))
        })
        .collect()
}

/// Cluster order by size (largest first), ties by centre coordinates: ids that do not
/// depend on the order k-means happened to find the clusters in.
fn canonical_order(centres: &Array2<f64>, labels: &[usize]) -> Vec<usize> {
    let k = centres.nrows();
    let mut sizes = vec![0usize; k];
    for &l in labels {
        sizes[l] += 1;
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        sizes[b].cmp(&sizes[a]).then_with(|| {
            centres
                .row(a)
                .iter()
                .zip(centres.row(b).iter())
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    order
}

/// A model column's value for one matrix row in profile units: original (clipped,
/// imputed) units for numeric features, 0/1 for one-hot columns.
fn profile_value(input: &SegmentInput, raw_cols: &[Option<&[f64]>], col: usize, row: usize) -> f64 {
    match (input.fitted.numeric.get(col), raw_cols.get(col)) {
        (Some(f), Some(raw)) => {
            let client = input.rows[row];
            f.clean(raw.and_then(|c| c.get(client)).copied().unwrap_or(f64::NAN))
        }
        _ => input.x[[row, col]],
    }
}

/// Per-cluster sums of every model column (original units for numeric features), sizes
/// and label counts, with the whole book's mean and standard deviation of each column.
struct Tally {
    sums: Vec<Vec<f64>>,
    sizes: Vec<usize>,
    lapsed: Vec<usize>,
    labelled: Vec<usize>,
    /// Labelled clients who left by lapse, and by surrender (`exits` bits).
    exits: Vec<[usize; 2]>,
    book_mean: Vec<f64>,
    book_sd: Vec<f64>,
}

impl Tally {
    fn of(input: &SegmentInput, labels: &[usize], k: usize, p: usize) -> Self {
        let mut sums = vec![vec![0.0; p]; k];
        let mut book_sum = vec![0.0; p];
        let mut book_sq = vec![0.0; p];
        let mut sizes = vec![0usize; k];
        let mut lapsed = vec![0usize; k];
        let mut labelled = vec![0usize; k];
        let mut exits = vec![[0usize; 2]; k];
        let raw_cols: Vec<Option<&[f64]>> = input
            .fitted
            .numeric
            .iter()
            .map(|f| input.raw.column(&f.name))
            .collect();
        for (row, &l) in labels.iter().enumerate() {
            sizes[l] += 1;
            let client = input.rows[row];
            match input.labels.get(client) {
                Some(Label::Lapsed) => {
                    lapsed[l] += 1;
                    labelled[l] += 1;
                }
                Some(Label::Stayed) => labelled[l] += 1,
                _ => {}
            }
            if matches!(input.labels.get(client), Some(Label::Lapsed)) {
                let bits = input.exits.get(client).copied().unwrap_or(0);
                exits[l][0] += usize::from(bits & 1 != 0);
                exits[l][1] += usize::from(bits & 2 != 0);
            }
            for j in 0..p {
                let v = profile_value(input, &raw_cols, j, row);
                sums[l][j] += v;
                book_sum[j] += v;
                book_sq[j] += v * v;
            }
        }
        let nf = labels.len().max(1) as f64;
        let book_mean: Vec<f64> = book_sum.iter().map(|s| s / nf).collect();
        let book_sd = book_sq
            .iter()
            .zip(&book_mean)
            .map(|(sq, m)| (sq / nf - m * m).max(0.0).sqrt())
            .collect();
        Tally {
            sums,
            sizes,
            lapsed,
            labelled,
            exits,
            book_mean,
            book_sd,
        }
    }

    /// Cluster `c`'s mean of each column and its z-score against the book.
    fn profile(&self, c: usize, columns: &[String]) -> Vec<ProfileEntry> {
        columns
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let mean = self.sums[c][j] / self.sizes[c].max(1) as f64;
                let z = if self.book_sd[j] > 0.0 {
                    (mean - self.book_mean[j]) / self.book_sd[j]
                } else {
                    0.0
                };
                ProfileEntry {
                    feature: name.clone(),
                    mean,
                    z,
                }
            })
            .collect()
    }
}

fn describe(
    input: &SegmentInput,
    features: &[String],
    centres: &Array2<f64>,
    labels: &[usize],
    order: &[usize],
) -> Vec<Segment> {
    let columns = input.fitted.columns();
    let t = Tally::of(input, labels, centres.nrows(), columns.len());
    // Numeric features holding only 0 and 1 among the segmented clients: flags.
    let binary: std::collections::BTreeSet<String> = input
        .fitted
        .numeric
        .iter()
        .filter(|f| {
            input.raw.column(&f.name).is_some_and(|col| {
                input
                    .rows
                    .iter()
                    .filter_map(|&r| col.get(r))
                    .all(|&v| v == 0.0 || v == 1.0 || v.is_nan())
            })
        })
        .map(|f| f.name.clone())
        .collect();
    let feature_stats: BTreeMap<&str, &crate::features::NumericFeature> = input
        .fitted
        .numeric
        .iter()
        .map(|f| (f.name.as_str(), f))
        .collect();
    order
        .iter()
        .enumerate()
        .map(|(id, &c)| {
            let size = t.sizes[c];
            let profile = t.profile(c, &columns);
            let centre: Vec<f64> = centres.row(c).to_vec();
            let centre_original = features
                .iter()
                .zip(&centre)
                .map(|(f, &z)| feature_stats.get(f.as_str()).map_or(z, |s| s.original(z)))
                .collect();
            // Stored in English; each run shows them in its own words (`display_names`).
            let name = names::generate(&crate::vocab::Vocabulary::english(), &profile, &binary);
            Segment {
                id: id as u32,
                generated_name: name.clone(),
                name,
                size,
                share: size as f64 / labels.len().max(1) as f64,
                lapse_rate: (t.labelled[c] > 0).then(|| t.lapsed[c] as f64 / t.labelled[c] as f64),
                exit_rates: (!input.exits.is_empty() && t.labelled[c] > 0).then(|| {
                    let n = t.labelled[c] as f64;
                    ExitRates {
                        lapse: t.exits[c][0] as f64 / n,
                        surrender: t.exits[c][1] as f64 / n,
                    }
                }),
                labelled: t.labelled[c],
                centre,
                centre_original,
                profile,
            }
        })
        .collect()
}

/// Applies a names file: listed ids take the given names, the others keep theirs.
pub fn apply_names(model: &mut SegmentModel, names: &BTreeMap<u32, String>) -> Result<()> {
    for s in &mut model.segments {
        if let Some(n) = names.get(&s.id) {
            s.name = n.clone();
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for s in &model.segments {
        if !seen.insert(s.name.as_str()) {
            return Err(Error::InvalidParameter(format!(
                "two segments would be called '{}': rename one in the names file",
                s.name
            )));
        }
    }
    Ok(())
}

/// Matches the new segments to a previous model's by centre distance (in the new model's
/// standardised space), so that matched segments keep their id and name.
///
/// `previous_assignment` is the previous model's segment id of every clustered client
/// (the previous bundle applied to this book), for the migration table.
/// Distance between every new centre and every previous one, in this model's
/// standardised space (previous centres are converted from original units).
fn centre_distances(
    model: &SegmentModel,
    previous: &SegmentModel,
    fitted: &FittedFeatures,
) -> Vec<Vec<f64>> {
    let stats: Vec<Option<&crate::features::NumericFeature>> = model
        .features
        .iter()
        .map(|f| fitted.numeric.iter().find(|n| &n.name == f))
        .collect();
    let prev_centres: Vec<Vec<f64>> = previous
        .segments
        .iter()
        .map(|s| {
            s.centre_original
                .iter()
                .zip(&stats)
                .map(|(&v, st)| st.map_or(v, |st| st.standardise(v)))
                .collect()
        })
        .collect();
    model
        .segments
        .iter()
        .map(|s| {
            prev_centres
                .iter()
                .map(|p| {
                    s.centre
                        .iter()
                        .zip(p)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        .sqrt()
                })
                .collect()
        })
        .collect()
}

/// Clients per (previous segment id, new segment id), from each client's segment index
/// in the new model and id in the previous one.
fn migration_counts(
    model: &SegmentModel,
    current: &[usize],
    previous: &[u32],
    fallback_id: u32,
) -> Vec<(u32, u32, usize)> {
    let mut counts: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    for (&cur, &p) in current.iter().zip(previous) {
        let new_id = model.segments.get(cur).map_or(fallback_id, |s| s.id);
        *counts.entry((p, new_id)).or_default() += 1;
    }
    counts.into_iter().map(|((a, b), c)| (a, b, c)).collect()
}

pub fn carry_over(
    model: &mut SegmentModel,
    previous: &SegmentModel,
    previous_version: &str,
    fitted: &FittedFeatures,
    current_assignment: &[usize],
    previous_assignment: Option<&[u32]>,
) -> Result<()> {
    if previous.features != model.features {
        return Err(Error::InvalidParameter(format!(
            "the previous model segments on [{}], this one on [{}]: segments cannot be \
             matched; retrain without --previous or with the same segment features",
            previous.features.join(", "),
            model.features.join(", ")
        )));
    }
    let cost = centre_distances(model, previous, fitted);
    let matched = optimal_matching(&cost);
    let mut next_id = previous
        .segments
        .iter()
        .map(|s| s.id + 1)
        .max()
        .unwrap_or(0);
    let mut matches = Vec::new();
    let old_ids: Vec<u32> = model.segments.iter().map(|s| s.id).collect();
    for (i, m) in matched.iter().enumerate() {
        let seg = &mut model.segments[i];
        match m {
            Some(p) => {
                let prev = &previous.segments[*p];
                seg.id = prev.id;
                seg.name = prev.name.clone();
                matches.push((seg.id, Some(prev.id), cost[i][*p]));
            }
            None => {
                seg.id = next_id;
                next_id += 1;
                matches.push((seg.id, None, f64::NAN));
            }
        }
    }
    let retired = previous
        .segments
        .iter()
        .enumerate()
        .filter(|(p, _)| !matched.contains(&Some(*p)))
        .map(|(_, s)| s.id)
        .collect();
    let migration = previous_assignment.map_or_else(Vec::new, |prev| {
        migration_counts(model, current_assignment, prev, old_ids[0])
    });
    model.transition = Some(Transition {
        previous_version: previous_version.to_string(),
        matches,
        retired,
        migration,
    });
    Ok(())
}
