//! Command-line arguments (raw) and their dispatch. Flags are parsed here
//! and validated into the library's objects by each command.

mod broker;
mod compare;
mod demo;
mod extras;
mod prepopulate;
mod quick;
mod run;
mod suite;
mod target;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use run::RunArgs;

/// Exit codes, as documented in README.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The run passed.
    Ok = 0,
    /// A threshold failed, or (without thresholds) a request failed.
    Failed = 1,
    /// Bad input: arguments, scenario file, thresholds.
    BadInput = 2,
    /// Could not run: a port taken, a thread not started, a report not written.
    CouldNotRun = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// What went wrong, with context.
    pub error: anyhow::Error,
}

/// Bad input (exit 2).
pub fn bad_input(error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        exit: Exit::BadInput,
        error: error.into(),
    }
}

/// Could not run (exit 3).
pub fn could_not_run(error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        exit: Exit::CouldNotRun,
        error: error.into(),
    }
}

/// cicada: load testing for HTTP services, MQTT fleets and job queues.
#[derive(Debug, Parser)]
#[command(name = "cicada", version, about, long_about = None, after_help = "\
Examples:
  cicada demo                                   # jobs service + load + report, nothing to set up
  cicada run examples/jobs.yaml --host http://127.0.0.1:8080
  cicada run --url http://127.0.0.1:8080/health --users 50 --run-time 30s
  cicada target jobs --addr :8080               # the bundled job service (seed 001)
  cicada broker --addr :1884                    # the embedded MQTT broker
  cicada compare base.json new.json --max-regression 10%   # exit 1 on a regression
  cicada prepopulate --target http://127.0.0.1:8081 --queue q1 --items 100k

Exit codes: 0 passed, 1 a threshold (or, without thresholds, a request) failed,
2 bad input, 3 could not run.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario file (or one URL) and report on it.
    Run(Box<RunArgs>),
    /// Start the bundled jobs service and load it: one command, a real report.
    Demo(demo::DemoArgs),
    /// Run a bundled system under test.
    Target(target::TargetArgs),
    /// Run the embedded MQTT broker.
    Broker(broker::BrokerArgs),
    /// Compare two runs (JSON reports, Locust _stats.csv, or suite folders): deltas and a regression verdict.
    Compare(compare::CompareArgs),
    /// Fill queues of the queue target fast, then verify their depth.
    Prepopulate(prepopulate::PrepopulateArgs),
    /// Run a campaign: a managed target, setup, many runs with shapes, monitors and faults, one summary.
    Suite(suite::SuiteArgs),
}

/// Raises the soft limit on open files to the hard limit: every simulated
/// device holds a socket, and the usual soft limit (1024) would cap a fleet
/// far below what the generator can hold. A failure only leaves the limit
/// as it was; connections beyond it fail and are reported.
pub fn raise_fd_limit() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
}

/// Runs the chosen command and returns the process exit code.
pub fn dispatch(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Run(args) => run::run(*args),
        Command::Demo(args) => demo::run(args),
        Command::Target(args) => target::run(args),
        Command::Broker(args) => broker::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Prepopulate(args) => prepopulate::run(args),
        Command::Suite(args) => suite::run(args),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(f) => {
            eprintln!("cicada: {:#}", f.error);
            f.exit.into()
        }
    }
}
