//! Carrying out `setup:` steps (of a scenario or a suite's run) against the
//! system under test before its load starts: empty the queue target, fill
//! queues with the prepopulator.

use std::time::Duration;

use crate::control;
use crate::prepopulate::{self, Options};
use crate::scenario::{Prepopulate, SetupStep};

/// Why a setup step failed; the run does not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A step needs the host and there is none.
    #[error("setup: {0} needs an HTTP host (the scenario's `host:` or --host)")]
    NoHost(&'static str),
    /// `reset` got no 2xx.
    #[error("setup: reset: {0}")]
    Reset(String),
    /// The prepopulator failed or did not verify.
    #[error("setup: prepopulate {queue}: {why}")]
    Prepopulate {
        /// The queue.
        queue: String,
        /// What went wrong.
        why: String,
    },
}

/// Carries out `steps` in order against `host`, printing one line per step
/// on stderr.
pub fn run(steps: &[SetupStep], host: Option<&str>) -> Result<(), SetupError> {
    for step in steps {
        match step {
            SetupStep::Reset => reset(host.ok_or(SetupError::NoHost("reset"))?)?,
            SetupStep::Prepopulate(p) => fill(p, host.ok_or(SetupError::NoHost("prepopulate"))?)?,
        }
    }
    Ok(())
}

/// `POST {host}/admin/reset`.
fn reset(host: &str) -> Result<(), SetupError> {
    let url = format!("{}/admin/reset", host.trim_end_matches('/'));
    let reply = control::blocking("POST", &url, None, Duration::from_secs(30))
        .map_err(|e| SetupError::Reset(e.to_string()))?;
    if !reply.ok() {
        return Err(SetupError::Reset(format!(
            "POST {url} answered {} ({}); the queue target needs --admin",
            reply.status,
            reply.text(200)
        )));
    }
    eprintln!("cicada: setup: reset {host}");
    Ok(())
}

/// Runs the prepopulator and checks the queue grew by what it pushed.
fn fill(p: &Prepopulate, host: &str) -> Result<(), SetupError> {
    let fail = |why: String| SetupError::Prepopulate {
        queue: p.queue.clone(),
        why,
    };
    let options = Options {
        priorities: p.priorities.clone(),
        item_size: p.item_size as usize,
        concurrency: p.concurrency,
        batch: p.batch,
        ..Options::new(host, &p.queue, p.items)
    };
    let summary =
        prepopulate::run_blocking(&options, &mut |_| {}).map_err(|e| fail(e.to_string()))?;
    if let Some(problem) = summary.problem() {
        return Err(fail(problem));
    }
    eprintln!(
        "cicada: setup: prepopulated {} with {} items in {:.1}s ({:.0} items/s), depth {}",
        p.queue,
        summary.pushed,
        summary.elapsed.as_secs_f64(),
        summary.items_per_s,
        summary.depth_after
    );
    Ok(())
}
