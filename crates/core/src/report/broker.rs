//! The broker's own view of the run, from its `$SYS` topics: the raw
//! samples (for `PREFIX_sys.csv`) and a few key series in the JSON report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use super::csv::{finish, writer};
use crate::protocols::mqtt::sys::{SysLog, SysSample};

/// How a topic's values become a series.
#[derive(Clone, Copy)]
enum Kind {
    /// A level: kept as it is.
    Gauge,
    /// A running total: turned into a rate per second.
    Counter,
}

/// The key series and the topics they come from (Mosquitto's names; the
/// first topic a broker publishes wins).
const SERIES: [(&str, &[&str], Kind); 4] = [
    (
        "clients_connected",
        &[
            "$SYS/broker/clients/connected",
            "$SYS/broker/clients/active",
        ],
        Kind::Gauge,
    ),
    (
        "messages_received_per_s",
        &["$SYS/broker/messages/received"],
        Kind::Counter,
    ),
    (
        "messages_sent_per_s",
        &["$SYS/broker/messages/sent"],
        Kind::Counter,
    ),
    ("heap_bytes", &["$SYS/broker/heap/current"], Kind::Gauge),
];

/// The `broker` section of the report.
#[derive(Clone, Debug, Serialize)]
pub struct BrokerWatch {
    /// Distinct `$SYS` topics seen.
    pub topics: usize,
    /// Messages received from `$SYS/#`.
    pub samples: usize,
    /// Why nothing was seen, if so.
    pub problem: Option<String>,
    /// Key series: name → `[seconds since the start, value]` points.
    pub series: BTreeMap<&'static str, Vec<[f64; 2]>>,
    /// Every sample, for the CSV.
    #[serde(skip)]
    pub log: Vec<SysSample>,
}

/// The leading number of a `$SYS` payload (`"123"`, `"12.5"`, `"123 bytes"`).
fn number(value: &str) -> Option<f64> {
    value.split_whitespace().next()?.parse().ok()
}

/// Rates per second of a running total. Points closer than half a second
/// give no rate, and the later one becomes the base: right after the
/// subscription the broker sends its retained values (as old as its last
/// `$SYS` tick) and then fresh ones, and a rate between the two would be
/// noise.
fn rates(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut out = Vec::new();
    let mut base: Option<[f64; 2]> = None;
    for &p in points {
        match base {
            Some(b) if p[0] - b[0] >= 0.5 => {
                out.push([p[0], ((p[1] - b[1]) / (p[0] - b[0])).max(0.0)]);
                base = Some(p);
            }
            _ => base = Some(p),
        }
    }
    out
}

/// Builds the section from what the monitor saw.
pub fn watch(log: &SysLog) -> BrokerWatch {
    let topics: BTreeSet<&str> = log.samples.iter().map(|s| s.topic.as_str()).collect();
    let mut series = BTreeMap::new();
    for (name, sources, kind) in SERIES {
        let Some(topic) = sources.iter().find(|t| topics.contains(**t)) else {
            continue;
        };
        let points: Vec<[f64; 2]> = log
            .samples
            .iter()
            .filter(|s| s.topic == *topic)
            .filter_map(|s| Some([s.elapsed_s, number(&s.value)?]))
            .collect();
        let points = match kind {
            Kind::Gauge => points,
            Kind::Counter => rates(&points),
        };
        let rounded = points
            .into_iter()
            .map(|[t, v]| [(t * 1000.0).round() / 1000.0, (v * 1000.0).round() / 1000.0])
            .collect();
        series.insert(name, rounded);
    }
    BrokerWatch {
        topics: topics.len(),
        samples: log.samples.len(),
        problem: log.problem.clone(),
        series,
        log: log.samples.clone(),
    }
}

/// `PREFIX_sys.csv`: one line per `$SYS` message.
pub fn csv(w: &BrokerWatch) -> Vec<u8> {
    let mut out = writer();
    let _ = out.write_record(["Timestamp", "Elapsed (s)", "Topic", "Value"]);
    for s in &w.log {
        let _ = out.write_record([
            format!("{:.3}", s.timestamp),
            format!("{:.3}", s.elapsed_s),
            s.topic.clone(),
            s.value.clone(),
        ]);
    }
    finish(out)
}

/// The summary line (a monitor that saw nothing is a warning instead).
pub fn render(w: &BrokerWatch, out: &mut String) {
    let peak = |name: &str| {
        w.series
            .get(name)
            .and_then(|p| p.iter().map(|x| x[1]).reduce(f64::max))
    };
    let mut parts = vec![format!("{} topics", w.topics)];
    if let Some(v) = peak("clients_connected") {
        parts.push(format!("clients connected peak {v:.0}"));
    }
    if let Some(v) = peak("messages_received_per_s") {
        parts.push(format!("received peak {v:.0} msg/s"));
    }
    if let Some(v) = peak("messages_sent_per_s") {
        parts.push(format!("sent peak {v:.0} msg/s"));
    }
    if let Some(v) = peak("heap_bytes") {
        parts.push(format!("heap peak {:.1} MB", v / 1e6));
    }
    let _ = writeln!(out, " Broker       $SYS: {}", parts.join(", "));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, topic: &str, value: &str) -> SysSample {
        SysSample {
            timestamp: 1e9 + t,
            elapsed_s: t,
            topic: topic.into(),
            value: value.into(),
        }
    }

    #[test]
    fn counters_become_rates_and_gauges_stay() {
        let log = SysLog {
            samples: vec![
                sample(1.0, "$SYS/broker/clients/connected", "10"),
                sample(0.9, "$SYS/broker/messages/received", "7"),
                sample(1.0, "$SYS/broker/messages/received", "100"),
                sample(2.0, "$SYS/broker/clients/connected", "12"),
                sample(2.0, "$SYS/broker/messages/received", "350"),
                sample(2.0, "$SYS/broker/version", "mosquitto version 2.0.18"),
                sample(3.0, "$SYS/broker/heap/current", "2000000 bytes"),
            ],
            problem: None,
        };
        let w = watch(&log);
        assert_eq!(w.topics, 4);
        assert_eq!(
            w.series["clients_connected"],
            vec![[1.0, 10.0], [2.0, 12.0]]
        );
        assert_eq!(
            w.series["messages_received_per_s"],
            vec![[2.0, 250.0]],
            "the retained value right before the first tick gives no rate"
        );
        assert_eq!(w.series["heap_bytes"], vec![[3.0, 2e6]]);
        assert!(!w.series.contains_key("messages_sent_per_s"));
        let text = String::from_utf8(csv(&w)).expect("utf-8");
        assert!(
            text.starts_with("Timestamp,Elapsed (s),Topic,Value\r\n"),
            "{text}"
        );
        assert!(
            text.contains("2.000,$SYS/broker/version,mosquitto version 2.0.18\r\n"),
            "{text}"
        );
        let mut line = String::new();
        render(&w, &mut line);
        assert!(
            line.contains("clients connected peak 12, received peak 250 msg/s, heap peak 2.0 MB"),
            "{line}"
        );
    }
}
