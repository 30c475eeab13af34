//! A checked suite: the file's text with its placeholders expanded, every
//! run's overrides, setup, faults, thresholds and monitors validated before
//! anything starts, each mistake named with its line and column.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_saphyr::Spanned;

use super::fault::{Action, Fault};
use super::queue_audit::QueueAuditSpec;
use super::raw::{RawFault, RawRun, RawSuite, RawTarget};
use crate::monitor::MonitorSpec;
use crate::report::{threshold, Threshold};
use crate::scenario::{
    build_monitor, check_load, from_parse, setup_steps, LoadSpec, Loc, Overrides, Problem,
    ScenarioError, SetupStep,
};

/// Values for the placeholders a suite file may use.
#[derive(Clone, Debug)]
pub struct Placeholders {
    /// `{cicada}`: the running cicada binary.
    pub cicada: String,
    /// `{out}`: the suite's output directory.
    pub out: String,
    /// Picks a free loopback port for `{port}` and each `{port:NAME}`.
    pub free_port: fn() -> std::io::Result<u16>,
}

impl Placeholders {
    /// `text` with every placeholder replaced: `{port}` and `{port:NAME}`
    /// each get a free port of their own, the same wherever they repeat.
    pub fn expand(&self, text: &str) -> std::io::Result<String> {
        let mut out = text
            .replace("{cicada}", &self.cicada)
            .replace("{out}", &self.out);
        let mut from = 0;
        while let Some(at) = out[from..].find("{port").map(|i| from + i) {
            let key = out[at..]
                .find('}')
                .map(|len| out[at..=at + len].to_string());
            match key {
                Some(key) if key == "{port}" || key.starts_with("{port:") => {
                    out = out.replace(&key, &(self.free_port)()?.to_string());
                }
                // Not a placeholder (`{portal}`): left as written.
                _ => from = at + 1,
            }
        }
        Ok(out)
    }
}

/// A checked suite.
#[derive(Debug)]
pub struct Suite {
    /// The file, as given.
    pub file: String,
    /// Its name (the file's stem unless it says).
    pub name: String,
    /// Processes started before the target and kept up for the whole
    /// suite (a broker the target ingests from), in order.
    pub services: Vec<TargetDef>,
    /// The managed target, if any.
    pub target: Option<TargetDef>,
    /// Base URL of every run, if given.
    pub host: Option<String>,
    /// Baseline directory to compare with.
    pub baseline: Option<PathBuf>,
    /// The runs, in order.
    pub runs: Vec<RunSpec>,
}

/// The managed target (or a service) as configured (placeholders expanded).
#[derive(Clone, Debug)]
pub struct TargetDef {
    /// Its name (`target`, or the service's).
    pub name: String,
    /// Shell command (run with `sh -c "exec …"`, so the pid is the
    /// target's own).
    pub command: String,
    /// URL that answers 2xx once it is ready, or `tcp://HOST:PORT` that
    /// accepts a connection (a broker).
    pub ready: Option<String>,
    /// How long to wait for readiness.
    pub ready_timeout: Duration,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

/// One run, checked.
#[derive(Debug)]
pub struct RunSpec {
    /// Its id.
    pub id: String,
    /// What it tests.
    pub title: String,
    /// The scenario file.
    pub scenario: PathBuf,
    /// Changes to the scenario.
    pub overrides: Overrides,
    /// Replaces the scenario's `load:`.
    pub load: Option<LoadSpec>,
    /// Done before the load.
    pub setup: Vec<SetupStep>,
    /// Timed actions.
    pub faults: Vec<Fault>,
    /// Pass/fail criteria (the run's, else the suite's).
    pub thresholds: Vec<Threshold>,
    /// What to watch (the run's, else the suite's).
    pub monitor: Option<MonitorSpec>,
    /// The delivery audit of a queue fed over MQTT.
    pub audit_queue: Option<QueueAuditSpec>,
}

/// Why a suite cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file could not be read.
    #[error("cannot read suite {file}: {source}")]
    Read {
        /// The path.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file has mistakes.
    #[error("{0}")]
    Invalid(ScenarioError),
}

/// Reads and checks the suite at `path`.
pub fn load(path: &Path, values: &Placeholders) -> Result<Suite, SuiteError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
        file: file.clone(),
        source,
    })?;
    let text = values.expand(&text).map_err(|source| SuiteError::Read {
        file: file.clone(),
        source,
    })?;
    let invalid = |problems: Vec<Problem>| {
        SuiteError::Invalid(ScenarioError::Invalid {
            file: file.clone(),
            text: text.clone(),
            problems,
        })
    };
    let raw: RawSuite = serde_saphyr::from_str(&text).map_err(|e| invalid(vec![from_parse(&e)]))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut problems = Vec::new();
    let suite = check(raw, &file, dir, &mut problems);
    if problems.is_empty() {
        Ok(suite)
    } else {
        problems.sort_by_key(|p| (p.loc.line, p.loc.column));
        Err(invalid(problems))
    }
}

