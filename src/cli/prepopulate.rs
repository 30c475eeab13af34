//! `cicada prepopulate`: fill queues of the queue target before a test,
//! with a progress bar, and check the depth afterwards. The work is in
//! `cicada_core::prepopulate`; this reads flags and prints.

use std::io::{IsTerminal, Write};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use cicada_core::prepopulate::{self, Options, PrepopulateError, Progress, Summary};
use cicada_core::units::{format_duration, parse_count, parse_duration, parse_size};
use clap::Args;

use super::{bad_input, could_not_run, Exit, Failure};

/// Arguments of `cicada prepopulate`.
#[derive(Debug, Args)]
#[command(after_help = "\
Items go in batches to POST {target}/queues/{id}/push_batch as {\"items\": [{\"item\": {\"seq\": n,
\"pad\": \"xx…\"}, \"priority\": p}, …]}; the depth of each queue is read from
GET {target}/queues/{id}/stats before and after.

Examples:
  cicada prepopulate --target http://127.0.0.1:8081 --queue q1 --items 100k
  cicada prepopulate --target http://127.0.0.1:8081 --queue q1 --items 100000 \\
      --priorities 0-2 --item-size 1KB --concurrency 64
  cicada prepopulate --target http://127.0.0.1:8081 --queue q1,q2,q3 --items 10k --batch 200

Exit codes: 0 every queue grew by exactly --items, 1 items failed or a depth is off,
2 bad input, 3 the target could not be reached.")]
pub struct PrepopulateArgs {
    /// Base URL of the queue target.
    #[arg(long, env = "CICADA_HOST")]
    pub target: String,
    /// Queue id to fill (repeatable, or comma-separated); each gets --items items.
    #[arg(
        long = "queue",
        alias = "queues",
        value_delimiter = ',',
        required = true
    )]
    pub queues: Vec<String>,
    /// Items per queue (e.g. 1000, 100k).
    #[arg(long, value_parser = parse_count)]
    pub items: u64,
    /// Priorities, spread round-robin: one (3) or a range (0-2); 0 is the highest.
    #[arg(long, value_parser = prepopulate::parse_priorities, default_value = "0")]
    pub priorities: RangeInclusive<u8>,
    /// Size of each item as sent (e.g. 100B, 1KB).
    #[arg(long, value_parser = parse_size, default_value = "100B")]
    pub item_size: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Items per request (smaller for large items: a request stays under 1 MB).
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Attempts after the first for a request failing with 5xx, 429 or a
    /// connection error (with backoff).
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// Per-request timeout.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub timeout: Duration,
}

/// `cicada prepopulate`.
pub fn run(args: PrepopulateArgs) -> Result<Exit, Failure> {
    let options = Options {
        target: args.target,
        queues: args.queues,
        items: args.items,
        priorities: args.priorities,
        item_size: usize::try_from(args.item_size)
            .map_err(|_| bad_input(anyhow::anyhow!("--item-size is too large")))?,
        concurrency: args.concurrency,
        batch: args.batch,
        retries: args.retries,
        timeout: args.timeout,
    };
    options.validate().map_err(bad_input)?;
    let mut bar = Bar::new(std::io::stderr().is_terminal());
    let summary =
        prepopulate::run_blocking(&options, &mut |p| bar.show(&p)).map_err(|e| match e {
            PrepopulateError::Invalid(_) => bad_input(e),
            _ => could_not_run(e),
        })?;
    bar.finish();
    print!("{}", describe(&summary));
    match summary.problem() {
        None => Ok(Exit::Ok),
        Some(problem) => Err(Failure {
            exit: Exit::Failed,
            error: anyhow::anyhow!("prepopulate: {problem}"),
        }),
    }
}

/// The summary for people: what was pushed, and each queue's depth.
fn describe(s: &Summary) -> String {
    let mut out = format!(
        "pushed {} of {} items in {} ({} items/s, batches of {}), {} failed, {} retries\n",
        thousands(s.pushed),
        thousands(s.requested),
        format_duration(s.elapsed),
        thousands(s.items_per_s.round() as u64),
        s.batch,
        thousands(s.failed),
        s.retries
    );
    let per_queue = s.requested / s.queues.len().max(1) as u64;
    for q in &s.queues {
        let grew = i128::from(q.after) - i128::from(q.before);
        let check = if grew == i128::from(per_queue) {
            "verified"
        } else {
            "MISMATCH"
        };
        out.push_str(&format!(
            "queue {}: depth {} → {} ({grew:+}, {check})\n",
            q.queue,
            thousands(q.before),
            thousands(q.after)
        ));
    }
    out
}

/// `100000` → `100,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The progress display: a redrawn bar on a terminal, a line every couple
/// of seconds otherwise (CI logs).
struct Bar {
    tty: bool,
    last_line: Option<Instant>,
    drawn: bool,
}

/// How often a progress line is written when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(2);

impl Bar {
    fn new(tty: bool) -> Bar {
        Bar {
            tty,
            last_line: None,
            drawn: false,
        }
    }

    fn show(&mut self, p: &Progress) {
        let eta = p.eta().map_or_else(|| "-".into(), format_duration);
        let numbers = format!(
            "{:>3.0}%  {}/{} items  {} items/s  ETA {eta}",
            p.fraction() * 100.0,
            thousands(p.pushed),
            thousands(p.total),
            thousands(p.items_per_s().round() as u64),
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            const WIDTH: usize = 30;
            let filled = (p.fraction() * WIDTH as f64).round() as usize;
            let bar = format!(
                "{}{}",
                "#".repeat(filled),
                ".".repeat(WIDTH - filled.min(WIDTH))
            );
            let _ = write!(err, "\r\x1b[2K[{bar}] {numbers}");
            let _ = err.flush();
            self.drawn = true;
        } else if self.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
            let _ = writeln!(err, "prepopulate: {numbers}");
            self.last_line = Some(Instant::now());
        }
    }

    /// Ends the bar's line so the summary starts on its own.
    fn finish(&mut self) {
        if self.drawn {
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
