//! The managed target: a system under test that a suite starts before its
//! runs, restarts, kills, pauses and stops — so that one command runs a
//! whole campaign, and faults can be injected into a process cicada owns.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::spec::TargetDef;
use crate::control;
use crate::monitor::TargetPid;

/// Why the target could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The command could not be spawned.
    #[error("cannot start the target `{command}`: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// The log file could not be opened.
    #[error("cannot write the target's log {}: {source}", path.display())]
    Log {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It exited before it was ready.
    #[error("the target `{command}` exited ({status}) before it was ready; its log {}:\n{tail}", log.display())]
    Exited {
        /// The command.
        command: String,
        /// How it exited.
        status: String,
        /// The log.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// It did not answer its readiness URL in time.
    #[error("the target did not answer {url} with 2xx within {}s (last: {last}); its log {}:\n{tail}", timeout.as_secs(), log.display())]
    NotReady {
        /// The readiness URL.
        url: String,
        /// The time allowed.
        timeout: Duration,
        /// The last answer or error.
        last: String,
        /// The log.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
}

/// A running (or stopped) target process. Shared between the suite and a
/// run's fault thread.
#[derive(Debug)]
pub struct ManagedTarget {
    /// How to start it (the suite file's `target:` or service).
    spec: TargetDef,
    /// Where its stdout and stderr go (appended across restarts).
    log: PathBuf,
    /// The process, while it runs.
    child: Mutex<Option<Child>>,
    /// Its pid (0 while stopped), for monitors that follow it.
    pid: TargetPid,
}

impl ManagedTarget {
    /// Starts the target (its output appended to `log`) and waits until
    /// it is ready.
    pub fn start(spec: TargetDef, log: PathBuf) -> Result<ManagedTarget, TargetError> {
        let target = ManagedTarget {
            spec,
            log,
            child: Mutex::new(None),
            pid: TargetPid::new(),
        };
        target.launch()?;
        Ok(target)
    }

    /// The pid while it runs: monitors read it every sample, so they follow
    /// the target across restarts.
    pub fn pid_cell(&self) -> TargetPid {
        self.pid.clone()
    }

    /// Its pid now, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.pid.get()
    }

    /// Starts the process (if it is not running) and waits until ready.
    pub fn launch(&self) -> Result<(), TargetError> {
        let mut child = self.lock();
        if child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
        {
            return Ok(());
        }
        let log = |source| TargetError::Log {
            path: self.log.clone(),
            source,
        };
        let out = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(log)?;
        let err = out.try_clone().map_err(log)?;
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("exec {}", self.spec.command))
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // A group of its own: kill and stop reach the target's children.
            .process_group(0);
        let spawned = command.spawn().map_err(|source| TargetError::Spawn {
            command: self.spec.command.clone(),
            source,
        })?;
        self.pid.set(Some(spawned.id()));
        *child = Some(spawned);
        let ready = self.wait_ready(&mut child);
        if ready.is_err() {
            // Not ready is not running: the next launch starts afresh.
            if let Some(mut c) = child.take() {
                signal_group(c.id(), libc::SIGKILL);
                let _ = c.wait();
            }
            self.pid.set(None);
        }
        ready
    }

    /// Polls the readiness URL every 100 ms until it answers 2xx.
    fn wait_ready(&self, child: &mut MutexGuard<'_, Option<Child>>) -> Result<(), TargetError> {
        let Some(url) = &self.spec.ready else {
            return Ok(());
        };
        let deadline = Instant::now() + self.spec.ready_timeout;
        let mut last;
        loop {
            if let Some(c) = child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    self.pid.set(None);
                    **child = None;
                    return Err(TargetError::Exited {
                        command: self.spec.command.clone(),
                        status: status.to_string(),
                        log: self.log.clone(),
                        tail: self.log_tail(),
                    });
                }
            }
            match probe(url) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            if Instant::now() >= deadline {
                return Err(TargetError::NotReady {
                    url: url.clone(),
                    timeout: self.spec.ready_timeout,
                    last,
                    log: self.log.clone(),
                    tail: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the process at once (SIGKILL) and reaps it.
    pub fn kill(&self) {
        let mut child = self.lock();
        if let Some(mut c) = child.take() {
            signal_group(c.id(), libc::SIGKILL);
            let _ = c.wait();
        }
        self.pid.set(None);
    }

    /// Kills and starts it again.
    pub fn restart(&self) -> Result<(), TargetError> {
        self.kill();
        self.launch()
    }

    /// Freezes it (SIGSTOP) for `length`, then lets it go on (SIGCONT).
    pub fn pause(&self, length: Duration) {
        let Some(pid) = self.pid() else { return };
        signal_group(pid, libc::SIGSTOP);
        std::thread::sleep(length);
        signal_group(pid, libc::SIGCONT);
    }

    /// Asks it to stop (SIGTERM), kills it after 5 s.
    pub fn stop(&self) {
        let mut child = self.lock();
        if let Some(mut c) = child.take() {
            signal_group(c.id(), libc::SIGCONT);
            signal_group(c.id(), libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            signal_group(c.id(), libc::SIGKILL);
            let _ = c.wait();
        }
        self.pid.set(None);
    }

    /// The last lines of its log, for errors.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// The child slot; a poisoned lock is recovered (the slot is always
    /// consistent).
    fn lock(&self) -> MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for ManagedTarget {
    /// A suite that fails half-way still leaves no target behind.
    fn drop(&mut self) {
        self.stop();
    }
}

/// One readiness check: a 2xx for an HTTP URL, an accepted connection for
/// `tcp://HOST:PORT`.
fn probe(url: &str) -> Result<(), String> {
    if let Some(addr) = url.strip_prefix("tcp://") {
        let addr: std::net::SocketAddr = addr
            .parse()
            .map_err(|e| format!("{url}: not HOST:PORT ({e})"))?;
        return std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .map(drop)
            .map_err(|e| e.to_string());
    }
    match control::blocking("GET", url, None, Duration::from_secs(1)) {
        Ok(r) if r.ok() => Ok(()),
        Ok(r) => Err(format!("status {}", r.status)),
        Err(e) => Err(e.to_string()),
    }
}

/// Sends `sig` to the process group led by `pid` (the target and its
/// children).
fn signal_group(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory effects; a stale group only fails.
        unsafe {
            libc::kill(-pid, sig);
        }
    }
}
