//! The `cicada` binary: argument parsing and wiring only; the work is in
//! the `cicada-core` and `cicada-targets` crates.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cli::dispatch(cli::Cli::parse())
}
