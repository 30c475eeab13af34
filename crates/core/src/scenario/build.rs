//! Validation: a raw scenario becomes a [`Plan`] or a list of problems, each
//! at its line and column. Nothing runs until the whole file is valid.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use minijinja::value::Serde;
use serde_saphyr::Spanned;

use super::data::DataSource;
use super::error::{Loc, Problem};
use super::load;
use super::monitor;
use super::mqtt::{self, MqttDefaults};
use super::plan::{Plan, Task, UserType, Wait};
use super::raw::{RawLoad, RawScenario, RawUser};
use super::setup;
use super::steps::{self, list_or_none, Scope};
use super::values::{ThresholdEntry, WaitValue};
use crate::metrics::{RowKind, StatTable};
use crate::protocols::http::Origin;
use crate::protocols::mqtt::settings::Broker;
use crate::protocols::mqtt::steps::Conn;
use crate::protocols::DEFAULT_TIMEOUT;
use crate::report::threshold;
use crate::template::{Compiler, Text, ValueTemplate, BUILTIN_NAMES, FUNCTION_NAMES};

/// State shared while building one scenario.
pub struct Ctx {
    /// Template compiler of the run.
    pub compiler: Compiler,
    /// Rows interned so far.
    pub stats: StatTable,
    /// The host's origin and base path.
    pub host: Option<(Origin, String)>,
    /// Default request timeout.
    pub timeout: Duration,
    /// Headers every request carries.
    pub default_headers: BTreeMap<String, Spanned<String>>,
    /// Problems found so far.
    pub problems: Vec<Problem>,
    /// True once an audited subscription is built.
    pub audit: bool,
}

impl Ctx {
    /// Records a problem at `loc`.
    pub fn problem(&mut self, loc: Loc, message: impl Into<String>) {
        self.problems.push(Problem {
            loc,
            message: message.into(),
        });
    }

    /// Compiles a text template and checks the variables it reads.
    pub fn text(&mut self, source: &str, loc: Loc, known: &Scope) -> Option<Text> {
        match self.compiler.text(source) {
            Ok(c) => self
                .check_variables(&c.variables, loc, known)
                .then_some(c.item),
            Err(e) => {
                self.problem(loc, format!("invalid template '{source}': {e}"));
                None
            }
        }
    }

    /// Compiles a structured value and checks the variables it reads.
    pub fn value(
        &mut self,
        value: &serde_json::Value,
        loc: Loc,
        known: &Scope,
    ) -> Option<ValueTemplate> {
        match self.compiler.value(value) {
            Ok(c) => self
                .check_variables(&c.variables, loc, known)
                .then_some(c.item),
            Err(e) => {
                self.problem(loc, format!("invalid template: {e}"));
                None
            }
        }
    }

    fn check_variables(&mut self, used: &BTreeSet<String>, loc: Loc, scope: &Scope) -> bool {
        let unknown: Vec<&String> = used.iter().filter(|v| !scope.known.contains(*v)).collect();
        for name in &unknown {
            let message = match scope.anywhere.get(*name) {
                Some(line) => format!(
                    "variable `{name}` is used before it is set: it is set on line {line}, by a later step or in another task; set it earlier (in `on_start` for every task)"
                ),
                None => {
                    let names: Vec<&str> = scope.known.iter().map(String::as_str).collect();
                    format!(
                        "unknown variable `{name}`; expected one of: {} (or a function: {})",
                        list_or_none(&names),
                        FUNCTION_NAMES.join(", ")
                    )
                }
            };
            self.problem(loc, message);
        }
        unknown.is_empty()
    }
}

