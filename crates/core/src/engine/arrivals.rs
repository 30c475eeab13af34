//! The open model: each worker generates its share of arrivals at the
//! shape's rate, each with the time it was due; idle users take them from a
//! queue, and users are added up to the cap when none is free. An arrival
//! that waits in line is still timed from when it was due.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{sleep, sleep_until, Instant};

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
            cap: cap.max(1),
        }
    }
}

/// Generates this worker's share of arrivals until the run drains.
pub async fn generate(env: Rc<WorkerEnv>, open: Rc<OpenState>) {
    let run = env.run.clone();
    let share = 1.0 / run.config.threads as f64;
    // Each worker walks the whole mix cycle, from its own offset.
    let mut n = env.index as u64;
    let first_rate = run.config.shape.target(Duration::ZERO) * share;
    // Workers interleave their arrivals instead of firing together.
    let offset = if first_rate > 0.0 {
        Duration::from_secs_f64(env.index as f64 / run.config.threads as f64 / first_rate)
    } else {
        Duration::ZERO
    };
    let mut next = run.start + offset;
    loop {
        if env.draining.get() || run.exhausted() {
            return;
        }
        let rate = run
            .config
            .shape
            .target(next.saturating_duration_since(run.start))
            * share;
        if rate.is_nan() || rate <= 0.0 {
            // Nothing to send now: look again shortly.
            sleep(Duration::from_millis(50)).await;
            next = next.max(Instant::now());
            continue;
        }
        sleep_until(next).await;
        let now = Instant::now();
        // Emit every arrival that is due by now (a busy worker catches up
        // instead of silently lowering the rate).
        while next <= now && !env.draining.get() {
            let Some(type_index) = open.mix.weighted(n) else {
                return;
            };
            n += 1;
            let queue = &open.queues[type_index];
            let free = queue.idle.get() > 0;
            let can_grow = open.live.get() < open.cap;
            if !free && can_grow {
                open.live.set(open.live.get() + 1);
                env.spawn_user(type_index, Source::Open(queue.clone()), Some(open.clone()));
            }
            queue.push(Arrival {
                due: next,
                queued: !free && !can_grow,
            });
            env.recorder.borrow_mut().arrival_due();
            let rate = run
                .config
                .shape
                .target(next.saturating_duration_since(run.start))
                * share;
            next += Duration::from_secs_f64(1.0 / rate.max(1e-3));
        }
    }
}
