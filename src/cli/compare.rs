//! `cicada compare BASE NEW`: two runs side by side and a regression
//! verdict. The comparison is in `cicada_core::report::compare`; this only
//! reads the flags, prints and picks the exit code.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use cicada_core::report::compare::{self, parse_fraction, parse_points, Input, Rules};
use cicada_core::report::write_atomic;
use cicada_core::units::parse_duration;
use clap::Args;

use super::{bad_input, could_not_run, Exit, Failure};

/// Arguments of `cicada compare`.
#[derive(Debug, Args)]
#[command(after_help = "\
Each side is a cicada JSON report (cicada run --json), a Locust or cicada PREFIX_stats.csv,
or a folder: a suite's output (summary.json; compared run by run) or a folder holding one
JSON report or one *_stats.csv.

Examples:
  cicada compare base.json new.json
  cicada compare base.json new.json --max-regression 10%        # exit 1 on a regression
  cicada compare locust_stats.csv out/run.json --markdown > comment.md
  cicada compare cicada-suite/base/ cicada-suite/new/ --max-regression 10% --json diff.json

Rules (with --max-regression R): a row regresses when p50, p95 or p99 grows by more than R
and by at least --min-delta, or its rps drops by more than R, or its error rate grows by more
than --max-error-increase percentage points (default 1). Rows in one side only are listed,
not judged.
Exit codes: 0 no regression (or no rule given), 1 a row regressed, 2 bad input, 3 could not
read an input or write --json.")]
pub struct CompareArgs {
    /// The baseline: JSON report, PREFIX_stats.csv or folder.
    pub base: PathBuf,
    /// The candidate, in any of the same forms.
    pub new: PathBuf,
    /// Latency up or rps down by more than this is a regression (e.g. 10%, 0.1).
    #[arg(long, value_name = "FRACTION", value_parser = parse_fraction)]
    pub max_regression: Option<f64>,
    /// Error rate up by more than this many percentage points is a regression (e.g. 0.5%).
    #[arg(long, value_name = "POINTS", value_parser = parse_points)]
    pub max_error_increase: Option<f64>,
    /// Latency changes smaller than this never count (noise on fast rows).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1ms")]
    pub min_delta: Duration,
    /// Only rows whose name matches this regular expression (Aggregated is always shown).
    #[arg(long, value_name = "REGEX")]
    pub only_names: Option<String>,
    /// Print a GitHub-flavoured markdown table (for CI comments) instead of the terminal table.
    #[arg(long)]
    pub markdown: bool,
    /// Also write the comparison as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// `cicada compare`.
pub fn run(args: CompareArgs) -> Result<Exit, Failure> {
    let names = args
        .only_names
        .as_deref()
        .map(|re| {
            compare::name_filter(re)
                .with_context(|| format!("--only-names '{re}'"))
                .map_err(bad_input)
        })
        .transpose()?;
    let rules = Rules {
        max_regression: args.max_regression,
        max_error_increase: args.max_error_increase,
        min_delta_ms: args.min_delta.as_secs_f64() * 1000.0,
    };
    let base = load(&args.base)?;
    let new = load(&args.new)?;
    let comparison = compare::compare(&base, &new, &rules, names.as_ref()).map_err(bad_input)?;
    if let Some(path) = &args.json {
        let mut bytes = serde_json::to_vec_pretty(&comparison)
            .context("encoding the comparison")
            .map_err(could_not_run)?;
        bytes.push(b'\n');
        write_atomic(path, &bytes).map_err(could_not_run)?;
    }
    if args.markdown {
        print!("{}", compare::render::markdown(&comparison));
    } else {
        print!("{}", compare::render::terminal(&comparison));
    }
    Ok(if comparison.regressed {
        Exit::Failed
    } else {
        Exit::Ok
    })
}

/// Loads one side: unreadable is exit 3, not understood is exit 2.
fn load(path: &std::path::Path) -> Result<Input, Failure> {
    compare::load(path).map_err(|e| {
        if e.is_unreadable() {
            could_not_run(e)
        } else {
            bad_input(e)
        }
    })
}
