//! Who does what: which user type the n-th user is (fixed counts first, then
//! weights in a smooth interleaving, so every prefix of users has the right
//! mix), and which task a user runs next.

use crate::scenario::UserType;

/// The order in which user types are spawned.
#[derive(Debug, Clone)]
pub struct Mix {
    /// One entry per fixed-count user, in declaration order.
    fixed: Vec<usize>,
    /// One period of the weighted interleaving.
    cycle: Vec<usize>,
}

impl Mix {
    /// The mix of `types`.
    pub fn new(types: &[UserType]) -> Mix {
        let fixed = types
            .iter()
            .enumerate()
            .flat_map(|(i, t)| std::iter::repeat_n(i, t.count.unwrap_or(0) as usize))
            .collect();
        let weights: Vec<(usize, u32)> = types
            .iter()
            .enumerate()
            .filter(|(_, t)| t.count.is_none())
            .map(|(i, t)| (i, t.weight))
            .collect();
        Mix {
            fixed,
            cycle: smooth_cycle(&weights),
        }
    }

    /// The type of the `n`-th user (from 0); `None` when only fixed-count
    /// types exist and they are all spawned.
    pub fn type_of(&self, n: u64) -> Option<usize> {
        let n = n as usize;
        if n < self.fixed.len() {
            return Some(self.fixed[n]);
        }
        if self.cycle.is_empty() {
            return None;
        }
        Some(self.cycle[(n - self.fixed.len()) % self.cycle.len()])
    }

    /// Number of fixed-count users.
    pub fn fixed_users(&self) -> u64 {
        self.fixed.len() as u64
    }

    /// The weighted type of the `n`-th open-model arrival.
    pub fn weighted(&self, n: u64) -> Option<usize> {
        (!self.cycle.is_empty()).then(|| self.cycle[n as usize % self.cycle.len()])
    }
}

/// Smooth weighted round robin (as nginx balances upstreams): weights
/// 1 and 3 give `b b a b`, not `a b b b`.
fn smooth_cycle(weights: &[(usize, u32)]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|&(_, w)| i64::from(w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, &(_, w)) in current.iter_mut().zip(weights) {
            *c += i64::from(w);
        }
        let Some(best) = (0..weights.len()).max_by_key(|&i| (current[i], -(i as i64))) else {
            break;
        };
        current[best] -= total;
        out.push(weights[best].0);
    }
    out
}

/// Picks among weighted items at random.
#[derive(Debug, Clone)]
pub struct WeightedPick {
    cumulative: Vec<u64>,
}

impl WeightedPick {
    /// A picker over `weights` (each at least 1).
    pub fn new(weights: impl IntoIterator<Item = u32>) -> WeightedPick {
        let mut total = 0u64;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += u64::from(w.max(1));
                total
            })
            .collect();
        WeightedPick { cumulative }
    }

    /// An index, chosen with probability proportional to its weight.
    pub fn pick(&self) -> usize {
        match self.cumulative.last() {
            None | Some(0) => 0,
            Some(&total) => {
                let r = fastrand::u64(..total);
                self.cumulative.partition_point(|&c| c <= r)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(weight: u32, count: Option<u32>) -> UserType {
        UserType::for_tests(weight, count)
    }

    #[test]
    fn fixed_counts_come_first_then_weights_interleave() {
        let mix = Mix::new(&[user(1, None), user(0, Some(2)), user(3, None)]);
        let first: Vec<usize> = (0..10).filter_map(|n| mix.type_of(n)).collect();
        assert_eq!(&first[..2], &[1, 1]);
        assert_eq!(&first[2..6], &[2, 0, 2, 2]);
        assert_eq!(&first[6..10], &first[2..6], "the cycle repeats");
        assert_eq!(mix.fixed_users(), 2);
    }

    #[test]
    fn every_prefix_is_close_to_the_weights() {
        let mix = Mix::new(&[user(1, None), user(3, None)]);
        for n in 1..=40u64 {
            let zeros = (0..n).filter(|&i| mix.type_of(i) == Some(0)).count() as f64;
            assert!((zeros - n as f64 / 4.0).abs() <= 1.0, "prefix {n}: {zeros}");
        }
    }

    #[test]
    fn only_fixed_types_run_out() {
        let mix = Mix::new(&[user(0, Some(1))]);
        assert_eq!(mix.type_of(0), Some(0));
        assert_eq!(mix.type_of(1), None);
        assert_eq!(mix.weighted(0), None);
    }

    #[test]
    fn weighted_pick_follows_weights() {
        let p = WeightedPick::new([1, 9]);
        let nines = (0..10_000).filter(|_| p.pick() == 1).count();
        assert!((8500..9500).contains(&nines), "{nines}");
        assert_eq!(WeightedPick::new([5]).pick(), 0);
    }
}
