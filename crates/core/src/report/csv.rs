//! Locust-compatible CSV files (`--csv PREFIX`): `PREFIX_stats.csv`,
//! `PREFIX_stats_history.csv`, `PREFIX_failures.csv` and
//! `PREFIX_exceptions.csv`, with Locust 2.4x's headers, units (ms), row
//! order, `Aggregated` row and CRLF line ends, so existing Locust analysis
//! tools read them. Times keep microsecond precision where Locust rounds to
//! whole milliseconds. With the `$SYS` monitor, `PREFIX_sys.csv` too.

use std::path::{Path, PathBuf};

use super::build::Report;
use super::files::{rfc3339, write_atomic, WriteError};
use super::model::{HistoryRow, Percentiles, Row};

const PERCENTILE_HEADERS: [&str; 11] = [
    "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
];

/// Writes the CSV files for `prefix` and returns their paths.
pub fn write(report: &Report, prefix: &Path) -> Result<Vec<PathBuf>, WriteError> {
    let path = |suffix: &str| {
        let mut name = prefix.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let mut files = vec![
        (path("_stats.csv"), stats(report)),
        (path("_stats_history.csv"), history(report)),
        (path("_failures.csv"), failures(report)),
        (path("_exceptions.csv"), exceptions(report)),
    ];
    if let Some(b) = &report.broker {
        files.push((path("_sys.csv"), super::broker::csv(b)));
    }
    let mut written = Vec::new();
    for (p, bytes) in files {
        write_atomic(&p, &bytes)?;
        written.push(p);
    }
    Ok(written)
}

/// A CSV writer with Locust's CRLF line ends.
pub(super) fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

/// The bytes written.
pub(super) fn finish(w: csv::Writer<Vec<u8>>) -> Vec<u8> {
    // Writing into a Vec cannot fail.
    w.into_inner().unwrap_or_default()
}

/// A number as Locust-style tools read it: `3`, `2.5`, `0.613`.
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A latency in ms with microsecond precision.
fn ms(v: f64) -> String {
    num((v * 1000.0).round() / 1000.0)
}

fn percentiles(p: &Percentiles, requests: u64) -> Vec<String> {
    if requests == 0 {
        return vec!["N/A".into(); 11];
    }
    p.0.iter().map(|&v| ms(v)).collect()
}

/// Rows sorted as Locust sorts them: by name, then type.
fn sorted(report: &Report) -> Vec<&Row> {
    let mut rows: Vec<&Row> = report.stats.iter().collect();
    rows.sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    rows
}

fn stats(report: &Report) -> Vec<u8> {
    let mut w = writer();
    let mut header = vec![
        "Type",
        "Name",
        "Request Count",
        "Failure Count",
        "Median Response Time",
        "Average Response Time",
        "Min Response Time",
        "Max Response Time",
        "Average Content Size",
        "Requests/s",
        "Failures/s",
    ];
    header.extend(PERCENTILE_HEADERS);
    let _ = w.write_record(&header);
    for row in sorted(report).into_iter().chain([&report.total]) {
        let mut record = vec![
            row.kind.clone(),
            row.name.clone(),
            row.requests.to_string(),
            row.failures.to_string(),
            ms(row.median_ms()),
            ms(row.mean_ms),
            ms(row.min_ms),
            ms(row.max_ms),
            num(row.avg_bytes),
            num(row.rps),
            num(row.fail_per_s),
        ];
        record.extend(percentiles(&row.percentiles_ms, row.requests));
        let _ = w.write_record(&record);
    }
    finish(w)
}

fn history(report: &Report) -> Vec<u8> {
    let mut w = writer();
    let mut header = vec![
        "Timestamp",
        "User Count",
        "Type",
        "Name",
        "Requests/s",
        "Failures/s",
    ];
    header.extend(PERCENTILE_HEADERS);
    header.extend([
        "Total Request Count",
        "Total Failure Count",
        "Total Median Response Time",
        "Total Average Response Time",
        "Total Min Response Time",
        "Total Max Response Time",
        "Total Average Content Size",
    ]);
    let _ = w.write_record(&header);
    for entry in &report.history {
        let mut rows: Vec<&HistoryRow> = entry.rows.iter().filter(|r| !r.kind.is_empty()).collect();
        rows.sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
        rows.extend(entry.rows.iter().filter(|r| r.kind.is_empty()));
        for row in rows {
            let mut record = vec![
                entry.timestamp.to_string(),
                entry.users.to_string(),
                row.kind.clone(),
                row.name.clone(),
                format!("{:.6}", row.rps),
                format!("{:.6}", row.fail_per_s),
            ];
            // Like Locust: N/A until the row has requests, then this second's
            // percentiles (0 in a second without any).
            record.extend(percentiles(&row.percentiles_ms, row.total.requests));
            let t = &row.total;
            record.extend([
                t.requests.to_string(),
                t.failures.to_string(),
                ms(t.median_ms),
                ms(t.mean_ms),
                ms(t.min_ms),
                ms(t.max_ms),
                num(t.avg_bytes),
            ]);
            let _ = w.write_record(&record);
        }
    }
    finish(w)
}

fn failures(report: &Report) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record([
        "Method",
        "Name",
        "Error",
        "Occurrences",
        "First Seen",
        "Last Seen",
    ]);
    let mut rows: Vec<_> = report.failures.iter().collect();
    rows.sort_by(|a, b| b.occurrences.cmp(&a.occurrences).then(a.name.cmp(&b.name)));
    for f in rows {
        let _ = w.write_record([
            f.method.clone(),
            f.name.clone(),
            f.error.clone(),
            f.occurrences.to_string(),
            rfc3339(f.first_seen),
            rfc3339(f.last_seen),
        ]);
    }
    finish(w)
}

fn exceptions(report: &Report) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record(["Count", "Message", "Traceback", "Nodes"]);
    for e in &report.errors {
        let _ = w.write_record([
            e.count.to_string(),
            e.message.clone(),
            String::new(),
            "local".into(),
        ]);
    }
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_locusts() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(0.0), "0");
        assert_eq!(ms(0.61349), "0.613");
        assert_eq!(num(46.904046972), "46.904047");
    }
}
