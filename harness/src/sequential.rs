//! Sequential decisions for early stopping: a run's samples are looked at
//! as each one arrives, and the run stops once they decide a signal, with
//! the chance of a wrong decision bounded over *all* the looks, not per
//! look.
//!
//! Looking after every sample with a fixed 95% interval spends 2.5% per
//! side at every look: over a run's looks the chance that some look
//! crosses the threshold by noise alone adds up (8-16% per side for the
//! rule this replaced, computed exactly in this module's tests).
//! Here each look gets its own boundary, chosen so that the chance of
//! crossing *any* of them when the true value sits exactly on the
//! threshold is at most [`ALPHA`] per side.
//!
//! Two null walks, both distribution-free (no noise model: only that the
//! noise around the threshold's line is exchangeable):
//! - [`Walk::Kendall`] for a slope: the residuals `y - threshold * x` in
//!   time order and Kendall's `S` (pairs whose residual rises with `x`
//!   less pairs where it falls). `S > 0` says the Theil-Sen slope is above
//!   the threshold, and Sen's interval lies above it exactly when `S` is
//!   large, so this is the test behind the oracle's own interval. Under
//!   the null the sequential ranks of the residuals are independent and
//!   uniform, so `S` is a random walk whose `j`-th step is uniform on
//!   `{-(j-1), -(j-3), ..., j-1}`.
//! - [`Walk::Sign`] for a rate: each round's increment `dm - threshold *
//!   dp` (the rate's own residual; a cumulative counter is a random walk,
//!   not a line with noise, so its increments are what can be exchangeable)
//!   and the sign count `2k - n` of `n` non-zero increments, `k` of them
//!   positive: a walk of steps +-1.
//!
//! Boundaries are computed once per walk and horizon (the most samples a
//! run can give) by dynamic programming over the walk's exact null law,
//! greedily: at look `n` the smallest boundary that keeps the probability
//! of having crossed any boundary so far within `ALPHA * cbrt(n /
//! horizon)`. That alpha-spending function spends most of the budget early,
//! because most cells are clear and the first looks that can decide are
//! what they pay for: a clear slope is decided at its fifth point (every
//! pair rising, 1 in 120 by chance), a clear rate at its sixth increment
//! (1 in 64), where a Bonferroni split over the looks or a square-root
//! spending (tried) decide a rate only at the seventh. Where no boundary
//! fits the budget the look is skipped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The chance, per side, of a wrong decision over all of a run's
/// sequential looks when the truth sits exactly on the threshold.
pub const ALPHA: f64 = 0.025;

/// The most looks a walk's table covers: the exact law of Kendall's `S`
/// over `n` points has `n (n - 1) + 1` values, and the table costs
/// `O(n^3)` once per horizon. Samples past it get no sequential look (the
/// run is still decided at its nominal rounds and at its end).
pub const MAX_LOOKS: usize = 64;

/// Which statistic a look reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Walk {
    /// Kendall's `S` of `n` points (a slope against its threshold).
    Kendall,
    /// `2k - n` of `n` signed increments (a rate against its threshold).
    Sign,
}

impl Walk {
    /// The step the `j`-th item adds (each value equally likely under the
    /// null), for `j >= 1`.
    fn steps(self, j: usize) -> Vec<i64> {
        match self {
            // The j-th point's rank among the first j is uniform on 1..=j:
            // it is above r-1 of the earlier points and below j-r.
            Walk::Kendall => (1..=j as i64).map(|r| 2 * r - 1 - j as i64).collect(),
            Walk::Sign => vec![-1, 1],
        }
    }

    /// The largest value the statistic can take after `n` items.
    fn max(self, n: usize) -> i64 {
        match self {
            Walk::Kendall => (n * n.saturating_sub(1) / 2) as i64,
            Walk::Sign => n as i64,
        }
    }
}

/// The law of a walk's paths that have not crossed a boundary yet.
struct Survivors {
    walk: Walk,
    /// `mass[s + offset]`: the probability of being at `s` and not yet
    /// absorbed.
    mass: Vec<f64>,
    offset: i64,
    /// Items so far.
    n: usize,
}

