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
mod steps;
mod values;

use std::path::Path;

pub use build::NO_AUDIT;
pub use data::DataSource;
pub use error::{Loc, Problem, ScenarioError};
pub use monitor::{build_monitor, ProcessValue, RawHttpGauge, RawMonitor, RawProcess, RawSqlGauge};
pub use plan::{LoadSpec, Plan, Stage, StageTarget, Step, Task, UserType, Wait};
pub use raw::{DataOrder, DataPer};

/// Reads and validates the scenario at `path`; `host` overrides its host.
pub fn load(path: &Path, host: Option<&str>) -> Result<Plan, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: file.clone(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, &file, base, host)
}

/// Validates scenario `text` read from `file`; relative paths in it resolve
/// against `base_dir`.
pub fn parse(
    text: &str,
    file: &str,
    base_dir: &Path,
    host: Option<&str>,
) -> Result<Plan, ScenarioError> {
    let invalid = |problems| ScenarioError::Invalid {
        file: file.to_string(),
        text: text.to_string(),
        problems,
    };
    // YAML 1.2 booleans only: `equals: y` or `equals: no` stay strings.
    let options = serde_saphyr::options! { strict_booleans: true };
    let raw: raw::RawScenario = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| invalid(vec![error::from_parse(&e)]))?;
    build::build(raw, file, base_dir, host).map_err(invalid)
}

#[cfg(test)]
mod tests;
