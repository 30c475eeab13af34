//! The cicada load engine.
//!
//! A scenario file is parsed and validated into a [`scenario::Plan`]; the
//! [`engine`] runs its users on worker threads, each step executed by a
//! protocol driver in [`protocols`]; users record samples into per-worker
//! [`metrics`] recorders that the controller merges every second; [`report`]
//! turns the merged result into terminal views, CSV and JSON files and a
//! verdict.

#![warn(missing_docs)]

pub mod control;
pub mod engine;
pub mod metrics;
pub mod monitor;
pub mod prepopulate;
pub mod protocols;
pub mod report;
pub mod scenario;
pub mod setup;
pub mod suite;
pub mod template;
pub mod units;
