//! Suites: campaigns of runs against one system under test — a managed
//! target, setup before each run, shapes, monitors and faults, one summary
//! with a verdict per run.
//!
//! `raw` is the file as written, `spec` the checked suite, `target` the
//! process the suite manages, `fault` the timed actions, `summary` the
//! result table.

pub mod fault;
pub mod queue_audit;
pub mod raw;
pub mod spec;
pub mod summary;
pub mod target;
