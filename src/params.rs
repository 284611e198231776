//! Model settings, readable from the config's `[segments]` and `[lapse]` sections and
//! overridden by flags. Plain data with a `check` each; the models import them.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The settings messages name by their flag, with the name each has as an argument of
/// the Python package: one table, so messages read right from either.
pub const ARGUMENT_NAMES: &[(&str, &str)] = &[
    ("--as-of", "as_of"),
    ("--extract-date", "extract_date"),
    ("--horizon-months", "horizon_months"),
    ("--k", "k"),
    ("--seed", "seed"),
    ("--models", "models"),
    ("--out", "out"),
    ("--overwrite", "overwrite"),
    ("--partitions", "parts"),
    ("--config", "config"),
    ("--previous-run", "previous"),
    ("--min-segment-size", "min_report_count"),
    ("--report-dir", "out"),
];

/// A message in the Python package's words: each flag of `ARGUMENT_NAMES` becomes its
/// argument name (`--k 5` becomes `k=5`); other text is unchanged.
pub fn in_argument_words(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("--") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
            .unwrap_or(after.len());
        let flag = &rest[at..at + 2 + len];
        match ARGUMENT_NAMES.iter().find(|(f, _)| *f == flag) {
            Some((_, name)) => {
                out.push_str(name);
                let tail = &rest[at + 2 + len..];
                // A value given after the flag reads as an assignment.
                if tail.starts_with(' ') && tail[1..].starts_with(|c: char| c.is_ascii_digit()) {
                    out.push('=');
                    rest = &tail[1..];
                    continue;
                }
            }
            None => out.push_str(flag),
        }
        rest = &rest[at + 2 + len..];
    }
    out.push_str(rest);
    out
}

/// How segments are fitted; `check` validates the combination.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SegmentParams {
    /// Model features to cluster on; empty = `DEFAULT_FEATURES` present in the data,
    /// else every numeric feature.
    pub features: Vec<String>,
    /// Fixed k (the `--k` flag); `None` = choose k automatically.
    pub k: Option<usize>,
    pub k_min: usize,
    pub k_max: usize,
    /// k-means++ restarts; the run with the least inertia is kept.
    pub restarts: usize,
    /// Segments smaller than this share of clients are too small to act on.
    pub min_share: f64,
    /// Clients sampled to choose k (all when fewer).
    pub choice_sample: usize,
    /// Clients of that sample the silhouette is computed on (it is quadratic).
    pub silhouette_sample: usize,
}

impl Default for SegmentParams {
    fn default() -> Self {
        SegmentParams {
            features: Vec::new(),
            k: None,
            k_min: 2,
            k_max: 10,
            restarts: 10,
            min_share: 0.02,
            choice_sample: 50_000,
            silhouette_sample: 3_000,
        }
    }
}

/// Parameters that passed their `check`: what fitting takes, so nothing checks twice
/// (the habit of linfa's `ParamGuard`).
#[derive(Clone, Debug, PartialEq)]
pub struct Checked<T>(T);

impl<T> std::ops::Deref for Checked<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Checked<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// The lapse horizon in months, 1 to 60.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Horizon(i32);

