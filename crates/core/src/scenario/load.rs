//! Validation of the `load:` section: the model (users or rate), ramps,
//! and the limits of a run.

use super::error::{Loc, Problem};
use super::plan::{LoadSpec, Quantity, ShapedLoad, Stage, StageTarget};
use super::raw::RawLoad;
use super::shape::Level;

/// The `load:` section; its problems go to `cx`.
pub fn load_spec(cx: &mut Vec<Problem>, raw: &RawLoad) -> LoadSpec {
    let mut stages = Vec::new();
    if let Some(list) = &raw.stages {
        let loc = Loc::of(list);
        for s in &list.value {
            let target = match (s.users, s.rate) {
                (Some(u), None) => StageTarget::Users(u.0 as f64),
                (None, Some(r)) => StageTarget::Rate(r.0),
                _ => {
                    push(cx, loc, "each stage needs exactly one of `users` or `rate`");
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
            push(cx, loc, "stages ramp either `users` or `rate`, not a mix");
        }
        if stages.is_empty() && list.value.is_empty() {
            push(cx, loc, "`stages` is empty");
        }
    }
    let zero = |cx: &mut Vec<Problem>, loc: Loc, what: &str| push(cx, loc, format!("load: {what}"));
    if let (Some(_), Some(rate)) = (&raw.users, &raw.rate) {
        zero(
            cx,
            Loc::of(rate),
            "give `users` (closed model) or `rate` (open model), not both",
        );
    }
    let mut shape = None;
    let mut users = None;
    let mut rate = None;
    if let Some(u) = &raw.users {
        match &u.value {
            Level::Fixed(n) if n.0 == 0 => zero(cx, Loc::of(u), "users must be at least 1"),
            Level::Fixed(n) => users = Some(n.0),
            Level::Shaped(spec) => {
                if spec.peak() < 1.0 {
                    zero(cx, Loc::of(u), "a users shape must reach at least 1 user");
                }
                shape = Some(ShapedLoad {
                    of: Quantity::Users,
                    spec: spec.clone(),
                });
            }
        }
    }
    if let Some(r) = &raw.rate {
        match &r.value {
            Level::Fixed(v) if v.0.is_nan() || v.0 <= 0.0 => {
                zero(cx, Loc::of(r), "rate must be above 0")
            }
            Level::Fixed(v) => rate = Some(v.0),
            Level::Shaped(spec) => {
                if spec.peak() <= 0.0 {
                    zero(cx, Loc::of(r), "a rate shape must rise above 0");
                }
                shape = Some(ShapedLoad {
                    of: Quantity::Rate,
                    spec: spec.clone(),
                });
            }
        }
    }
    if let (Some(_), Some(stages)) = (&shape, &raw.stages) {
        zero(
            cx,
            Loc::of(stages),
            "give a shape in `users`/`rate` or `stages`, not both",
        );
    }
    if let Some(r) = raw
        .spawn_rate
        .as_ref()
        .filter(|r| r.value.0.is_nan() || r.value.0 <= 0.0)
    {
        zero(cx, Loc::of(r), "spawn_rate must be above 0");
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
        users,
        spawn_rate: raw.spawn_rate.as_ref().map(|r| r.value.0),
        run_time: raw.run_time.as_ref().map(|d| d.value.0),
        rate,
        max_users: raw.max_users.as_ref().map(|c| c.value.0),
        iterations: raw.iterations.as_ref().map(|c| c.value.0),
        stop_timeout: raw.stop_timeout.map(|d| d.0),
        stages,
        shape,
    }
}

/// Records a problem at `loc`.
fn push(problems: &mut Vec<Problem>, loc: Loc, message: impl Into<String>) {
    problems.push(Problem {
        loc,
        message: message.into(),
    });
}

/// Validates a `load:` section given outside a scenario (a suite's run).
pub fn check_load(raw: &RawLoad) -> Result<LoadSpec, Vec<Problem>> {
    let mut problems = Vec::new();
    let spec = load_spec(&mut problems, raw);
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(problems)
    }
}
