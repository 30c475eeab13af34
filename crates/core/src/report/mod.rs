//! Reports: the live terminal view, the final summary, Locust-compatible
//! CSV, the JSON report, warnings in words, thresholds and the verdict.
//! Everything is computed once into a [`Report`] and every output reads it.

mod analysis;
mod broker;
mod build;
pub mod compare;
pub mod csv;
mod files;
mod live;
mod model;
mod mqtt;
pub mod recovery;
mod summary;
pub mod threshold;

use std::path::Path;

pub use broker::BrokerWatch;
pub use build::{Arrivals, Connections, ErrorRow, Generator, LoadInfo, Report, Spread, Verdict};
pub use files::{rfc3339, write_atomic, WriteError};
pub use live::{Headless, LiveView};
pub use model::{
    FailureRow, HistoryEntry, HistoryRow, HistoryTotal, Percentiles, Row, ThresholdResult, Warning,
};
pub use recovery::{FaultEvent, FaultRecovery};
pub use summary::{clip, render as summary, Table};
pub use threshold::Threshold;

/// Writes the JSON report to `path` (atomically).
pub fn write_json(report: &Report, path: &Path) -> Result<(), WriteError> {
    let mut bytes = serde_json::to_vec_pretty(report).unwrap_or_default();
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}