/// Validates `raw`; `base_dir` resolves relative paths, `host` overrides
/// the file's host.
pub fn build(
    raw: RawScenario,
    source: &str,
    base_dir: &Path,
    host: Option<&str>,
) -> Result<Plan, Vec<Problem>> {
    let top = Loc { line: 1, column: 1 };
    let mut cx = Ctx {
        compiler: Compiler::new(),
        stats: StatTable::default(),
        host: None,
        timeout: raw.timeout.as_ref().map_or(DEFAULT_TIMEOUT, |t| t.value.0),
        default_headers: raw.headers,
        problems: Vec::new(),
        audit: false,
    };
    let mut mqtt_defaults = MqttDefaults {
        raw: raw.mqtt,
        host: None,
        base_dir: base_dir.to_path_buf(),
    };
    if let Some(t) = raw.timeout.as_ref().filter(|t| t.value.0.is_zero()) {
        cx.problem(Loc::of(t), "`timeout` must be above 0");
    }
    let host_text = host
        .map(str::to_string)
        .or_else(|| raw.host.as_ref().map(|h| h.value.clone()));
    if let Some(text) = &host_text {
        let loc = raw
            .host
            .as_ref()
            .filter(|_| host.is_none())
            .map_or(top, Loc::of);
        if Broker::is_mqtt(text) {
            mqtt_defaults.host = Some(text.clone());
        } else {
            match Origin::parse(text) {
                Ok(origin) => cx.host = Some(origin),
                Err(e) => cx.problem(loc, format!("host: {e}")),
            }
        }
    }
    let globals: Vec<(String, minijinja::Value)> = raw
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), minijinja::Value::from(Serde(v))))
        .collect();
    let data = raw.data.as_ref().and_then(|d| {
        DataSource::load(&base_dir.join(&d.file.value), d.order, d.per)
            .map_err(|e| cx.problem(Loc::of(&d.file), e))
            .ok()
    });
    // Broken rows are one problem; the columns stay known so that every
    // template using them is not reported as well.
    let columns = match (&data, &raw.data) {
        (Some(d), _) => d.columns().to_vec(),
        (None, Some(d)) => DataSource::header(&base_dir.join(&d.file.value)).unwrap_or_default(),
        (None, None) => Vec::new(),
    };
    let mut known: BTreeSet<String> = BUILTIN_NAMES.iter().map(|s| s.to_string()).collect();
    known.extend(raw.vars.keys().cloned());
    known.extend(columns);
    if raw.users.is_empty() {
        cx.problem(top, "no users: add at least one entry under `users:`");
    }
    let user_types: Vec<UserType> = raw
        .users
        .iter()
        .filter_map(|u| user_type(&mut cx, &known, &mqtt_defaults, u))
        .collect();
    let load = load::load_spec(
        &mut cx.problems,
        raw.load.as_ref().unwrap_or(&RawLoad::default()),
    );
    let mut thresholds = Vec::new();
    for entry in &raw.thresholds {
        for (name, expr) in &entry.value.0 {
            match threshold::parse_expr(name.clone(), expr) {
                Ok(t) => thresholds.push(t),
                Err(e) => cx.problem(Loc::of(entry), e),
            }
        }
    }
    let audited = cx.audit;
    for t in thresholds.iter().filter(|t| t.on_audit() && !audited) {
        cx.problem(
            threshold_loc(&raw.thresholds, &t.text),
            format!("threshold '{t}': {NO_AUDIT}"),
        );
    }
    for t in &thresholds {
        let Some(name) = &t.name else { continue };
        if let Err(e) = cx.stats.check_name(name) {
            let loc = raw
                .thresholds
                .iter()
                .find(|e| e.value.0.iter().any(|(n, _)| n.as_ref() == Some(name)))
                .map_or(top, Loc::of);
            cx.problem(loc, format!("threshold '{t}': {e}"));
        }
    }
    let monitor = raw.monitor.as_ref().and_then(|m| {
        let insecure = raw.insecure.unwrap_or(false);
        monitor::monitor_spec(m, cx.host.as_ref(), insecure, &mut cx.problems)
    });
    let setup = setup::setup_steps(&raw.setup).unwrap_or_else(|problems| {
        cx.problems.extend(problems);
        Vec::new()
    });
    if !cx.problems.is_empty() {
        let mut problems = cx.problems;
        problems.sort_by_key(|p| (p.loc.line, p.loc.column));
        return Err(problems);
    }
    Ok(Plan {
        source: source.to_string(),
        stats: Arc::new(cx.stats),
        load,
        thresholds,
        data: data.map(Arc::new),
        globals: Arc::new(globals),
        insecure: raw.insecure.unwrap_or(false),
        host: host_text,
        mqtt: user_types.iter().find_map(|u| u.mqtt.clone()),
        mqtt_sys: raw.monitor.is_some_and(|m| m.mqtt_sys),
        monitor,
        audit: cx.audit,
        setup,
        user_types,
    })
}

/// Why an audit threshold cannot be judged.
pub const NO_AUDIT: &str = "nothing is audited: add `audit: true` to an `mqtt.subscribe` (and to the `mqtt.publish` steps it should check)";

