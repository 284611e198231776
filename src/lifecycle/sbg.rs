//! The shifted-beta-geometric (sBG) model of retention in a contractual setting
//! (Fader & Hardie, "How to project customer retention", J. Interactive Marketing 2007;
//! "Customer-base valuation in a contractual setting", Marketing Science 2010).
//!
//! Each client renews each period until they leave, with a per-period leaving
//! probability theta that differs between clients as Beta(a, b). Then
//! - P(T = t) = B(a + 1, b + t - 1) / B(a, b), t = 1, 2, ...
//! - survival S(t) = B(a, b + t) / B(a, b), and retention r_t = (b + t - 1) / (a + b + t - 1)
//!   rises with t: the clients who stay are the ones who were less likely to leave.
//! - discounted expected lifetime of a new client, DEL = sum_{t>=1} S(t-1) / (1+d)^(t-1)
//!   = 2F1(1, b; a + b; 1/(1+d));
//! - discounted expected residual lifetime of a client who has made n - 1 renewals,
//!   DERL(n) = sum_{k>=0} S(n+k) / S(n-1) / (1+d)^k
//!   = (b + n - 1) / (a + b + n - 1) * 2F1(1, b + n; a + b + n; 1/(1+d)).

use crate::error::{Error, Result};

/// A fitted sBG model: theta ~ Beta(a, b).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShiftedBetaGeometric {
    pub a: f64,
    pub b: f64,
}

/// A discount rate per period, checked to be positive and finite (the sums diverge at 0
/// for a <= 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiscountRate(f64);