impl Survivors {
    fn new(walk: Walk, horizon: usize) -> Self {
        let offset = walk.max(horizon);
        let mut mass = vec![0.0; (2 * offset + 1) as usize];
        mass[offset as usize] = 1.0;
        Survivors { walk, mass, offset, n: 0 }
    }

    /// One more item.
    fn step(&mut self) {
        self.n += 1;
        let steps = self.walk.steps(self.n);
        let w = 1.0 / steps.len() as f64;
        let mut next = vec![0.0; self.mass.len()];
        let reach = self.walk.max(self.n - 1);
        for s in -reach..=reach {
            let p = self.mass[(s + self.offset) as usize];
            if p == 0.0 {
                continue;
            }
            for d in &steps {
                next[(s + d + self.offset) as usize] += p * w;
            }
        }
        self.mass = next;
    }

    /// The probability of being at `s` now.
    fn at(&self, s: i64) -> f64 {
        self.mass.get((s + self.offset) as usize).copied().unwrap_or(0.0)
    }

    /// The probability of being at `c` or above now (the tests' exact
    /// error rates).
    #[cfg(test)]
    fn upper_tail(&self, c: i64) -> f64 {
        let top = self.walk.max(self.n);
        (c.max(-top)..=top).map(|s| self.mass[(s + self.offset) as usize]).sum()
    }

    /// Absorbs every path at `c` or beyond on either side.
    fn absorb(&mut self, c: i64) {
        let top = self.walk.max(self.n);
        for s in c..=top {
            self.mass[(s + self.offset) as usize] = 0.0;
            self.mass[(-s + self.offset) as usize] = 0.0;
        }
    }
}

/// Up to this many points Kendall's S gets its exact law in
/// [`kendall_critical`]; beyond, the normal approximation (with a
/// continuity correction), which is close.
pub const EXACT_KENDALL: usize = MAX_LOOKS;

/// The smallest value of Kendall's S over `n` points whose chance, with no
/// trend (every order of the points equally likely), is at most 2.5%:
/// where Sen's 95% interval (`stats::theil_sen`) ends. `None` where even
/// every pair rising is likelier (four points or fewer). The same walk as
/// the boundaries', with nothing absorbed.
pub fn kendall_critical(n: usize) -> Option<i64> {
    static TABLE: OnceLock<Vec<Option<i64>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut sv = Survivors::new(Walk::Kendall, EXACT_KENDALL);
        let mut crit = vec![None; EXACT_KENDALL + 1];
        for slot in crit.iter_mut().skip(1) {
            sv.step();
            let mut tail = 0.0;
            for s in (1..=Walk::Kendall.max(sv.n)).rev() {
                let p = sv.at(s);
                if tail + p > ALPHA * (1.0 + 1e-12) {
                    break;
                }
                tail += p;
                if p > 0.0 {
                    *slot = Some(s);
                }
            }
        }
        crit
    });
    if n <= EXACT_KENDALL {
        return table.get(n).copied().flatten();
    }
    let nf = n as f64;
    let sd = (nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0).sqrt();
    let m = (n * (n - 1) / 2) as i64;
    // P(S >= s) ~ 1 - Phi((s - 1) / sd); S has the parity of m.
    let mut s = (crate::stats::Z95 * sd + 1.0).ceil() as i64;
    if (s - m).rem_euclid(2) != 0 {
        s += 1;
    }
    Some(s)
}

/// The boundaries of one walk over one horizon.
#[derive(Debug)]
pub struct Boundaries {
    /// `bound[n]`: decide at `n` items once `|stat| >= bound[n]`; `None`
    /// where no boundary fits the budget.
    bound: Vec<Option<i64>>,
    /// The exact chance, per side, that a walk with no trend crosses any
    /// boundary (at most [`ALPHA`]).
    pub crossing: f64,
}