/// The line of the thresholds entry holding `text`.
fn threshold_loc(entries: &[Spanned<ThresholdEntry>], text: &str) -> Loc {
    entries
        .iter()
        .find(|e| e.value.0.iter().any(|(_, expr)| expr.trim() == text))
        .map_or(Loc { line: 1, column: 1 }, Loc::of)
}

fn user_type(
    cx: &mut Ctx,
    globals: &BTreeSet<String>,
    mqtt_defaults: &MqttDefaults,
    raw: &Spanned<RawUser>,
) -> Option<UserType> {
    let loc = Loc::of(raw);
    let u = &raw.value;
    let mut anywhere = BTreeMap::new();
    steps::declared_names(&u.on_start, &mut anywhere);
    for t in u.tasks.iter().flatten() {
        steps::declared_names(&t.value.steps, &mut anywhere);
    }
    steps::declared_names(u.steps.as_deref().unwrap_or_default(), &mut anywhere);
    let mut scope = Scope {
        known: globals.clone(),
        anywhere,
        marks: 0,
        mqtt: None,
        expects: false,
    };
    let lists = || {
        std::iter::once(u.on_start.as_slice())
            .chain(u.tasks.iter().flatten().map(|t| t.value.steps.as_slice()))
            .chain(u.steps.as_deref())
    };
    if mqtt::uses_mqtt(lists()) {
        let connect = mqtt::connect_step(lists());
        let at = connect.map_or(loc, Loc::of);
        let connect_stat = cx.stats.intern("MQTT", "connect", RowKind::Request);
        scope.mqtt = mqtt::settings(cx, mqtt_defaults, connect, at, &scope).map(|settings| Conn {
            settings,
            connect_stat,
        });
        scope.expects = mqtt::expects(lists());
    }
    let on_start = steps::build(cx, &mut scope, &u.on_start);
    // Each task starts from what `on_start` set; names a task sets are its own.
    let after_start = scope.known.clone();
    let task_steps = |cx: &mut Ctx, scope: &mut Scope, raw| {
        scope.known = after_start.clone();
        steps::build(cx, scope, raw)
    };
    let tasks: Vec<Task> = match (&u.tasks, &u.steps) {
        (Some(tasks), None) if !tasks.is_empty() => tasks
            .iter()
            .enumerate()
            .map(|(i, t)| Task {
                name: t
                    .value
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("task {}", i + 1)),
                weight: t.value.weight.unwrap_or(1),
                steps: task_steps(cx, &mut scope, &t.value.steps),
            })
            .collect(),
        (None, Some(steps)) => vec![Task {
            name: u.name.clone(),
            weight: 1,
            steps: task_steps(cx, &mut scope, steps),
        }],
        _ => {
            cx.problem(
                loc,
                format!(
                    "user '{}' needs either `tasks` (a non-empty list) or `steps`",
                    u.name
                ),
            );
            return None;
        }
    };
    if let Some(t) = u.tasks.iter().flatten().find(|t| t.value.weight == Some(0)) {
        cx.problem(Loc::of(t), "a task's weight must be at least 1");
    }
    let weight = match (u.weight, u.count) {
        (Some(_), Some(_)) => {
            cx.problem(loc, format!("user '{}': give `weight` (a share of --users) or `count` (a fixed number), not both", u.name));
            return None;
        }
        (Some(0), None) => {
            cx.problem(loc, format!("user '{}': weight must be at least 1", u.name));
            return None;
        }
        (Some(w), None) => w,
        (None, Some(0)) => {
            cx.problem(loc, format!("user '{}': count must be at least 1", u.name));
            return None;
        }
        (None, Some(_)) => 0,
        (None, None) => 1,
    };
    let wait = match u.wait {
        None => Wait::None,
        Some(WaitValue::Constant(d)) if d.is_zero() => Wait::None,
        Some(WaitValue::Constant(d)) => Wait::Constant(d),
        Some(WaitValue::Between(a, b)) => Wait::Between(a, b),
        Some(WaitValue::Pacing(d)) => Wait::Pacing(d),
    };
    Some(UserType {
        name: u.name.clone(),
        weight,
        count: u.count,
        wait,
        on_start,
        tasks,
        marks: scope.marks,
        mqtt: scope.mqtt.map(|c| c.settings),
    })
}