impl DiscountRate {
    /// # Errors
    /// `Error::InvalidParameter` unless 0 < d <= 10.
    pub fn new(d: f64) -> Result<Self> {
        if d > 0.0 && d <= 10.0 {
            Ok(DiscountRate(d))
        } else {
            Err(Error::InvalidParameter(format!(
                "discount rate must be above 0 and at most 10 per period, got {d}"
            )))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl ShiftedBetaGeometric {
    /// # Errors
    /// `Error::InvalidParameter` unless a and b are positive and finite.
    pub fn new(a: f64, b: f64) -> Result<Self> {
        if a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite() {
            Ok(ShiftedBetaGeometric { a, b })
        } else {
            Err(Error::InvalidParameter(format!(
                "sBG parameters must be positive and finite, got a = {a}, b = {b}"
            )))
        }
    }

    /// Survival S(t), t = 0, 1, ..., by the recursion S(t) = S(t-1) r_t.
    pub fn survival(&self, periods: usize) -> Vec<f64> {
        let mut s = Vec::with_capacity(periods + 1);
        s.push(1.0);
        for t in 1..=periods {
            let prev = s[t - 1];
            s.push(prev * self.retention(t));
        }
        s
    }

    /// r_t = S(t) / S(t-1).
    pub fn retention(&self, t: usize) -> f64 {
        let t = t as f64;
        (self.b + t - 1.0) / (self.a + self.b + t - 1.0)
    }

    /// P(T = t), t = 1..=periods.
    fn churn_probabilities(&self, periods: usize) -> Vec<f64> {
        let s = self.survival(periods);
        (1..=periods).map(|t| s[t - 1] - s[t]).collect()
    }

    /// Log-likelihood of exits in periods 1..=T (`exits[t-1]`) and of clients still
    /// there, censored, after t = 0..=T periods (`censored[t]`).
    fn log_likelihood(&self, exits: &[f64], censored: &[f64]) -> f64 {
        let periods = exits.len().max(censored.len().saturating_sub(1));
        let p = self.churn_probabilities(periods);
        let s = self.survival(periods);
        let mut ll = 0.0;
        for (t, &n) in exits.iter().enumerate() {
            if n > 0.0 {
                ll += n * p[t].ln();
            }
        }
        for (t, &n) in censored.iter().enumerate() {
            if n > 0.0 {
                ll += n * s[t].ln();
            }
        }
        ll
    }

    /// Maximum-likelihood fit to survivor counts of one cohort (or cohorts pooled by
    /// period since start): `alive[0]` at the start, `alive[t]` after t periods.
    /// Nelder-Mead on (ln a, ln b), from several starts; deterministic.
    ///
    /// # Errors
    /// `Error::NoData` with fewer than two periods or a count that rises.
    pub fn fit(alive: &[f64]) -> Result<Self> {
        if alive.len() < 3 || alive[0] <= 0.0 {
            return Err(Error::NoData(
                "an sBG fit needs a cohort observed over at least two periods".into(),
            ));
        }
        if alive.windows(2).any(|w| w[1] > w[0] || w[1] < 0.0) {
            return Err(Error::NoData(
                "survivor counts must not rise from one period to the next".into(),
            ));
        }
        let exits: Vec<f64> = alive.windows(2).map(|w| w[0] - w[1]).collect();
        let mut censored = vec![0.0; alive.len()];
        censored[alive.len() - 1] = alive[alive.len() - 1];
        ShiftedBetaGeometric::fit_censored(&exits, &censored)
    }

    /// Maximum-likelihood fit to exits per period (`exits[t-1]` left in period t) and
    /// clients censored after t periods (`censored[t]`, t = 0, 1, ...): cohorts of
    /// different ages pooled, the young ones counting only as far as they are observed.
    ///
    /// # Errors
    /// `Error::NoData` without exits or with fewer than two periods observed.
    pub fn fit_censored(exits: &[f64], censored: &[f64]) -> Result<Self> {
        let total_exits: f64 = exits.iter().sum();
        let observed = exits.len().max(censored.len().saturating_sub(1));
        if total_exits <= 0.0 || observed < 2 {
            return Err(Error::NoData(
                "an sBG fit needs exits over at least two periods".into(),
            ));
        }
        let (a, b) = maximise(|a, b| ShiftedBetaGeometric { a, b }.log_likelihood(exits, censored));
        ShiftedBetaGeometric::new(a, b)
    }

    /// Maximum-likelihood fit to one period observed at different ages (a snapshot of a
    /// book at a cut-off): `at_age[n] = [stayed, left]` counts clients in force after n
    /// completed periods who stayed through the next one or left in it. Under the sBG a
    /// client who has completed n periods leaves in the next with probability
    /// E[theta | survived n] = a / (a + b + n) (the left-truncated likelihood): the fall
    /// of that rate with n identifies b.
    ///
    /// # Errors
    /// `Error::NoData` without clients who left and stayed, or with one age only.
    pub fn fit_one_period(at_age: &[[f64; 2]]) -> Result<Self> {
        let left: f64 = at_age.iter().map(|c| c[1]).sum();
        let stayed: f64 = at_age.iter().map(|c| c[0]).sum();
        let ages = at_age.iter().filter(|c| c[0] + c[1] > 0.0).count();
        if left <= 0.0 || stayed <= 0.0 || ages < 2 {
            return Err(Error::NoData(
                "an sBG fit needs clients who left and stayed, at two or more ages".into(),
            ));
        }
        let (a, b) = maximise(|a, b| {
            let mut ll = 0.0;
            for (n, c) in at_age.iter().enumerate() {
                let total = a + b + n as f64;
                if c[1] > 0.0 {
                    ll += c[1] * (a / total).ln();
                }
                if c[0] > 0.0 {
                    ll += c[0] * ((b + n as f64) / total).ln();
                }
            }
            ll
        });
        // A book whose rate does not fall with age has no heterogeneity to find: b runs
        // off to infinity. Cap it (b = 1e6: retention flat to 6 digits).
        let cap = 1e6 / b.max(1e6);
        ShiftedBetaGeometric::new(a * cap, b * cap)
    }

    /// Discounted expected lifetime of a new client, in periods (the first period's
    /// payment counted undiscounted): 2F1(1, b; a + b; 1/(1+d)).
    pub fn discounted_expected_lifetime(&self, d: DiscountRate) -> f64 {
        hyp2f1_one(self.b, self.a + self.b, 1.0 / (1.0 + d.get()))
    }

    /// Discounted expected residual lifetime of a client who has made `n - 1` renewals
    /// (is in period n), counting the next period's payment undiscounted:
    /// (b+n-1)/(a+b+n-1) * 2F1(1, b+n; a+b+n; 1/(1+d)). `n` >= 1.
    pub fn discounted_residual_lifetime(&self, n: usize, d: DiscountRate) -> f64 {
        let n = n.max(1) as f64;
        let b = self.b + n - 1.0;
        b / (self.a + b) * hyp2f1_one(b + 1.0, self.a + b + 1.0, 1.0 / (1.0 + d.get()))
    }
}

/// Expected discounted number of premiums still to come from a client in force in
/// their `n`-th period (n >= 1) whose probability of leaving within the coming period
/// is `p` (the lapse model's score), over at most `remaining` periods: the cohort's
/// Beta(a, b + n - 1) heterogeneity, its mean moved to `p` by choosing a, so that later
/// periods still show the rising retention of survivors. The next premium counts
/// undiscounted if the client stays: sum_{k=0}^{remaining-1} x^k prod_{j=1}^{k+1} r_j.
pub fn residual_premiums(
    cohort: &ShiftedBetaGeometric,
    n: usize,
    p: f64,
    remaining: usize,
    d: DiscountRate,
) -> f64 {
    let b = cohort.b + n.max(1) as f64 - 1.0;
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    let a = p * b / (1.0 - p);
    let x = 1.0 / (1.0 + d.get());
    let (mut alive, mut discount, mut sum) = (1.0, 1.0, 0.0);
    for j in 1..=remaining {
        let j = j as f64;
        alive *= (b + j - 1.0) / (a + b + j - 1.0);
        sum += alive * discount;
        discount *= x;
    }
    sum
}

/// 2F1(1, beta; gamma; x) = sum_{k>=0} (beta)_k / (gamma)_k x^k for 0 <= x < 1, summed
/// until a term no longer changes the sum (the ratio of terms tends to x).
fn hyp2f1_one(beta: f64, gamma: f64, x: f64) -> f64 {
    let (mut term, mut sum) = (1.0, 1.0);
    for k in 0..1_000_000 {
        let k = f64::from(k);
        term *= (beta + k) / (gamma + k) * x;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// The (a, b) maximising a log-likelihood: Nelder-Mead on (ln a, ln b) from several
/// starts, the best kept; deterministic. A non-finite likelihood counts as the worst.
fn maximise(log_likelihood: impl Fn(f64, f64) -> f64) -> (f64, f64) {
    let objective = |x: [f64; 2]| {
        let ll = log_likelihood(x[0].exp(), x[1].exp());
        if ll.is_finite() {
            -ll
        } else {
            f64::INFINITY
        }
    };
    let mut best = ([0.0, 0.0], f64::INFINITY);
    for start in [[0.0, 0.0], [-1.0, 1.0], [1.0, 2.0], [-2.0, -1.0]] {
        let (x, v) = nelder_mead(objective, start);
        if v < best.1 {
            best = (x, v);
        }
    }
    (best.0[0].exp(), best.0[1].exp())
}

/// Nelder-Mead minimisation in two dimensions (standard coefficients), deterministic.
fn nelder_mead(f: impl Fn([f64; 2]) -> f64, start: [f64; 2]) -> ([f64; 2], f64) {
    let mut simplex = [
        start,
        [start[0] + 0.5, start[1]],
        [start[0], start[1] + 0.5],
    ];
    let mut values = simplex.map(&f);
    for _ in 0..2000 {
        let mut order = [0usize, 1, 2];
        order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
        let (best, mid, worst) = (order[0], order[1], order[2]);
        if (values[worst] - values[best]).abs() < 1e-13 * (1.0 + values[best].abs()) {
            break;
        }
        let centroid = [
            (simplex[best][0] + simplex[mid][0]) / 2.0,
            (simplex[best][1] + simplex[mid][1]) / 2.0,
        ];
        let toward = |t: f64| {
            [
                centroid[0] + t * (simplex[worst][0] - centroid[0]),
                centroid[1] + t * (simplex[worst][1] - centroid[1]),
            ]
        };
        let reflected = toward(-1.0);
        let fr = f(reflected);
        if fr < values[best] {
            let expanded = toward(-2.0);
            let fe = f(expanded);
            (simplex[worst], values[worst]) = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < values[mid] {
            (simplex[worst], values[worst]) = (reflected, fr);
        } else {
            let contracted = toward(0.5);
            let fc = f(contracted);
            if fc < values[worst] {
                (simplex[worst], values[worst]) = (contracted, fc);
            } else {
                for i in [mid, worst] {
                    simplex[i] = [
                        (simplex[i][0] + simplex[best][0]) / 2.0,
                        (simplex[i][1] + simplex[best][1]) / 2.0,
                    ];
                    values[i] = f(simplex[i]);
                }
            }
        }
    }
    let best = (0..3)
        .min_by(|&i, &j| values[i].total_cmp(&values[j]))
        .unwrap_or(0);
    (simplex[best], values[best])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Snapshot counts drawn from a known sBG (the High End values): at each age n the
    /// expected stayed/left of 10,000 clients; the fit recovers a and b.
    #[test]
    fn one_period_fit_recovers_a_known_model() {
        let truth = ShiftedBetaGeometric::new(0.668, 3.806).unwrap();
        let at_age: Vec<[f64; 2]> = (0..15)
            .map(|n| {
                let leave = truth.a / (truth.a + truth.b + n as f64);
                [10_000.0 * (1.0 - leave), 10_000.0 * leave]
            })
            .collect();
        let fit = ShiftedBetaGeometric::fit_one_period(&at_age).unwrap();
        assert!((fit.a - truth.a).abs() < 1e-3, "{fit:?}");
        assert!((fit.b - truth.b).abs() < 1e-2, "{fit:?}");
        assert!(ShiftedBetaGeometric::fit_one_period(&[[10.0, 1.0]]).is_err());
    }

    /// Fader & Hardie (2007), the "High End" customers: survivors of 1,000 over 7 years.
    const HIGH_END: [f64; 8] = [1000.0, 869.0, 743.0, 653.0, 593.0, 551.0, 517.0, 491.0];

    #[test]
    fn the_published_high_end_series_gives_the_published_parameters_and_values() {
        let m = ShiftedBetaGeometric::fit(&HIGH_END).unwrap();
        assert!((m.a - 0.668).abs() < 0.002, "a = {}", m.a);
        assert!((m.b - 3.806).abs() < 0.01, "b = {}", m.b);
        // The published values, with a and b as published.
        let m = ShiftedBetaGeometric::new(0.668, 3.806).unwrap();
        let d = DiscountRate::new(0.10).unwrap();
        let del = m.discounted_expected_lifetime(d);
        assert!((del - 5.92).abs() < 0.005, "DEL = {del}");
        let derl = m.discounted_residual_lifetime(8, d);
        assert!((derl - 7.53).abs() < 0.005, "DERL = {derl}");
    }

    #[test]
    fn closed_forms_equal_their_defining_series() {
        let m = ShiftedBetaGeometric::new(0.668, 3.806).unwrap();
        let d = DiscountRate::new(0.10).unwrap();
        let x: f64 = 1.0 / 1.1;
        let s = m.survival(5000);
        let del: f64 = (1..5000).map(|t| s[t - 1] * x.powi(t as i32 - 1)).sum();
        assert!((m.discounted_expected_lifetime(d) - del).abs() < 1e-9);
        for n in [1usize, 2, 8, 30] {
            let derl: f64 = (0..4000)
                .map(|k| s[n + k] / s[n - 1] * x.powi(k as i32))
                .sum();
            let closed = m.discounted_residual_lifetime(n, d);
            assert!((closed - derl).abs() < 1e-9, "n = {n}: {closed} vs {derl}");
        }
        // Retention rises with tenure: the survivors are the loyal ones.
        assert!((1..20).all(|t| m.retention(t + 1) > m.retention(t)));
    }

    #[test]
    fn a_clients_residual_premiums_follow_the_score_and_the_term() {
        let m = ShiftedBetaGeometric::new(0.668, 3.806).unwrap();
        let d = DiscountRate::new(0.10).unwrap();
        // With the cohort's own mean churn, the infinite sum is the closed form DERL.
        let n = 8;
        let p = m.a / (m.a + m.b + n as f64 - 1.0);
        let long = residual_premiums(&m, n, p, 5000, d);
        assert!((long - m.discounted_residual_lifetime(n, d)).abs() < 1e-9);
        // Riskier clients, and shorter remaining terms, are worth fewer premiums.
        assert!(residual_premiums(&m, n, 0.5, 20, d) < residual_premiums(&m, n, 0.05, 20, d));
        assert!(residual_premiums(&m, n, 0.1, 3, d) < residual_premiums(&m, n, 0.1, 20, d));
        assert_eq!(residual_premiums(&m, n, 0.1, 0, d), 0.0);
        // Censored cohorts: the pooled fit of the published series, split into a cohort
        // seen 7 years and the same cohort seen only 4, recovers similar parameters.
        let mut exits: Vec<f64> = HIGH_END.windows(2).map(|w| w[0] - w[1]).collect();
        let mut censored = vec![0.0; 8];
        censored[7] = HIGH_END[7];
        for t in 0..4 {
            exits[t] += HIGH_END[t] - HIGH_END[t + 1];
        }
        censored[4] += HIGH_END[4];
        let pooled = ShiftedBetaGeometric::fit_censored(&exits, &censored).unwrap();
        assert!(
            (pooled.a - 0.668).abs() < 0.15 && (pooled.b - 3.806).abs() < 1.0,
            "{pooled:?}"
        );
    }

    #[test]
    fn bad_settings_and_series_are_refused() {
        assert!(DiscountRate::new(-0.1).is_err());
        assert!(DiscountRate::new(0.0).is_err());
        assert!(ShiftedBetaGeometric::new(0.0, 1.0).is_err());
        assert!(ShiftedBetaGeometric::fit(&[100.0, 90.0]).is_err());
        assert!(ShiftedBetaGeometric::fit(&[100.0, 90.0, 95.0]).is_err());
    }
}
