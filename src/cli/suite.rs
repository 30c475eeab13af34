//! `cicada suite`: a campaign of runs against one system under test, with
//! a managed target, setup, shapes, monitors and faults, and one summary.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use cicada_core::engine::{RunConfig, StopReason};
use cicada_core::report::compare::{self, parse_fraction, Rules};
use cicada_core::report::{rfc3339, write_atomic};
use cicada_core::scenario::{self, Plan};
use cicada_core::suite::fault::{Fault, FaultContext};
use cicada_core::suite::queue_audit;
use cicada_core::suite::spec::{self, Placeholders, RunSpec, Suite, TargetDef};
use cicada_core::suite::summary::{RunSummary, RunVerdict, SuiteSummary};
use cicada_core::suite::target::ManagedTarget;
use cicada_core::units::format_duration;
use clap::Args;

use super::extras::Extras;
use super::run::{default_threads, execute, Outputs};
use super::{bad_input, could_not_run, Exit, Failure};

/// Arguments of `cicada suite`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  cicada suite suites/pushpop.yaml                      # every run, 1-5 minutes each
  cicada suite suites/pushpop.yaml --scale 0.05         # a smoke run of the same campaign
  cicada suite suites/pushpop.yaml --only S3a,S6b --out results/today
  cicada suite suites/pushpop.yaml --baseline results/yesterday --max-regression 10%

The suite file names a managed target (`{cicada}`, `{port}` and `{out}` are
expanded), setup, and runs (a scenario with vars, weights, load, faults,
monitors and thresholds). Writes summary.md, summary.json and each run's
reports into the output folder.
Exit codes: 0 every run passed, 1 a run failed, 2 bad input, 3 could not run.")]
pub struct SuiteArgs {
    /// The suite file (YAML).
    pub file: PathBuf,
    /// Output folder (default ./cicada-suite/TIME/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only these runs (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Multiply every duration, shape period, fault time and prepopulation
    /// count (e.g. 0.05 for a smoke run).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Worker threads per run (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No live table: one line per second.
    #[arg(long)]
    pub headless: bool,
    /// Compare with an earlier suite's output folder (overrides the file's `baseline`).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// With a baseline: fail when a run regresses by more than this (e.g. 10%).
    #[arg(long)]
    pub max_regression: Option<String>,
}

/// The shortest a scaled run lasts.
const MIN_RUN: Duration = Duration::from_secs(5);
/// The shortest a scaled fault lasts, and the earliest it comes.
const MIN_FAULT: Duration = Duration::from_secs(1);

