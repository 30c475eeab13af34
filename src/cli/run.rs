//! `cicada run`: a scenario file (or one URL), command-line overrides, the
//! engine, the reports, the exit code.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cicada_core::engine::{self, Observer, RunConfig};
use cicada_core::protocols::http::Origin;
use cicada_core::protocols::mqtt::settings::Broker;
use cicada_core::report::{self, threshold, Headless, LiveView, Report, Threshold, Verdict};
use cicada_core::scenario::{self, LoadSpec, Plan};
use cicada_core::units::{parse_count, parse_duration, parse_rate};
use clap::Args;

use super::extras::Extras;
use super::{bad_input, could_not_run, quick, Exit, Failure};

/// Arguments of `cicada run`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  cicada run examples/jobs.yaml --host http://127.0.0.1:8080
  cicada run s.yaml --users 500 --spawn-rate 50 --run-time 5m --headless \\
      --csv out/run --json out/run.json --threshold 'p95<100ms' --threshold 'errors<1%'
  cicada run s.yaml --rate 2000/s --max-users 200 --run-time 1m   # open model
  cicada run --url http://127.0.0.1:8080/health --users 50 --run-time 30s
  cicada run --url http://127.0.0.1:8080/jobs -X POST --body 'x' --iterations 10k

Thresholds: p50..p99.99, avg, min, max (ms/s), errors (count, or % of requests), rps,
requests; for one row prefix its name: '\"POST /jobs\": p99<200ms'.
Exit codes: 0 passed, 1 a threshold (or, without thresholds, a request) failed,
2 bad input, 3 could not run.")]
pub struct RunArgs {
    /// The scenario file (YAML).
    #[arg(required_unless_present = "url", conflicts_with = "url")]
    pub scenario: Option<PathBuf>,

    /// Test one URL without a scenario file.
    #[arg(long)]
    pub url: Option<String>,
    /// HTTP method for --url.
    #[arg(short = 'X', long, default_value = "GET", requires = "url")]
    pub method: String,
    /// Request body for --url.
    #[arg(long, requires = "url")]
    pub body: Option<String>,
    /// Header for --url, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", requires = "url")]
    pub headers: Vec<String>,
    /// Per-request timeout for --url.
    #[arg(long, value_parser = parse_duration, requires = "url")]
    pub timeout: Option<Duration>,

    /// Base URL of the system under test (overrides the scenario's `host`).
    #[arg(long, env = "CICADA_HOST")]
    pub host: Option<String>,
    /// Closed model: concurrent users (e.g. 50, 10k).
    #[arg(short, long, value_parser = parse_count, env = "CICADA_USERS")]
    pub users: Option<u64>,
    /// Users started per second (default: all within the first second).
    #[arg(short = 'r', long, value_parser = parse_rate, env = "CICADA_SPAWN_RATE")]
    pub spawn_rate: Option<f64>,
    /// Length of the run (e.g. 30s, 5m, 1h30m).
    #[arg(short = 't', long, value_parser = parse_duration, env = "CICADA_RUN_TIME")]
    pub run_time: Option<Duration>,
    /// Open model: iterations started per second (e.g. 2000/s, 600/m).
    #[arg(long, value_parser = parse_rate, conflicts_with = "users")]
    pub rate: Option<f64>,
    /// Open model: most users serving arrivals at once (default 1000).
    #[arg(long, value_parser = parse_count)]
    pub max_users: Option<u64>,
    /// Stop after this many iterations in all.
    #[arg(short, long, value_parser = parse_count)]
    pub iterations: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, env = "CICADA_THREADS")]
    pub threads: Option<usize>,
    /// Time running iterations get to finish at the end (default 0).
    #[arg(long, value_parser = parse_duration)]
    pub stop_timeout: Option<Duration>,

    /// No live table: one line per interval (also when stderr is not a TTY).
    #[arg(long)]
    pub headless: bool,
    /// Write Locust-compatible CSVs: PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv.
    #[arg(long, value_name = "PREFIX")]
    pub csv: Option<PathBuf>,
    /// Write the full JSON report.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Pass/fail criterion (repeatable), e.g. 'p95<100ms', 'errors<1%'.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// Accept self-signed TLS certificates.
    #[arg(long)]
    pub insecure: bool,
    /// Watch the MQTT broker's `$SYS/#` topics during the run (PREFIX_sys.csv, JSON `broker`).
    #[arg(long)]
    pub mqtt_sys: bool,
}

/// Where the reports go.
#[derive(Debug, Default)]
pub struct Outputs {
    /// CSV prefix.
    pub csv: Option<PathBuf>,
    /// JSON file.
    pub json: Option<PathBuf>,
}

