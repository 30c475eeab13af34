//! CPU % and resident memory of a process, read from `/proc` (Linux): by
//! pid, by name (every matching process, summed, looked up again at every
//! sample so that a restarted process is followed), or the suite's target.
//!
//! CPU % is the growth of `utime + stime` (clock ticks, from
//! `/proc/PID/stat`) over the wall time between two samples, in percent of
//! one core, so 250 means two and a half cores busy. Memory is the
//! resident set (`/proc/PID/statm` × page size); summed over the processes
//! of a name, pages they share (PostgreSQL's shared buffers) count once
//! per process.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::spec::ProcessRef;

/// What `/proc/PID/stat` says that the monitor needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// State letter (`R`, `S`, `Z`, …): a zombie is a process that is gone.
    pub state: char,
    /// User plus system CPU time, clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, clock ticks: tells a reused pid from the
    /// process that had it before.
    pub start_ticks: u64,
}

/// Parses `/proc/PID/stat`. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime, stime and starttime are fields
    // 14, 15 and 22 of proc(5).
    let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        cpu_ticks: number(11)?.checked_add(number(12)?)?,
        start_ticks: number(19)?,
    })
}

/// Resident pages from `/proc/PID/statm` (its second field).
pub fn parse_statm_pages(text: &str) -> Option<u64> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// CPU use in percent of one core: `ticks` of CPU time over `wall`.
/// `None` when no wall time passed.
pub fn cpu_percent(ticks: u64, ticks_per_second: u64, wall: Duration) -> Option<f64> {
    let wall = wall.as_secs_f64();
    (wall > 0.0 && ticks_per_second > 0)
        .then(|| 100.0 * ticks as f64 / ticks_per_second as f64 / wall)
}

/// Clock ticks per second (`_SC_CLK_TCK`; 100 where unknown).
fn clock_ticks() -> u64 {
    // SAFETY: sysconf reads a constant of the C library and touches no memory.
    let n = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(n).ok().filter(|&n| n > 0).unwrap_or(100)
}

