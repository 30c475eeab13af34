//! Load shapes: how many users (closed model) or how many arrivals per
//! second (open model) the run aims for at each moment. Stages ramp
//! linearly; sine, square and spike shapes implement the same trait.

use std::fmt::Debug;
use std::time::Duration;

use crate::scenario::{Stage, StageTarget};

/// A target over time.
pub trait Shape: Send + Sync + Debug {
    /// The target (users, or arrivals per second) at `t` after the start.
    fn target(&self, t: Duration) -> f64;

    /// When the shape ends, if it does.
    fn duration(&self) -> Option<Duration>;

    /// True when the target never changes (lets the spawner spread a
    /// constant user count over the first second).
    fn is_constant(&self) -> bool {
        false
    }
}

/// The same target for the whole run.
#[derive(Debug, Clone, Copy)]
pub struct Constant(pub f64);

impl Shape for Constant {
    fn target(&self, _t: Duration) -> f64 {
        self.0
    }

    fn duration(&self) -> Option<Duration> {
        None
    }

    fn is_constant(&self) -> bool {
        true
    }
}

/// Linear ramps between stage targets, starting from zero; after the last
/// stage the shape ends.
#[derive(Debug, Clone)]
pub struct Ramps {
    /// (end time, value at the stage's start, value at its end).
    segments: Vec<(Duration, f64, f64)>,
}

impl Ramps {
    /// Ramps through `stages` in order.
    pub fn new(stages: &[Stage]) -> Ramps {
        let mut segments = Vec::with_capacity(stages.len());
        let mut at = Duration::ZERO;
        let mut from = 0.0;
        for s in stages {
            let to = match s.target {
                StageTarget::Users(u) | StageTarget::Rate(u) => u,
            };
            at += s.duration;
            segments.push((at, from, to));
            from = to;
        }
        Ramps { segments }
    }
}

impl Shape for Ramps {
    fn target(&self, t: Duration) -> f64 {
        let mut start = Duration::ZERO;
        for &(end, from, to) in &self.segments {
            if t < end {
                let span = (end - start).as_secs_f64();
                let into = (t - start).as_secs_f64();
                return if span > 0.0 {
                    from + (to - from) * into / span
                } else {
                    to
                };
            }
            start = end;
        }
        self.segments.last().map_or(0.0, |&(_, _, to)| to)
    }

    fn duration(&self) -> Option<Duration> {
        self.segments.last().map(|&(end, _, _)| end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn ramps_interpolate_linearly_from_zero() {
        let r = Ramps::new(&[
            Stage {
                duration: secs(10.0),
                target: StageTarget::Users(100.0),
            },
            Stage {
                duration: secs(20.0),
                target: StageTarget::Users(100.0),
            },
            Stage {
                duration: secs(10.0),
                target: StageTarget::Users(0.0),
            },
        ]);
        assert_eq!(r.target(secs(0.0)), 0.0);
        assert_eq!(r.target(secs(5.0)), 50.0);
        assert_eq!(r.target(secs(10.0)), 100.0);
        assert_eq!(r.target(secs(25.0)), 100.0);
        assert_eq!(r.target(secs(35.0)), 50.0);
        assert_eq!(r.target(secs(99.0)), 0.0);
        assert_eq!(r.duration(), Some(secs(40.0)));
    }

    #[test]
    fn zero_length_stages_jump() {
        let r = Ramps::new(&[
            Stage {
                duration: Duration::ZERO,
                target: StageTarget::Rate(50.0),
            },
            Stage {
                duration: secs(10.0),
                target: StageTarget::Rate(50.0),
            },
        ]);
        assert_eq!(r.target(secs(0.0)), 50.0);
        assert_eq!(r.target(secs(3.0)), 50.0);
    }

    #[test]
    fn constant_is_constant() {
        assert_eq!(Constant(7.0).target(secs(1e6)), 7.0);
        assert!(Constant(7.0).is_constant());
        assert_eq!(Constant(7.0).duration(), None);
    }
}
