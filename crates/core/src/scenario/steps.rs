//! Turns the steps of a task into executable steps: compiles templates,
//! checks every variable they read, folds `check` and `extract` steps into
//! the `http` step before them, and links a `poll`'s `from` to its step.

use std::collections::{BTreeMap, BTreeSet};

use http::Method;
use serde_saphyr::Spanned;

use super::build::Ctx;
use super::checks::{check, extract};
use super::error::Loc;
use super::mqtt;
use super::plan::{Step, Wait};
use super::raw::{RawHttp, RawStep};
use super::values::WaitValue;
use crate::metrics::RowKind;
use crate::protocols::http::{
    Body, Extract, HttpStep, PollStep, RequestTemplate, StatusSet, Target,
};
use crate::protocols::mqtt::steps::Conn;
use crate::template::Text;

/// Variables a step may read at its place in a user type, and the marks
/// handed out so far.
pub struct Scope {
    /// Names set before this step: built-ins, `vars`, data columns,
    /// `on_start`'s names, and earlier `extract`/`set` steps of this list.
    pub known: BTreeSet<String>,
    /// Names set anywhere in the user type, with the line that sets them,
    /// to explain a use that comes too early.
    pub anywhere: BTreeMap<String, u64>,
    /// Marks handed out so far.
    pub marks: usize,
    /// The user type's MQTT connection, when it has MQTT steps.
    pub mqtt: Option<Conn>,
    /// True when the user type has `mqtt.expect` steps (its subscriptions
    /// then keep messages for them).
    pub expects: bool,
}

/// Builds one list of steps (a task, or `on_start`).
pub fn build(cx: &mut Ctx, scope: &mut Scope, raw: &[Spanned<RawStep>]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    // Row names of the http steps built so far, with their index in `steps`.
    let mut named: Vec<(String, usize)> = Vec::new();
    for item in raw {
        let loc = Loc::of(item);
        build_one(cx, scope, item, loc, &mut steps, &mut named);
        // What this step sets is known to the steps after it.
        declared_names(std::slice::from_ref(item), &mut scope.anywhere);
        scope.known.extend(step_names(&item.value));
    }
    for step in &mut steps {
        if let Step::Http(h) = step {
            h.prepare();
        }
    }
    steps
}

/// Builds one step (or folds a `check`/`extract` into the step before).
fn build_one(
    cx: &mut Ctx,
    scope: &mut Scope,
    item: &Spanned<RawStep>,
    loc: Loc,
    steps: &mut Vec<Step>,
    named: &mut Vec<(String, usize)>,
) {
    match &item.value {
        RawStep::Http(h) => {
            if let Some(step) = http_step(cx, scope, h, loc) {
                named.push((cx.stats.key(step.stat).name.clone(), steps.len()));
                steps.push(Step::Http(step));
            }
        }
        RawStep::Check(c) => {
            let check = check(cx, c);
            match steps.last_mut() {
                Some(Step::Http(h)) => {
                    if h.expect == StatusSet::below_400() {
                        if let Some(s) = &check.status {
                            h.expect = s.clone();
                        }
                    }
                    h.checks.push(check);
                }
                _ => cx.problem(
                    loc,
                    "`check` must follow an `http` step: it checks that step's response",
                ),
            }
        }
        RawStep::Extract(map) => {
            let extracts: Vec<Extract> = map
                .iter()
                .filter_map(|(var, spec)| extract(cx, var, spec))
                .collect();
            match steps.last_mut() {
                Some(Step::Http(h)) => h.extracts.extend(extracts),
                _ => cx.problem(
                    loc,
                    "`extract` must follow an `http` step: it reads that step's response",
                ),
            }
        }
        RawStep::Poll(p) => {
            if p.every.0.is_zero() || p.timeout.0.is_zero() {
                cx.problem(
                    loc,
                    "a poll needs `every` and `timeout` above 0 (e.g. every: 200ms, timeout: 30s)",
                );
            }
            let Some(request) = http_step(cx, scope, &p.http, loc) else {
                return;
            };
            let from = match &p.from {
                None => None,
                Some(name) => match named.iter().rev().find(|(n, _)| *n == name.value) {
                    Some(&(_, index)) => Some(mark(scope, &mut steps[index])),
                    None => {
                        let earlier: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
                        cx.problem(
                                Loc::of(name),
                                format!(
                                    "`from: {}` names no earlier http step of this task; earlier steps: {}",
                                    name.value,
                                    list_or_none(&earlier)
                                ),
                            );
                        None
                    }
                },
            };
            let until = check(cx, &p.until);
            let stat = cx.stats.intern("POLL", &p.name, RowKind::Derived);
            steps.push(Step::Poll(PollStep {
                request: request.request,
                request_stat: request.stat,
                request_timeout: request.timeout,
                expect: request.expect,
                until,
                every: p.every.0,
                timeout: p.timeout.0,
                stat,
                from,
            }));
        }
        RawStep::Sleep(w) => match *w {
            WaitValue::Constant(d) => steps.push(Step::Sleep(Wait::Constant(d))),
            WaitValue::Between(a, b) => steps.push(Step::Sleep(Wait::Between(a, b))),
            WaitValue::Pacing(_) => cx.problem(
                loc,
                "`pacing` is for a user's `wait`; a sleep takes a duration or {between: [a, b]}",
            ),
        },
        RawStep::MqttConnect(_)
        | RawStep::MqttPublish(_)
        | RawStep::MqttSubscribe(_)
        | RawStep::MqttExpect(_) => {
            if let Some(step) = mqtt::step(cx, scope, &item.value, loc) {
                steps.push(Step::Mqtt(step));
            }
        }
        RawStep::Set(map) => {
            let mut vars = Vec::new();
            for (name, value) in map {
                if let Some(item) = cx.value(&value.value, Loc::of(value), scope) {
                    vars.push((name.clone(), item));
                }
            }
            steps.push(Step::Set(vars));
        }
    }
}

