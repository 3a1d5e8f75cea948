//! Small, pure statistics for the oracle.
//!
//! - [`theil_sen`]: the Theil–Sen slope (median of pairwise slopes) with
//!   Sen's (1968) rank-based confidence interval and the Mann–Kendall trend
//!   test. It ignores up to ~29% of wild points, which matters for memory
//!   series: one GC that lands late moves a least-squares slope a lot and a
//!   median slope hardly at all.
//! - [`wilson`]: the Wilson score interval of a proportion, which stays
//!   sensible at 0 and at n successes (unlike the normal approximation).

use serde::Serialize;

/// The two-sided 95% normal quantile.
pub const Z95: f64 = 1.959_963_984_540_054;

/// An estimate with a confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Estimate {
    /// The point estimate.
    #[serde(deserialize_with = "f64_or_null")]
    pub value: f64,
    /// Lower end of the 95% interval (-inf, written as null, when unbounded).
    #[serde(deserialize_with = "f64_or_null")]
    pub lo: f64,
    /// Upper end of the 95% interval (inf, written as null, when unbounded).
    #[serde(deserialize_with = "f64_or_null")]
    pub hi: f64,
}

/// JSON has no infinities: serde_json writes them (and NaN) as null, which
/// reads back as NaN.
fn f64_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    use serde::Deserialize;
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A Theil–Sen fit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SlopeFit {
    /// Slope and its 95% interval (Sen's method).
    pub slope: Estimate,
    /// Points used.
    pub n: usize,
    /// Two-sided p-value of the Mann–Kendall test for a monotone trend.
    pub trend_p: f64,
}

/// Fits `y = a + b·x` by Theil–Sen. Pairs with equal `x` are skipped.
/// Returns `None` with fewer than two distinct `x` values.
pub fn theil_sen(xs: &[f64], ys: &[f64]) -> Option<SlopeFit> {
    assert_eq!(xs.len(), ys.len(), "theil_sen: x and y differ in length");
    let n = xs.len();
    let mut slopes = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            let dx = xs[j] - xs[i];
            if dx == 0.0 || !dx.is_finite() || !(ys[j] - ys[i]).is_finite() {
                continue;
            }
            let dy = ys[j] - ys[i];
            slopes.push(dy / dx);
            s += (sign(dx) * sign(dy)) as i64;
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let m = slopes.len();
    let median = if m % 2 == 1 { slopes[m / 2] } else { (slopes[m / 2 - 1] + slopes[m / 2]) / 2.0 };
    // Sen's interval: the slopes `b` at which Kendall's S of `y - b x` is
    // not significant at 2.5% per side. S at the threshold is the number of
    // pairwise slopes above it less those below, so the ends are order
    // statistics: with s* the smallest S whose chance with no trend is at
    // most 2.5%, the k-th slope from each end, k = (m - s*) / 2 (0-based).
    // s* comes from S's exact law up to 64 points (the normal
    // approximation misjudges short series: with its rounding the lower
    // end at four points was the smallest slope, "present" a 1-in-24
    // chance with no trend at all; found by sequential.rs's exact walk).
    let nf = n as f64;
    let var_s = nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0;
    let (lo, hi) = match crate::sequential::kendall_critical(n) {
        Some(crit) if crit <= m as i64 => {
            let k = ((m as i64 - crit) / 2) as usize;
            (slopes[k], slopes[m - 1 - k])
        }
        _ => (f64::NEG_INFINITY, f64::INFINITY),
    };
    let trend_p = if var_s > 0.0 {
        let z = (s as f64 - (s.signum() as f64)) / var_s.sqrt();
        2.0 * (1.0 - normal_cdf(z.abs()))
    } else {
        1.0
    };
    Some(SlopeFit { slope: Estimate { value: median, lo, hi }, n, trend_p })
}

fn sign(v: f64) -> i32 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// The Wilson score interval (95%) of `k` successes in `n` trials; `None`
/// when `n` is 0.
pub fn wilson(k: u64, n: u64) -> Option<Estimate> {
    if n == 0 {
        return None;
    }
    let k = k.min(n) as f64;
    let n = n as f64;
    let p = k / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(Estimate { value: p, lo: (centre - half).max(0.0), hi: (centre + half).min(1.0) })
}

/// The standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7).
pub fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

/// The median of `v` with a distribution-free 95% interval: the order
/// statistics `x(k)` and `x(n+1-k)` for the largest `k` with
/// P(Binomial(n, 1/2) < k) <= 0.025 (the sign test's interval, valid for
/// any continuous distribution). Below six values no `k` reaches 95%,
/// and the interval is the whole range (coverage 1 - 2/2^n: 94% for
/// five values, 75% for three). `None` for an empty slice.
pub fn median_interval(v: &[f64]) -> Option<Estimate> {
    let value = median(v)?;
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    // Largest k (1-based) whose lower tail P(B <= k-1) stays within 2.5%.
    let mut k = 1;
    let mut tail = 0.0; // P(B <= k-1)
    let mut pmf = 0.5f64.powi(n as i32); // P(B = 0)
    for j in 0..n {
        tail += pmf;
        if tail > 0.025 {
            break;
        }
        k = j + 1;
        pmf = pmf * (n - j) as f64 / (j + 1) as f64;
    }
    let k = k.min(n.div_ceil(2)).max(1);
    Some(Estimate { value, lo: s[k - 1], hi: s[n - k] })
}

