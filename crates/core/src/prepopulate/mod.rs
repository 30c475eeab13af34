//! The prepopulator: fills queues of the queue target (or any service with
//! the same routes) before a test, fast, and proves it did.
//!
//! Items go in batches through `POST {target}/queues/{id}/push_batch`
//! (body `{"items":[{"item":{…},"priority":p},…]}`), from `concurrency`
//! tasks each holding one keep-alive connection. Failures that may pass are
//! retried with backoff, then counted by cause; a refused batch (4xx) stops
//! the load. The depth of each queue is read from `GET
//! {target}/queues/{id}/stats` (its `depth` field) before and after, and
//! the run is verified when every queue grew by exactly the items pushed
//! to it. (A batch retried after a timeout may have been stored twice; a
//! consumer popping meanwhile makes the queue grow less: both show as a
//! failed verification, never silently.)
//!
//! The tasks share one thread ([`tokio::task::LocalSet`]): a connection
//! costs little and the target, not the generator, is the bottleneck.

mod client;
mod items;
mod summary;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use tokio::task::{JoinSet, LocalSet};

use crate::protocols::http::{ClientSettings, Origin};
use client::{Client, Endpoint};
pub use items::{effective_batch, parse_priorities, MAX_BATCH_BYTES};
use summary::per_second;
pub use summary::{Progress, QueueDepth, Summary};

/// What to load, where, and how hard.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The target's base URL, `http://127.0.0.1:8080`.
    pub target: String,
    /// The queue ids to fill (each gets `items` items).
    pub queues: Vec<String>,
    /// Items per queue.
    pub items: u64,
    /// Priorities, spread round-robin over the range.
    pub priorities: RangeInclusive<u8>,
    /// Bytes per item (the JSON object as sent).
    pub item_size: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Items per request (cut for large items, see [`MAX_BATCH_BYTES`]).
    pub batch: usize,
    /// Attempts after the first for a request failing in a way that may pass.
    pub retries: u32,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Options {
    /// `items` items for `queue` at `target`, with the defaults: priority
    /// 0, 100-byte items, 64 requests in flight, 500 items per request,
    /// 5 retries, 30 s per request.
    pub fn new(target: &str, queue: &str, items: u64) -> Options {
        Options {
            target: target.to_string(),
            queues: vec![queue.to_string()],
            items,
            priorities: 0..=0,
            item_size: 100,
            concurrency: 64,
            batch: 500,
            retries: 5,
            timeout: Duration::from_secs(30),
        }
    }

    /// Checks the options; the error says what is wrong.
    pub fn validate(&self) -> Result<(Origin, String), PrepopulateError> {
        let invalid = |m: String| Err(PrepopulateError::Invalid(m));
        let (origin, base) = Origin::parse(&self.target)
            .map_err(|e| PrepopulateError::Invalid(format!("target: {e}")))?;
        if self.queues.is_empty() {
            return invalid("no queue given".into());
        }
        for q in &self.queues {
            let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
            if q.is_empty() || !q.chars().all(unreserved) {
                return invalid(format!(
                    "queue id '{q}': expected letters, digits, '-', '.', '_' or '~'"
                ));
            }
        }
        if self.priorities.is_empty() {
            return invalid(format!(
                "priorities {}-{}: the first must not exceed the last",
                self.priorities.start(),
                self.priorities.end()
            ));
        }
        if self.item_size == 0 || self.concurrency == 0 || self.batch == 0 {
            return invalid("item size, concurrency and batch must be above 0".into());
        }
        if self.timeout.is_zero() {
            return invalid("the request timeout must be above 0".into());
        }
        Ok((origin, base))
    }
}

/// Why the prepopulator could not run.
#[derive(Debug, thiserror::Error)]
pub enum PrepopulateError {
    /// The options are wrong.
    #[error("{0}")]
    Invalid(String),
    /// The stats route did not answer (the target is down or unreachable).
    #[error("cannot read the depth of queue '{queue}' at {url}: {cause}")]
    Unreachable {
        /// The queue.
        queue: String,
        /// The stats URL.
        url: String,
        /// Why.
        cause: String,
    },
    /// The stats route answered something without a `depth`.
    #[error("{url} answered without a numeric `depth` field: {body}")]
    Stats {
        /// The stats URL.
        url: String,
        /// The start of what it answered.
        body: String,
    },
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Counters the tasks share (one thread: cells, no atomics).
#[derive(Default)]
struct Shared {
    /// The next batch to send.
    next: Cell<u64>,
    /// Items the target acknowledged.
    pushed: Cell<u64>,
    /// Items given up on.
    failed: Cell<u64>,
    /// Requests repeated.
    retries: Cell<u64>,
    /// Set when the target refused a batch: the tasks stop.
    stop: Cell<bool>,
    /// Failed items by cause.
    causes: RefCell<BTreeMap<String, u64>>,
}

impl Shared {
    /// Adds `n` to a counter.
    fn add(cell: &Cell<u64>, n: u64) {
        cell.set(cell.get() + n);
    }
}

/// How often the progress callback is called.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// Runs the prepopulator from a thread with no tokio runtime (the CLI, a
/// suite's setup): it starts its own single-threaded one.
pub fn run_blocking(
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, PrepopulateError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(options, progress))
}

