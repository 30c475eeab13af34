//! `cicada demo`: three runs, nothing to install or start first. The job
//! service of seed 001 on a free loopback port, loaded by the bundled
//! `examples/jobs.yaml` above its completion rate (the summary warns about
//! the backlog); seed 000's lamp fleet, `examples/lampi.yaml`, against the
//! embedded MQTT broker, with its delivery audit; seed 002's queue,
//! `examples/queue.yaml`, under a sine wave of load with its depth
//! monitored and a store outage half-way, measured as recovery. Live view,
//! summaries, and the reports in `./cicada-demo/` (`jobs_*`, `lampi_*`,
//! `queue_*`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use cicada_core::engine::RunConfig;
use cicada_core::report::Report;
use cicada_core::scenario;
use cicada_core::suite::fault::{Action, Fault, FaultContext};
use cicada_core::units::parse_duration;
use cicada_targets::broker::{self, BrokerOptions};
use cicada_targets::jobs::{self, JobsConfig, JobsState};
use cicada_targets::queue::{self, Database, QueueConfig};
use clap::Args;

use super::extras::Extras;
use super::run::{default_threads, execute, Outputs};
use super::{bad_input, could_not_run, Exit, Failure};

/// The scenarios, embedded so the demo runs without the repository around it.
const JOBS_YAML: &str = include_str!("../../examples/jobs.yaml");
const LAMPI_YAML: &str = include_str!("../../examples/lampi.yaml");
const QUEUE_YAML: &str = include_str!("../../examples/queue.yaml");