/// Checks `raw`, recording problems.
fn check(raw: RawSuite, file: &str, dir: &Path, problems: &mut Vec<Problem>) -> Suite {
    let host = raw.host.as_ref().map(|h| h.value.clone());
    let services = raw
        .services
        .iter()
        .map(|t| target_def(t, host.as_deref(), problems))
        .collect();
    let target = raw
        .target
        .as_ref()
        .map(|t| target_def(t, host.as_deref(), problems));
    let thresholds = thresholds(&raw.thresholds, problems);
    let monitor = raw.monitor.as_ref().and_then(|m| {
        build_monitor(m, host.as_deref(), false).unwrap_or_else(|p| {
            problems.extend(p);
            None
        })
    });
    let mut ids = BTreeSet::new();
    let runs = raw
        .runs
        .iter()
        .map(|r| {
            if !ids.insert(r.value.id.value.clone()) {
                problems.push(at(
                    &r.value.id,
                    format!("run id `{}` is used twice", r.value.id.value),
                ));
            }
            let mut spec = run(
                r,
                dir,
                host.as_deref(),
                &thresholds,
                &monitor,
                target.is_some(),
                problems,
            );
            spec.overrides.broker = raw.broker.as_ref().map(|b| b.value.clone());
            spec
        })
        .collect();
    if raw.runs.is_empty() {
        problems.push(Problem {
            loc: Loc { line: 1, column: 1 },
            message: "no runs: add at least one entry under `runs:`".into(),
        });
    }
    let name = raw.name.unwrap_or_else(|| {
        Path::new(file)
            .file_stem()
            .map_or("suite".into(), |s| s.to_string_lossy().into_owned())
    });
    Suite {
        file: file.to_string(),
        name,
        services,
        target,
        host,
        baseline: raw.baseline.map(|b| dir.join(b.value)),
        runs,
    }
}

/// Checks the target or a service.
fn target_def(
    t: &Spanned<RawTarget>,
    host: Option<&str>,
    problems: &mut Vec<Problem>,
) -> TargetDef {
    let ready = t.value.ready.as_ref().map(|r| {
        if !r.value.starts_with('/') {
            return r.value.clone();
        }
        match host {
            Some(h) => format!("{}{}", h.trim_end_matches('/'), r.value),
            None => {
                problems.push(at(r, "`ready` is a path but the suite has no `host:`"));
                r.value.clone()
            }
        }
    });
    TargetDef {
        name: t.value.name.clone().unwrap_or_else(|| "target".into()),
        command: t.value.command.value.clone(),
        ready,
        ready_timeout: t
            .value
            .ready_timeout
            .map_or(Duration::from_secs(30), |d| d.0),
        env: t.value.env.clone().into_iter().collect(),
    }
}