/// Bytes per page (`_SC_PAGESIZE`; 4096 where unknown).
pub fn page_size() -> u64 {
    // SAFETY: as above.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// True when a process with this `comm` and `cmdline` (NUL-separated) is
/// called `name`: its comm (cut to 15 bytes by the kernel) or the file
/// name of its first command-line word.
pub(super) fn matches_name(comm: &str, cmdline: &[u8], name: &str) -> bool {
    let comm = comm.trim_end_matches('\n');
    if comm == name || (comm.len() == 15 && name.len() > 15 && name.starts_with(comm)) {
        return true;
    }
    let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let base = argv0.rsplit(|&b| b == b'/').next().unwrap_or_default();
    !base.is_empty() && base == name.as_bytes()
}

/// Every process under `proc_root` called `name`, except this one (so
/// `name: cicada` watches a cicada target, not the generator).
pub(super) fn pids_named(proc_root: &Path, name: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            let dir = proc_root.join(pid.to_string());
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            matches_name(&comm, &cmdline, name)
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// One process's reading.
struct Reading {
    key: (u32, u64),
    cpu_ticks: u64,
    rss_bytes: u64,
}

/// Reads one live process; `None` when it is gone or a zombie.
fn read(proc_root: &Path, pid: u32, page: u64) -> Option<Reading> {
    let dir = proc_root.join(pid.to_string());
    let stat = parse_stat(&std::fs::read_to_string(dir.join("stat")).ok()?)?;
    if matches!(stat.state, 'Z' | 'X' | 'x') {
        return None;
    }
    let pages = parse_statm_pages(&std::fs::read_to_string(dir.join("statm")).ok()?)?;
    Some(Reading {
        key: (pid, stat.start_ticks),
        cpu_ticks: stat.cpu_ticks,
        rss_bytes: pages * page,
    })
}

/// One process sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct ProcessSample {
    /// CPU % since the previous sample; `None` for the first sample of a
    /// process (nothing to compare with yet).
    pub cpu: Option<f64>,
    /// Resident memory, bytes.
    pub rss: f64,
}

/// Samples one [`ProcessRef`], remembering each process's CPU time for
/// the next sample.
pub(super) struct ProcessProbe {
    what: ProcessRef,
    proc_root: &'static Path,
    ticks_per_second: u64,
    page: u64,
    /// CPU ticks of each (pid, start time) at the previous sample.
    previous: HashMap<(u32, u64), u64>,
    previous_at: Option<Instant>,
}

impl ProcessProbe {
    /// A probe of `what` with nothing seen yet.
    pub fn new(what: ProcessRef) -> ProcessProbe {
        ProcessProbe {
            what,
            proc_root: Path::new("/proc"),
            ticks_per_second: clock_ticks(),
            page: page_size(),
            previous: HashMap::new(),
            previous_at: None,
        }
    }

    /// Samples at `now`; `target` is the suite's target pid. An error says
    /// why there is no sample (no such process).
    pub fn sample(&mut self, target: Option<u32>, now: Instant) -> Result<ProcessSample, String> {
        let pids = match &self.what {
            ProcessRef::Pid(pid) => vec![*pid],
            ProcessRef::Name(name) => pids_named(self.proc_root, name),
            ProcessRef::Target => target.into_iter().collect(),
        };
        let readings: Vec<Reading> = pids
            .iter()
            .filter_map(|&pid| read(self.proc_root, pid, self.page))
            .collect();
        if readings.is_empty() {
            self.previous.clear();
            self.previous_at = None;
            return Err(match &self.what {
                ProcessRef::Pid(pid) => format!("process {pid} is not running"),
                ProcessRef::Name(name) => format!("no process named '{name}'"),
                ProcessRef::Target if target.is_none() => "no target process".into(),
                ProcessRef::Target => format!("the target (pid {}) is not running", pids[0]),
            });
        }
        let mut used = 0u64;
        let mut compared = false;
        for r in &readings {
            if let Some(&before) = self.previous.get(&r.key) {
                used += r.cpu_ticks.saturating_sub(before);
                compared = true;
            }
        }
        let cpu = self.previous_at.filter(|_| compared).and_then(|at| {
            cpu_percent(
                used,
                self.ticks_per_second,
                now.saturating_duration_since(at),
            )
        });
        self.previous = readings.iter().map(|r| (r.key, r.cpu_ticks)).collect();
        self.previous_at = Some(now);
        Ok(ProcessSample {
            cpu,
            rss: readings.iter().map(|r| r.rss_bytes as f64).sum(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let text = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    250 75 0 0 20 0 4 0 123456 1000000 2500 18446744073709551615\n";
        let s = parse_stat(text).expect("parses");
        assert_eq!(
            s,
            ProcStat {
                state: 'S',
                cpu_ticks: 325,
                start_ticks: 123456
            }
        );
        assert_eq!(parse_stat("12 (x) Z 1 2"), None);
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn statm_gives_resident_pages() {
        assert_eq!(parse_statm_pages("6000 2500 300 100 0 900 0\n"), Some(2500));
        assert_eq!(parse_statm_pages("6000"), None);
    }

    #[test]
    fn cpu_percent_is_per_core() {
        let second = Duration::from_secs(1);
        assert_eq!(cpu_percent(50, 100, second), Some(50.0));
        assert_eq!(cpu_percent(250, 100, second), Some(250.0));
        assert_eq!(cpu_percent(100, 100, Duration::from_secs(2)), Some(50.0));
        assert_eq!(cpu_percent(10, 100, Duration::ZERO), None);
    }

    #[test]
    fn names_match_comm_or_the_first_word_of_the_command_line() {
        assert!(matches_name(
            "postgres\n",
            b"postgres: checkpointer \0",
            "postgres"
        ));
        assert!(matches_name(
            "x",
            b"/usr/lib/postgresql/16/bin/postgres\0-D\0/d\0",
            "postgres"
        ));
        assert!(matches_name(
            "a-very-long-pro",
            b"",
            "a-very-long-program-name"
        ));
        assert!(!matches_name(
            "postgresql",
            b"/bin/postgresql\0",
            "postgres"
        ));
        assert!(!matches_name("kworker/0:1", b"", "postgres"));
    }

    #[test]
    fn this_process_is_sampled_and_its_cpu_compared() {
        let me = std::process::id();
        let mut probe = ProcessProbe::new(ProcessRef::Pid(me));
        let t0 = Instant::now();
        let first = probe.sample(None, t0).expect("this process runs");
        assert!(first.rss > 0.0 && first.cpu.is_none(), "{first:?}");
        let second = probe
            .sample(None, t0 + Duration::from_millis(100))
            .expect("still runs");
        assert!(second.cpu.is_some_and(|c| c >= 0.0), "{second:?}");
    }

    #[test]
    fn a_missing_process_or_target_is_an_error() {
        let mut probe = ProcessProbe::new(ProcessRef::Pid(u32::MAX - 1));
        let e = probe.sample(None, Instant::now()).expect_err("no such pid");
        assert_eq!(e, format!("process {} is not running", u32::MAX - 1));
        let mut probe = ProcessProbe::new(ProcessRef::Target);
        let e = probe.sample(None, Instant::now()).expect_err("no target");
        assert_eq!(e, "no target process");
        let mut probe = ProcessProbe::new(ProcessRef::Name("no-such-program-xyz".into()));
        let e = probe
            .sample(None, Instant::now())
            .expect_err("no such name");
        assert_eq!(e, "no process named 'no-such-program-xyz'");
    }
}