/// Arguments of `cicada demo`.
#[derive(Debug, Args)]
#[command(after_help = "\
Starts the bundled jobs service (10 completions/s) on a free loopback port and
runs examples/jobs.yaml against it: POST /jobs stays fast while the queue
behind it grows; the summary says so. Then starts the embedded MQTT broker and
runs examples/lampi.yaml (seed 000's lamp fleet, QoS 0/1/2, delivery audit).
Then starts the queue target (seed 002) and runs examples/queue.yaml: a sine
wave of pushes and pops, the queue's depth monitored, a 2 s store outage
half-way and the recovery from it. Reports go to ./cicada-demo/ (jobs_*,
lampi_*, queue_*).

Examples:
  cicada demo
  cicada demo --run-time 8s --out /tmp/demo")]
pub struct DemoArgs {
    /// Length of each of the three runs.
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
    jobs_demo(&args)?;
    lampi_demo(&args)?;
    queue_demo(&args)?;
    Ok(Exit::Ok)
}

/// Runs one bundled scenario against `host` with the demo's run time.
fn demo_run(
    args: &DemoArgs,
    yaml: &str,
    file: &str,
    host: &str,
    name: &str,
) -> Result<Report, Failure> {
    demo_run_with(args, yaml, file, host, name, Extras::default())
}

/// [`demo_run`] with a monitor or faults beside the load.
fn demo_run_with(
    args: &DemoArgs,
    yaml: &str,
    file: &str,
    host: &str,
    name: &str,
    mut extras: Extras,
) -> Result<Report, Failure> {
    let mut plan =
        scenario::parse(yaml, file, std::path::Path::new("."), Some(host)).map_err(bad_input)?;
    extras.monitor = extras.monitor.or_else(|| plan.monitor.take());
    let mut spec = plan.load.clone();
    spec.run_time = Some(args.run_time);
    let run_config = RunConfig::from_spec(&spec, default_threads())
        .map_err(|e| bad_input(anyhow::anyhow!(e)))?;
    let outputs = Outputs {
        csv: Some(args.out.join(name)),
        json: Some(args.out.join(format!("{name}.json"))),
    };
    execute(
        plan,
        run_config,
        Vec::new(),
        &outputs,
        args.headless,
        extras,
    )
}

/// Seed 000: the lamp fleet against the embedded broker.
fn lampi_demo(args: &DemoArgs) -> Result<(), Failure> {
    let options = BrokerOptions::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    let broker = broker::start(&options).map_err(could_not_run)?;
    let host = format!("mqtt://{}", broker.addr);
    eprintln!(
        "\ncicada demo: seed 000's lamp fleet — 100 lamps publishing their config at QoS 0, 1 and 2 to the embedded MQTT broker on {host}, one observer auditing every message"
    );
    let report = demo_run(args, LAMPI_YAML, "examples/lampi.yaml", &host, "lampi")?;
    if let Some(a) = &report.audit {
        println!(
            " The audit: {} messages published, {} received by the observer, {} lost — each timed from publish to delivery in the `e2e lamp/#` row.",
            a.published, a.received, a.lost
        );
    }
    Ok(())
}

/// Seed 001: the job service whose queue drowns.
fn jobs_demo(args: &DemoArgs) -> Result<(), Failure> {
    let config = JobsConfig::default();
    let state = JobsState::new(config.clone());
    let server_state = state.clone();
    let served = Served::start("the jobs service", move |listener, stopped| async move {
        jobs::serve_state(listener, server_state, stopped).await?;
        Ok(())
    })?;
    let addr = served.addr;
    let host = format!("http://{addr}");
    eprintln!(
        "cicada demo: the jobs service of seed 001 listens on {host} and completes {} jobs/s; examples/jobs.yaml loads it harder than that",
        config.completion_rate
    );
    let result = demo_run(args, JOBS_YAML, "examples/jobs.yaml", &host, "jobs");
    let stats = state.stats();
    served.stop();
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
    Ok(())
}

/// Seed 002: the priority queue under a sine wave, with a store outage.
fn queue_demo(args: &DemoArgs) -> Result<(), Failure> {
    let config = QueueConfig {
        database: Database::SqliteMemory,
        admin: true,
        ..QueueConfig::default()
    };
    let served = Served::start("the queue", move |listener, stopped| async move {
        queue::serve(listener, config, stopped).await?;
        Ok(())
    })?;
    let addr = served.addr;
    let host = format!("http://{addr}");
    eprintln!(
        "\ncicada demo: seed 002's priority queue on {host} — pushes and pops on a sine wave of 20 to 150 requests/s, its depth monitored, the store down for 2 s half-way"
    );
    let extras = Extras {
        faults: vec![Fault {
            at: args.run_time / 2,
            action: Action::DbOutage(Duration::from_secs(2)),
        }],
        fault_cx: FaultContext {
            target: None,
            host: Some(host.clone()),
        },
        ..Extras::default()
    };
    let result = demo_run_with(
        args,
        QUEUE_YAML,
        "examples/queue.yaml",
        &host,
        "queue",
        extras,
    );
    served.stop();
    let report = result?;
    if let Some(f) = report.faults.first() {
        println!(
            " The outage: {} requests failed while the store was down; the queue answered again {} after it began, and p95 was back under 50 ms {} after.",
            f.failed_requests,
            f.first_success_s.map_or("not".into(), |s| format!("{s:.1}s")),
            f.recovery_s.map_or("not by the end".into(), |s| format!("{s:.1}s")),
        );
    }
    Ok(())
}

/// A bundled target served on a loopback port by a thread of its own, for
/// as long as the demo loads it.
struct Served {
    /// Where it listens.
    addr: std::net::SocketAddr,
    /// Ends serving.
    stop: tokio::sync::oneshot::Sender<()>,
    /// The serving thread.
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl Served {
    /// Binds a free loopback port and serves `what` with `serve(listener,
    /// shutdown)` on a current-thread runtime.
    fn start<F, Fut>(what: &str, serve: F) -> Result<Served, Failure>
    where
        F: FnOnce(tokio::net::TcpListener, BoxedStop) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<()>>,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .with_context(|| format!("binding a loopback port for {what}"))
            .map_err(could_not_run)?;
        let addr = listener.local_addr().map_err(could_not_run)?;
        listener.set_nonblocking(true).map_err(could_not_run)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("demo-target".into())
            .spawn(move || -> anyhow::Result<()> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let stopped: BoxedStop = Box::pin(async {
                        let _ = stopped.await;
                    });
                    serve(listener, stopped).await
                })
            })
            .with_context(|| format!("starting {what}"))
            .map_err(could_not_run)?;
        Ok(Served { addr, stop, thread })
    }

    /// Ends serving and waits for the thread.
    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// The shutdown signal handed to a served target.
type BoxedStop = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
