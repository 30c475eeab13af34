//! The `poll` step: repeat a request every so often until a condition holds
//! or time runs out. Each request is an ordinary sample of its own row; the
//! time until the condition held is a sample of the poll's `POLL` row, timed
//! from a chosen earlier step — seed 001's "job completed".

use std::time::Duration;

use tokio::time::Instant;

use super::check::{Check, StatusSet};
use super::request::RequestTemplate;
use super::step::send;
use super::wire::Keep;
use crate::metrics::StatId;
use crate::protocols::{Context, Flow};
use crate::units::format_duration;

/// A `poll` step.
#[derive(Debug)]
pub struct PollStep {
    /// The request repeated.
    pub request: RequestTemplate,
    /// The row of the repeated request.
    pub request_stat: StatId,
    /// Time allowed for each request.
    pub request_timeout: Duration,
    /// Statuses that count as success for each request.
    pub expect: StatusSet,
    /// The condition that ends the poll.
    pub until: Check,
    /// Pause between requests.
    pub every: Duration,
    /// Time allowed for the condition to hold, from the poll's start.
    pub timeout: Duration,
    /// The `POLL` row.
    pub stat: StatId,
    /// Mark of the earlier step the completion time counts from; `None`
    /// counts from the poll's own start.
    pub from: Option<usize>,
}

impl PollStep {
    /// Polls until the condition holds or the timeout passes.
    pub async fn run(&self, cx: &mut Context) -> Flow {
        let started = cx.begin(self.stat);
        let origin = self.from.and_then(|m| cx.marks[m]).unwrap_or(started);
        let deadline = started + self.timeout;
        let keep = Keep {
            body: true,
            headers: false,
        };
        loop {
            let sent = send(
                &self.request,
                self.request_timeout,
                keep,
                &self.expect,
                self.request_stat,
                None,
                cx,
            )
            .await;
            let done = match sent {
                Some((ex, bytes, elapsed)) => {
                    cx.recorder
                        .borrow_mut()
                        .success(self.request_stat, elapsed, bytes);
                    self.until.evaluate(&ex).is_ok()
                }
                None => false,
            };
            if done {
                cx.end(self.stat);
                cx.recorder
                    .borrow_mut()
                    .success(self.stat, origin.elapsed(), 0);
                return Flow::Continue;
            }
            if Instant::now() + self.every >= deadline {
                cx.end(self.stat);
                let cause = format!("condition not met within {}", format_duration(self.timeout));
                cx.recorder
                    .borrow_mut()
                    .failure(self.stat, origin.elapsed(), 0, &cause, None);
                return Flow::Continue;
            }
            tokio::time::sleep(self.every).await;
        }
    }
}
