//! Intervals and tests for a difference of two proportions, and the false discovery
//! rate step over many of them:
//! - Wilson's score interval for one proportion (Wilson 1927);
//! - Newcombe's hybrid score interval for a difference (method 10 of Newcombe 1998,
//!   "Interval estimation for the difference between independent proportions",
//!   Statistics in Medicine 17: 873-890), built from the two Wilson intervals;
//! - the pooled two-proportion z test for a p-value;
//! - Benjamini and Hochberg's (1995) adjusted p-values (q-values).

/// The standard normal distribution function, from the complementary error function
/// (Numerical Recipes' `erfc`, fractional error below 1.2e-7).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - erfc / 2.0
    } else {
        erfc / 2.0
    }
}

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9), for `0 < p < 1`.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        let q = (-2.0 * q.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p <= 0.0 || p >= 1.0 {
        return f64::NAN;
    }
    if p < 0.024_25 {
        tail(p)
    } else if p > 1.0 - 0.024_25 {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The two-sided z of a confidence level (1.96 at 0.95).
pub fn z_of(confidence: f64) -> f64 {
    normal_quantile(0.5 + confidence / 2.0)
}

/// Wilson's score interval for `x` of `n`; (NaN, NaN) when `n` is 0.
pub fn wilson(x: usize, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (n, p) = (n as f64, x as f64 / n as f64);
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denominator = 1.0 + z2 / n;
    (
        ((centre - half) / denominator).max(0.0),
        ((centre + half) / denominator).min(1.0),
    )
}

/// A difference of two proportions with its interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Difference {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// Newcombe's hybrid score interval (method 10) for `x1/n1 - x2/n2`.
pub fn newcombe(x1: usize, n1: usize, x2: usize, n2: usize, z: f64) -> Difference {
    if n1 == 0 || n2 == 0 {
        return Difference {
            estimate: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let (l1, u1) = wilson(x1, n1, z);
    let (l2, u2) = wilson(x2, n2, z);
    let d = p1 - p2;
    Difference {
        estimate: d,
        low: d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        high: d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
    }
}

/// The two-sided p-value of the pooled two-proportion z test; 1 when the pooled rate is
/// 0 or 1 (no variation), NaN when an arm is empty.
pub fn two_proportion_p(x1: usize, n1: usize, x2: usize, n2: usize) -> f64 {
    if n1 == 0 || n2 == 0 {
        return f64::NAN;
    }
    let (a, b) = (n1 as f64, n2 as f64);
    let pooled = (x1 + x2) as f64 / (a + b);
    let se = (pooled * (1.0 - pooled) * (1.0 / a + 1.0 / b)).sqrt();
    if se <= 0.0 {
        return 1.0;
    }
    let z = (x1 as f64 / a - x2 as f64 / b) / se;
    2.0 * (1.0 - normal_cdf(z.abs()))
}

/// Benjamini-Hochberg adjusted p-values, in the order given (NaN stays NaN and does not
/// count as a test).
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let m = order.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank + 1) as f64);
        q[i] = running;
    }
    q
}

/// Sums of one arm of a ratio outcome (y over x per client, e.g. premium kept over
/// premium at the start), for a linearised (delta-method) interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RatioSums {
    pub n: usize,
    pub x: f64,
    pub y: f64,
    pub xx: f64,
    pub yy: f64,
    pub xy: f64,
}

impl RatioSums {
    pub fn add(&mut self, x: f64, y: f64) {
        self.n += 1;
        self.x += x;
        self.y += y;
        self.xx += x * x;
        self.yy += y * y;
        self.xy += x * y;
    }

    pub fn merge(&mut self, o: &RatioSums) {
        self.n += o.n;
        self.x += o.x;
        self.y += o.y;
        self.xx += o.xx;
        self.yy += o.yy;
        self.xy += o.xy;
    }

    /// The ratio of sums.
    pub fn ratio(&self) -> f64 {
        if self.x > 0.0 {
            self.y / self.x
        } else {
            f64::NAN
        }
    }

    /// Sum of squared residuals around the ratio `r`: sum (y - r x)^2.
    fn residuals(&self, r: f64) -> f64 {
        (self.yy - 2.0 * r * self.xy + r * r * self.xx).max(0.0)
    }

    /// The ratio's variance by linearisation, sum (y - R x)^2 / ((n - 1) n mean(x)^2),
    /// with the per-client residual variance at least `floor`.
    fn variance(&self, floor: f64) -> f64 {
        let r = self.ratio();
        if self.n < 2 || !r.is_finite() {
            return f64::NAN;
        }
        let n = self.n as f64;
        let per_client = (self.residuals(r) / (n - 1.0)).max(floor);
        let mean_x = self.x / n;
        per_client / (n * mean_x * mean_x)
    }
}

