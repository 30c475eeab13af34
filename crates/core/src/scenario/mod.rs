//! Scenario files (YAML): who the users are and what they do. Parsed and
//! validated into a [`Plan`] before any load starts; every error names
//! file, line and column and says what was expected.

mod build;
mod checks;
mod data;
mod error;
mod load;
mod monitor;
mod mqtt;
mod plan;
mod raw;
mod raw_mqtt;
mod setup;
mod shape;
mod steps;
mod values;

use std::collections::BTreeMap;
use std::path::Path;

pub use build::NO_AUDIT;
pub use data::DataSource;
pub use error::{from_parse, Loc, Problem, ScenarioError};
pub use load::check_load;
pub use monitor::{build_monitor, ProcessValue, RawHttpGauge, RawMonitor, RawProcess, RawSqlGauge};
pub use plan::{
    LoadSpec, Plan, Quantity, ShapedLoad, Stage, StageTarget, Step, Task, UserType, Wait,
};
pub use raw::{DataOrder, DataPer, RawLoad};
pub use setup::{setup_steps, Prepopulate, RawSetup, SetupStep, MIN_SCALED_ITEMS};
pub use shape::{scale_duration, Level, ShapeSpec};
pub use values::DurationValue;

/// Reads and validates the scenario at `path`; `host` overrides its host.
pub fn load(path: &Path, host: Option<&str>) -> Result<Plan, ScenarioError> {
    load_with(path, host, &Overrides::default())
}

/// Changes a suite's run makes to a scenario before it is validated.
#[derive(Debug, Default)]
pub struct Overrides {
    /// New values for variables the scenario declares under `vars:`.
    pub vars: BTreeMap<String, serde_json::Value>,
    /// New weights for user types, by name; 0 leaves the type out.
    pub weights: BTreeMap<String, u32>,
    /// A broker for the scenario's `mqtt: { broker: … }` (a suite starts
    /// its own on a free port).
    pub broker: Option<String>,
}

/// Like [`load`], with `overrides` applied; a variable or user type the
/// scenario does not have is an error.
pub fn load_with(
    path: &Path,
    host: Option<&str>,
    overrides: &Overrides,
) -> Result<Plan, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: file.clone(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_with(&text, &file, base, host, overrides)
}

/// Validates scenario `text` read from `file`; relative paths in it resolve
/// against `base_dir`.
pub fn parse(
    text: &str,
    file: &str,
    base_dir: &Path,
    host: Option<&str>,
) -> Result<Plan, ScenarioError> {
    parse_with(text, file, base_dir, host, &Overrides::default())
}

/// [`parse`] with `overrides` applied to the file before validation.
pub fn parse_with(
    text: &str,
    file: &str,
    base_dir: &Path,
    host: Option<&str>,
    overrides: &Overrides,
) -> Result<Plan, ScenarioError> {
    let invalid = |problems| ScenarioError::Invalid {
        file: file.to_string(),
        text: text.to_string(),
        problems,
    };
    // YAML 1.2 booleans only: `equals: y` or `equals: no` stay strings.
    let options = serde_saphyr::options! { strict_booleans: true };
    let mut raw: raw::RawScenario = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| invalid(vec![error::from_parse(&e)]))?;
    apply(&mut raw, overrides).map_err(invalid)?;
    build::build(raw, file, base_dir, host).map_err(invalid)
}

/// Applies a suite's `overrides` to `raw`.
fn apply(raw: &mut raw::RawScenario, overrides: &Overrides) -> Result<(), Vec<Problem>> {
    let top = Loc { line: 1, column: 1 };
    let mut problems = Vec::new();
    for (name, value) in &overrides.vars {
        match raw.vars.get_mut(name) {
            Some(v) => *v = value.clone(),
            None => problems.push(Problem {
                loc: top,
                message: format!(
                    "the suite sets `{name}`, which this scenario does not declare under `vars:`"
                ),
            }),
        }
    }
    for (name, weight) in &overrides.weights {
        match raw.users.iter_mut().find(|u| &u.value.name == name) {
            // Weight 0 leaves the user type out of this run.
            Some(_) if *weight == 0 => raw.users.retain(|u| &u.value.name != name),
            Some(u) => u.value.weight = Some(*weight),
            None => problems.push(Problem {
                loc: top,
                message: format!(
                    "the suite weighs user type `{name}`, which this scenario does not have"
                ),
            }),
        }
    }
    if let Some(url) = &overrides.broker {
        match raw.mqtt.as_mut().and_then(|m| m.value.broker.as_mut()) {
            Some(b) => b.value = url.clone(),
            None => problems.push(Problem {
                loc: top,
                message: "the suite sets the MQTT broker, but this scenario's `mqtt:` section names no `broker:` to replace".into(),
            }),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests;
