//! `setup:` — what is done to the system under test before the load
//! starts (in a scenario, or in a suite's run): empty the queue target,
//! fill a queue with the prepopulator.
//!
//! ```yaml
//! setup:
//!   - reset: true
//!   - prepopulate: { queue: q1, items: 10k, priorities: 0-2, item_size: 1KB }
//! ```

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::error::{Loc, Problem};
use super::values::CountValue;
use crate::prepopulate::parse_priorities;
use crate::units;
use std::ops::RangeInclusive;

/// One setup step as written: exactly one of the keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RawSetup {
    /// Empty every queue of the queue target (`POST /admin/reset`, which
    /// needs the target's `--admin`).
    Reset(bool),
    /// Bulk-load a queue.
    Prepopulate(RawPrepopulate),
}

/// `prepopulate:` — see `cicada prepopulate --help`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrepopulate {
    /// The queue id.
    pub queue: String,
    /// How many items.
    pub items: CountValue,
    /// Priorities, `0-2` or `3`.
    pub priorities: Option<String>,
    /// Size of each item, `1KB`.
    pub item_size: Option<String>,
    /// Requests in flight at once.
    pub concurrency: Option<CountValue>,
    /// Items per request.
    pub batch: Option<CountValue>,
}

/// A validated setup step.
#[derive(Clone, Debug, PartialEq)]
pub enum SetupStep {
    /// Empty the queue target.
    Reset,
    /// Fill a queue.
    Prepopulate(Prepopulate),
}

/// What to load into which queue.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepopulate {
    /// The queue id.
    pub queue: String,
    /// How many items.
    pub items: u64,
    /// Priorities, spread evenly.
    pub priorities: RangeInclusive<u8>,
    /// Bytes per item.
    pub item_size: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Items per request.
    pub batch: usize,
}

/// The fewest items a scaled-down prepopulation loads: a smoke run still
/// pops from a queue that is not empty at once.
pub const MIN_SCALED_ITEMS: u64 = 100;

impl SetupStep {
    /// The step with item counts multiplied by `factor` (a suite's
    /// `--scale`), at least [`MIN_SCALED_ITEMS`] unless it was smaller.
    pub fn scaled(&self, factor: f64) -> SetupStep {
        match self {
            SetupStep::Prepopulate(p) => {
                let scaled = (p.items as f64 * factor).round() as u64;
                SetupStep::Prepopulate(Prepopulate {
                    items: scaled.max(MIN_SCALED_ITEMS.min(p.items)),
                    ..p.clone()
                })
            }
            other => other.clone(),
        }
    }
}

/// Validates the steps; problems carry their location.
pub fn setup_steps(raw: &[Spanned<RawSetup>]) -> Result<Vec<SetupStep>, Vec<Problem>> {
    let mut steps = Vec::new();
    let mut problems = Vec::new();
    for s in raw {
        let loc = Loc::of(s);
        let mut bad = |message: String| problems.push(Problem { loc, message });
        match &s.value {
            RawSetup::Reset(true) => steps.push(SetupStep::Reset),
            RawSetup::Reset(false) => {}
            RawSetup::Prepopulate(p) => {
                let priorities = match parse_priorities(p.priorities.as_deref().unwrap_or("0")) {
                    Ok(range) => range,
                    Err(e) => {
                        bad(format!("prepopulate: {e}"));
                        continue;
                    }
                };
                let item_size = match units::parse_size(p.item_size.as_deref().unwrap_or("100B")) {
                    Ok(n) if n > 0 => n,
                    Ok(_) => {
                        bad("prepopulate: item_size must be above 0".into());
                        continue;
                    }
                    Err(e) => {
                        bad(format!("prepopulate: {e}"));
                        continue;
                    }
                };
                let count = |c: Option<CountValue>, default: u64| c.map_or(default, |c| c.0).max(1);
                steps.push(SetupStep::Prepopulate(Prepopulate {
                    queue: p.queue.clone(),
                    items: p.items.0,
                    priorities,
                    item_size,
                    concurrency: count(p.concurrency, 64) as usize,
                    batch: count(p.batch, 500) as usize,
                }));
            }
        }
    }
    if problems.is_empty() {
        Ok(steps)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Result<Vec<SetupStep>, String> {
        let raw: Vec<Spanned<RawSetup>> =
            serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
        setup_steps(&raw)
            .map_err(|p| format!("{}:{} {}", p[0].loc.line, p[0].loc.column, p[0].message))
    }

    #[test]
    fn reset_and_prepopulate_are_read_with_defaults() {
        let steps = read("- reset: true\n- prepopulate: {queue: q1, items: 10k, priorities: 0-2, item_size: 1KB}\n")
            .expect("valid");
        assert_eq!(steps[0], SetupStep::Reset);
        assert_eq!(
            steps[1],
            SetupStep::Prepopulate(Prepopulate {
                queue: "q1".into(),
                items: 10_000,
                priorities: 0..=2,
                item_size: 1024,
                concurrency: 64,
                batch: 500,
            })
        );
        let small = steps[1].scaled(0.05);
        assert!(matches!(small, SetupStep::Prepopulate(ref p) if p.items == 500));
        let tiny = steps[1].scaled(0.000_01);
        assert!(matches!(tiny, SetupStep::Prepopulate(ref p) if p.items == MIN_SCALED_ITEMS));
    }

    #[test]
    fn bad_steps_are_located() {
        let e = read("- reset: true\n- prepopulate: {queue: q1, items: 10, priorities: 3-1}\n")
            .expect_err("bad range");
        assert!(
            e.starts_with("2:") && e.contains("invalid priorities '3-1'"),
            "{e}"
        );
        let e =
            read("- prepopulate: {queue: q1, items: 10, priorities: 12}\n").expect_err("above 9");
        assert!(e.contains("0-9"), "{e}");
        let e = read("- wipe: true\n").expect_err("unknown step");
        assert!(e.contains("reset") && e.contains("prepopulate"), "{e}");
    }
}
