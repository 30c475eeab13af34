//! The broker monitor: one extra connection that subscribes to `$SYS/#` on
//! the broker under test for the length of the run, so the report shows
//! the broker's own view (clients, message rates, memory) beside the load.
//! It runs on a thread of its own, away from the workers' users.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant as StdInstant, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::session::MqttSession;
use super::settings::Settings;
use super::shutdown::close_all;
use crate::metrics::{Recorder, StatId};

/// Samples kept at most (Mosquitto sends ~60 topics per `sys_interval`).
const MAX_SAMPLES: usize = 1_000_000;

/// One `$SYS` message.
#[derive(Clone, Debug, PartialEq)]
pub struct SysSample {
    /// Unix time it arrived, seconds.
    pub timestamp: f64,
    /// Seconds since the run started.
    pub elapsed_s: f64,
    /// The topic, e.g. `$SYS/broker/clients/connected`.
    pub topic: String,
    /// The payload as text.
    pub value: String,
}

/// What the monitor saw.
#[derive(Clone, Debug, Default)]
pub struct SysLog {
    /// Every message, in arrival order.
    pub samples: Vec<SysSample>,
    /// Why it saw nothing, if so.
    pub problem: Option<String>,
}

/// A running monitor.
pub struct SysMonitor {
    stop: oneshot::Sender<()>,
    thread: thread::JoinHandle<SysLog>,
}

impl SysMonitor {
    /// Connects to the broker of `settings` and records `$SYS/#` from now
    /// on; times count from `start`.
    pub fn start(settings: Arc<Settings>, start: StdInstant) -> std::io::Result<SysMonitor> {
        let (stop, stopped) = oneshot::channel();
        let thread = thread::Builder::new()
            .name("cicada-sys-monitor".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        return SysLog {
                            samples: Vec::new(),
                            problem: Some(format!("could not start its runtime: {e}")),
                        }
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, watch(settings, start, stopped))
            })?;
        Ok(SysMonitor { stop, thread })
    }

    /// Stops the monitor and returns what it saw.
    pub fn stop(self) -> SysLog {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_else(|_| SysLog {
            samples: Vec::new(),
            problem: Some("the monitor stopped on an internal error".into()),
        })
    }
}

async fn watch(
    settings: Arc<Settings>,
    start: StdInstant,
    mut stop: oneshot::Receiver<()>,
) -> SysLog {
    let mut log = SysLog::default();
    let recorder = Rc::new(RefCell::new(Recorder::new(1)));
    let client_id = format!("cicada-sys-{}", std::process::id());
    let mut session =
        MqttSession::start(settings.clone(), client_id, u64::MAX, recorder, StatId(0));
    let filters = [("$SYS/#".to_string(), 0)];
    // Subscribe (again after each failure) until it holds or the run ends.
    loop {
        tokio::select! {
            _ = &mut stop => return finish(session, log).await,
            r = session.subscribe(&filters, false, None, true, settings.connect_timeout) => match r {
                Ok(_) => break,
                Err(why) => {
                    log.problem = Some(format!("could not subscribe to $SYS/# on {}: {why}", settings.broker));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
        }
    }
    log.problem = None;
    loop {
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            _ = &mut stop => break,
            m = session.expect(far, |_| true) => {
                let Some(m) = m else { continue };
                if log.samples.len() < MAX_SAMPLES {
                    log.samples.push(SysSample {
                        timestamp: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
                        elapsed_s: start.elapsed().as_secs_f64(),
                        topic: m.topic.clone(),
                        value: String::from_utf8_lossy(&m.payload).trim().to_string(),
                    });
                }
            }
        }
    }
    finish(session, log).await
}

async fn finish(session: MqttSession, mut log: SysLog) -> SysLog {
    drop(session);
    close_all(Duration::from_millis(500)).await;
    if log.samples.is_empty() && log.problem.is_none() {
        log.problem = Some(
            "no message arrived on $SYS/# (the broker may not publish $SYS topics — rumqttd does not — or publishes them less often than the run lasted; Mosquitto's sys_interval is 10 s by default)".into(),
        );
    }
    log
}