/// `cicada suite`.
pub fn run(args: SuiteArgs) -> Result<Exit, Failure> {
    if !(args.scale.is_finite() && args.scale > 0.0) {
        return Err(bad_input(anyhow!(
            "--scale must be above 0, got {}",
            args.scale
        )));
    }
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("cicada-suite").join(rfc3339(started).replace(':', "-")));
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the output folder {}", out.display()))
        .map_err(could_not_run)?;
    let out = out.canonicalize().unwrap_or(out);
    let values = Placeholders {
        cicada: std::env::current_exe()
            .map_or_else(|_| "cicada".into(), |p| p.display().to_string()),
        out: out.display().to_string(),
        free_port,
    };
    let suite = spec::load(&args.file, &values).map_err(bad_input)?;
    let runs = selected(&suite, &args.only)?;
    // Every scenario is checked before anything starts.
    let mut plans = Vec::new();
    for r in &runs {
        let plan = scenario::load_with(&r.scenario, suite.host.as_deref(), &r.overrides)
            .map_err(|e| bad_input(anyhow!("run {}: {e}", r.id)))?;
        plans.push(plan);
    }
    let mut services = Vec::new();
    for s in &suite.services {
        services.push(start(s, &out)?);
    }
    let target = suite.target.as_ref().map(|t| start(t, &out)).transpose()?;
    let mut summaries = Vec::new();
    let interrupted = watch_ctrl_c();
    for (r, plan) in runs.iter().zip(plans) {
        if interrupted.load(Ordering::Relaxed) {
            eprintln!("cicada: suite: interrupted; the remaining runs are skipped");
            break;
        }
        eprintln!("\ncicada: suite: run {} — {}", r.id, r.title);
        let (line, stop) = one_run(r, plan, target.as_ref(), &args, &out);
        summaries.push(line);
        if stop {
            eprintln!("cicada: suite: interrupted; the remaining runs are skipped");
            break;
        }
    }
    if let Some(t) = &target {
        t.stop();
    }
    for s in services.iter().rev() {
        s.stop();
    }
    let summary = SuiteSummary::new(&suite.name, &suite.file, started, args.scale, summaries);
    print!("{}", summary.render());
    let json = serde_json::to_vec_pretty(&summary).map_err(could_not_run)?;
    write_atomic(&out.join("summary.json"), &json).map_err(could_not_run)?;
    write_atomic(&out.join("summary.md"), summary.markdown().as_bytes()).map_err(could_not_run)?;
    println!(
        " Summary: {}, {}",
        out.join("summary.md").display(),
        out.join("summary.json").display()
    );
    let mut exit = match summary.verdict {
        RunVerdict::Pass => Exit::Ok,
        _ => Exit::Failed,
    };
    if let Some(base) = args.baseline.as_ref().or(suite.baseline.as_ref()) {
        if against_baseline(base, &out, args.max_regression.as_deref())? {
            exit = Exit::Failed;
        }
    }
    Ok(exit)
}

/// The runs `--only` selects (all without it); an unknown id is bad input.
fn selected<'a>(suite: &'a Suite, only: &[String]) -> Result<Vec<&'a RunSpec>, Failure> {
    if let Some(unknown) = only
        .iter()
        .find(|id| !suite.runs.iter().any(|r| &r.id == *id))
    {
        let ids: Vec<&str> = suite.runs.iter().map(|r| r.id.as_str()).collect();
        return Err(bad_input(anyhow!(
            "--only: no run `{unknown}` in {}; its runs are {}",
            suite.file,
            ids.join(", ")
        )));
    }
    Ok(suite
        .runs
        .iter()
        .filter(|r| only.is_empty() || only.contains(&r.id))
        .collect())
}

/// Carries out one run; its summary line, and true when Ctrl-C ended it.
fn one_run(
    r: &RunSpec,
    mut plan: Plan,
    target: Option<&Arc<ManagedTarget>>,
    args: &SuiteArgs,
    out: &Path,
) -> (RunSummary, bool) {
    let error = |e: anyhow::Error| (RunSummary::error(&r.id, &r.title, format!("{e:#}")), false);
    // A fault may have left the target down; every run starts with it up.
    if let Some(t) = target {
        if let Err(e) = t.launch() {
            return error(e.into());
        }
    }
    let host = plan.host.clone();
    let setup: Vec<_> = r.setup.iter().map(|s| s.scaled(args.scale)).collect();
    if let Err(e) = cicada_core::setup::run(&setup, host.as_deref()) {
        return error(e.into());
    }
    let mut spec = r.load.clone().unwrap_or_else(|| plan.load.clone());
    if spec.users.is_none() && spec.rate.is_none() && spec.stages.is_empty() && spec.shape.is_none()
    {
        spec.users = Some(plan.default_users());
    }
    if args.scale != 1.0 {
        spec = spec.scaled(args.scale, MIN_RUN);
    }
    let threads = args.threads.unwrap_or_else(default_threads);
    let config = match RunConfig::from_spec(&spec, threads) {
        Ok(c) => c,
        Err(e) => return error(anyhow!("load: {e}")),
    };
    // The suite's (or the run's) thresholds replace the scenario's own.
    if !r.thresholds.is_empty() {
        plan.thresholds.clear();
    }
    let faults: Vec<Fault> = r.faults.iter().map(|f| scaled(f, args.scale)).collect();
    if let (Some(late), Some(end)) = (faults.iter().map(|f| f.at).max(), config.run_time) {
        if late >= end {
            return error(anyhow!(
                "a fault at {} comes after the run's end ({})",
                format_duration(late),
                format_duration(end)
            ));
        }
    }
    let monitor = r.monitor.clone().or_else(|| plan.monitor.take());
    let extras = Extras {
        monitor,
        target_pid: target.map(|t| t.pid_cell()),
        faults,
        fault_cx: FaultContext {
            target: target.cloned(),
            host,
        },
    };
    let outputs = Outputs {
        csv: Some(out.join(&r.id)),
        json: Some(out.join(format!("{}.json", r.id))),
    };
    match execute(
        plan,
        config,
        r.thresholds.clone(),
        &outputs,
        args.headless,
        extras,
    ) {
        Ok(report) => {
            let stopped = report.load.stopped_by == StopReason::Interrupted;
            let mut line = RunSummary::of(&r.id, &r.title, &report, format!("{}.json", r.id));
            if let Some(spec) = &r.audit_queue {
                let host = report.host.clone().unwrap_or_default();
                line = line.with_audit(queue_audit::audit(spec, &report, &host));
            }
            (line, stopped)
        }
        Err(f) => error(f.error),
    }
}

