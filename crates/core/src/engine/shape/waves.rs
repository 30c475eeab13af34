//! The shapes of the scenario's `sine`, `square`, `spike` and `custom`
//! levels, each with its integral in closed form: the open model asks for
//! the arrival due at each moment many times a second, and the numeric
//! default would cost more the longer the run.

use std::f64::consts::TAU;
use std::sync::Arc;
use std::time::Duration;

use super::Shape;
use crate::scenario::ShapeSpec;

/// The engine's shape for a validated spec.
pub fn from_spec(spec: &ShapeSpec) -> Arc<dyn Shape> {
    match spec.clone() {
        ShapeSpec::Sine { min, max, period } => Arc::new(Sine {
            min,
            max,
            period: period.as_secs_f64(),
        }),
        ShapeSpec::Square {
            high,
            low,
            high_for,
            low_for,
        } => Arc::new(Square {
            high,
            low,
            high_for: high_for.as_secs_f64(),
            low_for: low_for.as_secs_f64(),
        }),
        ShapeSpec::Spike {
            base,
            peak,
            at,
            length,
        } => Arc::new(Spike {
            base,
            peak,
            at: at.as_secs_f64(),
            until: (at + length).as_secs_f64(),
        }),
        ShapeSpec::Custom(points) => Arc::new(Points {
            points: points.iter().map(|&(t, v)| (t.as_secs_f64(), v)).collect(),
        }),
    }
}

/// `min` at the start, `max` half a period later, `min` again after one.
#[derive(Debug)]
struct Sine {
    /// Lowest value.
    min: f64,
    /// Highest value.
    max: f64,
    /// Seconds per wave (above 0: checked by the scenario).
    period: f64,
}

impl Shape for Sine {
    fn target(&self, t: Duration) -> f64 {
        let phase = TAU * t.as_secs_f64() / self.period;
        self.min + (self.max - self.min) * (1.0 - phase.cos()) / 2.0
    }

    fn duration(&self) -> Option<Duration> {
        None
    }

    fn cumulative(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let amplitude = self.max - self.min;
        let wave = t - self.period / TAU * (TAU * t / self.period).sin();
        self.min * t + amplitude / 2.0 * wave
    }
}

/// `high` for `high_for` seconds, then `low` for `low_for`, repeated.
#[derive(Debug)]
struct Square {
    /// The high level.
    high: f64,
    /// The low level.
    low: f64,
    /// Seconds high per cycle.
    high_for: f64,
    /// Seconds low per cycle.
    low_for: f64,
}

impl Square {
    /// Seconds per cycle.
    fn cycle(&self) -> f64 {
        self.high_for + self.low_for
    }
}

impl Shape for Square {
    fn target(&self, t: Duration) -> f64 {
        if t.as_secs_f64() % self.cycle() < self.high_for {
            self.high
        } else {
            self.low
        }
    }

    fn duration(&self) -> Option<Duration> {
        None
    }

    fn cumulative(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let cycles = (t / self.cycle()).floor();
        let into = t - cycles * self.cycle();
        let per_cycle = self.high * self.high_for + self.low * self.low_for;
        let partial =
            self.high * into.min(self.high_for) + self.low * (into - self.high_for).max(0.0);
        cycles * per_cycle + partial
    }
}

/// `base`, except `peak` between `at` and `until`.
#[derive(Debug)]
struct Spike {
    /// The level outside the spike.
    base: f64,
    /// The level in the spike.
    peak: f64,
    /// Start of the spike, seconds.
    at: f64,
    /// End of the spike, seconds.
    until: f64,
}

impl Shape for Spike {
    fn target(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        if t >= self.at && t < self.until {
            self.peak
        } else {
            self.base
        }
    }

    fn duration(&self) -> Option<Duration> {
        None
    }

    fn cumulative(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let inside = (t.min(self.until) - self.at).max(0.0);
        self.base * t + (self.peak - self.base) * inside
    }
}

/// Straight lines between points; the first value before the first point.
#[derive(Debug)]
struct Points {
    /// (seconds, value), in time order, at least one.
    points: Vec<(f64, f64)>,
}

impl Points {
    /// The line the shape follows at `t`: (start, end) points, equal
    /// before the first point and after the last.
    fn segment(&self, t: f64) -> ((f64, f64), (f64, f64)) {
        let first = self.points.first().copied().unwrap_or((0.0, 0.0));
        let last = self.points.last().copied().unwrap_or(first);
        if t < first.0 {
            return ((0.0, first.1), first);
        }
        // The last segment whose start is not after t (a jump at t takes
        // the later value).
        let i = self.points.partition_point(|p| p.0 <= t);
        match (self.points.get(i.wrapping_sub(1)), self.points.get(i)) {
            (Some(&a), Some(&b)) => (a, b),
            _ => (last, last),
        }
    }
}

