//! `cicada target`: the bundled systems under test, as standalone servers.

use anyhow::Context as _;
use cicada_targets::addr::parse_listen_addr;
use cicada_targets::jobs::{self, JobsConfig};
use clap::{Args, Subcommand};

use super::{bad_input, could_not_run, Exit, Failure};

/// Arguments of `cicada target`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Which target.
    #[command(subcommand)]
    pub which: Which,
}

/// The bundled targets.
#[derive(Debug, Subcommand)]
pub enum Which {
    /// Seed 001's job service: POST /jobs, GET /jobs/{id}, a FIFO worker.
    #[command(after_help = "\
Endpoints:
  POST /jobs?message=…   201 {\"id\": …, \"status\": \"new\"}
  GET  /jobs/{id}        200 {\"id\", \"status\": \"new\"|\"done\", \"message\"}; 404 if unknown
  GET  /stats            queue_depth, submitted, completed, completion_rate
  GET  /health           {\"status\": \"ok\"}

Examples:
  cicada target jobs                         # 127.0.0.1:8080, 10 completions/s
  cicada target jobs --addr :0               # a free port, printed on the first line
  cicada target jobs --completion-rate 100")]
    Jobs {
        /// Listen address: HOST:PORT, or :PORT for loopback (:0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Jobs the background worker completes per second.
        #[arg(long, default_value_t = 10.0)]
        completion_rate: f64,
    },
}

/// Runs a target until Ctrl-C.
pub fn run(args: TargetArgs) -> Result<Exit, Failure> {
    match args.which {
        Which::Jobs {
            addr,
            completion_rate,
        } => {
            let addr = parse_listen_addr(&addr).map_err(bad_input)?;
            let config = JobsConfig { completion_rate };
            config.validate().map_err(bad_input)?;
            let runtime = tokio::runtime::Runtime::new()
                .context("starting the runtime")
                .map_err(could_not_run)?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))
                    .map_err(could_not_run)?;
                let local = listener.local_addr().map_err(could_not_run)?;
                println!(
                    "jobs target listening on http://{local} (completion rate {completion_rate}/s)"
                );
                jobs::serve(listener, config, async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
                .map_err(could_not_run)?;
                Ok(Exit::Ok)
            })
        }
    }
}
