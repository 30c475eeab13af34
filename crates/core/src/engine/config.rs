//! The run as configured: the scenario's `load:` with command-line
//! overrides applied, checked, and turned into a model and a shape.

use std::sync::Arc;
use std::time::Duration;

use super::shape::{self, Constant, Ramps, Shape};
use crate::scenario::{LoadSpec, Quantity, StageTarget};

/// How long a run lasts when nothing bounds it (no run time, no stages, no
/// iteration count): every load loop stops by itself.
pub const DEFAULT_RUN_TIME: Duration = Duration::from_secs(10);

/// Default cap on open-model users.
pub const DEFAULT_MAX_USERS: u64 = 1000;

/// Closed or open workload model.
#[derive(Clone, Debug, PartialEq)]
pub enum Model {
    /// A number of users, each looping; the shape is the user count.
    Closed {
        /// Users started per second (`None`: follow the shape; a constant
        /// count starts within the first second).
        spawn_rate: Option<f64>,
    },
    /// Arrivals at a rate, served by at most `max_users` users; the shape
    /// is arrivals per second.
    Open {
        /// Cap on concurrent users.
        max_users: u64,
    },
}

/// Everything the engine needs besides the plan.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Closed or open.
    pub model: Model,
    /// Users or rate over time.
    pub shape: Arc<dyn Shape>,
    /// Length of the run; `None` runs until the iteration count is reached.
    pub run_time: Option<Duration>,
    /// True when the run time is [`DEFAULT_RUN_TIME`] because nothing else
    /// bounded the run.
    pub run_time_defaulted: bool,
    /// Stop after this many iterations in all.
    pub iterations: Option<u64>,
    /// Time running iterations get to finish at the end.
    pub stop_timeout: Duration,
    /// Worker threads.
    pub threads: usize,
}

