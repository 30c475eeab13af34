//! The `http` step: send one request, read the response, apply the checks
//! and extractions that follow it in the scenario, record one sample.

use std::time::Duration;

use tokio::time::Instant;

use super::check::{Check, Exchange, StatusSet};
use super::extract::Extract;
use super::failure::Failure;
use super::request::RequestTemplate;
use super::wire::Keep;
use crate::metrics::StatId;
use crate::protocols::{Context, Flow};

/// An `http` step with its checks and extractions.
#[derive(Debug)]
pub struct HttpStep {
    /// The request.
    pub request: RequestTemplate,
    /// The row its samples go to.
    pub stat: StatId,
    /// Time allowed for connect + response + body.
    pub timeout: Duration,
    /// Statuses that count as success.
    pub expect: StatusSet,
    /// Folded `check` steps.
    pub checks: Vec<Check>,
    /// Folded `extract` steps.
    pub extracts: Vec<Extract>,
    /// Mark to set when the request starts (referenced by a `poll`'s `from`).
    pub mark: Option<usize>,
}

impl HttpStep {
    /// Sends the request and records the outcome.
    pub async fn run(&self, cx: &mut Context) -> Flow {
        let keep = Keep {
            body: self.checks.iter().any(Check::needs_body)
                || self.extracts.iter().any(Extract::needs_body),
            headers: self.extracts.iter().any(|e| !e.needs_body()),
        };
        let start = cx.begin(self.stat);
        if let Some(m) = self.mark {
            cx.marks[m] = Some(start);
        }
        let result = perform(&self.request, self.timeout, keep, cx).await;
        cx.end(self.stat);
        let elapsed = start.elapsed();
        let (ex, bytes) = match result {
            Ok(ok) => ok,
            Err(failure) => {
                let text = failure.to_string();
                cx.recorder
                    .borrow_mut()
                    .failure(self.stat, elapsed, 0, &text);
                return self.after_failure();
            }
        };
        if !self.expect.contains(ex.status) {
            let text = format!("HTTP {}", ex.status.as_u16());
            cx.recorder
                .borrow_mut()
                .failure(self.stat, elapsed, bytes, &text);
            return self.after_failure();
        }
        if let Some(reason) = self.checks.iter().find_map(|c| c.evaluate(&ex).err()) {
            let text = format!("check failed: {reason}");
            cx.recorder
                .borrow_mut()
                .failure(self.stat, elapsed, bytes, &text);
            return self.after_failure();
        }
        for extract in &self.extracts {
            match extract.apply(&ex) {
                Ok(value) => cx.vars_mut().set(&extract.var, value),
                Err(reason) => {
                    cx.recorder
                        .borrow_mut()
                        .failure(self.stat, elapsed, bytes, &reason);
                    return Flow::Abort;
                }
            }
        }
        cx.recorder.borrow_mut().success(self.stat, elapsed, bytes);
        Flow::Continue
    }

    /// After a failure the iteration goes on, unless later steps depend on
    /// values this step should have extracted.
    fn after_failure(&self) -> Flow {
        if self.extracts.is_empty() {
            Flow::Continue
        } else {
            Flow::Abort
        }
    }
}

/// Sends `request` and reads the whole response within `timeout`,
/// keeping the body when `need_body` (and headers when `need_headers`).
pub(super) async fn perform(
    request: &RequestTemplate,
    timeout: Duration,
    keep: Keep,
    cx: &mut Context,
) -> Result<(Exchange, u64), Failure> {
    let deadline = Instant::now() + timeout;
    let (origin, bytes) = request.build(&cx.vars)?;
    let parsed = cx
        .http
        .send(&origin, &bytes, request.method(), keep, deadline)
        .await?;
    Ok((
        Exchange::new(parsed.status, parsed.headers, parsed.body),
        parsed.size,
    ))
}
