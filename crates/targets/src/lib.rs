//! Reference systems under test bundled with cicada.
//!
//! Each target is a small, honest service that reproduces a situation from the
//! seed documents so that cicada's scenarios, reports and warnings can be shown
//! working end to end without any external software. The targets never import
//! the load engine: they are ordinary servers that just happen to ship with it.
//!
//! - [`jobs`]: the job server of seed 001, whose `POST /jobs` answers in
//!   microseconds while the queue behind it grows without bound once jobs
//!   arrive faster than the worker completes them.
//! - [`queue`]: the priority push/pop queue of seed 002 on SQLite or
//!   PostgreSQL, with leases and MQTT ingestion (seed 004), a simulated store
//!   outage and an injectable delay for test campaigns.
//! - [`addr`]: parsing of the listen addresses given on the command line.

#![warn(missing_docs)]

pub mod addr;
pub mod broker;
pub mod jobs;
pub mod queue;