/// The median of `v` (NaNs sort last); `None` for an empty slice.
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len();
    Some(if m % 2 == 1 { s[m / 2] } else { (s[m / 2 - 1] + s[m / 2]) / 2.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_interval_is_the_sign_test_interval() {
        // n = 10: k = 2 (P(B <= 1) = 11/1024 <= 2.5%, P(B <= 2) = 56/1024 > 2.5%).
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let e = median_interval(&v).unwrap();
        assert_eq!((e.value, e.lo, e.hi), (5.5, 2.0, 9.0));
        // n = 20: k = 6 (P(B <= 5) = 2.07%, P(B <= 6) = 5.77%).
        let v: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        let e = median_interval(&v).unwrap();
        assert_eq!((e.value, e.lo, e.hi), (10.5, 6.0, 15.0));
        // Below six values: the range.
        let e = median_interval(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((e.value, e.lo, e.hi), (2.0, 1.0, 3.0));
        assert!(median_interval(&[]).is_none());
    }

    #[test]
    fn median_interval_covers_the_median_95_percent_of_the_time() {
        // A skewed distribution (exponential, median ln 2), 20 values,
        // 4000 samples from a fixed-seed generator: coverage 95-98%
        // (the sign test's interval is conservative: 95.9% at n = 20).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            -((x >> 11) as f64 / (1u64 << 53) as f64).max(1e-12).ln()
        };
        let trials = 4000;
        let covered = (0..trials)
            .filter(|_| {
                let v: Vec<f64> = (0..20).map(|_| next()).collect();
                let e = median_interval(&v).unwrap();
                e.lo <= std::f64::consts::LN_2 && std::f64::consts::LN_2 <= e.hi
            })
            .count();
        let share = covered as f64 / trials as f64;
        assert!((0.945..=0.98).contains(&share), "coverage {share}");
    }

    fn xs(n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64).collect()
    }

    #[test]
    fn exact_line_has_a_tight_interval_and_a_strong_trend() {
        let x = xs(10);
        let y: Vec<f64> = x.iter().map(|x| 3.0 * x + 7.0).collect();
        let f = theil_sen(&x, &y).unwrap();
        assert_eq!(f.slope.value, 3.0);
        assert_eq!((f.slope.lo, f.slope.hi), (3.0, 3.0));
        assert!(f.trend_p < 1e-4, "p = {}", f.trend_p);
    }

    #[test]
    fn flat_series_has_no_trend() {
        let x = xs(12);
        let y = vec![5.0; 12];
        let f = theil_sen(&x, &y).unwrap();
        assert_eq!(f.slope.value, 0.0);
        assert!(f.trend_p > 0.999, "p = {}", f.trend_p);
    }

    #[test]
    fn outliers_barely_move_the_slope() {
        // A flat series with two wild points (a late GC, a page-in).
        let x = xs(12);
        let mut y = vec![100.0; 12];
        y[3] = 10_000.0;
        y[8] = -5_000.0;
        let f = theil_sen(&x, &y).unwrap();
        assert_eq!(f.slope.value, 0.0, "the median of pairwise slopes ignores them");
        assert!(f.slope.lo <= 0.0 && f.slope.hi >= 0.0, "and the interval covers 0: {:?}", f.slope);
        assert!(f.trend_p > 0.5, "no trend: p = {}", f.trend_p);
        // Least squares would give a slope of about -240 here.
    }

    #[test]
    fn noisy_growth_is_bracketed_by_the_interval() {
        let x = xs(12);
        let noise = [3.0, -2.0, 5.0, -4.0, 1.0, 0.0, -3.0, 4.0, -1.0, 2.0, -5.0, 3.0];
        let y: Vec<f64> = x.iter().zip(noise).map(|(x, e)| 10.0 * x + e).collect();
        let f = theil_sen(&x, &y).unwrap();
        assert!((f.slope.value - 10.0).abs() < 1.0, "{:?}", f.slope);
        assert!(f.slope.lo <= 10.0 && 10.0 <= f.slope.hi, "{:?}", f.slope);
        assert!(f.slope.lo > 5.0, "clearly positive: {:?}", f.slope);
    }

    #[test]
    fn degenerate_inputs() {
        assert!(theil_sen(&[], &[]).is_none());
        assert!(theil_sen(&[1.0], &[2.0]).is_none());
        assert!(theil_sen(&[1.0, 1.0], &[2.0, 3.0]).is_none(), "no distinct x");
        let f = theil_sen(&[0.0, 1.0], &[0.0, 2.0]).unwrap();
        assert_eq!(f.slope.value, 2.0);
        assert!(f.slope.lo.is_infinite() && f.slope.hi.is_infinite(), "two points cannot bound a slope");
    }

    #[test]
    fn wilson_interval() {
        assert!(wilson(0, 0).is_none());
        let e = wilson(0, 20_000).unwrap();
        assert_eq!((e.value, e.lo), (0.0, 0.0));
        assert!(e.hi > 0.0 && e.hi < 2e-4, "{e:?}");
        let e = wilson(50, 100).unwrap();
        assert!((e.lo - 0.4038).abs() < 1e-3 && (e.hi - 0.5962).abs() < 1e-3, "{e:?}");
        let e = wilson(10, 10).unwrap();
        assert!(e.hi > 0.999_999, "{e:?}");
        assert!(e.lo > 0.69 && e.lo < 0.73, "{e:?}");
    }

    #[test]
    fn normal_cdf_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(Z95) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
