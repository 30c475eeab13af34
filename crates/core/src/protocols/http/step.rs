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
    /// What of the response the checks and extractions need; see
    /// [`HttpStep::prepare`].
    pub keep: Keep,
}

impl HttpStep {
    /// Settles what the response must keep, once the scenario's `check` and
    /// `extract` steps are folded in (not on every request).
    pub fn prepare(&mut self) {
        self.keep = Keep {
            body: self.checks.iter().any(Check::needs_body)
                || self.extracts.iter().any(Extract::needs_body),
            headers: self.extracts.iter().any(|e| !e.needs_body()),
        };
    }

    /// Sends the request and records the outcome.
    pub async fn run(&self, cx: &mut Context) -> Flow {
        let sent = send(
            &self.request,
            self.timeout,
            self.keep,
            &self.expect,
            self.stat,
            self.mark,
            cx,
        )
        .await;
        let Some((ex, bytes, elapsed)) = sent else {
            return self.after_failure();
        };
        if let Some(f) = self.checks.iter().find_map(|c| c.evaluate(&ex).err()) {
            let cause = format!("check failed: {}", f.cause);
            cx.recorder.borrow_mut().failure(
                self.stat,
                elapsed,
                bytes,
                &cause,
                f.example.as_deref(),
            );
            return self.after_failure();
        }
        for extract in &self.extracts {
            match extract.apply(&ex) {
                Ok(value) => cx.vars_mut().set(&extract.var, value),
                Err(reason) => {
                    cx.recorder
                        .borrow_mut()
                        .failure(self.stat, elapsed, bytes, &reason, None);
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

/// Sends `request` as a measurement of row `stat` (setting `mark` to its
/// start). A transport failure or an unexpected status is recorded as a
/// failure here and gives `None`; otherwise the caller gets the exchange,
/// the body size and the elapsed time, and records the outcome itself.
pub(super) async fn send(
    request: &RequestTemplate,
    timeout: Duration,
    keep: Keep,
    expect: &StatusSet,
    stat: StatId,
    mark: Option<usize>,
    cx: &mut Context,
) -> Option<(Exchange, u64, Duration)> {
    let start = cx.begin(stat);
    if let Some(m) = mark {
        cx.marks[m] = Some(start);
    }
    let result = perform(request, timeout, keep, cx).await;
    cx.end(stat);
    let elapsed = start.elapsed();
    let (ex, bytes) = match result {
        Ok(ok) => ok,
        Err(failure) => {
            cx.recorder
                .borrow_mut()
                .failure(stat, elapsed, 0, &failure.to_string(), None);
            return None;
        }
    };
    if !expect.contains(ex.status) {
        let cause = format!("HTTP {}", ex.status.as_u16());
        cx.recorder
            .borrow_mut()
            .failure(stat, elapsed, bytes, &cause, None);
        return None;
    }
    Some((ex, bytes, elapsed))
}

/// Sends `request` and reads the whole response within `timeout`, keeping
/// what `keep` asks for.
async fn perform(
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
