//! The open model: each worker generates its share of arrivals at the
//! shape's rate, each with the time it was due; idle users take them from a
//! queue, and users are added up to the cap when none is free. An arrival
//! that waits in line for a user carries that wait into its latency.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{sleep_until, Instant};

use super::mix::Mix;
use super::signal::StopFlag;
use super::user::Source;
use super::worker::WorkerEnv;
use crate::scenario::UserType;

/// One iteration to start.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    /// When it should start.
    pub due: Instant,
    /// When the generator handed it out (after `due` by the timer's
    /// lateness); waiting from here on is waiting for a user.
    pub queued_at: Instant,
    /// True when it found no free user and waited in line.
    pub queued: bool,
}

/// Arrivals waiting in one type's line, at most; further ones are dropped
/// and reported as never started, so a stalled target cannot make the
/// line grow without bound.
const MAX_LINE: usize = 100_000;

/// The users of one user type on one worker, and the arrivals waiting for
/// them.
#[derive(Debug)]
pub struct TypeQueue {
    items: RefCell<VecDeque<Arrival>>,
    notify: Notify,
    idle: Cell<u64>,
    /// Users of this type alive.
    pub live: Cell<u64>,
    cap: u64,
}

impl TypeQueue {
    fn new(cap: u64) -> TypeQueue {
        TypeQueue {
            items: RefCell::new(VecDeque::new()),
            notify: Notify::new(),
            idle: Cell::new(0),
            live: Cell::new(0),
            cap,
        }
    }

    /// The next arrival, waiting for one if the queue is empty; `None` once
    /// the user is asked to stop.
    pub async fn next(&self, stop: &StopFlag) -> Option<Arrival> {
        loop {
            if stop.is_set() {
                return None;
            }
            if let Some(a) = self.items.borrow_mut().pop_front() {
                return Some(a);
            }
            self.idle.set(self.idle.get() + 1);
            tokio::select! {
                _ = self.notify.notified() => {}
                _ = stop.requested() => {}
            }
            self.idle.set(self.idle.get() - 1);
        }
    }

    fn push(&self, arrival: Arrival) {
        self.items.borrow_mut().push_back(arrival);
        self.notify.notify_one();
    }
}

/// The open-model state of one worker.
#[derive(Debug)]
pub struct OpenState {
    queues: Vec<Rc<TypeQueue>>,
    mix: Mix,
}

impl OpenState {
    /// State for `types` with at most `cap` users on this worker, split
    /// between the weighted types by weight, each allowed at least one (so
    /// no type starves behind another).
    pub fn new(types: &[UserType], cap: u64) -> Self {
        let total: u64 = types
            .iter()
            .filter(|t| t.count.is_none())
            .map(|t| u64::from(t.weight))
            .sum();
        let queues = types
            .iter()
            .map(|t| {
                let share = if t.count.is_none() && total > 0 {
                    (cap * u64::from(t.weight) + total / 2) / total
                } else {
                    0
                };
                Rc::new(TypeQueue::new(share.max(1)))
            })
            .collect();
        OpenState {
            queues,
            mix: Mix::new(types),
        }
    }
}

/// How far ahead the generator looks for the next arrival when the rate is
/// zero for now.
const LOOK_AHEAD: Duration = Duration::from_secs(3600);

/// Generates this worker's share of arrivals until the run drains.
///
/// Arrival `j` of the whole run is due when the shape's integral reaches
/// `j`; worker `w` of `n` takes arrivals `w, w + n, w + 2n, ...`. Times come
/// from the integral, so ramps and steps in the rate are followed exactly,
/// and a busy worker catches up instead of silently lowering the rate. Each
/// arrival takes its iteration from the run's budget when it is generated.
pub async fn generate(env: Rc<WorkerEnv>, open: Rc<OpenState>) {
    let run = env.run.clone();
    let workers = run.config.threads as u64;
    let horizon = run.config.run_time.unwrap_or(LOOK_AHEAD);
    let total = run.config.shape.cumulative(horizon);
    let mut last = Duration::ZERO;
    let mut k: u64 = 0;
    loop {
        if env.draining.get() {
            return;
        }
        let j = (k * workers + env.index as u64) as f64;
        let Some(offset) = run.config.shape.next_arrival(j, last, horizon, total) else {
            return; // no more arrivals before the end of the run
        };
        last = offset;
        let due = run.start + offset;
        if due > Instant::now() {
            sleep_until(due).await;
            if env.draining.get() {
                return;
            }
        }
        let Some(type_index) = open.mix.weighted(k) else {
            return;
        };
        if !run.claim_iteration() {
            return;
        }
        k += 1;
        env.recorder.borrow_mut().arrival_due();
        let queue = &open.queues[type_index];
        let waiting = queue.items.borrow().len();
        if waiting >= MAX_LINE {
            continue; // counted as due, never started
        }
        // Idle users not yet claimed by an arrival already in line.
        let free = queue.idle.get() > waiting as u64;
        let can_grow = queue.live.get() < queue.cap;
        if !free && can_grow {
            queue.live.set(queue.live.get() + 1);
            env.spawn_user(type_index, Source::Open(queue.clone()));
        }
        queue.push(Arrival {
            due,
            queued_at: Instant::now(),
            queued: !free && !can_grow,
        });
    }
}
