//! Sets of sequence numbers, kept as ranges.

/// A set of sequence numbers, as sorted disjoint ranges: in-order traffic
/// stays one range however long the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeqSet {
    ranges: Vec<(u64, u64)>,
}

impl SeqSet {
    /// Adds `n`; false when it was there already.
    pub fn insert(&mut self, n: u64) -> bool {
        // Fast path: the next number in order.
        if let Some(last) = self.ranges.last_mut() {
            if last.1 + 1 == n {
                last.1 = n;
                return true;
            }
            if n > last.1 + 1 {
                self.ranges.push((n, n));
                return true;
            }
        }
        let i = self.ranges.partition_point(|&(_, end)| end < n);
        if i < self.ranges.len() && self.ranges[i].0 <= n {
            return false;
        }
        let joins_left = i > 0 && self.ranges[i - 1].1 + 1 == n;
        let joins_right = i < self.ranges.len() && self.ranges[i].0 == n + 1;
        match (joins_left, joins_right) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 = n,
            (false, true) => self.ranges[i].0 = n,
            (false, false) => self.ranges.insert(i, (n, n)),
        }
        true
    }

    /// The smallest number.
    pub fn first(&self) -> Option<u64> {
        self.ranges.first().map(|r| r.0)
    }

    /// The numbers from `min` on.
    pub fn at_least(&self, min: u64) -> SeqSet {
        let ranges = self
            .ranges
            .iter()
            .filter(|r| r.1 >= min)
            .map(|&(a, b)| (a.max(min), b))
            .collect();
        SeqSet { ranges }
    }

    /// How many numbers.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|&(a, b)| b - a + 1).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Adds every number of `other`.
    pub fn union(&mut self, other: &SeqSet) {
        let mut all: Vec<(u64, u64)> = self.ranges.iter().chain(&other.ranges).copied().collect();
        all.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(all.len());
        for (a, b) in all {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.ranges = merged;
    }

    /// The numbers in both.
    pub fn intersection(&self, other: &SeqSet) -> SeqSet {
        let mut ranges = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a, b) = (self.ranges[i], other.ranges[j]);
            let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
            if lo <= hi {
                ranges.push((lo, hi));
            }
            if a.1 < b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        SeqSet { ranges }
    }

    /// How many numbers of `self` are not in `other` (one sweep over both
    /// sorted range lists).
    pub fn missing_from(&self, other: &SeqSet) -> u64 {
        let mut missing = 0;
        let mut j = 0;
        for &(a, b) in &self.ranges {
            let mut covered = 0;
            while j < other.ranges.len() && other.ranges[j].1 < a {
                j += 1;
            }
            let mut k = j;
            while k < other.ranges.len() && other.ranges[k].0 <= b {
                let (lo, hi) = (a.max(other.ranges[k].0), b.min(other.ranges[k].1));
                covered += hi - lo + 1;
                k += 1;
            }
            missing += (b - a + 1) - covered;
        }
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_sets_stay_small_and_count_right() {
        let mut s = SeqSet::default();
        for n in 1..=1000 {
            assert!(s.insert(n));
        }
        assert_eq!(s.ranges.len(), 1);
        assert!(!s.insert(500));
        s.insert(1005);
        s.insert(1003);
        s.insert(1004);
        assert_eq!(s.len(), 1003);
        let mut all = SeqSet::default();
        for n in 1..=1005 {
            all.insert(n);
        }
        assert_eq!(all.missing_from(&s), 2, "1001 and 1002");
        assert_eq!(s.missing_from(&all), 0);
        assert_eq!(all.intersection(&s), s);
        let mut odd = SeqSet::default();
        for n in [999, 1001, 1003, 2000] {
            odd.insert(n);
        }
        assert_eq!(s.intersection(&odd).len(), 2, "999 and 1003");
        assert_eq!(s.at_least(1003).len(), 3);
        assert_eq!(s.first(), Some(1));
    }
}
