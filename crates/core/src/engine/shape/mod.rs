//! Load shapes: how many users (closed model) or how many arrivals per
//! second (open model) the run aims for at each moment. Stages ramp
//! linearly; sine, square and spike shapes implement the same trait.

use std::fmt::Debug;
use std::time::Duration;

use crate::scenario::{Stage, StageTarget};

mod waves;

pub use waves::from_spec;

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

    /// The integral of the target from the start to `t`: for a rate, the
    /// number of arrivals due by then — the open model's clock. The
    /// default integrates numerically in 10 ms steps.
    fn cumulative(&self, t: Duration) -> f64 {
        let step: f64 = 0.01;
        let end = t.as_secs_f64();
        let mut acc = 0.0;
        let mut at = 0.0;
        while at < end {
            let width = step.min(end - at);
            let mid = Duration::from_secs_f64(at + width / 2.0);
            acc += self.target(mid).max(0.0) * width;
            at += width;
        }
        acc
    }

    /// When arrival number `n` (from 0) is due: the first moment at which
    /// [`Shape::cumulative`] reaches `n`; `None` if not before `horizon`.
    fn arrival_time(&self, n: f64, horizon: Duration) -> Option<Duration> {
        self.next_arrival(n, Duration::ZERO, horizon, self.cumulative(horizon))
    }

    /// [`Shape::arrival_time`] for a caller asking in increasing `n` (the
    /// open model's generator): the search starts at `after`, the time of
    /// an earlier arrival, and `total` is `cumulative(horizon)`, computed
    /// once by the caller — so an arrival costs a short search, not one
    /// over the whole run.
    fn next_arrival(
        &self,
        n: f64,
        after: Duration,
        horizon: Duration,
        total: f64,
    ) -> Option<Duration> {
        if total < n {
            return None;
        }
        let (mut lo, mut hi) = (after.as_secs_f64(), horizon.as_secs_f64());
        while hi - lo > 1e-6 {
            let mid = (lo + hi) / 2.0;
            if self.cumulative(Duration::from_secs_f64(mid)) >= n {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(Duration::from_secs_f64(hi))
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

    fn cumulative(&self, t: Duration) -> f64 {
        self.0.max(0.0) * t.as_secs_f64()
    }

    fn next_arrival(
        &self,
        n: f64,
        _after: Duration,
        horizon: Duration,
        _total: f64,
    ) -> Option<Duration> {
        self.arrival_time(n, horizon)
    }

    fn arrival_time(&self, n: f64, horizon: Duration) -> Option<Duration> {
        if n <= 0.0 {
            return Some(Duration::ZERO);
        }
        if self.0 <= 0.0 {
            return None;
        }
        let t = n / self.0;
        (t <= horizon.as_secs_f64()).then(|| Duration::from_secs_f64(t))
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

    fn cumulative(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let mut acc = 0.0;
        let mut start = 0.0;
        let mut last = 0.0;
        for &(end, from, to) in &self.segments {
            let end = end.as_secs_f64();
            let until = t.min(end);
            if until > start {
                let span = end - start;
                let at = if span > 0.0 {
                    from + (to - from) * (until - start) / span
                } else {
                    to
                };
                acc += (from + at).max(0.0) / 2.0 * (until - start);
            }
            if t <= end {
                return acc;
            }
            start = end;
            last = to;
        }
        acc + last.max(0.0) * (t - start)
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
    fn cumulative_arrivals_follow_ramps_and_steps() {
        let r = Ramps::new(&[
            Stage {
                duration: secs(10.0),
                target: StageTarget::Rate(20.0),
            },
            Stage {
                duration: secs(0.0),
                target: StageTarget::Rate(50.0),
            },
            Stage {
                duration: secs(10.0),
                target: StageTarget::Rate(50.0),
            },
        ]);
        assert!(
            (r.cumulative(secs(10.0)) - 100.0).abs() < 1e-9,
            "a ramp 0→20/s over 10 s is 100 arrivals"
        );
        assert!((r.cumulative(secs(20.0)) - 600.0).abs() < 1e-9);
        assert!(
            (r.cumulative(secs(25.0)) - 850.0).abs() < 1e-9,
            "the last rate holds after the stages"
        );
        // Arrival 50 of a 0→20/s ramp: 50 = t²·(20/10)/2, t = √50.
        let t = r.arrival_time(50.0, secs(30.0)).expect("due").as_secs_f64();
        assert!((t - 50f64.sqrt()).abs() < 1e-5, "{t}");
        assert!(r.arrival_time(1e6, secs(30.0)).is_none());
        let low_then_high = Ramps::new(&[
            Stage {
                duration: secs(0.0),
                target: StageTarget::Rate(0.1),
            },
            Stage {
                duration: secs(2.0),
                target: StageTarget::Rate(0.1),
            },
            Stage {
                duration: secs(0.0),
                target: StageTarget::Rate(50.0),
            },
            Stage {
                duration: secs(6.0),
                target: StageTarget::Rate(50.0),
            },
        ]);
        assert!((low_then_high.cumulative(secs(8.0)) - 300.2).abs() < 1e-9);
    }

    #[test]
    fn constant_rates_invert_exactly() {
        let c = Constant(200.0);
        assert_eq!(c.arrival_time(0.0, secs(1.0)), Some(Duration::ZERO));
        assert_eq!(c.arrival_time(100.0, secs(1.0)), Some(secs(0.5)));
        assert_eq!(c.arrival_time(300.0, secs(1.0)), None);
        assert_eq!(Constant(0.0).arrival_time(1.0, secs(1.0)), None);
    }

    #[test]
    fn the_default_integral_agrees_with_closed_forms() {
        #[derive(Debug)]
        struct Linear;
        impl Shape for Linear {
            fn target(&self, t: Duration) -> f64 {
                2.0 * t.as_secs_f64()
            }
            fn duration(&self) -> Option<Duration> {
                None
            }
        }
        assert!((Linear.cumulative(secs(3.0)) - 9.0).abs() < 1e-6);
        let t = Linear
            .arrival_time(4.0, secs(10.0))
            .expect("due")
            .as_secs_f64();
        assert!((t - 2.0).abs() < 1e-5, "{t}");
    }

    #[test]
    fn constant_is_constant() {
        assert_eq!(Constant(7.0).target(secs(1e6)), 7.0);
        assert!(Constant(7.0).is_constant());
        assert_eq!(Constant(7.0).duration(), None);
    }
}
