//! The generator watches itself: CPU and memory of this process each
//! second, so a saturated generator is reported instead of being mistaken
//! for a slow target.

use std::time::Duration;

/// One second of the generator's resource use.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResourceSample {
    /// Time since the start of the run.
    pub elapsed: Duration,
    /// CPU used over the last interval, percent of one core.
    pub cpu_percent: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
}

/// Samples this process's CPU time and resident memory.
#[derive(Debug)]
pub struct SelfWatch {
    last_cpu: Duration,
    last_elapsed: Duration,
}

impl Default for SelfWatch {
    fn default() -> Self {
        Self::new()
    }
}

impl SelfWatch {
    /// Starts watching from now.
    pub fn new() -> Self {
        SelfWatch {
            last_cpu: cpu_time(),
            last_elapsed: Duration::ZERO,
        }
    }

    /// The sample for the interval ending at `elapsed`.
    pub fn sample(&mut self, elapsed: Duration) -> ResourceSample {
        let cpu = cpu_time();
        let wall = elapsed.saturating_sub(self.last_elapsed).as_secs_f64();
        let used = cpu.saturating_sub(self.last_cpu).as_secs_f64();
        self.last_cpu = cpu;
        self.last_elapsed = elapsed;
        ResourceSample {
            elapsed,
            cpu_percent: if wall > 0.0 { 100.0 * used / wall } else { 0.0 },
            rss_bytes: rss_bytes(),
        }
    }
}

/// User + system CPU time of this process.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads
    // nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv =
        |t: libc::timeval| Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Resident set size of this process in bytes (0 where /proc is missing).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| crate::monitor::parse_statm_pages(&statm))
        .map_or(0, |pages| pages * crate::monitor::page_size())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_its_own_work_and_memory() {
        let mut w = SelfWatch::new();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let s = w.sample(start.elapsed());
        assert!(s.cpu_percent > 10.0, "{s:?}");
        assert!(s.rss_bytes > 1_000_000, "{s:?}");
    }
}