impl RunConfig {
    /// Checks `spec` and derives the run from it.
    pub fn from_spec(spec: &LoadSpec, threads: usize) -> Result<RunConfig, String> {
        let positive = |what: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(format!("{what} must be above 0, got {v}"))
            }
        };
        let rate_stages = spec
            .stages
            .iter()
            .any(|s| matches!(s.target, StageTarget::Rate(_)));
        let shaped_rate = spec.shape.as_ref().map(|s| s.of == Quantity::Rate);
        let open = spec.rate.is_some()
            || (spec.users.is_none() && (rate_stages || shaped_rate == Some(true)));
        let shape: Arc<dyn Shape> = match (open, spec.users, spec.rate) {
            (true, _, Some(rate)) => Arc::new(Constant(positive("rate", rate)?)),
            (_, None, None) if spec.shape.is_some() => {
                let shaped = spec.shape.as_ref().map(|s| &s.spec);
                shaped.map_or(Arc::new(Constant(1.0)), shape::from_spec)
            }
            (false, Some(users), _) => {
                if users == 0 {
                    return Err("users must be at least 1".into());
                }
                Arc::new(Constant(users as f64))
            }
            _ if !spec.stages.is_empty() => Arc::new(Ramps::new(&spec.stages)),
            _ => Arc::new(Constant(1.0)),
        };
        let mut threads = threads.max(1);
        let model = if open {
            let max_users = spec.max_users.unwrap_or(DEFAULT_MAX_USERS);
            if max_users == 0 {
                return Err("max-users must be at least 1".into());
            }
            // Every worker serving arrivals needs at least one user.
            threads = threads.min(usize::try_from(max_users).unwrap_or(usize::MAX));
            Model::Open { max_users }
        } else {
            let spawn_rate = spec
                .spawn_rate
                .map(|r| positive("spawn rate", r))
                .transpose()?;
            Model::Closed { spawn_rate }
        };
        let mut run_time = spec.run_time.or_else(|| shape.duration());
        let run_time_defaulted = run_time.is_none() && spec.iterations.is_none();
        if run_time_defaulted {
            run_time = Some(DEFAULT_RUN_TIME);
        }
        if run_time.is_some_and(|d| d.is_zero()) {
            return Err("run time must be above 0".into());
        }
        if spec.iterations == Some(0) {
            return Err("iterations must be at least 1".into());
        }
        Ok(RunConfig {
            model,
            shape,
            run_time,
            run_time_defaulted,
            iterations: spec.iterations,
            stop_timeout: spec.stop_timeout.unwrap_or(Duration::ZERO),
            threads,
        })
    }

    /// A one-line description for the terminal and the report.
    pub fn describe(&self) -> String {
        let length = match (self.run_time, self.iterations) {
            (Some(d), Some(n)) => format!(
                "{}, at most {n} iterations",
                crate::units::format_duration(d)
            ),
            (Some(d), None) => crate::units::format_duration(d),
            (None, Some(n)) => format!("{n} iterations"),
            (None, None) => "unbounded".into(),
        };
        let load = match &self.model {
            Model::Closed { spawn_rate } => {
                let users = if self.shape.is_constant() {
                    format!("{} users", self.shape.target(Duration::ZERO))
                } else {
                    "staged users".into()
                };
                match spawn_rate {
                    Some(r) => format!("{users} (spawn {r}/s)"),
                    None => users,
                }
            }
            Model::Open { max_users } => {
                let rate = if self.shape.is_constant() {
                    format!("{}/s", self.shape.target(Duration::ZERO))
                } else {
                    "staged rate".into()
                };
                format!("open model {rate}, at most {max_users} users")
            }
        };
        format!("{load} for {length} on {} thread(s)", self.threads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Stage;

    #[test]
    fn closed_with_users() {
        let c = RunConfig::from_spec(
            &LoadSpec {
                users: Some(50),
                spawn_rate: Some(25.0),
                run_time: Some(Duration::from_secs(15)),
                ..Default::default()
            },
            2,
        )
        .expect("valid");
        assert_eq!(
            c.model,
            Model::Closed {
                spawn_rate: Some(25.0)
            }
        );
        assert_eq!(c.shape.target(Duration::ZERO), 50.0);
        assert_eq!(c.run_time, Some(Duration::from_secs(15)));
        assert!(
            c.describe().contains("50 users (spawn 25/s)"),
            "{}",
            c.describe()
        );
    }

    #[test]
    fn open_with_rate_and_default_bounds() {
        let c = RunConfig::from_spec(
            &LoadSpec {
                rate: Some(200.0),
                ..Default::default()
            },
            1,
        )
        .expect("valid");
        assert_eq!(
            c.model,
            Model::Open {
                max_users: DEFAULT_MAX_USERS
            }
        );
        assert_eq!(c.run_time, Some(DEFAULT_RUN_TIME));
        assert!(c.run_time_defaulted);
    }

    #[test]
    fn open_model_uses_no_more_workers_than_users() {
        let spec = LoadSpec {
            rate: Some(100.0),
            max_users: Some(1),
            ..Default::default()
        };
        assert_eq!(RunConfig::from_spec(&spec, 4).expect("valid").threads, 1);
    }

    #[test]
    fn stages_set_model_and_length() {
        let stages = vec![
            Stage {
                duration: Duration::from_secs(10),
                target: StageTarget::Rate(100.0),
            },
            Stage {
                duration: Duration::from_secs(5),
                target: StageTarget::Rate(0.0),
            },
        ];
        let c = RunConfig::from_spec(
            &LoadSpec {
                stages,
                ..Default::default()
            },
            1,
        )
        .expect("valid");
        assert!(matches!(c.model, Model::Open { .. }));
        assert_eq!(c.run_time, Some(Duration::from_secs(15)));
    }

    #[test]
    fn iterations_alone_bound_the_run() {
        let c = RunConfig::from_spec(
            &LoadSpec {
                iterations: Some(100),
                ..Default::default()
            },
            1,
        )
        .expect("valid");
        assert_eq!(c.run_time, None);
        assert!(!c.run_time_defaulted);
    }

    #[test]
    fn nonsense_is_refused() {
        for spec in [
            LoadSpec {
                users: Some(0),
                ..Default::default()
            },
            LoadSpec {
                rate: Some(0.0),
                ..Default::default()
            },
            LoadSpec {
                users: Some(1),
                spawn_rate: Some(-1.0),
                ..Default::default()
            },
            LoadSpec {
                run_time: Some(Duration::ZERO),
                ..Default::default()
            },
            LoadSpec {
                iterations: Some(0),
                ..Default::default()
            },
        ] {
            assert!(RunConfig::from_spec(&spec, 1).is_err(), "{spec:?}");
        }
    }
}
