//! A validated scenario: everything the engine needs, nothing left to check.

use std::sync::Arc;
use std::time::Duration;

use minijinja::Value;

use super::data::DataSource;
use super::setup::SetupStep;
use super::shape::{scale_duration, ShapeSpec};
use crate::metrics::StatTable;
use crate::protocols::http::{HttpStep, PollStep};
use crate::protocols::mqtt::settings::Settings;
use crate::protocols::mqtt::steps::MqttStep;
use crate::report::Threshold;
use crate::template::ValueTemplate;

/// A scenario ready to run.
#[derive(Debug)]
pub struct Plan {
    /// The file it came from (for reports).
    pub source: String,
    /// Every report row the run can produce.
    pub stats: Arc<StatTable>,
    /// The kinds of users.
    pub user_types: Vec<UserType>,
    /// The `load:` section (before command-line overrides).
    pub load: LoadSpec,
    /// Thresholds from the file.
    pub thresholds: Vec<Threshold>,
    /// Rows for templates, if a `data:` file is given.
    pub data: Option<Arc<DataSource>>,
    /// The scenario's `vars`.
    pub globals: Arc<Vec<(String, Value)>>,
    /// Accept self-signed TLS certificates.
    pub insecure: bool,
    /// The host the requests go to.
    pub host: Option<String>,
    /// How the first MQTT user type connects (the `$SYS` monitor uses
    /// the same broker and credentials).
    pub mqtt: Option<Arc<Settings>>,
    /// Watch the broker's `$SYS/#` topics during the run.
    pub mqtt_sys: bool,
    /// Processes and gauges to sample during the run (`monitor:`), if any.
    pub monitor: Option<crate::monitor::MonitorSpec>,
    /// Some subscription audits delivery: its listeners stay until the end.
    pub audit: bool,
    /// What to do to the system under test before the load starts.
    pub setup: Vec<SetupStep>,
}

impl Plan {
    /// Users when neither the file nor the command line says: every
    /// fixed-count user, plus one when there are weighted types.
    pub fn default_users(&self) -> u64 {
        let fixed: u64 = self
            .user_types
            .iter()
            .filter_map(|t| t.count.map(u64::from))
            .sum();
        let weighted = self.user_types.iter().any(|t| t.count.is_none());
        (fixed + u64::from(weighted)).max(1)
    }
}

/// One kind of user.
#[derive(Debug)]
pub struct UserType {
    /// Name shown in reports.
    pub name: String,
    /// Share of the weighted users.
    pub weight: u32,
    /// A fixed number of users, outside the weighted share.
    pub count: Option<u32>,
    /// Pause between iterations.
    pub wait: Wait,
    /// Steps run once at start.
    pub on_start: Vec<Step>,
    /// Weighted tasks; one is picked per iteration.
    pub tasks: Vec<Task>,
    /// Number of marks (steps a `poll` times from) its steps use.
    pub marks: usize,
    /// How its users connect to the MQTT broker, if they do.
    pub mqtt: Option<Arc<Settings>>,
}

#[cfg(test)]
impl UserType {
    /// A user type without steps, for tests of who-spawns-what.
    pub fn for_tests(weight: u32, count: Option<u32>) -> UserType {
        UserType {
            name: "u".into(),
            weight,
            count,
            wait: Wait::None,
            on_start: vec![],
            tasks: vec![],
            marks: 0,
            mqtt: None,
        }
    }
}

/// One weighted task.
#[derive(Debug)]
pub struct Task {
    /// Name (for messages).
    pub name: String,
    /// Relative frequency.
    pub weight: u32,
    /// What it does.
    pub steps: Vec<Step>,
}

/// One executable step.
#[derive(Debug)]
pub enum Step {
    /// An HTTP request with its checks and extractions.
    Http(HttpStep),
    /// A poll.
    Poll(PollStep),
    /// A pause.
    Sleep(Wait),
    /// Variables to set.
    Set(Vec<(String, ValueTemplate)>),
    /// An MQTT step.
    Mqtt(MqttStep),
}

/// A pause between iterations, or a `sleep`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wait {
    /// No pause.
    None,
    /// Always the same.
    Constant(Duration),
    /// Uniformly random in the range.
    Between(Duration, Duration),
    /// An iteration starts every interval, whatever the previous one took.
    Pacing(Duration),
}

impl Wait {
    /// A pause length drawn for this occasion (pacing is handled by the
    /// engine, which knows when the iteration started).
    pub fn sample(&self) -> Duration {
        match *self {
            Wait::None | Wait::Pacing(_) => Duration::ZERO,
            Wait::Constant(d) => d,
            Wait::Between(a, b) => a + (b - a).mul_f64(fastrand::f64()),
        }
    }
}

/// The `load:` section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadSpec {
    /// Closed model: concurrent users.
    pub users: Option<u64>,
    /// Users started per second.
    pub spawn_rate: Option<f64>,
    /// Length of the run.
    pub run_time: Option<Duration>,
    /// Open model: iterations started per second.
    pub rate: Option<f64>,
    /// Open model: cap on concurrent users.
    pub max_users: Option<u64>,
    /// Stop after this many iterations.
    pub iterations: Option<u64>,
    /// Time to let running iterations finish at the end.
    pub stop_timeout: Option<Duration>,
    /// Ramps; all stages ramp the same quantity.
    pub stages: Vec<Stage>,
    /// A sine, square, spike or custom shape of users or rate (instead of
    /// `users`, `rate` and `stages`).
    pub shape: Option<ShapedLoad>,
}

impl LoadSpec {
    /// The same load with every time multiplied by `factor` (a suite's
    /// `--scale`): run time, stages, shapes. Runs stay at least `floor`
    /// long, and no time that was above zero drops below a tenth of it.
    pub fn scaled(&self, factor: f64, floor: Duration) -> LoadSpec {
        let tick = floor.mul_f64(0.1);
        LoadSpec {
            run_time: self.run_time.map(|d| scale_duration(d, factor, floor)),
            stop_timeout: self.stop_timeout.map(|d| scale_duration(d, factor, tick)),
            stages: self
                .stages
                .iter()
                .map(|s| Stage {
                    duration: scale_duration(s.duration, factor, tick),
                    target: s.target,
                })
                .collect(),
            shape: self.shape.as_ref().map(|s| ShapedLoad {
                of: s.of,
                spec: s.spec.scaled(factor, tick),
            }),
            ..self.clone()
        }
    }
}

/// A shape and what it shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapedLoad {
    /// Users (closed model) or arrivals per second (open model).
    pub of: Quantity,
    /// How the target moves.
    pub spec: ShapeSpec,
}

/// What a shape or a stage sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// Concurrent users (closed model).
    Users,
    /// Arrivals per second (open model).
    Rate,
}

/// One stage of a ramp.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    /// Length of the stage.
    pub duration: Duration,
    /// Target at the end of the stage.
    pub target: StageTarget,
}

/// What a stage ramps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StageTarget {
    /// Concurrent users (closed model).
    Users(f64),
    /// Iterations per second (open model).
    Rate(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_sample_within_their_bounds() {
        assert_eq!(Wait::None.sample(), Duration::ZERO);
        assert_eq!(
            Wait::Constant(Duration::from_secs(2)).sample(),
            Duration::from_secs(2)
        );
        for _ in 0..100 {
            let d = Wait::Between(Duration::from_millis(10), Duration::from_millis(20)).sample();
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(20));
        }
    }
}
