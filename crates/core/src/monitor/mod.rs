//! The resource monitor: what the system under test does while it is
//! loaded, sampled on the same clock as the latency so that the two can be
//! read side by side.
//!
//! A [`MonitorSpec`] names what to watch: processes (CPU % and resident
//! memory, by pid, by name, or the target a suite started), HTTP JSON
//! gauges (a number in a JSON document, e.g. a queue's depth) and SQL
//! gauges (a query returning one number, e.g. PostgreSQL's connection
//! count). [`Monitor::start`] samples them every `every` on a thread of its
//! own, away from the load's workers, until [`MonitorHandle::stop`] returns
//! the [`MonitorLog`] that the JSON report embeds, [`csv::write`] writes as
//! `PREFIX_monitor.csv` and [`MonitorLog::summary_lines`] summarizes.
//!
//! A gauge that fails (refused, timed out, process gone) gives a missing
//! sample and an error count, never a panic and never a stop of the run.

/// `PREFIX_monitor.csv`.
pub mod csv;
/// HTTP JSON gauges.
mod http;
/// The recorded series and their summaries.
mod log;
/// CPU and memory of processes, from `/proc`.
mod process;
/// The sampling thread.
mod sampler;
/// What to watch, validated.
mod spec;
/// SQL gauges.
mod sql;

pub use log::{MonitorLog, Point, Series, SeriesKind, SeriesSummary};
pub use process::{cpu_percent, page_size, parse_stat, parse_statm_pages, ProcStat};
pub use sampler::{Monitor, MonitorError, MonitorHandle, TargetPid};
pub use spec::{
    json_path, HttpGauge, MonitorSpec, ProcessRef, ProcessSpec, SqlGauge, DEFAULT_EVERY,
    MAX_GAUGE_TIMEOUT, MIN_EVERY,
};
