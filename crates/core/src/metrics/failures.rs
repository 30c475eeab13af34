//! Failures grouped by (row, cause), with when they were first and last
//! seen and an example of what differed. The table is bounded: past
//! [`MAX_CAUSES_PER_ROW`] distinct causes, a row's further causes count
//! together, so a message that varies per request cannot exhaust memory.

use super::stat::StatId;

/// Distinct causes kept per row.
pub const MAX_CAUSES_PER_ROW: usize = 50;

/// The cause under which a row's causes beyond the limit are counted.
pub const OTHER_CAUSES: &str = "other causes (too many distinct messages to list)";

/// How often one (row, cause) happened, and when.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FailureTally {
    /// Number of occurrences.
    pub count: u64,
    /// Unix time of the first occurrence, in seconds.
    pub first_seen: f64,
    /// Unix time of the last occurrence, in seconds.
    pub last_seen: f64,
}

impl FailureTally {
    fn merge(&mut self, other: &FailureTally) {
        self.count += other.count;
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
    }
}

/// One cause of failure.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The row (request or derived measure); `None` for a scenario error
    /// outside any request (a `set` whose template failed, a user that
    /// stopped on an internal error).
    pub row: Option<StatId>,
    /// What went wrong, stable from one occurrence to the next.
    pub cause: String,
    /// What was seen the first time, when the cause leaves it out (the
    /// actual value of a failed JSON check).
    pub example: Option<String>,
    /// Occurrences.
    pub tally: FailureTally,
}

impl Failure {
    /// The cause with its example, for reports.
    pub fn message(&self) -> String {
        match &self.example {
            Some(e) => format!("{} (first seen: {e})", self.cause),
            None => self.cause.clone(),
        }
    }
}

/// The failure table of a worker's interval, or of the whole run.
#[derive(Clone, Debug, Default)]
pub struct Failures {
    entries: Vec<Failure>,
}

impl Failures {
    /// Counts one occurrence of `cause` at `row`, at Unix time `now`.
    pub fn add(&mut self, row: Option<StatId>, cause: &str, example: Option<&str>, now: f64) {
        let tally = FailureTally {
            count: 1,
            first_seen: now,
            last_seen: now,
        };
        self.count(row, cause, example, &tally);
    }

    /// Adds `other`'s counts into this table (the controller's merge).
    pub fn merge(&mut self, other: Failures) {
        for f in other.entries {
            self.count(f.row, &f.cause, f.example.as_deref(), &f.tally);
        }
    }

    /// Every cause, in order of first appearance.
    pub fn iter(&self) -> impl Iterator<Item = &Failure> {
        self.entries.iter()
    }

    /// True when nothing failed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn count(
        &mut self,
        row: Option<StatId>,
        cause: &str,
        example: Option<&str>,
        tally: &FailureTally,
    ) {
        // Repeated causes find their entry without allocating.
        if let Some(f) = self
            .entries
            .iter_mut()
            .find(|f| f.row == row && f.cause == cause)
        {
            f.tally.merge(tally);
            return;
        }
        let distinct = self.entries.iter().filter(|f| f.row == row).count();
        if distinct + 1 >= MAX_CAUSES_PER_ROW && cause != OTHER_CAUSES {
            return self.count(row, OTHER_CAUSES, None, tally);
        }
        self.entries.push(Failure {
            row,
            cause: cause.to_string(),
            example: example.map(str::to_string),
            tally: *tally,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_row_and_cause_and_keeps_the_first_example() {
        let mut t = Failures::default();
        t.add(Some(StatId(0)), "HTTP 500", None, 10.0);
        t.add(Some(StatId(0)), "HTTP 500", None, 12.0);
        t.add(Some(StatId(1)), "HTTP 500", None, 11.0);
        t.add(Some(StatId(0)), "check failed: $.a", Some("\"x\""), 13.0);
        t.add(Some(StatId(0)), "check failed: $.a", Some("\"y\""), 14.0);
        t.add(None, "set x: template failed", None, 15.0);
        let all: Vec<_> = t.iter().collect();
        assert_eq!(all.len(), 4);
        assert_eq!(
            (
                all[0].tally.count,
                all[0].tally.first_seen,
                all[0].tally.last_seen
            ),
            (2, 10.0, 12.0)
        );
        assert_eq!(all[2].message(), "check failed: $.a (first seen: \"x\")");
        assert_eq!(all[3].row, None);
    }

    #[test]
    fn merging_adds_counts_and_widens_the_window() {
        let mut a = Failures::default();
        a.add(Some(StatId(0)), "reset", None, 5.0);
        let mut b = Failures::default();
        b.add(Some(StatId(0)), "reset", None, 3.0);
        b.add(Some(StatId(0)), "refused", None, 4.0);
        a.merge(b);
        let all: Vec<_> = a.iter().collect();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].tally.count, all[0].tally.first_seen), (2, 3.0));
    }

    #[test]
    fn a_varying_cause_cannot_grow_the_table_without_bound() {
        let mut t = Failures::default();
        for i in 0..10_000 {
            t.add(Some(StatId(0)), &format!("id {i}"), None, 1.0);
        }
        assert_eq!(t.iter().count(), MAX_CAUSES_PER_ROW);
        let other = t.iter().find(|f| f.cause == OTHER_CAUSES).expect("folded");
        assert_eq!(other.tally.count, 10_000 - (MAX_CAUSES_PER_ROW as u64 - 1));
        assert_eq!(t.iter().map(|f| f.tally.count).sum::<u64>(), 10_000);
    }
}
