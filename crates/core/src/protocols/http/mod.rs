//! The HTTP driver: `http` steps (with their folded `check` and `extract`
//! steps) and `poll` steps, over one keep-alive connection per user.

mod check;
mod client;
mod cookies;
mod extract;
mod failure;
mod origin;
mod poll;
mod request;
mod step;
mod wire;

pub use check::{Check, CheckFailure, Exchange, JsonCheck, JsonExpect, JsonPathExpr, StatusSet};
pub use client::{ClientSettings, Session};
pub use extract::{default_group, Extract, Source};
pub use failure::{from_connect as connect_failure, Failure};
pub use origin::Origin;
pub use poll::PollStep;
pub use request::{Body, RequestTemplate, Target};
pub use step::HttpStep;
/// For one-off requests outside a user (the resource monitor's gauges).
pub use wire::{encode_request, Keep, Parsed};
