//! The engine: users as tasks on worker threads, spawned along a shape
//! (closed model) or fed arrivals at a rate (open model), until the run
//! time, the iteration count or Ctrl-C ends the run.
//!
//! There is one load loop (`user::run`), parameterised by where its
//! iterations come from (a wait, or an arrival queue) and by when it stops.

mod arrivals;
mod config;
mod controller;
mod mix;
mod selfwatch;
mod shape;
mod signal;
mod spawner;
mod user;
mod worker;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

pub use config::{Model, RunConfig, DEFAULT_MAX_USERS, DEFAULT_RUN_TIME};
pub use selfwatch::{cpu_time, rss_bytes, ResourceSample};
pub use shape::{Constant, Ramps, Shape};

use crate::metrics::Aggregate;
use crate::scenario::Plan;

/// The engine could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The controller's runtime did not start.
    #[error("could not start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// A worker thread did not start.
    #[error("could not start a worker thread: {0}")]
    Worker(std::io::Error),
}

/// Why the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The run time (or the shape) ended.
    RunTime,
    /// The iteration count was reached.
    Iterations,
    /// Every user finished and no more will start.
    UsersDone,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// What the engine shows each second while running.
pub struct Progress<'a> {
    /// Time since the start.
    pub elapsed: Duration,
    /// Planned length, if known.
    pub planned: Option<Duration>,
    /// Users alive now.
    pub users: u64,
    /// The shape's target now (users, or arrivals per second).
    pub target: f64,
    /// The run's configuration.
    pub config: &'a RunConfig,
    /// Everything measured so far, with the last second's history point.
    pub aggregate: &'a Aggregate,
    /// The generator's own CPU and memory over the last second.
    pub resources: &'a ResourceSample,
    /// True once the run is ending.
    pub draining: bool,
}

/// Receives the engine's progress each second (the live terminal view, the
/// headless lines, later the web UI).
pub trait Observer {
    /// Called once per second.
    fn interval(&mut self, progress: &Progress<'_>);
}

/// The result of a run, for the reports.
#[derive(Debug)]
pub struct RunOutcome {
    /// Everything measured.
    pub aggregate: Aggregate,
    /// The generator's CPU and memory, each second.
    pub resources: Vec<ResourceSample>,
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Length of the run.
    pub elapsed: Duration,
    /// Why it ended.
    pub stopped_by: StopReason,
    /// The configuration it ran with.
    pub config: RunConfig,
    /// Most users alive at once.
    pub peak_users: u64,
    /// What the broker published on `$SYS/#` during the run, if watched.
    pub broker: Option<crate::protocols::mqtt::sys::SysLog>,
}

/// State every worker shares with the controller.
#[derive(Debug)]
pub struct RunShared {
    /// The configuration.
    pub config: RunConfig,
    /// When the run started.
    pub start: Instant,
    /// Users alive across all workers.
    pub live_users: AtomicU64,
    next_user: AtomicU64,
    remaining: Option<AtomicU64>,
}

impl RunShared {
    fn new(config: RunConfig, start: Instant) -> Self {
        RunShared {
            remaining: config.iterations.map(AtomicU64::new),
            config,
            start,
            live_users: AtomicU64::new(0),
            next_user: AtomicU64::new(0),
        }
    }

    /// A fresh user number.
    pub fn next_user_id(&self) -> u64 {
        self.next_user.fetch_add(1, Ordering::Relaxed)
    }

    /// Takes one iteration from the budget; false when it is spent.
    pub fn claim_iteration(&self) -> bool {
        match &self.remaining {
            None => true,
            Some(r) => r
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
        }
    }

    /// True when the iteration budget is spent.
    pub fn exhausted(&self) -> bool {
        self.remaining
            .as_ref()
            .is_some_and(|r| r.load(Ordering::Relaxed) == 0)
    }
}

/// Runs `plan` under `config` on the calling thread (workers get threads of
/// their own) and returns what was measured. With `handle_signals`, Ctrl-C
/// and SIGTERM end the run gracefully (a second one stops it at once).
pub fn run(
    plan: Arc<Plan>,
    config: RunConfig,
    handle_signals: bool,
    observer: &mut dyn Observer,
) -> Result<RunOutcome, EngineError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(EngineError::Runtime)?;
    runtime.block_on(controller::drive(plan, config, handle_signals, observer))
}
