//! The open model: each worker generates its share of arrivals at the
//! shape's rate, each with the time it was due; idle users take them from a
//! queue, and users are added up to the cap when none is free. An arrival
//! that waits in line is still timed from when it was due.

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

/// One iteration to start.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    /// When it should start.
    pub due: Instant,
    /// True when it found no free user and waited in line.
    pub queued: bool,
}

/// Arrivals for one user type on one worker.
#[derive(Debug, Default)]
pub struct TypeQueue {
    items: RefCell<VecDeque<Arrival>>,
    notify: Notify,
    idle: Cell<u64>,
}

impl TypeQueue {
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
    /// Open-model users alive on this worker.
    pub live: Cell<u64>,
    cap: u64,
}

impl OpenState {
    /// State for `types` user types with at most `cap` users on this worker.
    pub fn new(types: usize, mix: Mix, cap: u64) -> Self {
        OpenState {
            queues: (0..types).map(|_| Rc::new(TypeQueue::default())).collect(),
            mix,
            live: Cell::new(0),
            cap,
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
/// and a busy worker catches up instead of silently lowering the rate.
pub async fn generate(env: Rc<WorkerEnv>, open: Rc<OpenState>) {
    let run = env.run.clone();
    let workers = run.config.threads as u64;
    let horizon = run.config.run_time.unwrap_or(LOOK_AHEAD);
    let mut k: u64 = 0;
    loop {
        if env.draining.get() || run.exhausted() {
            return;
        }
        let j = (k * workers + env.index as u64) as f64;
        let Some(offset) = run.config.shape.arrival_time(j, horizon) else {
            return; // no more arrivals before the end of the run
        };
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
        k += 1;
        let queue = &open.queues[type_index];
        // Idle users not yet claimed by an arrival already in the queue.
        let free = queue.idle.get() > queue.items.borrow().len() as u64;
        let can_grow = open.live.get() < open.cap;
        if !free && can_grow {
            open.live.set(open.live.get() + 1);
            env.spawn_user(type_index, Source::Open(queue.clone()), Some(open.clone()));
        }
        queue.push(Arrival {
            due,
            queued: !free && !can_grow,
        });
        env.recorder.borrow_mut().arrival_due();
    }
}