impl Horizon {
    /// # Errors
    /// `Error::InvalidParameter` outside 1..=60.
    pub fn months(months: i32) -> Result<Self> {
        if (1..=60).contains(&months) {
            Ok(Horizon(months))
        } else {
            Err(Error::InvalidParameter(format!(
                "--horizon-months must be between 1 and 60, got {months}"
            )))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

impl SegmentParams {
    /// # Errors
    /// `Error::InvalidParameter` naming the offending setting.
    pub fn check(self) -> Result<Checked<Self>> {
        let bad = |m: String| Err(Error::InvalidParameter(m));
        if let Some(k) = self.k {
            if !(1..=50).contains(&k) {
                return bad(format!("--k must be between 1 and 50, got {k}"));
            }
        }
        if self.k_min < 2 || self.k_max < self.k_min || self.k_max > 50 {
            return bad(format!(
                "the k range must satisfy 2 <= k_min <= k_max <= 50, got {}..={}",
                self.k_min, self.k_max
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(f) = self.features.iter().find(|f| !seen.insert(f.as_str())) {
            return bad(format!(
                "segment features list '{f}' twice: each feature is one axis of the segments"
            ));
        }
        if self.restarts == 0 {
            return bad("restarts must be at least 1".into());
        }
        if !(0.0..0.5).contains(&self.min_share) {
            return bad(format!(
                "min_share must be in [0, 0.5), got {}",
                self.min_share
            ));
        }
        if self.silhouette_sample < 10 || self.choice_sample < self.silhouette_sample {
            return bad("silhouette_sample must be >= 10 and <= choice_sample".into());
        }
        Ok(Checked(self))
    }
}

/// How the decision threshold is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "share")]
pub enum ThresholdRule {
    /// The threshold with the best F1 on out-of-fold predictions.
    BestF1,
    /// Flag the riskiest share of clients (a call list of fixed capacity).
    TopShare(f64),
}

impl std::str::FromStr for ThresholdRule {
    type Err = Error;
    /// `f1`, or `top:10` for the riskiest 10%.
    fn from_str(s: &str) -> Result<Self> {
        if s == "f1" {
            return Ok(ThresholdRule::BestF1);
        }
        let rule = s
            .strip_prefix("top:")
            .and_then(|p| p.trim_end_matches('%').parse::<f64>().ok())
            .map(|pct| ThresholdRule::TopShare(pct / 100.0))
            .filter(|r| r.check().is_ok())
            .ok_or_else(|| {
                Error::InvalidParameter(format!(
                    "threshold rule '{s}': expected 'f1' or 'top:<percent>' such as top:10"
                ))
            })?;
        Ok(rule)
    }
}

impl ThresholdRule {
    /// The one rule for flags and config alike: a top share lies strictly between 0 and 1.
    ///
    /// # Errors
    /// `Error::InvalidParameter` naming the share.
    pub fn check(&self) -> Result<()> {
        match *self {
            ThresholdRule::TopShare(share) if !(share > 0.0 && share < 1.0) => {
                Err(Error::InvalidParameter(format!(
                    "threshold share must be strictly between 0 and 1 (top:<percent> between 0 \
                     and 100), got {share}"
                )))
            }
            _ => Ok(()),
        }
    }
}

/// Most quantile bins a numeric feature may be cut into.
pub const MAX_BINS: usize = 20;

/// Most smoothed quantile bins a numeric feature may be cut into: finer bins cost
/// nothing in labeling, and the smoothness penalty keeps their weights from fitting noise.
pub const MAX_SMOOTH_BINS: usize = 32;
/// Default forms with smoothed bins (docs/model.md gives the measured gains and cost).
pub const DEFAULT_SMOOTH_BINS: [usize; 0] = [];

fn is_default_smooth_bins(v: &[usize]) -> bool {
    v == DEFAULT_SMOOTH_BINS
}

fn default_smooth_bins() -> Vec<usize> {
    DEFAULT_SMOOTH_BINS.to_vec()
}

/// Default most pairwise interaction terms of the lapse model: none (opt in with
/// `[lapse] pairs`; docs/model.md gives the measured gains and cost).
pub const DEFAULT_PAIRS: usize = 0;
/// Most pairwise interaction terms a lapse model may be given.
pub const MAX_PAIRS: usize = 20;
/// Default coarse bins per numeric feature in a pair, each tried by cross-validation
/// (docs/model.md: 4 a side suit flags and thresholds, 16 a side ratios and products).
pub const DEFAULT_PAIR_BINS: [usize; 2] = [4, 16];
/// Most coarse bins per numeric feature in a pair.
pub const MAX_PAIR_BINS: usize = 16;

fn is_default_pairs(v: &usize) -> bool {
    *v == DEFAULT_PAIRS
}

fn is_default_pair_bins(v: &[usize]) -> bool {
    v == DEFAULT_PAIR_BINS
}

fn default_pair_bins() -> Vec<usize> {
    DEFAULT_PAIR_BINS.to_vec()
}

/// `pair_bins` as one number (bundles and settings written before it was a list) or a
/// list of numbers.
fn one_or_many<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<usize>, D::Error> {
    struct OneOrMany;
    impl<'de> serde::de::Visitor<'de> for OneOrMany {
        type Value = Vec<usize>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a number of bins or a list of numbers of bins")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
            usize::try_from(v)
                .map(|v| vec![v])
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
            usize::try_from(v)
                .map(|v| vec![v])
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = seq.next_element::<usize>()? {
                out.push(v);
            }
            Ok(out)
        }
    }
    d.deserialize_any(OneOrMany)
}

/// `pair_bins` of one size as the bare number bundles held before it was a list, so that
/// their content digest still holds when they are read and written again.
fn one_or_many_out<S: serde::Serializer>(
    v: &[usize],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        [one] => s.serialize_u64(*one as u64),
        many => many.serialize(s),
    }
}

/// Whether every number of `list` is distinct and `allowed`.
fn distinct_within(list: &[usize], allowed: impl Fn(usize) -> bool) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    list.iter().all(|&b| allowed(b) && seen.insert(b))
}

fn check_pair_bins(pair_bins: &[usize]) -> Result<()> {
    if pair_bins.is_empty() || !distinct_within(pair_bins, |b| (2..=MAX_PAIR_BINS).contains(&b)) {
        return Err(Error::InvalidParameter(format!(
            "pair_bins must be a number or a non-empty list of distinct numbers, each \
             between 2 and {MAX_PAIR_BINS}, got {pair_bins:?}"
        )));
    }
    Ok(())
}

/// Default penalties of the pairs' cells, as multiples of the main effects' penalty.
pub const DEFAULT_PAIR_PENALTIES: [f64; 3] = [1.0, 10.0, 100.0];

fn default_pair_penalties() -> Vec<f64> {
    DEFAULT_PAIR_PENALTIES.to_vec()
}

fn is_default_pair_penalties(v: &[f64]) -> bool {
    v == DEFAULT_PAIR_PENALTIES
}

/// Default out-of-fold ROC AUC gain that lets a richer form win on ranking.
pub const DEFAULT_FORM_AUC_MARGIN: f64 = 0.005;
/// Default standard errors a form's ranking gain must clear (one: the gain exceeds its
/// own noise).
pub const DEFAULT_FORM_AUC_Z: f64 = 1.0;
/// Default log loss a form chosen on ranking may give up against the best form.
pub const DEFAULT_FORM_LOG_LOSS_WINDOW: f64 = 0.002;

// Kept out of a bundle's config at the default, so bundles made before the settings
// existed keep their content digest.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_default_form_auc_margin(v: &f64) -> bool {
    *v == DEFAULT_FORM_AUC_MARGIN
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_form_auc_z(v: &f64) -> bool {
    *v == DEFAULT_FORM_AUC_Z
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_form_log_loss_window(v: &f64) -> bool {
    *v == DEFAULT_FORM_LOG_LOSS_WINDOW
}

/// Lapse model settings; `check` validates them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LapseParams {
    pub test_share: f64,
    pub folds: usize,
    /// L2 strengths tried (linfa's alpha = scikit-learn's 1/C).
    pub alphas: Vec<f64>,
    /// Forms tried, each with every penalty: 0 is the linear form (each numeric feature
    /// one standardised column), n cuts each numeric feature into up to n quantile bins
    /// (a scorecard). Cross-validation keeps the form and penalty with the least
    /// out-of-fold log loss; `[0]` fits the linear model only.
    pub bins: Vec<usize>,
    /// Forms with smoothed bins tried after `bins`, each with every penalty: n cuts each
    /// numeric feature into up to n quantile bins, and the penalty weighs the differences
    /// of neighbouring bins' weights rather than the weights, so fine bins can follow a
    /// sharp threshold and stay smooth elsewhere. Empty: none.
    #[serde(skip_serializing_if = "is_default_smooth_bins")]
    pub smooth_bins: Vec<usize>,
    /// Most pairwise interaction terms added to the best binned form: pairs of features
    /// screened on each training fold, kept only when the out-of-fold log loss says so
    /// (0: an additive model only). Left out of a bundle's JSON when default, so bundles
    /// from before pairs keep their content digest.
    #[serde(skip_serializing_if = "is_default_pairs")]
    pub pairs: usize,
    /// Coarse quantile bins per numeric feature in a pair (a pair is a small table of
    /// cells: bins times bins, or bins times a categorical's levels). Each number is
    /// tried, coarsest first: finer axes are kept only when they lower the out-of-fold
    /// log loss as more pairs must. One number or a list in the settings.
    #[serde(
        default = "default_pair_bins",
        deserialize_with = "one_or_many",
        serialize_with = "one_or_many_out",
        skip_serializing_if = "is_default_pair_bins"
    )]
    pub pair_bins: Vec<usize>,
    /// L2 penalties of the pairs' cells tried, each a multiple of the penalty the
    /// additive form chose for its bins: a pair's cells are many and thin, and a stronger
    /// penalty keeps them from fitting noise. Cross-validation keeps the best, strongest
    /// first.
    #[serde(skip_serializing_if = "is_default_pair_penalties")]
    pub pair_penalties: Vec<f64>,
    /// A richer form (more bins) that ranks clients better out of fold, its ROC AUC
    /// higher by at least this, replaces a simpler one even when its log loss is a
    /// little higher (within `form_log_loss_window` of the best form's): log loss
    /// differences that small are noise, a clear gain in ranking is not.
    #[serde(skip_serializing_if = "is_default_form_auc_margin")]
    pub form_auc_margin: f64,
    /// ... and by at least this many standard errors of the paired difference of the
    /// two forms' out-of-fold AUCs (DeLong): a gain within the noise does not count.
    #[serde(skip_serializing_if = "is_default_form_auc_z")]
    pub form_auc_z: f64,
    /// How far above the least out-of-fold log loss of any form a form chosen for its
    /// ranking may be.
    #[serde(skip_serializing_if = "is_default_form_log_loss_window")]
    pub form_log_loss_window: f64,
    pub threshold: ThresholdRule,
    /// With the best-F1 threshold, the high risk band is the riskiest this share of the
    /// training clients' out-of-fold scores (never below the threshold): a call list of
    /// fixed size, never a third of the book. With `top:X` the band is the X% chosen.
    #[serde(skip_serializing_if = "is_default_high_band_share")]
    pub high_band_share: f64,
    /// Training clients sampled for cross-validation (all when fewer); the final model
    /// is fitted on every training client.
    pub cv_sample: usize,
    pub max_iterations: u64,
    /// What the model predicts: lapse and surrender pooled (default), lapse only
    /// (with non-renewal) or surrender only.
    pub outcome: crate::vocab::LapseOutcome,
}

/// The riskiest tenth: the call list a retention team works through in a month.
pub const DEFAULT_HIGH_BAND_SHARE: f64 = 0.10;

// Kept out of a bundle's config at the default, so bundles made before the setting
// existed keep their content digest.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_default_high_band_share(share: &f64) -> bool {
    *share == DEFAULT_HIGH_BAND_SHARE
}

