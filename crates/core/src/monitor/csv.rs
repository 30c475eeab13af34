//! `PREFIX_monitor.csv`: every sample of every series, one row each
//! (`Timestamp,Elapsed,Name,Value`), so a spreadsheet can put a queue's
//! depth or the target's CPU beside `PREFIX_stats_history.csv`. Written
//! atomically like every report file.

use std::path::{Path, PathBuf};

use super::log::MonitorLog;
use crate::report::{write_atomic, WriteError};

/// The file's bytes: Unix seconds and seconds since the start (both to the
/// ms), the series name, the value (empty when the sample is missing).
pub fn render(log: &MonitorLog) -> Vec<u8> {
    let mut out = ::csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(["Timestamp", "Elapsed", "Name", "Value"]);
    // Rows in time order, series in file order within a sample.
    let mut rows: Vec<(f64, usize, [String; 4])> = Vec::new();
    for (i, s) in log.series.iter().enumerate() {
        for p in &s.points {
            rows.push((
                p.elapsed_s,
                i,
                [
                    format!("{:.3}", p.unix_s),
                    format!("{:.3}", p.elapsed_s),
                    s.name.clone(),
                    p.value.map(value).unwrap_or_default(),
                ],
            ));
        }
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (_, _, row) in rows {
        let _ = out.write_record(row);
    }
    out.into_inner().unwrap_or_default()
}

/// A value as written: whole numbers without a fraction, others to 3
/// decimals without trailing zeros.
fn value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Writes `PREFIX_monitor.csv` and returns its path.
pub fn write(log: &MonitorLog, prefix: &Path) -> Result<PathBuf, WriteError> {
    let mut name = prefix.as_os_str().to_owned();
    name.push("_monitor.csv");
    let path = PathBuf::from(name);
    write_atomic(&path, &render(log))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Series, SeriesKind};

    #[test]
    fn one_row_per_sample_in_time_order() {
        let mut cpu = Series::new(
            "target cpu".into(),
            "%",
            SeriesKind::Process,
            "target".into(),
        );
        cpu.push(0.0, 1_790_000_000.0, None);
        cpu.push(1.25, 1_790_000_001.25, Some(12.5));
        let mut depth = Series::new("depth".into(), "", SeriesKind::Http, "u".into());
        depth.push(0.0, 1_790_000_000.0, Some(100.0));
        depth.fail(1.25, 1_790_000_001.25, "refused");
        let log = MonitorLog {
            every_s: 1.0,
            series: vec![cpu, depth],
            ..MonitorLog::default()
        };
        let text = String::from_utf8(render(&log)).expect("utf-8");
        assert_eq!(
            text,
            "Timestamp,Elapsed,Name,Value\n\
             1790000000.000,0.000,target cpu,\n\
             1790000000.000,0.000,depth,100\n\
             1790000001.250,1.250,target cpu,12.5\n\
             1790000001.250,1.250,depth,\n"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(&log, &dir.path().join("out/run")).expect("writes");
        assert_eq!(path, dir.path().join("out/run_monitor.csv"));
        assert_eq!(std::fs::read_to_string(path).expect("reads"), text);
    }
}
