//! `cicada demo`: the job service of seed 001 on a free loopback port,
//! loaded by the bundled `examples/jobs.yaml` above its completion rate,
//! with the live view, the summary (backlog warning included) and the
//! reports in `./cicada-demo/`. Nothing to install or start first.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use cicada_core::engine::RunConfig;
use cicada_core::scenario;
use cicada_core::units::parse_duration;
use cicada_targets::jobs::{self, JobsConfig, JobsState};
use clap::Args;

use super::run::{default_threads, execute, Outputs};
use super::{bad_input, could_not_run, Exit, Failure};

/// The scenario, embedded so the demo runs without the repository around it.
const JOBS_YAML: &str = include_str!("../../examples/jobs.yaml");

/// Arguments of `cicada demo`.
#[derive(Debug, Args)]
#[command(after_help = "\
Starts the bundled jobs service (10 completions/s) on a free loopback port and
runs examples/jobs.yaml against it: POST /jobs stays fast while the queue
behind it grows; the summary says so. Reports go to ./cicada-demo/.

Examples:
  cicada demo
  cicada demo --run-time 8s --out /tmp/demo")]
pub struct DemoArgs {
    /// Length of the run.
    #[arg(short = 't', long, value_parser = parse_duration, default_value = "20s")]
    pub run_time: Duration,
    /// Folder for the reports (jobs_stats.csv, jobs.json, ...).
    #[arg(long, default_value = "cicada-demo")]
    pub out: PathBuf,
    /// No live table: one line per interval.
    #[arg(long)]
    pub headless: bool,
}

/// `cicada demo`.
pub fn run(args: DemoArgs) -> Result<Exit, Failure> {
    let config = JobsConfig::default();
    let state = JobsState::new(config.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .context("binding a loopback port for the jobs service")
        .map_err(could_not_run)?;
    let addr = listener.local_addr().map_err(could_not_run)?;
    listener.set_nonblocking(true).map_err(could_not_run)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server_state = state.clone();
    let server = std::thread::Builder::new()
        .name("jobs-target".into())
        .spawn(move || -> std::io::Result<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                jobs::serve_state(listener, server_state, async {
                    let _ = stopped.await;
                })
                .await
            })
        })
        .context("starting the jobs service")
        .map_err(could_not_run)?;
    let host = format!("http://{addr}");
    eprintln!(
        "cicada demo: the jobs service of seed 001 listens on {host} and completes {} jobs/s; examples/jobs.yaml loads it harder than that",
        config.completion_rate
    );
    let plan = scenario::parse(
        JOBS_YAML,
        "examples/jobs.yaml",
        std::path::Path::new("."),
        Some(&host),
    )
    .map_err(bad_input)?;
    let mut spec = plan.load.clone();
    spec.run_time = Some(args.run_time);
    let run_config = RunConfig::from_spec(&spec, default_threads())
        .map_err(|e| bad_input(anyhow::anyhow!(e)))?;
    let outputs = Outputs {
        csv: Some(args.out.join("jobs")),
        json: Some(args.out.join("jobs.json")),
    };
    let result = execute(plan, run_config, Vec::new(), &outputs, args.headless);
    let stats = state.stats();
    let _ = stop.send(());
    let _ = server.join();
    let report = result?;
    println!(
        " The service's own view: {} jobs submitted, {} completed, {} still queued (at {}/s the queue needs {:.0}s more to drain).",
        stats.submitted,
        stats.completed,
        stats.queue_depth,
        stats.completion_rate,
        stats.queue_depth as f64 / stats.completion_rate
    );
    if report.warnings.iter().any(|w| w.kind == "backlog") {
        println!(" That is seed 001's lesson: the endpoint answered fast all along while the work behind it fell further behind.");
    }
    Ok(Exit::Ok)
}
