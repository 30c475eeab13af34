//! A worker: one OS thread with a single-threaded tokio runtime, its users
//! as local tasks, and its own recorder — no locks between workers. The
//! controller talks to it with a handful of commands per second.

use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use super::arrivals::{self, OpenState};
use super::config::Model;
use super::mix::WeightedPick;
use super::signal::StopFlag;
use super::user::{self, Source};
use super::RunShared;
use crate::metrics::{Interval, Recorder};
use crate::protocols::http::ClientSettings;
use crate::protocols::mqtt;
use crate::scenario::Plan;

/// What the controller asks of a worker.
#[derive(Debug)]
pub enum Command {
    /// Start a closed-model user of this type.
    Spawn {
        /// The user type.
        type_index: usize,
    },
    /// Ask the most recently spawned closed-model user to stop after its
    /// current iteration (ramp-down).
    Retire,
    /// Hand over what was recorded since the last flush.
    Flush(oneshot::Sender<Interval>),
    /// No new iterations: users finish what they are doing.
    Drain,
    /// Abort every user now (in-flight requests count as interrupted);
    /// audited subscriptions keep listening until `Stop`.
    Abort(oneshot::Sender<()>),
    /// Abort every user, close every connection and hand over the last
    /// interval (with the delivery audit).
    Stop(oneshot::Sender<Interval>),
}

/// The controller's end of a worker.
pub struct WorkerHandle {
    /// Commands to the worker.
    pub commands: mpsc::UnboundedSender<Command>,
    thread: thread::JoinHandle<()>,
}

impl WorkerHandle {
    /// Waits for the worker thread to end.
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// A user task and its stop flag.
struct UserSlot {
    stop: Rc<StopFlag>,
    join: JoinHandle<()>,
    closed: bool,
}

/// What a worker's users share.
pub struct WorkerEnv {
    /// Worker number, from 0.
    pub index: usize,
    /// The scenario.
    pub plan: Arc<Plan>,
    /// Run-wide state.
    pub run: Arc<RunShared>,
    /// This worker's recorder.
    pub recorder: Rc<RefCell<Recorder>>,
    /// HTTP settings.
    pub http: Arc<ClientSettings>,
    /// Task picker per user type.
    pub tasks: Vec<WeightedPick>,
    /// Set once the run drains.
    pub draining: Cell<bool>,
    users: RefCell<Vec<UserSlot>>,
}

impl WorkerEnv {
    /// Starts a user of `type_index` on this worker.
    pub fn spawn_user(self: &Rc<Self>, type_index: usize, source: Source) {
        let id = self.run.next_user_id();
        let stop = Rc::new(StopFlag::default());
        let closed = matches!(source, Source::Closed(_));
        // An open-model user frees its place in its type's pool on exit.
        let pool = match &source {
            Source::Open(queue) => Some(queue.clone()),
            Source::Closed(_) => None,
        };
        let env = self.clone();
        let flag = stop.clone();
        let join = tokio::task::spawn_local(async move {
            let recorder = env.recorder.clone();
            let name = env.plan.user_types[type_index].name.clone();
            let run = AssertUnwindSafe(user::run(env, id, type_index, flag, source));
            if let Err(panic) = run.catch_unwind().await {
                // A bug, not the target's fault: counted and reported, and
                // the run goes on without this user.
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                recorder.borrow_mut().error(&format!(
                    "a '{name}' user stopped on an internal error: {what}"
                ));
            }
            if let Some(queue) = pool {
                queue.live.set(queue.live.get() - 1);
            }
        });
        let mut users = self.users.borrow_mut();
        // Forget finished users now and then, not on every spawn.
        if users.len() % 256 == 255 {
            users.retain(|u| !u.join.is_finished());
        }
        users.push(UserSlot { stop, join, closed });
    }
}

/// Starts worker `index` on its own thread.
pub fn start(
    index: usize,
    plan: Arc<Plan>,
    run: Arc<RunShared>,
    http: Arc<ClientSettings>,
) -> std::io::Result<WorkerHandle> {
    let (commands, rx) = mpsc::unbounded_channel();
    let thread = thread::Builder::new()
        .name(format!("cicada-worker-{index}"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cicada: worker {index} could not start its runtime: {e}");
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, serve(index, plan, run, http, rx));
        })?;
    Ok(WorkerHandle { commands, thread })
}

