//! What runs beside the load: the resource monitor and a suite's faults,
//! started on the load's clock and folded into its report at the end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use cicada_core::monitor::{Monitor, MonitorHandle, MonitorSpec, TargetPid};
use cicada_core::report::recovery::recoveries;
use cicada_core::report::threshold::Metric;
use cicada_core::report::{Report, Threshold};
use cicada_core::suite::fault::{Fault, FaultContext, FaultRunner};

use super::{could_not_run, Failure};

/// What to run beside the load.
#[derive(Default)]
pub struct Extras {
    /// Processes and gauges to sample.
    pub monitor: Option<MonitorSpec>,
    /// The suite's target, for `process: target`.
    pub target_pid: Option<TargetPid>,
    /// Timed actions.
    pub faults: Vec<Fault>,
    /// Where the faults act.
    pub fault_cx: FaultContext,
}

/// The extras while the load runs.
pub struct Running {
    monitor: Option<MonitorHandle>,
    faults: Option<FaultRunner>,
    stop: Arc<AtomicBool>,
}

impl Extras {
    /// Starts them, timed from `start` (the instant the load starts).
    pub fn start(self, start: Instant) -> Result<Running, Failure> {
        let monitor = match self.monitor.filter(|m| !m.is_empty()) {
            Some(spec) => Some(
                Monitor::start_with_target(spec, start, self.target_pid.unwrap_or_default())
                    .map_err(could_not_run)?,
            ),
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let faults = (!self.faults.is_empty())
            .then(|| FaultRunner::start(self.faults, self.fault_cx, start, stop.clone()));
        Ok(Running {
            monitor,
            faults,
            stop,
        })
    }
}

impl Drop for Running {
    /// A run that failed half-way must not leave faults pending for the
    /// next one: the fault thread stops waiting.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Running {
    /// Stops them and adds what they saw to `report`: the monitor's log,
    /// and each fault with the recovery from it, judged against the run's
    /// p95 threshold when it has one.
    pub fn finish(mut self, report: &mut Report, thresholds: &[Threshold]) {
        self.stop.store(true, Ordering::Relaxed);
        report.monitor = self.monitor.take().map(MonitorHandle::stop);
        if let Some(runner) = self.faults.take() {
            let events = runner.finish();
            let p95 = thresholds
                .iter()
                .find(|t| t.name.is_none() && t.metric == Metric::Percentile(95.0))
                .map(|t| t.limit);
            report.faults = recoveries(
                &events,
                &report.history,
                &report.failures,
                report.started_at_unix,
                p95,
            );
        }
    }
}
