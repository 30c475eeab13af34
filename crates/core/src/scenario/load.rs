//! Validation of the `load:` section: the model (users or rate), ramps,
//! and the limits of a run.

use super::build::Ctx;
use super::error::Loc;
use super::plan::{LoadSpec, Stage, StageTarget};
use super::raw::RawLoad;

/// The `load:` section, or problems recorded in `cx`.
pub fn load_spec(cx: &mut Ctx, raw: &RawLoad) -> LoadSpec {
    let mut stages = Vec::new();
    if let Some(list) = &raw.stages {
        let loc = Loc::of(list);
        for s in &list.value {
            let target = match (s.users, s.rate) {
                (Some(u), None) => StageTarget::Users(u.0 as f64),
                (None, Some(r)) => StageTarget::Rate(r.0),
                _ => {
                    cx.problem(loc, "each stage needs exactly one of `users` or `rate`");
                    continue;
                }
            };
            stages.push(Stage {
                duration: s.duration.0,
                target,
            });
        }
        let users = stages
            .iter()
            .filter(|s| matches!(s.target, StageTarget::Users(_)))
            .count();
        if users != 0 && users != stages.len() {
            cx.problem(loc, "stages ramp either `users` or `rate`, not a mix");
        }
        if stages.is_empty() && list.value.is_empty() {
            cx.problem(loc, "`stages` is empty");
        }
    }
    let zero = |cx: &mut Ctx, loc: Loc, what: &str| cx.problem(loc, format!("load: {what}"));
    if let (Some(_), Some(rate)) = (&raw.users, &raw.rate) {
        zero(
            cx,
            Loc::of(rate),
            "give `users` (closed model) or `rate` (open model), not both",
        );
    }
    if let Some(u) = raw.users.as_ref().filter(|u| u.value.0 == 0) {
        zero(cx, Loc::of(u), "users must be at least 1");
    }
    for (field, what) in [(&raw.rate, "rate"), (&raw.spawn_rate, "spawn_rate")] {
        if let Some(r) = field
            .as_ref()
            .filter(|r| r.value.0.is_nan() || r.value.0 <= 0.0)
        {
            zero(cx, Loc::of(r), &format!("{what} must be above 0"));
        }
    }
    for (field, what) in [
        (&raw.max_users, "max_users"),
        (&raw.iterations, "iterations"),
    ] {
        if let Some(c) = field.as_ref().filter(|c| c.value.0 == 0) {
            zero(cx, Loc::of(c), &format!("{what} must be at least 1"));
        }
    }
    if let Some(d) = raw.run_time.as_ref().filter(|d| d.value.0.is_zero()) {
        zero(cx, Loc::of(d), "run_time must be above 0");
    }
    LoadSpec {
        users: raw.users.as_ref().map(|c| c.value.0),
        spawn_rate: raw.spawn_rate.as_ref().map(|r| r.value.0),
        run_time: raw.run_time.as_ref().map(|d| d.value.0),
        rate: raw.rate.as_ref().map(|r| r.value.0),
        max_users: raw.max_users.as_ref().map(|c| c.value.0),
        iterations: raw.iterations.as_ref().map(|c| c.value.0),
        stop_timeout: raw.stop_timeout.map(|d| d.0),
        stages,
    }
}