/// Checks one run.
fn run(
    raw: &Spanned<RawRun>,
    dir: &Path,
    host: Option<&str>,
    suite_thresholds: &[Threshold],
    suite_monitor: &Option<MonitorSpec>,
    managed: bool,
    problems: &mut Vec<Problem>,
) -> RunSpec {
    let r = &raw.value;
    let id = r.id.value.clone();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        problems.push(at(
            &r.id,
            "a run id is letters, digits, `-`, `_` or `.` (it names files)",
        ));
    }
    let scenario = dir.join(&r.scenario.value);
    if !scenario.is_file() {
        problems.push(at(
            &r.scenario,
            format!("no scenario file {}", scenario.display()),
        ));
    }
    let load = r
        .load
        .as_ref()
        .and_then(|l| check_load(l).map_err(|p| problems.extend(p)).ok());
    let setup = setup_steps(&r.setup).unwrap_or_else(|p| {
        problems.extend(p);
        Vec::new()
    });
    let faults = r
        .faults
        .iter()
        .filter_map(|f| fault(f, managed).map_err(|m| problems.push(at(f, m))).ok())
        .collect();
    let thresholds = match &r.thresholds {
        Some(list) => thresholds(list, problems),
        None => suite_thresholds.to_vec(),
    };
    let monitor = match &r.monitor {
        Some(m) => build_monitor(m, host, false).unwrap_or_else(|p| {
            problems.extend(p);
            None
        }),
        None => suite_monitor.clone(),
    };
    RunSpec {
        id,
        title: r.title.clone().unwrap_or_default(),
        scenario,
        overrides: Overrides {
            vars: r
                .vars
                .iter()
                .map(|(k, v)| (k.clone(), v.value.clone()))
                .collect(),
            weights: r
                .weights
                .iter()
                .map(|(k, v)| (k.clone(), v.value))
                .collect(),
            broker: None,
        },
        load,
        setup,
        faults,
        thresholds,
        monitor,
        audit_queue: r.audit_queue.as_ref().map(|a| QueueAuditSpec {
            queue: a.queue.clone(),
            published: a.published.clone(),
        }),
    }
}

/// Checks one fault: exactly one action.
fn fault(raw: &Spanned<RawFault>, managed: bool) -> Result<Fault, String> {
    let f = &raw.value;
    let mut actions = Vec::new();
    if let Some(c) = &f.exec {
        actions.push(Action::Exec(c.clone()));
    }
    for (flag, action) in [
        (f.restart_target, Action::RestartTarget),
        (f.kill_target, Action::KillTarget),
        (f.start_target, Action::StartTarget),
    ] {
        if flag == Some(true) {
            actions.push(action);
        }
    }
    if let Some(d) = f.pause_target {
        actions.push(Action::PauseTarget(d.0));
    }
    if let Some(d) = f.db_outage {
        actions.push(Action::DbOutage(d.0));
    }
    let action = match actions.len() {
        1 => actions.remove(0),
        0 => return Err("a fault needs one of exec, restart_target, kill_target, start_target, pause_target, db_outage".into()),
        _ => return Err("a fault does one thing: give one of exec, restart_target, kill_target, start_target, pause_target, db_outage per entry".into()),
    };
    if action.needs_target() && !managed {
        return Err(format!(
            "{} needs a managed target: add `target: {{command: …}}` to the suite",
            action.describe()
        ));
    }
    Ok(Fault { at: f.at.0, action })
}

/// Parses threshold strings.
fn thresholds(list: &[Spanned<String>], problems: &mut Vec<Problem>) -> Vec<Threshold> {
    list.iter()
        .filter_map(|t| {
            threshold::parse(&t.value)
                .map_err(|e| problems.push(at(t, e)))
                .ok()
        })
        .collect()
}

/// A problem at a node.
fn at<T>(node: &Spanned<T>, message: impl Into<String>) -> Problem {
    Problem {
        loc: Loc::of(node),
        message: message.into(),
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
