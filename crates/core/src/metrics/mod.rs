//! Samples, HDR histograms per (type, name), per-worker recording without
//! locks, and the controller's per-second merge.
//!
//! Data flows one way: users record into their worker's [`Recorder`]; once a
//! second the controller takes an [`Interval`] from every worker and merges it
//! into an [`Aggregate`], which the reports read.

mod aggregate;
mod failures;
mod latency;
mod recorder;
mod stat;

pub use aggregate::{Aggregate, HistoryPoint, HistoryRow, Summary, PERCENTILES, PERCENTILE_LABELS};
pub use failures::{Failure, FailureTally, Failures, MAX_CAUSES_PER_ROW, OTHER_CAUSES};
pub use latency::{DecodeError, Latency};
pub use recorder::{
    unix_now, ArrivalTally, ConnectTally, Interval, Recorder, StatCounters, LATE_AFTER,
};
pub use stat::{RowKind, StatId, StatKey, StatTable};