impl Shape for Points {
    fn target(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let ((t0, v0), (t1, v1)) = self.segment(t);
        if t1 > t0 {
            v0 + (v1 - v0) * (t - t0) / (t1 - t0)
        } else {
            v1
        }
    }

    fn duration(&self) -> Option<Duration> {
        self.points.last().map(|p| Duration::from_secs_f64(p.0))
    }

    fn cumulative(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let mut acc = 0.0;
        let mut a = (0.0, self.points.first().map_or(0.0, |p| p.1));
        for &b in &self.points {
            if a.0 >= t {
                return acc;
            }
            if b.0 > a.0 {
                let end = t.min(b.0);
                let at_end = a.1 + (b.1 - a.1) * (end - a.0) / (b.0 - a.0);
                acc += (a.1 + at_end) / 2.0 * (end - a.0);
            }
            a = b;
        }
        acc + a.1 * (t - a.0).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    /// The closed-form integral against the trait's numeric default.
    fn numeric(shape: &dyn Shape, t: f64) -> f64 {
        let step: f64 = 0.001;
        let mut acc = 0.0;
        let mut at = 0.0;
        while at < t {
            let w = step.min(t - at);
            acc += shape.target(secs(at + w / 2.0)) * w;
            at += w;
        }
        acc
    }

    #[test]
    fn sine_goes_from_min_to_max_and_back() {
        let s = from_spec(&ShapeSpec::Sine {
            min: 10.0,
            max: 200.0,
            period: secs(300.0),
        });
        assert!(close(s.target(secs(0.0)), 10.0));
        assert!(close(s.target(secs(150.0)), 200.0));
        assert!(close(s.target(secs(75.0)), 105.0));
        assert!(close(s.target(secs(300.0)), 10.0));
        // Over a full wave the mean is halfway: 105/s for 300 s.
        assert!(close(s.cumulative(secs(300.0)), 105.0 * 300.0));
        for t in [1.0, 77.7, 212.5] {
            assert!(
                (s.cumulative(secs(t)) - numeric(&*s, t)).abs() < 0.01,
                "{t}"
            );
        }
    }

    #[test]
    fn square_alternates_high_and_low() {
        let s = from_spec(&ShapeSpec::Square {
            high: 200.0,
            low: 10.0,
            high_for: secs(30.0),
            low_for: secs(30.0),
        });
        assert_eq!(s.target(secs(0.0)), 200.0);
        assert_eq!(s.target(secs(29.9)), 200.0);
        assert_eq!(s.target(secs(30.0)), 10.0);
        assert_eq!(s.target(secs(61.0)), 200.0);
        assert!(close(s.cumulative(secs(60.0)), 6300.0));
        assert!(close(s.cumulative(secs(75.0)), 6300.0 + 3000.0));
        assert!(close(s.cumulative(secs(100.0)), 6300.0 + 6000.0 + 100.0));
    }

    #[test]
    fn spike_rises_for_its_length_only() {
        let s = from_spec(&ShapeSpec::Spike {
            base: 50.0,
            peak: 500.0,
            at: secs(240.0),
            length: secs(60.0),
        });
        assert_eq!(s.target(secs(239.0)), 50.0);
        assert_eq!(s.target(secs(240.0)), 500.0);
        assert_eq!(s.target(secs(300.0)), 50.0);
        assert!(close(s.cumulative(secs(240.0)), 12000.0));
        assert!(close(s.cumulative(secs(300.0)), 12000.0 + 30000.0));
        assert!(close(s.cumulative(secs(310.0)), 42000.0 + 500.0));
        let t = s.arrival_time(12000.0 + 500.0, secs(400.0)).expect("due");
        assert!(close(t.as_secs_f64(), 241.0), "{t:?}");
    }

    #[test]
    fn custom_points_interpolate_and_end_at_the_last() {
        let s = from_spec(&ShapeSpec::Custom(vec![
            (secs(0.0), 10.0),
            (secs(10.0), 30.0),
            (secs(10.0), 5.0),
            (secs(20.0), 5.0),
        ]));
        assert_eq!(s.target(secs(0.0)), 10.0);
        assert!(close(s.target(secs(5.0)), 20.0));
        assert_eq!(s.target(secs(10.0)), 5.0, "a jump takes the later value");
        assert_eq!(s.target(secs(15.0)), 5.0);
        assert_eq!(s.duration(), Some(secs(20.0)));
        assert!(close(s.cumulative(secs(10.0)), 200.0));
        assert!(close(s.cumulative(secs(20.0)), 250.0));
        for t in [3.3, 12.0] {
            assert!(
                (s.cumulative(secs(t)) - numeric(&*s, t)).abs() < 0.01,
                "{t}"
            );
        }
        let late = from_spec(&ShapeSpec::Custom(vec![(secs(5.0), 4.0), (secs(6.0), 4.0)]));
        assert_eq!(
            late.target(secs(1.0)),
            4.0,
            "the first value holds before it"
        );
        assert!(close(late.cumulative(secs(6.0)), 24.0));
    }
}
