//! The controller: starts the workers, spawns and retires users along the
//! shape, merges the workers' recordings every second, and ends the run —
//! at the run time, when the iterations are spent, or on Ctrl-C — draining
//! users gracefully and collecting the last samples.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio::time::{interval, Instant, MissedTickBehavior};

use super::config::RunConfig;
use super::mix::Mix;
use super::selfwatch::{ResourceSample, SelfWatch};
use super::spawner::{Action, Spawner};
use super::worker::{self, Command, WorkerHandle};
use super::{EngineError, Observer, Progress, RunOutcome, RunShared, StopReason};
use crate::metrics::Aggregate;
use crate::protocols::http::ClientSettings;
use crate::protocols::mqtt::sys::SysMonitor;
use crate::scenario::Plan;

/// How often the controller looks at the shape and the clock.
const TICK: Duration = Duration::from_millis(50);
/// How often workers hand over their recordings.
const INTERVAL: Duration = Duration::from_secs(1);

/// Runs `plan` under `config`, reporting each second to `observer`.
pub async fn drive(
    plan: Arc<Plan>,
    config: RunConfig,
    handle_signals: bool,
    observer: &mut dyn Observer,
) -> Result<RunOutcome, EngineError> {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let run = Arc::new(RunShared::new(config.clone(), start));
    let http = Arc::new(ClientSettings::new(plan.insecure));
    let workers = (0..config.threads)
        .map(|i| worker::start(i, plan.clone(), run.clone(), http.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(EngineError::Worker)?;
    let monitor = match (&plan.mqtt, plan.mqtt_sys) {
        (Some(settings), true) => Some(
            SysMonitor::start(settings.clone(), start.into_std()).map_err(EngineError::Worker)?,
        ),
        _ => None,
    };
    let mut aggregate = Aggregate::new(plan.stats.clone());
    let mut watch = SelfWatch::new();
    let mut resources: Vec<ResourceSample> = Vec::new();
    let mut spawner = Spawner::new(Mix::new(&plan.user_types), config.threads);
    let mut signals = if handle_signals {
        Some(signal_stream())
    } else {
        None
    };
    let mut ticker = interval(TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut next_flush = start + INTERVAL;
    let mut drain_until: Option<Option<Instant>> = None;
    let mut reason = StopReason::RunTime;
    let mut peak_users = 0;
    let mut hard_stop = false;
    loop {
        let interrupted = tokio::select! {
            _ = ticker.tick() => false,
            Some(()) = next_signal(&mut signals) => true,
        };
        let now = Instant::now();
        let t = now - start;
        let live = run.live_users.load(Ordering::Relaxed);
        peak_users = peak_users.max(live);
        if interrupted && drain_until.is_some() {
            hard_stop = true;
            break; // a second Ctrl-C: stop at once
        }
        let end = if interrupted {
            Some(StopReason::Interrupted)
        } else if drain_until.is_some() {
            None
        } else if config.run_time.is_some_and(|d| t >= d) {
            Some(StopReason::RunTime)
        } else if run.exhausted() {
            Some(StopReason::Iterations)
        } else if live == 0 && spawner.exhausted() && t > INTERVAL {
            Some(StopReason::UsersDone)
        } else {
            for action in spawner.tick(t, &config) {
                let (w, command) = match action {
                    Action::Spawn { worker, type_index } => (worker, Command::Spawn { type_index }),
                    Action::Retire { worker } => (worker, Command::Retire),
                };
                let _ = workers[w].commands.send(command);
            }
            None
        };
        if let Some(why) = end {
            reason = why;
            for w in &workers {
                let _ = w.commands.send(Command::Drain);
            }
            // Spent iterations finish without a deadline: each is bounded by
            // its own timeouts. Otherwise running tasks get --stop-timeout.
            drain_until = Some(match why {
                StopReason::Iterations | StopReason::UsersDone => config
                    .run_time
                    .map(|d| start + d.max(t) + config.stop_timeout),
                _ => Some(now + config.stop_timeout),
            });
        }
        if let Some(until) = drain_until {
            if live == 0 || until.is_some_and(|u| now >= u) {
                break;
            }
        }
        if now >= next_flush {
            next_flush += INTERVAL;
            for interval in flush(&workers, Command::Flush).await {
                aggregate.absorb(interval);
            }
            aggregate.close_interval(t, live, config.shape.target(t));
            let sample = watch.sample(t);
            resources.push(sample);
            observer.interval(&Progress {
                elapsed: t,
                planned: config.run_time,
                users: live,
                target: config.shape.target(t),
                config: &config,
                aggregate: &aggregate,
                resources: &sample,
                draining: drain_until.is_some(),
            });
        }
    }
    let elapsed = start.elapsed();
    let users_at_end = run.live_users.load(Ordering::Relaxed);
    if plan.audit && !hard_stop {
        settle_deliveries(&workers, &mut aggregate).await;
    }
    for interval in flush(&workers, Command::Stop).await {
        aggregate.absorb(interval);
    }
    aggregate.close_interval(elapsed, users_at_end, config.shape.target(elapsed));
    resources.push(watch.sample(elapsed));
    for w in workers {
        w.join();
    }
    let broker = monitor.map(SysMonitor::stop);
    Ok(RunOutcome {
        broker,
        aggregate,
        resources,
        started_at,
        elapsed,
        stopped_by: reason,
        config,
        peak_users,
    })
}

/// Longest wait for messages still on their way to audited subscribers.
const SETTLE_BOUND: Duration = Duration::from_secs(3);
/// Deliveries are settled once this long passes without a new sample.
const SETTLE_QUIET: Duration = Duration::from_millis(300);

/// The publishers stop; audited subscribers keep listening until nothing
/// arrives for a moment (or `SETTLE_BOUND`), so that messages still in
/// flight at the end are counted as delivered, not lost.
async fn settle_deliveries(workers: &[WorkerHandle], aggregate: &mut Aggregate) {
    let mut acks = Vec::with_capacity(workers.len());
    for w in workers {
        let (tx, rx) = oneshot::channel();
        if w.commands.send(Command::Abort(tx)).is_ok() {
            acks.push(rx);
        }
    }
    for rx in acks {
        let _ = rx.await;
    }
    let until = Instant::now() + SETTLE_BOUND;
    let mut quiet_since = Instant::now();
    while Instant::now() < until && quiet_since.elapsed() < SETTLE_QUIET {
        tokio::time::sleep(SETTLE_QUIET / 3).await;
        let intervals = flush(workers, Command::Flush).await;
        if intervals.iter().any(|i| !i.stats.is_empty()) {
            quiet_since = Instant::now();
        }
        for interval in intervals {
            aggregate.absorb(interval);
        }
    }
}

/// Sends `make(reply)` to every worker and gathers the intervals.
async fn flush(
    workers: &[WorkerHandle],
    make: fn(oneshot::Sender<crate::metrics::Interval>) -> Command,
) -> Vec<crate::metrics::Interval> {
    let mut replies = Vec::with_capacity(workers.len());
    for w in workers {
        let (tx, rx) = oneshot::channel();
        if w.commands.send(make(tx)).is_ok() {
            replies.push(rx);
        }
    }
    let mut out = Vec::with_capacity(replies.len());
    for rx in replies {
        if let Ok(interval) = rx.await {
            out.push(interval);
        }
    }
    out
}

/// Ctrl-C (and SIGTERM on Unix) as a stream of events.
fn signal_stream() -> mpsc::UnboundedReceiver<()> {
    let (tx, rx) = mpsc::unbounded_channel();
    let ctrl_c = tx.clone();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if ctrl_c.send(()).is_err() {
                break;
            }
        }
    });
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            while term.recv().await.is_some() {
                if tx.send(()).is_err() {
                    break;
                }
            }
        }
    });
    rx
}

/// The next Ctrl-C or SIGTERM; never, when signals are not handled.
async fn next_signal(signals: &mut Option<mpsc::UnboundedReceiver<()>>) -> Option<()> {
    match signals {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
