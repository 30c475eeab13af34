//! Reading one side of a comparison: a cicada JSON report (`cicada run
//! --json`), a Locust or cicada `PREFIX_stats.csv`, a suite's `summary.json`
//! (its runs' reports, by id), or a folder holding one of those.
//!
//! Files are told apart by extension, and by their first bytes when the
//! extension says nothing, so that a mistake (a history CSV, a scenario
//! file) is named with what was expected rather than half-read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Loaded, Measures};

/// What compare accepts, for error messages.
const EXPECTED: &str = "expected a cicada JSON report (cicada run --json), a Locust or cicada \
                        PREFIX_stats.csv, a suite's summary.json, or a folder holding one of them";

/// One side: a single run's report, or a suite's runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// One report.
    Report(Loaded),
    /// A suite's output: each run's report, by run id.
    Suite {
        /// The folder or summary.json as given.
        source: String,
        /// The runs, in the summary's order.
        runs: Vec<SuiteRun>,
    },
}

impl Input {
    /// The path it was read from, as given.
    pub fn source(&self) -> &str {
        match self {
            Input::Report(r) => &r.source,
            Input::Suite { source, .. } => source,
        }
    }
}

/// One run of a suite.
#[derive(Clone, Debug, PartialEq)]
pub struct SuiteRun {
    /// The run's id (`S3a`).
    pub id: String,
    /// Its report, when the summary names one.
    pub report: Option<Loaded>,
}

