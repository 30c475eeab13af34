//! The suite file exactly as written: serde structs that refuse unknown
//! keys; [`super::spec`] checks them and resolves paths.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::scenario::{DurationValue, RawLoad, RawMonitor, RawSetup};

/// A whole suite file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSuite {
    /// Shown in the summary.
    pub name: Option<String>,
    /// Processes the target needs (a broker), started first, kept up for
    /// the whole suite.
    #[serde(default)]
    pub services: Vec<Spanned<RawTarget>>,
    /// A system under test the suite starts, restarts and stops itself.
    pub target: Option<Spanned<RawTarget>>,
    /// Base URL of the runs (may use `{port}`); overrides the scenarios'.
    pub host: Option<Spanned<String>>,
    /// MQTT broker of the runs (`mqtt://127.0.0.1:{port:broker}`); replaces
    /// the scenarios' `mqtt: { broker: … }`.
    pub broker: Option<Spanned<String>>,
    /// Thresholds of every run that gives none of its own.
    #[serde(default)]
    pub thresholds: Vec<Spanned<String>>,
    /// Monitors of every run that gives none of its own.
    pub monitor: Option<RawMonitor>,
    /// A directory of an earlier suite's output to compare against.
    pub baseline: Option<Spanned<String>>,
    /// The runs, in order.
    pub runs: Vec<Spanned<RawRun>>,
}

/// `target:` — how to start the system under test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// Name in messages and log files (services).
    pub name: Option<String>,
    /// Shell command; `{cicada}`, `{port}` and `{out}` are expanded.
    pub command: Spanned<String>,
    /// URL (or path under the host) that answers 2xx once it is ready, or
    /// `tcp://HOST:PORT` that accepts connections.
    pub ready: Option<Spanned<String>>,
    /// How long to wait for readiness.
    pub ready_timeout: Option<DurationValue>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// One run: a scenario with overrides, setup, monitors and faults.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    /// Short id (`S3a`), used by `--only` and in file names.
    pub id: Spanned<String>,
    /// One line on what it tests.
    pub title: Option<String>,
    /// The scenario file, relative to the suite file.
    pub scenario: Spanned<String>,
    /// Values for the scenario's `vars`.
    #[serde(default)]
    pub vars: BTreeMap<String, Spanned<serde_json::Value>>,
    /// New weights for the scenario's user types, by name.
    #[serde(default)]
    pub weights: BTreeMap<String, Spanned<u32>>,
    /// Replaces the scenario's `load:`.
    pub load: Option<RawLoad>,
    /// Done before the load starts.
    #[serde(default)]
    pub setup: Vec<Spanned<RawSetup>>,
    /// Timed actions during the run.
    #[serde(default)]
    pub faults: Vec<Spanned<RawFault>>,
    /// Replaces the suite's thresholds.
    pub thresholds: Option<Vec<Spanned<String>>>,
    /// Replaces the suite's monitors.
    pub monitor: Option<RawMonitor>,
    /// Checks after the run that no job sent over MQTT into the queue
    /// target was lost.
    pub audit_queue: Option<RawQueueAudit>,
}

/// `audit_queue:` — which queue, and which publish rows counted the jobs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueueAudit {
    /// The queue id.
    pub queue: String,
    /// Prefix of the MQTT publish rows that sent the jobs.
    pub published: String,
}

/// One timed action: `at` and exactly one of the actions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// Time since the start of the run.
    pub at: DurationValue,
    /// A shell command (e.g. restart PostgreSQL).
    pub exec: Option<String>,
    /// Kill the managed target and start it again.
    pub restart_target: Option<bool>,
    /// Kill the managed target.
    pub kill_target: Option<bool>,
    /// Start the managed target (after `kill_target`).
    pub start_target: Option<bool>,
    /// Freeze the managed target this long (SIGSTOP, then SIGCONT).
    pub pause_target: Option<DurationValue>,
    /// Make the queue target's store unavailable this long (its `--admin`
    /// outage switch).
    pub db_outage: Option<DurationValue>,
}