/// Names a step sets.
fn step_names(step: &RawStep) -> Vec<String> {
    match step {
        RawStep::Extract(map) => map.keys().cloned().collect(),
        RawStep::Set(map) => map.keys().cloned().collect(),
        RawStep::MqttExpect(e) => e.extract.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Names set by `extract` and `set` in `raw`, with the line of the first.
pub fn declared_names(raw: &[Spanned<RawStep>], out: &mut BTreeMap<String, u64>) {
    for item in raw {
        for name in step_names(&item.value) {
            out.entry(name).or_insert(item.referenced.line());
        }
    }
}

fn mark(scope: &mut Scope, step: &mut Step) -> usize {
    let Step::Http(h) = step else {
        unreachable!("only http steps are named")
    };
    *h.mark.get_or_insert_with(|| {
        scope.marks += 1;
        scope.marks - 1
    })
}

fn http_step(cx: &mut Ctx, scope: &Scope, h: &RawHttp, loc: Loc) -> Option<HttpStep> {
    let method = match &h.method {
        None => Method::GET,
        Some(m) => match Method::from_bytes(m.value.to_ascii_uppercase().as_bytes()) {
            Ok(m) => m,
            Err(_) => {
                cx.problem(Loc::of(m), format!("invalid HTTP method '{}'", m.value));
                return None;
            }
        },
    };
    let target = match (&h.path, &h.url) {
        (Some(path), None) => {
            let text = cx.text(&path.value, Loc::of(path), scope)?;
            let Some((origin, base)) = cx.host.clone() else {
                cx.problem(Loc::of(path), "no host to send this path to: set `host:` at the top of the scenario or pass --host");
                return None;
            };
            Target::Path {
                origin,
                base,
                path: text,
            }
        }
        (None, Some(url)) => Target::Url(cx.text(&url.value, Loc::of(url), scope)?),
        _ => {
            cx.problem(
                loc,
                "an http step needs exactly one of `path` (under the host) or `url`",
            );
            return None;
        }
    };
    let mut query = Vec::new();
    for (k, v) in &h.query {
        query.push((k.clone(), cx.text(&v.value, Loc::of(v), scope)?));
    }
    let mut headers: Vec<(String, Text)> = Vec::new();
    let sources: Vec<(String, String, Loc)> = cx
        .default_headers
        .iter()
        .chain(h.headers.iter())
        .map(|(k, v)| (k.clone(), v.value.clone(), Loc::of(v)))
        .collect();
    for (k, v, at) in sources {
        let text = cx.text(&v, at, scope)?;
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
        headers.push((k, text));
    }
    let body = match (&h.body, &h.json) {
        (None, None) => Body::Empty,
        (Some(b), None) => Body::Text(cx.text(&b.value, Loc::of(b), scope)?),
        (None, Some(j)) => Body::Json(cx.value(&j.value, Loc::of(j), scope)?),
        (Some(_), Some(_)) => {
            cx.problem(loc, "an http step has either `body` or `json`, not both");
            return None;
        }
    };
    let expect = match &h.status {
        None => StatusSet::below_400(),
        Some(s) => match StatusSet::parse(&s.value.0) {
            Ok(set) => set,
            Err(e) => {
                cx.problem(Loc::of(s), e);
                return None;
            }
        },
    };
    let request = match RequestTemplate::new(method.clone(), target, query, headers, body) {
        Ok(r) => r,
        Err(e) => {
            cx.problem(loc, e);
            return None;
        }
    };
    let name = h
        .name
        .clone()
        .unwrap_or_else(|| request.display_target().to_string());
    let stat = cx.stats.intern(method.as_str(), &name, RowKind::Request);
    if let Some(flag) = h.expected_error.as_ref().filter(|f| f.value) {
        if h.status.is_none() {
            cx.problem(
                Loc::of(flag),
                "expected_error: true needs `status` with the error statuses expected, e.g. status: 400",
            );
        }
        cx.stats.set_expected_error(stat);
    }
    Some(HttpStep {
        request,
        stat,
        timeout: h.timeout.map_or(cx.timeout, |t| t.0),
        expect,
        checks: Vec::new(),
        extracts: Vec::new(),
        mark: None,
        keep: Default::default(),
    })
}

/// `a, b, c`, or `none`.
pub fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