impl Boundaries {
    /// Computes the boundaries (see the module's documentation).
    pub fn new(walk: Walk, horizon: usize, alpha: f64) -> Self {
        let horizon = horizon.clamp(1, MAX_LOOKS);
        let mut sv = Survivors::new(walk, horizon);
        let mut bound = vec![None; horizon + 1];
        let mut crossed = 0.0;
        for (n, slot) in bound.iter_mut().enumerate().skip(1) {
            sv.step();
            let budget = alpha * (n as f64 / horizon as f64).cbrt();
            // The smallest c > 0 whose upper tail still fits the budget.
            // (The upper tail grows as c comes down: summed as it goes.)
            let mut chosen = None;
            let mut tail = 0.0;
            for c in (1..=walk.max(n)).rev() {
                let p = sv.at(c);
                if crossed + tail + p > budget * (1.0 + 1e-12) {
                    break;
                }
                tail += p;
                if p > 0.0 {
                    // (Only values the statistic can take: S has the parity
                    // of n (n - 1) / 2, the sign count that of n.)
                    chosen = Some((c, tail));
                }
            }
            if let Some((c, tail)) = chosen
                && tail > 0.0
            {
                *slot = Some(c);
                crossed += tail;
                sv.absorb(c);
            }
        }
        Boundaries { bound, crossing: crossed }
    }

    /// The boundary at `n` items, if that look may decide.
    pub fn at(&self, n: usize) -> Option<i64> {
        self.bound.get(n).copied().flatten()
    }

    /// What the statistic `stat` after `n` items says.
    pub fn decide(&self, n: usize, stat: i64) -> Look {
        match self.at(n) {
            Some(c) if stat >= c => Look::Above,
            Some(c) if stat <= -c => Look::Below,
            _ => Look::Open,
        }
    }

    /// The first decision along a path (`path[k - 1]`: the statistic after
    /// `k` items): a boundary crossed at an earlier look stays crossed
    /// (that is how [`Boundaries::crossing`] counts it), though a later
    /// look may have no boundary or a higher one.
    pub fn first_decision(&self, path: &[i64]) -> Look {
        path.iter().enumerate().map(|(k, &s)| self.decide(k + 1, s)).find(|l| *l != Look::Open).unwrap_or(Look::Open)
    }
}

/// What one look says about a signal against its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    /// Decided above the threshold.
    Above,
    /// Decided below it.
    Below,
    /// Not decided yet.
    Open,
}

/// The boundaries for a walk and horizon at [`ALPHA`], computed once per
/// process.
pub fn boundaries(walk: Walk, horizon: usize) -> Arc<Boundaries> {
    type Tables = Mutex<HashMap<(Walk, usize), Arc<Boundaries>>>;
    static CACHE: OnceLock<Tables> = OnceLock::new();
    let horizon = horizon.clamp(1, MAX_LOOKS);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(b) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&(walk, horizon)) {
        return b.clone();
    }
    // Computed outside the lock: two threads may both compute a table the
    // first time; they agree.
    let b = Arc::new(Boundaries::new(walk, horizon, ALPHA));
    cache.lock().unwrap_or_else(|e| e.into_inner()).entry((walk, horizon)).or_insert(b).clone()
}

/// Kendall's `S` of the residuals `y - threshold * x` after each point
/// (`path[k - 1]` over the first `k`), pairs in sample order: +1 where a
/// later point's residual is above an earlier one's with `x` grown (their
/// pairwise slope is above the threshold), -1 where below; pairs with
/// equal `x` or equal residuals count 0.
pub fn kendall_path(xs: &[f64], ys: &[f64], threshold: f64) -> Vec<i64> {
    let r: Vec<f64> = xs.iter().zip(ys).map(|(x, y)| y - threshold * x).collect();
    let mut s = 0i64;
    (0..r.len())
        .map(|j| {
            for i in 0..j {
                let dx = xs[j] - xs[i];
                let dr = r[j] - r[i];
                if dx != 0.0 && dr != 0.0 && dx.is_finite() && dr.is_finite() {
                    s += if (dx > 0.0) == (dr > 0.0) { 1 } else { -1 };
                }
            }
            s
        })
        .collect()
}

/// The sign statistic of a rate's increments against its threshold after
/// each non-zero one (`path[k - 1]` over the first `k`): `2k - n` for `n`
/// increments whose residual `dm - threshold * dp` is not zero, `k` of
/// them positive.
pub fn sign_path(points: &[(f64, f64)], threshold: f64) -> Vec<i64> {
    let mut s = 0i64;
    points
        .windows(2)
        .filter_map(|w| {
            let d = (w[1].1 - w[0].1) - threshold * (w[1].0 - w[0].0);
            (d != 0.0 && d.is_finite()).then(|| {
                s += if d > 0.0 { 1 } else { -1 };
                s
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