/// The difference of two ratios with a normal interval from their linearised variances,
/// and its two-sided p-value. Each arm's residual variance is at least the pooled one
/// (residuals of both arms around the pooled ratio): a rare loss that a small arm never
/// saw would otherwise give that arm no variance at all, as the Wald interval of a
/// proportion at 0 (the reason for Newcombe's intervals of proportions).
pub fn ratio_difference(a: &RatioSums, b: &RatioSums, z: f64) -> (Difference, f64) {
    let d = a.ratio() - b.ratio();
    let mut both = *a;
    both.merge(b);
    let pooled = if both.n > 1 {
        both.residuals(both.ratio()) / (both.n - 1) as f64
    } else {
        0.0
    };
    let se = (a.variance(pooled) + b.variance(pooled)).sqrt();
    let p = if se > 0.0 {
        2.0 * (1.0 - normal_cdf((d / se).abs()))
    } else if d.is_finite() {
        1.0
    } else {
        f64::NAN
    };
    (
        Difference {
            estimate: d,
            low: d - z * se,
            high: d + z * se,
        },
        p,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_functions_match_tables() {
        assert!(close(normal_cdf(1.959_964), 0.975, 1e-6));
        assert!(close(normal_cdf(-1.0), 0.158_655_25, 1e-6));
        assert!(close(z_of(0.95), 1.959_964, 1e-6));
        assert!(close(normal_quantile(0.001), -3.090_232, 1e-6));
        assert!(close(normal_quantile(0.9), 1.281_552, 1e-6));
    }

    #[test]
    fn wilson_matches_newcombes_table() {
        // Newcombe (1998), Table I (single proportions, 95%): 81/263 -> 0.2553, 0.3662.
        let (l, u) = wilson(81, 263, 1.959_964);
        assert!(close(l, 0.2553, 5e-5) && close(u, 0.3662, 5e-5), "{l} {u}");
        let (l, u) = wilson(0, 20, 1.959_964);
        assert!(close(l, 0.0, 1e-12) && close(u, 0.1611, 5e-5), "{l} {u}");
    }

    #[test]
    fn newcombe_method_10_matches_the_papers_examples() {
        // Newcombe (1998), Table II, method 10, 95%: (x1, n1, x2, n2) -> (low, high).
        let z = z_of(0.95);
        for (x1, n1, x2, n2, low, high) in [
            (56, 70, 48, 80, 0.0524, 0.3339),
            (9, 10, 3, 10, 0.1705, 0.8090),
            (6, 7, 2, 7, 0.0582, 0.8062),
            (5, 56, 0, 29, -0.0381, 0.1926),
            (0, 10, 0, 20, -0.1611, 0.2775),
            (0, 10, 0, 10, -0.2775, 0.2775),
        ] {
            let d = newcombe(x1, n1, x2, n2, z);
            assert!(
                close(d.low, low, 5e-5) && close(d.high, high, 5e-5),
                "{x1}/{n1} - {x2}/{n2}: {d:?}, expected {low} {high}"
            );
        }
        assert!(newcombe(1, 0, 1, 2, z).estimate.is_nan());
    }

    #[test]
    fn p_values_and_benjamini_hochberg() {
        // 56/70 vs 48/80: pooled 104/150, z = 2.6502 -> p = 0.00805.
        assert!(close(two_proportion_p(56, 70, 48, 80), 0.008_045, 1e-5));
        assert_eq!(two_proportion_p(0, 10, 0, 20), 1.0);
        // Benjamini and Hochberg's procedure on a textbook list.
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, f64::NAN]);
        let want = [0.02, 0.04, 0.04, 0.02];
        for (a, b) in q.iter().zip(want) {
            assert!(close(*a, b, 1e-12), "{q:?}");
        }
        assert!(q[4].is_nan());
    }

    #[test]
    fn a_ratio_difference_is_centred_and_shrinks_with_size() {
        let (mut a, mut b) = (RatioSums::default(), RatioSums::default());
        for i in 0..400 {
            let x = 100.0 + f64::from(i % 7);
            a.add(x, if i % 10 == 0 { 0.0 } else { x });
            b.add(x, if i % 5 == 0 { 0.0 } else { x });
        }
        let (d, p) = ratio_difference(&a, &b, 1.96);
        assert!(close(d.estimate, 0.1, 0.01), "{d:?}");
        assert!(d.low > 0.0 && d.high < 0.2 && p < 0.01, "{d:?} {p}");
        // 2 losses in 100 against none in 12: no evidence, whatever the small arm's own
        // (zero) variance says.
        let (mut t, mut h) = (RatioSums::default(), RatioSums::default());
        for i in 0..100 {
            t.add(100.0, if i < 2 { 0.0 } else { 100.0 });
        }
        for _ in 0..12 {
            h.add(100.0, 100.0);
        }
        let (d, p) = ratio_difference(&t, &h, 1.96);
        assert!(d.low < 0.0 && d.high > 0.0 && p > 0.05, "{d:?} {p}");
    }
}