/// `cicada run`.
pub fn run(args: RunArgs) -> Result<Exit, Failure> {
    if let Some(host) = &args.host {
        if Broker::is_mqtt(host) {
            Broker::parse(host).map_err(|e| bad_input(anyhow::anyhow!("--host: {e}")))?;
        } else {
            Origin::parse(host).map_err(|e| bad_input(anyhow::anyhow!("--host: {e}")))?;
        }
    }
    let thresholds = args
        .thresholds
        .iter()
        .map(|t| threshold::parse(t).map_err(|e| bad_input(anyhow::anyhow!("--threshold: {e}"))))
        .collect::<Result<Vec<Threshold>, _>>()?;
    let mut plan = match (&args.scenario, &args.url) {
        (Some(path), _) => scenario::load(path, args.host.as_deref()).map_err(bad_input)?,
        (None, Some(url)) => quick::plan(url, &args).map_err(bad_input)?,
        (None, None) => return Err(bad_input(anyhow::anyhow!("give a scenario file or --url"))),
    };
    plan.insecure |= args.insecure;
    if args.mqtt_sys && plan.mqtt.is_none() {
        return Err(bad_input(anyhow::anyhow!(
            "--mqtt-sys watches the MQTT broker under test, but the scenario has no MQTT steps"
        )));
    }
    plan.mqtt_sys |= args.mqtt_sys;
    if plan.monitor.as_ref().is_some_and(|m| m.uses_target()) {
        return Err(bad_input(anyhow::anyhow!(
            "monitor: `process: target` is the process a suite starts; in `cicada run` name the process by pid or name"
        )));
    }
    for t in &thresholds {
        if t.on_audit() && !plan.audit {
            return Err(bad_input(anyhow::anyhow!(
                "--threshold '{t}': {}",
                scenario::NO_AUDIT
            )));
        }
        if let Some(name) = &t.name {
            plan.stats
                .check_name(name)
                .map_err(|e| bad_input(anyhow::anyhow!("--threshold '{t}': {e}")))?;
        }
    }
    let mut spec = overrides(&plan.load, &args);
    if spec.users.is_none() && spec.rate.is_none() && spec.stages.is_empty() && spec.shape.is_none()
    {
        spec.users = Some(plan.default_users());
    }
    let threads = args.threads.unwrap_or_else(default_threads);
    let config = RunConfig::from_spec(&spec, threads)
        .map_err(|e| bad_input(anyhow::anyhow!("load: {e}")))?;
    let outputs = Outputs {
        csv: args.csv.clone(),
        json: args.json.clone(),
    };
    cicada_core::setup::run(&plan.setup, plan.host.as_deref()).map_err(could_not_run)?;
    let extras = Extras {
        monitor: plan.monitor.clone(),
        ..Extras::default()
    };
    let report = execute(plan, config, thresholds, &outputs, args.headless, extras)?;
    Ok(match report.verdict {
        Verdict::Pass => Exit::Ok,
        Verdict::Fail => Exit::Failed,
    })
}

/// The scenario's `load:` with the command line's flags applied on top.
fn overrides(file: &LoadSpec, args: &RunArgs) -> LoadSpec {
    let mut spec = file.clone();
    if let Some(users) = args.users {
        spec.users = Some(users);
        spec.rate = None;
        spec.stages.clear();
        spec.shape = None;
    }
    if let Some(rate) = args.rate {
        spec.rate = Some(rate);
        spec.users = None;
        spec.stages.clear();
        spec.shape = None;
    }
    spec.spawn_rate = args.spawn_rate.or(spec.spawn_rate);
    spec.run_time = args.run_time.or(spec.run_time);
    spec.max_users = args.max_users.or(spec.max_users);
    spec.iterations = args.iterations.or(spec.iterations);
    spec.stop_timeout = args.stop_timeout.or(spec.stop_timeout);
    spec
}

/// All cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `plan`, shows progress, writes the reports and prints the summary.
pub fn execute(
    plan: Plan,
    config: RunConfig,
    mut thresholds: Vec<Threshold>,
    outputs: &Outputs,
    headless: bool,
    extras: Extras,
) -> Result<Report, Failure> {
    for dir in [outputs.csv.as_deref(), outputs.json.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(Path::parent)
    {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the report folder {}", dir.display()))
                .map_err(could_not_run)?;
        }
    }
    super::raise_fd_limit();
    // The command line's thresholds add to the file's; one written in both
    // is judged once.
    let mut all = plan.thresholds.clone();
    for t in thresholds.drain(..) {
        if !all.contains(&t) {
            all.push(t);
        }
    }
    eprintln!(
        "cicada: {} → {} — {}{}; Ctrl-C stops and still writes the reports",
        plan.source,
        plan.host.as_deref().unwrap_or("-"),
        config.describe(),
        if config.run_time_defaulted {
            " (default run time: set --run-time)"
        } else {
            ""
        },
    );
    let mut live = LiveView::default();
    let mut lines = Headless::default();
    let observer: &mut dyn Observer = if !headless && std::io::stderr().is_terminal() {
        &mut live
    } else {
        &mut lines
    };
    let plan = Arc::new(plan);
    let running = extras.start(Instant::now())?;
    let outcome = engine::run(plan.clone(), config, true, observer).map_err(could_not_run)?;
    let mut report = Report::build(&plan, &outcome, &all);
    running.finish(&mut report, &all);
    let mut written = Vec::new();
    let mut failed = None;
    if let Some(prefix) = &outputs.csv {
        match report::csv::write(&report, prefix) {
            Ok(files) => written.extend(files),
            Err(e) => failed = Some(e),
        }
        if let Some(log) = &report.monitor {
            match cicada_core::monitor::csv::write(log, prefix) {
                Ok(file) => written.push(file),
                Err(e) => failed = Some(e),
            }
        }
    }
    if let Some(path) = &outputs.json {
        match report::write_json(&report, path) {
            Ok(()) => written.push(path.clone()),
            Err(e) => failed = Some(e),
        }
    }
    print!("{}", report::summary(&report, &written));
    match failed {
        Some(e) => Err(could_not_run(e)),
        None => Ok(report),
    }
}
