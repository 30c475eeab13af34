//! The background worker that completes jobs at a fixed average rate.
//!
//! Rather than one timer per job (which cannot express 5000 jobs/s, nor keep
//! its rate exact for 0.5 jobs/s), the worker wakes on a short tick and
//! completes however many jobs are *owed* since the queue last became busy:
//! `floor(rate × busy time) − completed so far`. Owing is computed from the
//! elapsed time rather than summed tick by tick, so rounding never drifts, and
//! the busy period restarts whenever the queue is empty, so an idle worker
//! saves up no credit and cannot burst when work arrives again.

use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use super::store::Store;
use super::JobsState;

/// How often the worker wakes; short enough that completions look continuous
/// and a lone job waits at most one tick longer than `1 / rate`.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Turns elapsed busy time into a number of completions at a fixed rate.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    /// Jobs per second.
    rate: f64,
    /// When the current busy period began (the queue was last seen empty).
    start: Instant,
    /// Jobs completed since `start`.
    done: u64,
}

impl Pacer {
    /// A pacer whose first busy period starts at `now`.
    pub(crate) fn new(rate: f64, now: Instant) -> Self {
        Self {
            rate,
            start: now,
            done: 0,
        }
    }

    /// Jobs due by `now` and not yet completed in this busy period.
    pub(crate) fn owed(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
        // The tiny epsilon keeps e.g. 0.1 × 10 s from flooring to 0.999…;
        // a NaN rate yields 0 and an infinite one saturates (`as` casts).
        let due = (self.rate * elapsed + 1e-9).floor();
        (due as u64).saturating_sub(self.done)
    }

    /// Completes what is owed at `now` and returns how many jobs that was.
    /// Whenever the queue is (or becomes) empty the busy period restarts, so
    /// no credit is carried over idle time.
    pub(crate) fn step(&mut self, store: &mut Store, now: Instant) -> u64 {
        if store.queue_depth() == 0 {
            self.restart(now);
            return 0;
        }
        let completed = store.complete_up_to(self.owed(now));
        self.done += completed;
        if store.queue_depth() == 0 {
            self.restart(now);
        }
        completed
    }

    /// Begins a new busy period at `now` with nothing owed.
    fn restart(&mut self, now: Instant) {
        self.start = now;
        self.done = 0;
    }
}

/// Runs the completion loop until `shutdown` resolves. The store lock is held
/// only for the synchronous step, never across an await.
pub(crate) async fn run(state: JobsState, shutdown: impl Future<Output = ()>) {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut pacer = Pacer::new(state.config().completion_rate, Instant::now());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        let now = Instant::now();
        state.with_store(|store| pacer.step(store, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobsConfig;

    /// Moves the paused clock forward and lets the worker task catch up.
    async fn advance(by: Duration) {
        tokio::time::advance(by).await;
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
    }

    /// Advances one tick at a time, as a real clock would.
    async fn advance_in_ticks(by: Duration) {
        let ticks = by.as_millis() / TICK.as_millis();
        for _ in 0..ticks {
            advance(TICK).await;
        }
    }

    fn completed(state: &JobsState) -> u64 {
        state.stats().completed
    }

    fn start(rate: f64, jobs: usize) -> (JobsState, tokio::sync::oneshot::Sender<()>) {
        let state = JobsState::new(JobsConfig {
            completion_rate: rate,
        });
        for i in 0..jobs {
            state.submit(format!("job {i}"));
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        state.spawn_worker(async move {
            let _ = rx.await;
        });
        (state, tx)
    }

    #[tokio::test(start_paused = true)]
    async fn two_per_second_completes_exactly_two_each_second() {
        let (state, _stop) = start(2.0, 20);
        advance(Duration::ZERO).await;
        assert_eq!(completed(&state), 0);
        for second in 1..=5 {
            advance_in_ticks(Duration::from_secs(1)).await;
            assert_eq!(completed(&state), 2 * second, "after {second} s");
        }
        assert_eq!(state.stats().queue_depth, 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_large_clock_jump_completes_what_is_owed() {
        let (state, _stop) = start(2.0, 20);
        advance(Duration::ZERO).await;
        advance(Duration::from_secs(3)).await;
        assert_eq!(completed(&state), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn half_per_second_completes_one_job_every_two_seconds() {
        let (state, _stop) = start(0.5, 5);
        advance(Duration::ZERO).await;
        advance_in_ticks(Duration::from_secs(1)).await;
        assert_eq!(completed(&state), 0);
        advance_in_ticks(Duration::from_secs(1)).await;
        assert_eq!(completed(&state), 1);
        advance_in_ticks(Duration::from_millis(1990)).await;
        assert_eq!(completed(&state), 1);
        advance_in_ticks(Duration::from_millis(10)).await;
        assert_eq!(completed(&state), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn high_rates_complete_many_jobs_per_tick() {
        let (state, _stop) = start(5000.0, 20_000);
        advance(Duration::ZERO).await;
        advance_in_ticks(Duration::from_secs(1)).await;
        assert_eq!(completed(&state), 5000);
    }

    #[tokio::test(start_paused = true)]
    async fn no_burst_after_idle() {
        let (state, _stop) = start(2.0, 0);
        advance(Duration::ZERO).await;
        advance_in_ticks(Duration::from_secs(10)).await;
        for _ in 0..10 {
            state.submit(String::new());
        }
        advance(Duration::ZERO).await;
        assert_eq!(completed(&state), 0, "idle time must not become credit");
        advance_in_ticks(Duration::from_secs(1)).await;
        assert_eq!(completed(&state), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn draining_the_queue_forgets_leftover_credit() {
        let (state, _stop) = start(2.0, 1);
        advance_in_ticks(Duration::from_secs(3)).await;
        assert_eq!(completed(&state), 1);
        for _ in 0..4 {
            state.submit(String::new());
        }
        advance(Duration::ZERO).await;
        assert_eq!(completed(&state), 1);
        advance_in_ticks(Duration::from_secs(1)).await;
        assert_eq!(completed(&state), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stops_when_shutdown_resolves() {
        let state = JobsState::new(JobsConfig::default());
        let handle = state.spawn_worker(async {});
        advance(Duration::ZERO).await;
        assert!(handle.await.is_ok());
    }

    #[test]
    fn owed_is_computed_from_elapsed_time_not_summed() {
        let t0 = Instant::now();
        let pacer = Pacer::new(0.1, t0);
        assert_eq!(pacer.owed(t0 + Duration::from_millis(9_999)), 0);
        assert_eq!(pacer.owed(t0 + Duration::from_secs(10)), 1);
        let pacer = Pacer::new(3.0, t0);
        assert_eq!(pacer.owed(t0 + Duration::from_secs(100)), 300);
        assert_eq!(pacer.owed(t0), 0);
    }
}