/// The worker's command loop.
async fn serve(
    index: usize,
    plan: Arc<Plan>,
    run: Arc<RunShared>,
    http: Arc<ClientSettings>,
    mut rx: mpsc::UnboundedReceiver<Command>,
) {
    let tasks = plan
        .user_types
        .iter()
        .map(|t| WeightedPick::new(t.tasks.iter().map(|task| task.weight)))
        .collect();
    let env = Rc::new(WorkerEnv {
        index,
        recorder: Rc::new(RefCell::new(Recorder::new(plan.stats.len()))),
        plan,
        run,
        http,
        tasks,
        draining: Cell::new(false),
        users: RefCell::new(Vec::new()),
    });
    let probe = tokio::task::spawn_local(lag_probe(env.clone()));
    let generator = match env.run.config.model {
        Model::Open { max_users } => {
            let workers = env.run.config.threads as u64;
            let cap = max_users / workers + u64::from((index as u64) < max_users % workers);
            let open = Rc::new(OpenState::new(&env.plan.user_types, cap));
            Some(tokio::task::spawn_local(arrivals::generate(
                env.clone(),
                open,
            )))
        }
        Model::Closed { .. } => None,
    };
    while let Some(command) = rx.recv().await {
        match command {
            Command::Spawn { type_index } => {
                let wait = env.plan.user_types[type_index].wait;
                env.spawn_user(type_index, Source::Closed(wait));
            }
            Command::Retire => {
                let users = env.users.borrow();
                if let Some(u) = users.iter().rev().find(|u| u.closed && !u.stop.is_set()) {
                    u.stop.request();
                }
            }
            Command::Flush(reply) => {
                let _ = reply.send(env.recorder.borrow_mut().take_interval());
            }
            Command::Drain => {
                env.draining.set(true);
                for u in env.users.borrow().iter() {
                    u.stop.request();
                }
            }
            Command::Abort(reply) => {
                abort_users(&env, generator.as_ref()).await;
                let _ = reply.send(());
            }
            Command::Stop(reply) => {
                probe.abort();
                abort_users(&env, generator.as_ref()).await;
                mqtt::shutdown::close_all(CLOSE_BOUND).await;
                let mut rec = env.recorder.borrow_mut();
                let mut last = rec.take_interval();
                last.audit = rec.take_audit();
                let _ = reply.send(last);
                return;
            }
        }
    }
}

/// Time connections get to say DISCONNECT at the end of the run.
const CLOSE_BOUND: Duration = Duration::from_secs(1);

/// Stops the arrivals and aborts every user of the worker.
async fn abort_users(env: &WorkerEnv, generator: Option<&JoinHandle<()>>) {
    if let Some(g) = generator {
        g.abort();
    }
    let users: Vec<UserSlot> = env.users.borrow_mut().drain(..).collect();
    for u in &users {
        u.join.abort();
    }
    // Awaiting the aborted tasks drops their futures, which records their
    // in-flight requests as interrupted.
    for u in users {
        let _ = u.join.await;
    }
}

/// How often the lag probe wakes.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// Measures how late this worker's event loop wakes a timer: a busy
/// generator shows here before it shows anywhere else.
async fn lag_probe(env: Rc<WorkerEnv>) {
    loop {
        let due = Instant::now() + PROBE_EVERY;
        sleep_until(due).await;
        let lag = Instant::now().saturating_duration_since(due);
        env.recorder.borrow_mut().lag(lag);
    }
}