/// Runs the prepopulator. Its tasks run on the awaiting thread (a
/// `LocalSet`), so await it in `block_on`, not in a spawned task.
pub async fn run(
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, PrepopulateError> {
    let (origin, base) = options.validate()?;
    let endpoint = Rc::new(Endpoint {
        origin,
        base,
        timeout: options.timeout,
        retries: options.retries,
    });
    LocalSet::new()
        .run_until(load(options, endpoint, progress))
        .await
}

/// The load itself: `concurrency` tasks taking batches in turn, progress
/// every [`PROGRESS_EVERY`], then the depth check.
async fn load(
    options: &Options,
    endpoint: Rc<Endpoint>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, PrepopulateError> {
    let settings = Arc::new(ClientSettings::new(false));
    let mut client = Client::new(endpoint.clone(), settings.clone());
    let mut before = Vec::new();
    for q in &options.queues {
        before.push(depth(&mut client, &endpoint, q).await?);
    }
    let batch = effective_batch(options.batch, options.item_size);
    let plan = items::Plan::new(options.queues.len(), options.items, batch);
    let bodies = Rc::new(items::Bodies::new(
        options.item_size,
        options.priorities.clone(),
    ));
    let paths: Rc<Vec<String>> = Rc::new(
        options
            .queues
            .iter()
            .map(|q| format!("/queues/{q}/push_batch"))
            .collect(),
    );
    let shared = Rc::new(Shared::default());
    let total = options.items * options.queues.len() as u64;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let workers = (options.concurrency as u64).min(plan.batches());
    for _ in 0..workers {
        let client = Client::new(endpoint.clone(), settings.clone());
        tasks.spawn_local(worker(
            client,
            plan,
            bodies.clone(),
            paths.clone(),
            shared.clone(),
        ));
    }
    let snapshot = |shared: &Shared| Progress {
        pushed: shared.pushed.get(),
        failed: shared.failed.get(),
        total,
        elapsed: started.elapsed(),
    };
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => progress(snapshot(&shared)),
            done = tasks.join_next() => if done.is_none() { break },
        }
    }
    let elapsed = started.elapsed();
    progress(snapshot(&shared));
    let mut queues = Vec::new();
    for (q, before) in options.queues.iter().zip(before) {
        let after = depth(&mut client, &endpoint, q).await?;
        queues.push(QueueDepth {
            queue: q.clone(),
            before,
            after,
        });
    }
    let pushed = shared.pushed.get();
    let failed = total - pushed.min(total);
    let mut causes = shared.causes.take();
    let explained: u64 = causes.values().sum();
    if failed > explained {
        causes.insert(
            "not sent: the load stopped after the target refused a batch".into(),
            failed - explained,
        );
    }
    let mut failures: Vec<(String, u64)> = causes.into_iter().collect();
    failures.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Summary {
        requested: total,
        pushed,
        failed,
        retries: shared.retries.get(),
        batch,
        failures,
        refused: shared.stop.get(),
        depth_before: queues.iter().map(|q| q.before).sum(),
        depth_after: queues.iter().map(|q| q.after).sum(),
        queues,
        elapsed,
        items_per_s: per_second(pushed, elapsed),
    })
}

/// One task: takes the next batch until none is left (or the load stops).
async fn worker(
    mut client: Client,
    plan: items::Plan,
    bodies: Rc<items::Bodies>,
    paths: Rc<Vec<String>>,
    shared: Rc<Shared>,
) {
    let mut body = Vec::new();
    loop {
        let index = shared.next.get();
        if index >= plan.batches() || shared.stop.get() {
            return;
        }
        shared.next.set(index + 1);
        let batch = plan.batch(index);
        bodies.batch(batch, &mut body);
        let outcome = client.send(&Method::POST, &paths[batch.queue], &body).await;
        Shared::add(&shared.retries, u64::from(outcome.retries));
        match outcome.result {
            Ok(answer) => {
                // `{"pushed": n}` when the target says; else the whole batch.
                let stored = serde_json::from_slice::<serde_json::Value>(&answer)
                    .ok()
                    .and_then(|v| v.get("pushed").and_then(serde_json::Value::as_u64))
                    .map_or(batch.count, |n| n.min(batch.count));
                Shared::add(&shared.pushed, stored);
                if stored < batch.count {
                    let cause = "acknowledged fewer items than sent".to_string();
                    *shared.causes.borrow_mut().entry(cause).or_default() += batch.count - stored;
                }
            }
            Err(failed) => {
                Shared::add(&shared.failed, batch.count);
                *shared.causes.borrow_mut().entry(failed.cause).or_default() += batch.count;
                if failed.fatal {
                    shared.stop.set(true);
                }
            }
        }
    }
}

/// The `depth` of `queue` from its stats route.
async fn depth(
    client: &mut Client,
    endpoint: &Endpoint,
    queue: &str,
) -> Result<u64, PrepopulateError> {
    let path = format!("/queues/{queue}/stats");
    let url = format!("{}{}{path}", endpoint.origin, endpoint.base);
    let body = client
        .send(&Method::GET, &path, b"")
        .await
        .result
        .map_err(|f| PrepopulateError::Unreachable {
            queue: queue.to_string(),
            url: url.clone(),
            cause: f.cause,
        })?;
    serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("depth").and_then(serde_json::Value::as_u64))
        .ok_or_else(|| PrepopulateError::Stats {
            url,
            body: String::from_utf8_lossy(&body).chars().take(200).collect(),
        })
}

#[cfg(test)]
mod tests;