impl Default for LapseParams {
    fn default() -> Self {
        LapseParams {
            test_share: 0.2,
            folds: 5,
            alphas: vec![0.1, 1.0, 10.0, 100.0, 1000.0],
            bins: vec![0, 5, 10],
            smooth_bins: default_smooth_bins(),
            pairs: DEFAULT_PAIRS,
            pair_bins: default_pair_bins(),
            pair_penalties: default_pair_penalties(),
            form_auc_margin: DEFAULT_FORM_AUC_MARGIN,
            form_auc_z: DEFAULT_FORM_AUC_Z,
            form_log_loss_window: DEFAULT_FORM_LOG_LOSS_WINDOW,
            threshold: ThresholdRule::BestF1,
            high_band_share: DEFAULT_HIGH_BAND_SHARE,
            cv_sample: 50_000,
            max_iterations: 300,
            outcome: crate::vocab::LapseOutcome::Any,
        }
    }
}

impl LapseParams {
    /// The forms tried: `bins` and `smooth_bins` in range, distinct, not both empty.
    fn check_forms(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParameter(m));
        if !distinct_within(&self.bins, |b| b == 0 || (2..=MAX_BINS).contains(&b)) {
            return bad(format!(
                "bins must be a list of distinct numbers, each 0 (the linear form) or 2 to \
                 {MAX_BINS} (quantile bins per numeric feature), got {:?}",
                self.bins
            ));
        }
        if !distinct_within(&self.smooth_bins, |b| (2..=MAX_SMOOTH_BINS).contains(&b)) {
            return bad(format!(
                "smooth_bins must be a list of distinct numbers, each 2 to {MAX_SMOOTH_BINS} \
                 (smoothed quantile bins per numeric feature), got {:?}",
                self.smooth_bins
            ));
        }
        if self.bins.is_empty() && self.smooth_bins.is_empty() {
            return bad(
                "bins and smooth_bins are both empty: the lapse model needs at least one \
                 form to try (bins = [0] fits the linear model only)"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// # Errors
    /// `Error::InvalidParameter` naming the setting.
    pub fn check(self) -> Result<Checked<Self>> {
        let bad = |m: String| Err(Error::InvalidParameter(m));
        if !(0.05..=0.5).contains(&self.test_share) {
            return bad(format!(
                "test_share must be in [0.05, 0.5], got {}",
                self.test_share
            ));
        }
        if !(self.high_band_share > 0.0 && self.high_band_share <= 0.5) {
            return bad(format!(
                "high_band_share must be in (0, 0.5], got {}",
                self.high_band_share
            ));
        }
        if !(2..=20).contains(&self.folds) {
            return bad(format!("folds must be in 2..=20, got {}", self.folds));
        }
        // Outside this range a penalty either vanishes against rounding or wipes out
        // every coefficient: no fit could learn anything from it.
        if self.alphas.is_empty() || self.alphas.iter().any(|a| !(1e-6..=1e6).contains(a)) {
            return bad(format!(
                "alphas must be a non-empty list of numbers between 1e-6 and 1e6, got {:?}",
                self.alphas
            ));
        }
        if !(1..=100_000).contains(&self.max_iterations) {
            return bad(format!(
                "max_iterations must be between 1 and 100000, got {} (0 would publish an \
                 unfitted model)",
                self.max_iterations
            ));
        }
        self.check_forms()?;
        if self.pairs > MAX_PAIRS {
            return bad(format!(
                "pairs must be between 0 and {MAX_PAIRS}, got {}",
                self.pairs
            ));
        }
        check_pair_bins(&self.pair_bins)?;
        if self.pair_penalties.is_empty()
            || self.pair_penalties.iter().any(|m| !(1.0..=1e4).contains(m))
        {
            return bad(format!(
                "pair_penalties must be a non-empty list of numbers between 1 and 10000, got {:?}",
                self.pair_penalties
            ));
        }
        self.check_form_choice()?;
        if self.cv_sample < 100 {
            return bad("cv_sample must be at least 100".into());
        }
        self.threshold.check()?;
        Ok(Checked(self))
    }
}

impl LapseParams {
    /// The settings of choosing a form on ranking.
    fn check_form_choice(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParameter(m));
        if !(0.0..=1.0).contains(&self.form_auc_margin) {
            return bad(format!(
                "form_auc_margin must be between 0 and 1 (1: log loss alone chooses the form), \
                 got {}",
                self.form_auc_margin
            ));
        }
        if !(0.0..=10.0).contains(&self.form_auc_z) {
            return bad(format!(
                "form_auc_z must be between 0 and 10 standard errors, got {}",
                self.form_auc_z
            ));
        }
        if !(0.0..=0.05).contains(&self.form_log_loss_window) {
            return bad(format!(
                "form_log_loss_window must be between 0 and 0.05, got {}",
                self.form_log_loss_window
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod argument_words_tests {
    use super::*;

    #[test]
    fn messages_read_in_argument_words() {
        assert_eq!(
            in_argument_words("--as-of 2020-01-31 is before; set --extract-date"),
            "as_of=2020-01-31 is before; set extract_date"
        );
        assert_eq!(in_argument_words("use --k 5 or fewer"), "use k=5 or fewer");
        assert_eq!(
            in_argument_words("pass --overwrite to replace it, or --out to write elsewhere"),
            "pass overwrite to replace it, or out to write elsewhere"
        );
        assert_eq!(
            in_argument_words("a -- b --unknown-flag"),
            "a -- b --unknown-flag"
        );
    }
}

#[cfg(test)]
mod lapse_params_tests {
    use super::*;

    fn with_pair_bins(pair_bins: &[usize]) -> Result<Checked<LapseParams>> {
        LapseParams {
            pair_bins: pair_bins.to_vec(),
            ..LapseParams::default()
        }
        .check()
    }

    #[test]
    fn smoothed_forms_are_checked_and_may_stand_alone() {
        let with = |bins: Vec<usize>, smooth_bins: Vec<usize>| {
            LapseParams {
                bins,
                smooth_bins,
                ..LapseParams::default()
            }
            .check()
        };
        assert!(with(vec![0, 10], vec![16]).is_ok());
        assert!(with(vec![], vec![MAX_SMOOTH_BINS]).is_ok());
        for (bins, smooth, named) in [
            (vec![], vec![], "bins and smooth_bins are both empty"),
            (vec![0], vec![1], "smooth_bins must be"),
            (vec![0], vec![MAX_SMOOTH_BINS + 1], "smooth_bins must be"),
            (vec![0], vec![16, 16], "smooth_bins must be"),
        ] {
            match with(bins.clone(), smooth.clone()) {
                Err(Error::InvalidParameter(m)) => assert!(m.contains(named), "{m}"),
                other => panic!("{bins:?} / {smooth:?} not refused: {:?}", other.is_ok()),
            }
        }
        let read: LapseParams = toml::from_str("smooth_bins = [16, 24]").unwrap();
        assert_eq!(read.smooth_bins, [16, 24]);
        let json = serde_json::to_string(&LapseParams::default()).unwrap();
        assert!(!json.contains("smooth_bins"), "{json}");
    }

    #[test]
    fn pair_axes_of_up_to_sixteen_bins_are_accepted_and_no_more() {
        assert!(with_pair_bins(&[2]).is_ok());
        assert!(with_pair_bins(&DEFAULT_PAIR_BINS).is_ok());
        assert!(with_pair_bins(&[16, 8, 4]).is_ok());
        for bad in [&[0][..], &[1], &[17], &[4, 64], &[], &[4, 4]] {
            match with_pair_bins(bad) {
                Err(Error::InvalidParameter(m)) => {
                    assert!(m.contains("each between 2 and 16"), "{m}")
                }
                other => panic!("pair_bins = {bad:?} was not refused: {:?}", other.is_ok()),
            }
        }
    }

    #[test]
    fn pair_bins_read_as_one_number_or_a_list() {
        let read = |text: &str| -> Vec<usize> {
            let p: LapseParams = toml::from_str(text).unwrap();
            p.pair_bins
        };
        assert_eq!(read("pair_bins = 8"), [8]);
        assert_eq!(read("pair_bins = [4, 16]"), [4, 16]);
        assert_eq!(read(""), DEFAULT_PAIR_BINS);
        let refused = toml::from_str::<LapseParams>("pair_bins = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("a number of bins or a list"), "{refused}");
        // Bundles before the list held one number: written back the same, so their
        // content digest holds; the default stays out of the JSON.
        let json = |text: &str| {
            let p: LapseParams = serde_json::from_str(text).unwrap();
            serde_json::to_string(&p).unwrap()
        };
        assert!(json(r#"{"pair_bins": 8}"#).contains(r#""pair_bins":8"#));
        assert!(json(r#"{"pair_bins": [4, 8]}"#).contains(r#""pair_bins":[4,8]"#));
        assert!(!json(r#"{"pair_bins": [4, 16]}"#).contains("pair_bins"));
    }
}