/// A fault at `scale`: its time and length multiplied, not below a second.
fn scaled(f: &Fault, scale: f64) -> Fault {
    if scale == 1.0 {
        return f.clone();
    }
    Fault {
        at: scenario::scale_duration(f.at, scale, MIN_FAULT),
        action: f.action.scaled(scale, MIN_FAULT),
    }
}

/// Compares this suite's output with `base` (another suite's), prints the
/// table and writes `compare.md`; true when a run regressed.
fn against_baseline(
    base: &Path,
    out: &Path,
    max_regression: Option<&str>,
) -> Result<bool, Failure> {
    let rules = Rules {
        max_regression: max_regression
            .map(parse_fraction)
            .transpose()
            .map_err(|e| bad_input(anyhow!("--max-regression: {e}")))?,
        ..Rules::default()
    };
    let load = |p: &Path| compare::load(p).map_err(|e| bad_input(anyhow!("baseline: {e}")));
    let comparison =
        compare::compare(&load(base)?, &load(out)?, &rules, None).map_err(bad_input)?;
    print!("{}", compare::render::terminal(&comparison));
    write_atomic(
        &out.join("compare.md"),
        compare::render::markdown(&comparison).as_bytes(),
    )
    .map_err(could_not_run)?;
    Ok(comparison.regressed)
}

/// Starts the target or a service; its output goes to `NAME.log`.
fn start(t: &TargetDef, out: &Path) -> Result<Arc<ManagedTarget>, Failure> {
    eprintln!("cicada: suite: starting {}: {}", t.name, t.command);
    ManagedTarget::start(t.clone(), out.join(format!("{}.log", t.name)))
        .map(Arc::new)
        .with_context(|| format!("starting {}", t.name))
        .map_err(could_not_run)
}

/// A flag Ctrl-C (or SIGTERM) sets at any time during the suite: during a
/// run the engine ends the run as well; during setup or a restart the suite
/// stops before the next run, still writing its summary and stopping its
/// target.
fn watch_ctrl_c() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    let watcher = std::thread::Builder::new()
        .name("cicada-suite-signals".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let Ok(mut term) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                else {
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                set.store(true, Ordering::Relaxed);
                eprintln!("cicada: suite: stopping after this step (summary and reports are still written)");
            });
        });
    if watcher.is_err() {
        eprintln!("cicada: suite: cannot watch for Ctrl-C; it stops only the run under way");
    }
    flag
}

/// A free loopback port for `{port}` and `{port:NAME}`.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
