//! Reports: terminal views, Locust-compatible CSV, JSON, thresholds and the
//! verdict.

pub mod threshold;

pub use threshold::Threshold;
