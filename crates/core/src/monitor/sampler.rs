//! The sampling thread: every `every`, one sample of everything watched,
//! stamped on the run's clock, until stopped. It runs on a thread of its
//! own with a small single-threaded runtime, so the load's workers never
//! wait for it and it never waits for them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use futures_util::future::join_all;
use tokio::sync::oneshot;
use tokio::time::MissedTickBehavior;

use super::http::HttpProbe;
use super::log::{MonitorLog, Series, SeriesKind};
use super::process::{ProcessProbe, ProcessSample};
use super::spec::MonitorSpec;
use super::sql::{redact, SqlProbe};
use crate::metrics::unix_now;
use crate::protocols::http::ClientSettings;

/// Samples kept at most per series (11 days at one a second): a bound on
/// memory for a run that never ends.
const MAX_POINTS: usize = 1_000_000;

/// The pid of the process a suite started, shared with the running
/// monitor so that the suite can say when it restarts the target (or
/// kills it: `None`). Cloning shares the same pid.
#[derive(Clone, Debug, Default)]
pub struct TargetPid(Arc<AtomicU32>);

impl TargetPid {
    /// No target yet.
    pub fn new() -> TargetPid {
        TargetPid::default()
    }

    /// The target is now `pid` (`None`: there is none, its samples are
    /// missing).
    pub fn set(&self, pid: Option<u32>) {
        self.0.store(pid.unwrap_or(0), Ordering::Relaxed);
    }

    /// The target's pid, if there is one.
    pub fn get(&self) -> Option<u32> {
        Some(self.0.load(Ordering::Relaxed)).filter(|&p| p != 0)
    }
}

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// Its runtime or thread could not be created.
    #[error("cannot start the resource monitor: {0}")]
    Start(#[from] std::io::Error),
}

/// Starts monitors.
#[derive(Debug)]
pub struct Monitor;

impl Monitor {
    /// Samples `spec` every `spec.every` from now on, on a thread of its
    /// own; times count from `start` (the instant the run starts from).
    pub fn start(spec: MonitorSpec, start: Instant) -> Result<MonitorHandle, MonitorError> {
        Monitor::start_with_target(spec, start, TargetPid::new())
    }

    /// As [`Monitor::start`], with the suite's target pid shared from the
    /// first sample on.
    pub fn start_with_target(
        spec: MonitorSpec,
        start: Instant,
        target: TargetPid,
    ) -> Result<MonitorHandle, MonitorError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let shared = target.clone();
        let thread = thread::Builder::new()
            .name("cicada-monitor".into())
            .spawn(move || runtime.block_on(run(spec, start, shared, stopped)))?;
        Ok(MonitorHandle {
            stop,
            thread,
            target,
        })
    }
}

/// A running monitor. Dropping it stops the thread without waiting.
#[derive(Debug)]
pub struct MonitorHandle {
    stop: oneshot::Sender<()>,
    thread: thread::JoinHandle<MonitorLog>,
    target: TargetPid,
}

impl MonitorHandle {
    /// The shared target pid, for whoever restarts the target.
    pub fn target(&self) -> TargetPid {
        self.target.clone()
    }

    /// The target is now `pid` (`None` while it is down).
    pub fn set_target_pid(&self, pid: Option<u32>) {
        self.target.set(pid);
    }

    /// Stops sampling (a sample under way is dropped) and returns the log.
    pub fn stop(self) -> MonitorLog {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_else(|_| MonitorLog {
            problem: Some("the monitor stopped on an internal error".into()),
            ..MonitorLog::default()
        })
    }
}

/// Rounds seconds to the millisecond.
fn ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// The series of `spec`, in order: each process's CPU then memory, then
/// the HTTP gauges, then the SQL gauges.
fn series_of(spec: &MonitorSpec) -> Vec<Series> {
    let mut series = Vec::new();
    for p in &spec.processes {
        let source = p.what.to_string();
        series.push(Series::new(
            p.cpu_name(),
            "%",
            SeriesKind::Process,
            source.clone(),
        ));
        series.push(Series::new(
            p.rss_name(),
            "bytes",
            SeriesKind::Process,
            source,
        ));
    }
    for g in &spec.http {
        let source = format!("GET {} {}", g.url, g.json_text);
        series.push(Series::new(
            g.name.clone(),
            &g.unit,
            SeriesKind::Http,
            source,
        ));
    }
    for g in &spec.sql {
        let source = format!("{}: {}", redact(&g.url), g.query);
        series.push(Series::new(
            g.name.clone(),
            &g.unit,
            SeriesKind::Sql,
            source,
        ));
    }
    series
}

/// Samples until `stop` fires (or its sender is dropped).
async fn run(
    spec: MonitorSpec,
    start: Instant,
    target: TargetPid,
    mut stop: oneshot::Receiver<()>,
) -> MonitorLog {
    let mut log = MonitorLog {
        every_s: spec.every.as_secs_f64(),
        start_unix_s: ms(unix_now() - start.elapsed().as_secs_f64()),
        series: series_of(&spec),
        problem: None,
    };
    let settings = Arc::new(ClientSettings::new(spec.insecure));
    let mut processes: Vec<ProcessProbe> = spec
        .processes
        .iter()
        .map(|p| ProcessProbe::new(p.what.clone()))
        .collect();
    let mut http: Vec<HttpProbe> = spec
        .http
        .iter()
        .map(|g| HttpProbe::new(g.clone(), settings.clone()))
        .collect();
    let mut sql: Vec<SqlProbe> = spec.sql.iter().cloned().map(SqlProbe::new).collect();
    let timeout = spec.gauge_timeout();
    let mut ticker = tokio::time::interval(spec.every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            _ = ticker.tick() => {}
        }
        let now = Instant::now();
        let elapsed = ms(now.saturating_duration_since(start).as_secs_f64());
        let unix = ms(unix_now());
        let pid = target.get();
        let procs: Vec<Result<ProcessSample, String>> =
            processes.iter_mut().map(|p| p.sample(pid, now)).collect();
        let gauges = futures_util::future::join(
            join_all(http.iter_mut().map(|p| p.sample(timeout))),
            join_all(sql.iter_mut().map(|p| p.sample(timeout))),
        );
        let (http_values, sql_values) = tokio::select! {
            biased;
            _ = &mut stop => break,
            v = gauges => v,
        };
        if log
            .series
            .first()
            .is_some_and(|s| s.points.len() >= MAX_POINTS)
        {
            continue;
        }
        let mut series = log.series.iter_mut();
        for r in procs {
            let (Some(cpu), Some(rss)) = (series.next(), series.next()) else {
                break;
            };
            match r {
                Ok(s) => {
                    cpu.push(elapsed, unix, s.cpu);
                    rss.push(elapsed, unix, Some(s.rss));
                }
                Err(why) => {
                    cpu.fail(elapsed, unix, &why);
                    rss.fail(elapsed, unix, &why);
                }
            }
        }
        for (r, s) in http_values.into_iter().chain(sql_values).zip(series) {
            match r {
                Ok(v) => s.push(elapsed, unix, Some(v)),
                Err(why) => s.fail(elapsed, unix, &why),
            }
        }
    }
    log.summarize();
    log
}

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;