/// Why a side could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file or folder could not be read (missing, no permission).
    #[error("cannot read {}", path.display())]
    Read {
        /// What was read.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// It was read but is not something compare understands.
    #[error("{}: {reason}; {EXPECTED}", path.display())]
    Invalid {
        /// The offending file or folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl LoadError {
    /// True when the input was unreadable rather than wrong (exit 3, not 2).
    pub fn is_unreadable(&self) -> bool {
        matches!(self, LoadError::Read { .. })
    }

    /// A file that is not what compare reads, and why.
    fn invalid(path: &Path, reason: impl Into<String>) -> LoadError {
        LoadError::Invalid {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// Loads a file or folder.
pub fn load(path: &Path) -> Result<Input, LoadError> {
    let meta = std::fs::metadata(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        return load_dir(path);
    }
    let bytes = read(path)?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| LoadError::invalid(path, "not UTF-8 text"))?;
    match kind_of(path, text) {
        Some(Kind::Json) => load_json(path, text),
        Some(Kind::Csv) => csv_report(path, text).map(Input::Report),
        None => Err(LoadError::invalid(
            path,
            "neither JSON nor a CSV with Locust's Type,Name,… header",
        )),
    }
}

/// The two file formats.
enum Kind {
    Json,
    Csv,
}

/// The format by extension, else by the first characters.
fn kind_of(path: &Path, text: &str) -> Option<Kind> {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => return Some(Kind::Json),
        Some(e) if e.eq_ignore_ascii_case("csv") => return Some(Kind::Csv),
        _ => {}
    }
    let start = text.trim_start_matches('\u{feff}').trim_start();
    if start.starts_with('{') {
        Some(Kind::Json)
    } else if start.starts_with("Type,Name,") {
        Some(Kind::Csv)
    } else {
        None
    }
}

/// The bytes of `path`, or an unreadable-file error naming it.
fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A folder: a suite's summary.json, else its only JSON report, else its
/// only `*_stats.csv` (a run written with both `--json` and `--csv` is
/// compared by its JSON).
fn load_dir(dir: &Path) -> Result<Input, LoadError> {
    let summary = dir.join("summary.json");
    if summary.is_file() {
        let text = String::from_utf8(read(&summary)?)
            .map_err(|_| LoadError::invalid(&summary, "not UTF-8 text"))?;
        return load_json(&summary, &text).map(|input| match input {
            Input::Suite { runs, .. } => Input::Suite {
                source: dir.display().to_string(),
                runs,
            },
            report => report,
        });
    }
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut jsons = Vec::new();
    let mut csvs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_file() {
            continue;
        }
        if name.ends_with(".json") {
            jsons.push(path);
        } else if name.ends_with("_stats.csv") {
            csvs.push(path);
        }
    }
    jsons.sort();
    csvs.sort();
    let chosen = match (jsons.as_slice(), csvs.as_slice()) {
        ([one], _) | ([], [one]) => one.clone(),
        ([], []) => {
            return Err(LoadError::invalid(
                dir,
                "the folder holds no summary.json, *.json report or *_stats.csv",
            ))
        }
        _ => {
            let many = if jsons.is_empty() { &csvs } else { &jsons };
            let names: Vec<String> = many
                .iter()
                .map(|p| {
                    p.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            return Err(LoadError::invalid(
                dir,
                format!(
                    "the folder holds several candidates ({}): name one file",
                    names.join(", ")
                ),
            ));
        }
    };
    load(&chosen)
}

/// A JSON file: a report (`stats` and `total`) or a suite summary (`runs`).
fn load_json(path: &Path, text: &str) -> Result<Input, LoadError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| LoadError::invalid(path, format!("invalid JSON: {e}")))?;
    if value.get("stats").is_some() {
        let report: JsonReport = serde_json::from_value(value)
            .map_err(|e| LoadError::invalid(path, format!("not a cicada JSON report: {e}")))?;
        let rows = report
            .stats
            .into_iter()
            .chain([report.total])
            .map(JsonRow::measures)
            .collect();
        return Ok(Input::Report(Loaded {
            source: path.display().to_string(),
            rows,
        }));
    }
    if value.get("runs").is_some() {
        let summary: JsonSummary = serde_json::from_value(value)
            .map_err(|e| LoadError::invalid(path, format!("not a suite summary: {e}")))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let runs = summary
            .runs
            .into_iter()
            .map(|run| {
                let report = match run.report {
                    None => None,
                    Some(rel) => match load(&dir.join(&rel))? {
                        Input::Report(r) => Some(r),
                        Input::Suite { .. } => {
                            return Err(LoadError::invalid(
                                path,
                                format!(
                                    "run '{}' names another suite summary as its report",
                                    run.id
                                ),
                            ))
                        }
                    },
                };
                Ok(SuiteRun { id: run.id, report })
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Input::Suite {
            source: path.display().to_string(),
            runs,
        });
    }
    Err(LoadError::invalid(
        path,
        "JSON without `stats` (a report) or `runs` (a suite summary)",
    ))
}

/// The part of a cicada JSON report compare reads.
#[derive(Deserialize)]
struct JsonReport {
    /// One row per (type, name).
    stats: Vec<JsonRow>,
    /// The `Aggregated` row.
    total: JsonRow,
}

/// One row of a cicada JSON report.
#[derive(Deserialize)]
struct JsonRow {
    /// `GET`, `MQTT`, ... (empty for `Aggregated`).
    #[serde(rename = "type")]
    kind: String,
    /// The row's name.
    name: String,
    /// Completed requests.
    requests: u64,
    /// Failed requests.
    failures: u64,
    /// Requests per second.
    rps: f64,
    /// Latency percentiles by label (`"50"`, `"95"`, ...), ms.
    percentiles_ms: BTreeMap<String, f64>,
}

impl JsonRow {
    fn measures(self) -> Measures {
        let has = self.requests > 0;
        let p = |label: &str| self.percentiles_ms.get(label).copied().filter(|_| has);
        Measures {
            p50_ms: p("50"),
            p95_ms: p("95"),
            p99_ms: p("99"),
            kind: self.kind,
            name: self.name,
            requests: self.requests,
            failures: self.failures,
            rps: self.rps,
        }
    }
}

/// The part of a suite's summary.json compare reads.
#[derive(Deserialize)]
struct JsonSummary {
    /// The runs, in order.
    runs: Vec<JsonRun>,
}

/// One run of a suite summary: its id and its report, relative to the
/// summary's folder.
#[derive(Deserialize)]
struct JsonRun {
    /// The run's id.
    id: String,
    /// Its JSON report; none when it could not run.
    #[serde(default)]
    report: Option<String>,
}

/// A `PREFIX_stats.csv` (Locust's or cicada's: the same columns).
fn csv_report(path: &Path, text: &str) -> Result<Loaded, LoadError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| LoadError::invalid(path, format!("unreadable CSV: {e}")))?
        .clone();
    let column = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            LoadError::invalid(
                path,
                format!(
                    "no '{name}' column (is this a _stats.csv, not a history or failures file?)"
                ),
            )
        })
    };
    let cols = [
        column("Type")?,
        column("Name")?,
        column("Request Count")?,
        column("Failure Count")?,
        column("Requests/s")?,
        column("50%")?,
        column("95%")?,
        column("99%")?,
    ];
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| LoadError::invalid(path, format!("line {line}: {e}")))?;
        let field = |c: usize| record.get(c).unwrap_or("").trim();
        let number = |c: usize, what: &str| -> Result<f64, LoadError> {
            field(c).parse::<f64>().map_err(|_| {
                LoadError::invalid(
                    path,
                    format!("line {line}: '{}' is not a number ({what})", field(c)),
                )
            })
        };
        let count = |c: usize, what: &str| -> Result<u64, LoadError> {
            field(c).parse::<u64>().map_err(|_| {
                LoadError::invalid(
                    path,
                    format!("line {line}: '{}' is not a count ({what})", field(c)),
                )
            })
        };
        let percentile = |c: usize, what: &str| match field(c) {
            "N/A" | "" => Ok(None),
            _ => number(c, what).map(Some),
        };
        let requests = count(cols[2], "Request Count")?;
        let has = requests > 0;
        rows.push(Measures {
            kind: field(cols[0]).to_string(),
            name: field(cols[1]).to_string(),
            requests,
            failures: count(cols[3], "Failure Count")?,
            rps: number(cols[4], "Requests/s")?,
            p50_ms: percentile(cols[5], "50%")?.filter(|_| has),
            p95_ms: percentile(cols[6], "95%")?.filter(|_| has),
            p99_ms: percentile(cols[7], "99%")?.filter(|_| has),
        });
    }
    // The total goes last, wherever the file put it.
    rows.sort_by_key(Measures::is_total);
    Ok(Loaded {
        source: path.display().to_string(),
        rows,
    })
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
