//! Faults: timed actions during a run — a shell command, the managed target
//! killed, restarted, started or paused, the queue target's store switched
//! off — carried out on a thread of their own while the load runs, each
//! logged with the moment it happened.

use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::target::ManagedTarget;
use crate::control;
use crate::report::FaultEvent;
use crate::units::format_duration;

/// The longest an `exec` fault's command may run.
const EXEC_LIMIT: Duration = Duration::from_secs(300);

/// A timed action.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// Time since the start of the run.
    pub at: Duration,
    /// What to do.
    pub action: Action,
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Run a shell command and wait for it.
    Exec(String),
    /// Kill the managed target and start it again.
    RestartTarget,
    /// Kill the managed target.
    KillTarget,
    /// Start the managed target.
    StartTarget,
    /// Freeze the managed target this long.
    PauseTarget(Duration),
    /// Switch the queue target's store off this long (`--admin`).
    DbOutage(Duration),
}

impl Action {
    /// True when it needs a managed target.
    pub fn needs_target(&self) -> bool {
        !matches!(self, Action::Exec(_) | Action::DbOutage(_))
    }

    /// The same action with its length multiplied by `factor` (not below
    /// `floor`).
    pub fn scaled(&self, factor: f64, floor: Duration) -> Action {
        let s = |d: Duration| crate::scenario::scale_duration(d, factor, floor);
        match self {
            Action::PauseTarget(d) => Action::PauseTarget(s(*d)),
            Action::DbOutage(d) => Action::DbOutage(s(*d)),
            other => other.clone(),
        }
    }

    /// How long the fault itself lasts (0 for instant ones).
    pub fn length(&self) -> Duration {
        match self {
            Action::PauseTarget(d) | Action::DbOutage(d) => *d,
            _ => Duration::ZERO,
        }
    }

    /// In words, for the report.
    pub fn describe(&self) -> String {
        match self {
            Action::Exec(c) => format!("exec `{c}`"),
            Action::RestartTarget => "restart_target".into(),
            Action::KillTarget => "kill_target".into(),
            Action::StartTarget => "start_target".into(),
            Action::PauseTarget(d) => format!("pause_target {}", format_duration(*d)),
            Action::DbOutage(d) => format!("db_outage {}", format_duration(*d)),
        }
    }
}

/// Where the faults act.
#[derive(Clone, Debug, Default)]
pub struct FaultContext {
    /// The suite's target, if it manages one.
    pub target: Option<Arc<ManagedTarget>>,
    /// Base URL of the system under test (for the outage switch).
    pub host: Option<String>,
}

/// The thread carrying out one run's faults.
pub struct FaultRunner {
    /// The thread; it returns the events.
    thread: Option<JoinHandle<Vec<FaultEvent>>>,
    /// Why the thread did not start, as an event for the report.
    failed: Option<FaultEvent>,
}

impl FaultRunner {
    /// Starts carrying out `faults` (in time order) relative to `start`.
    /// A fault due after the run has ended is not carried out: [`finish`]
    /// stops waiting.
    ///
    /// [`finish`]: FaultRunner::finish
    pub fn start(
        mut faults: Vec<Fault>,
        cx: FaultContext,
        start: Instant,
        stop: Arc<std::sync::atomic::AtomicBool>,
    ) -> FaultRunner {
        faults.sort_by_key(|f| f.at);
        let first = faults.first().map(|f| (f.at, f.action.describe()));
        let thread = std::thread::Builder::new()
            .name("cicada-faults".into())
            .spawn(move || {
                let mut events = Vec::new();
                for f in faults {
                    while start.elapsed() < f.at {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            return events;
                        }
                        let left = f.at.saturating_sub(start.elapsed());
                        std::thread::sleep(left.min(Duration::from_millis(20)));
                    }
                    let at = start.elapsed();
                    let error = carry_out(&f.action, &cx).err();
                    events.push(FaultEvent {
                        action: f.action.describe(),
                        planned_s: f.at.as_secs_f64(),
                        at_s: at.as_secs_f64(),
                        done_s: start
                            .elapsed()
                            .as_secs_f64()
                            .max((at + f.action.length()).as_secs_f64()),
                        error,
                    });
                }
                events
            });
        match thread {
            Ok(thread) => FaultRunner {
                thread: Some(thread),
                failed: None,
            },
            // The faults cannot be carried out: the report says so.
            Err(e) => FaultRunner {
                thread: None,
                failed: first.map(|(at, action)| FaultEvent {
                    action,
                    planned_s: at.as_secs_f64(),
                    at_s: at.as_secs_f64(),
                    done_s: at.as_secs_f64(),
                    error: Some(format!("the fault thread did not start: {e}")),
                }),
            },
        }
    }

    /// Waits for the fault in progress, if any, and returns what happened.
    pub fn finish(mut self) -> Vec<FaultEvent> {
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_default(),
            None => self.failed.take().into_iter().collect(),
        }
    }
}

/// Carries out one action; an error in words.
fn carry_out(action: &Action, cx: &FaultContext) -> Result<(), String> {
    let target = || {
        cx.target
            .as_ref()
            .ok_or_else(|| format!("{}: the suite manages no target", action.describe()))
    };
    match action {
        Action::Exec(command) => {
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(command)
                .spawn()
                .map_err(|e| format!("cannot run `{command}`: {e}"))?;
            // A command that hangs must not hang the suite.
            let deadline = Instant::now() + EXEC_LIMIT;
            loop {
                match child.try_wait() {
                    Ok(Some(status)) if status.success() => return Ok(()),
                    Ok(Some(status)) => return Err(format!("`{command}` failed: {status}")),
                    Ok(None) if Instant::now() >= deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(format!(
                            "`{command}` did not finish within {}; killed",
                            format_duration(EXEC_LIMIT)
                        ));
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                    Err(e) => return Err(format!("waiting for `{command}`: {e}")),
                }
            }
        }
        Action::RestartTarget => target()?.restart().map_err(|e| e.to_string()),
        Action::KillTarget => {
            target()?.kill();
            Ok(())
        }
        Action::StartTarget => target()?.launch().map_err(|e| e.to_string()),
        Action::PauseTarget(d) => {
            target()?.pause(*d);
            Ok(())
        }
        Action::DbOutage(d) => {
            let host = cx
                .host
                .as_deref()
                .ok_or("db_outage: the run has no host to send the outage switch to")?;
            let url = format!(
                "{}/admin/outage?for={}ms",
                host.trim_end_matches('/'),
                d.as_millis()
            );
            let reply = control::blocking("POST", &url, None, Duration::from_secs(5))
                .map_err(|e| e.to_string())?;
            if reply.ok() {
                Ok(())
            } else {
                Err(format!(
                    "POST {url} answered {} ({}); the queue target needs --admin for db_outage",
                    reply.status,
                    reply.text(200)
                ))
            }
        }
    }
}
