//! The scenario file format exactly as written: serde structs that refuse
//! unknown keys. Nothing here is checked beyond types; `build` turns it into
//! a validated plan.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::monitor::RawMonitor;
use super::raw_mqtt::{RawExpect, RawMqtt, RawPublish, RawSubscribe};
use super::setup::RawSetup;
use super::shape::Level;
use super::values::{
    CountValue, DurationValue, OneOrMany, RateValue, StatusValue, ThresholdEntry, WaitValue,
};

/// A whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Base URL of the system under test.
    pub host: Option<Spanned<String>>,
    /// Variables every template sees.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// A CSV file whose rows feed templates.
    pub data: Option<RawData>,
    /// Headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    /// Default per-request timeout.
    pub timeout: Option<Spanned<DurationValue>>,
    /// Accept self-signed TLS certificates.
    pub insecure: Option<bool>,
    /// How much load, for how long.
    pub load: Option<RawLoad>,
    /// Pass/fail criteria.
    #[serde(default)]
    pub thresholds: Vec<Spanned<ThresholdEntry>>,
    /// How MQTT devices connect.
    pub mqtt: Option<Spanned<RawMqtt>>,
    /// What to watch besides the load.
    pub monitor: Option<RawMonitor>,
    /// What to do to the system under test before the load starts.
    #[serde(default)]
    pub setup: Vec<Spanned<RawSetup>>,
    /// The kinds of users.
    pub users: Vec<Spanned<RawUser>>,
}

/// `data:` — a CSV file with a header row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    /// Path, relative to the scenario file.
    pub file: Spanned<String>,
    /// Row order.
    #[serde(default)]
    pub order: DataOrder,
    /// A new row every iteration, or one row for each user's whole life.
    #[serde(default)]
    pub per: DataPer,
}

/// How long a user keeps a `data:` row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPer {
    /// A row for `on_start` and the first iteration, then a new one for
    /// each iteration.
    #[default]
    Iteration,
    /// One row per user, from `on_start` to the end (a login per user).
    User,
}

/// How rows of a `data:` file are handed out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataOrder {
    /// Each iteration takes the next row, wrapping around.
    #[default]
    RoundRobin,
    /// Each iteration takes a random row.
    Random,
}

/// `load:` — users or rate, stages, duration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoad {
    /// Closed model: concurrent users, a number or a shape.
    pub users: Option<Spanned<Level<CountValue>>>,
    /// Users started per second.
    pub spawn_rate: Option<Spanned<RateValue>>,
    /// How long the run lasts.
    pub run_time: Option<Spanned<DurationValue>>,
    /// Open model: iterations started per second, a rate or a shape.
    pub rate: Option<Spanned<Level<RateValue>>>,
    /// Open model: most users serving arrivals at once.
    pub max_users: Option<Spanned<CountValue>>,
    /// Stop after this many iterations in all.
    pub iterations: Option<Spanned<CountValue>>,
    /// Time running iterations get to finish when the run ends.
    pub stop_timeout: Option<DurationValue>,
    /// Ramps of users or rate.
    pub stages: Option<Spanned<Vec<RawStage>>>,
}

/// One stage: ramp linearly to `users` or `rate` over `duration`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// Length of the stage.
    pub duration: DurationValue,
    /// Users at the end of the stage.
    pub users: Option<CountValue>,
    /// Rate at the end of the stage.
    pub rate: Option<RateValue>,
}

/// One kind of user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    /// Name shown in reports.
    pub name: String,
    /// Share of `--users`.
    pub weight: Option<u32>,
    /// A fixed number of users of this kind.
    pub count: Option<u32>,
    /// Pause between tasks.
    pub wait: Option<WaitValue>,
    /// Steps run once when the user starts.
    #[serde(default)]
    pub on_start: Vec<Spanned<RawStep>>,
    /// Weighted tasks.
    pub tasks: Option<Vec<Spanned<RawTask>>>,
    /// Shorthand for a single task.
    pub steps: Option<Vec<Spanned<RawStep>>>,
}

/// One weighted task.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTask {
    /// Name shown in errors.
    pub name: Option<String>,
    /// Relative frequency.
    pub weight: Option<u32>,
    /// What the task does.
    pub steps: Vec<Spanned<RawStep>>,
}

/// One step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RawStep {
    /// Send a request.
    Http(Box<RawHttp>),
    /// Check the previous response.
    Check(RawCheck),
    /// Take values out of the previous response.
    Extract(BTreeMap<String, Spanned<RawExtract>>),
    /// Repeat a request until a condition holds.
    Poll(Box<RawPoll>),
    /// Pause.
    Sleep(WaitValue),
    /// Set variables.
    Set(BTreeMap<String, Spanned<serde_json::Value>>),
    /// Connect this user to the MQTT broker (settings for its connection).
    #[serde(rename = "mqtt.connect")]
    MqttConnect(Box<Spanned<RawMqtt>>),
    /// Publish MQTT messages.
    #[serde(rename = "mqtt.publish")]
    MqttPublish(Box<RawPublish>),
    /// Subscribe to MQTT topics.
    #[serde(rename = "mqtt.subscribe")]
    MqttSubscribe(Box<RawSubscribe>),
    /// Wait for an MQTT message.
    #[serde(rename = "mqtt.expect")]
    MqttExpect(Box<RawExpect>),
}

/// `http:` — one request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Method; GET when absent.
    pub method: Option<Spanned<String>>,
    /// Path under the host.
    pub path: Option<Spanned<String>>,
    /// Full URL (instead of `path`).
    pub url: Option<Spanned<String>>,
    /// Query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, Spanned<String>>,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    /// Text body.
    pub body: Option<Spanned<String>>,
    /// JSON body.
    pub json: Option<Spanned<serde_json::Value>>,
    /// Row name in reports.
    pub name: Option<String>,
    /// Time allowed.
    pub timeout: Option<DurationValue>,
    /// Expected statuses.
    pub status: Option<Spanned<StatusValue>>,
    /// The expected statuses are errors the test provokes on purpose (a
    /// 400 for an invalid item): counted as expected errors, not failures.
    pub expected_error: Option<Spanned<bool>>,
}

/// `check:` — conditions on the previous response.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    /// Expected statuses.
    pub status: Option<Spanned<StatusValue>>,
    /// Texts the body must contain.
    #[serde(default)]
    pub body_contains: OneOrMany<String>,
    /// Conditions on the JSON body.
    pub json: Option<Spanned<OneOrMany<RawJsonCheck>>>,
}

/// One JSON condition: `path` with `equals`, `not_equals` or `exists`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJsonCheck {
    /// JSON path (`$.a.b` or `a.b`).
    pub path: String,
    /// The value must equal this.
    pub equals: Option<serde_json::Value>,
    /// The value must differ from this.
    pub not_equals: Option<serde_json::Value>,
    /// The path must (or must not) select something.
    pub exists: Option<bool>,
}

/// Where to extract a variable from: exactly one of the fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExtract {
    /// A JSON path.
    pub json: Option<String>,
    /// A regex over the body.
    pub regex: Option<String>,
    /// Capture group of the regex.
    pub group: Option<usize>,
    /// A response header.
    pub header: Option<String>,
}

/// `poll:` — repeat a request until a condition holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoll {
    /// The request.
    pub http: RawHttp,
    /// The condition that ends the poll.
    pub until: RawCheck,
    /// Pause between requests.
    pub every: DurationValue,
    /// Time allowed for the condition.
    pub timeout: DurationValue,
    /// Name of the `POLL` row.
    pub name: String,
    /// Name of an earlier `http` step of the task to time from.
    pub from: Option<Spanned<String>>,
}
