//! The monitor against real things: this test's own process, a child that
//! is killed, a small HTTP server whose number changes, a port nobody
//! listens on, a server that never answers, and PostgreSQL when
//! `CICADA_TEST_POSTGRES` names one. Only "at least N samples in a
//! generous window" is asserted, never timings.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::{Json, Router};

use super::*;
use crate::monitor::{HttpGauge, MonitorLog, ProcessRef, ProcessSpec, SqlGauge};

/// A spec sampling every `every_ms`.
fn spec(every_ms: u64) -> MonitorSpec {
    MonitorSpec {
        every: Duration::from_millis(every_ms),
        ..MonitorSpec::default()
    }
}

/// Runs `spec` for `window`, then stops it (from a blocking thread, so a
/// server on the test's runtime keeps answering meanwhile).
async fn watch(spec: MonitorSpec, window: Duration) -> MonitorLog {
    let handle = Monitor::start(spec, Instant::now()).expect("starts");
    tokio::time::sleep(window).await;
    tokio::task::spawn_blocking(move || handle.stop())
        .await
        .expect("stops")
}

#[test]
fn this_process_is_watched_by_pid() {
    let mut s = spec(1000);
    s.processes
        .push(ProcessSpec::new(ProcessRef::Pid(std::process::id()), None));
    let handle = Monitor::start(s, Instant::now()).expect("starts");
    std::thread::sleep(Duration::from_millis(2500));
    let log = handle.stop();
    let me = std::process::id();
    let rss = log.series(&format!("pid {me} rss")).expect("rss series");
    assert!(rss.points.len() >= 2, "{rss:?}");
    assert!(
        rss.points.iter().all(|p| p.value.is_some_and(|v| v > 0.0)),
        "{rss:?}"
    );
    let cpu = log.series(&format!("pid {me} cpu")).expect("cpu series");
    assert!(
        cpu.points.iter().skip(1).all(|p| p.value.is_some()),
        "{cpu:?}"
    );
    assert_eq!((cpu.errors, rss.errors), (0, 0));
    assert!(rss.summary.max.is_some_and(|m| m > 0.0));
    for pair in rss.points.windows(2) {
        assert!(pair[0].elapsed_s < pair[1].elapsed_s && pair[0].unix_s < pair[1].unix_s);
    }
    assert!(log.summary_lines()[0].starts_with(&format!("pid {me}: cpu ")));
}

#[test]
fn a_killed_target_gives_missing_samples_until_it_is_back() {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep runs");
    let mut s = spec(200);
    s.processes.push(ProcessSpec::new(ProcessRef::Target, None));
    let target = TargetPid::new();
    target.set(Some(child.id()));
    let handle = Monitor::start_with_target(s, Instant::now(), target).expect("starts");
    std::thread::sleep(Duration::from_millis(800));
    child.kill().expect("kills");
    child.wait().expect("reaps");
    std::thread::sleep(Duration::from_millis(800));
    // "Restarted": the suite says the new pid (this process stands in).
    handle.set_target_pid(Some(std::process::id()));
    std::thread::sleep(Duration::from_millis(800));
    let log = handle.stop();
    let rss = log.series("target rss").expect("rss series");
    let values: Vec<Option<f64>> = rss.points.iter().map(|p| p.value).collect();
    let first_gap = values.iter().position(Option::is_none).expect("a gap");
    assert!(first_gap >= 1, "{values:?}");
    assert!(
        values[first_gap..].iter().any(Option::is_some),
        "{values:?}"
    );
    assert!(values.last().is_some_and(Option::is_some), "{values:?}");
    assert!(rss.errors >= 1, "{rss:?}");
    let why = rss.last_error.as_deref().unwrap_or_default();
    assert!(why.contains("is not running"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_gauges_follow_a_changing_number() {
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/queues/q1/stats",
        get(move || {
            let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
            async move { Json(serde_json::json!({"depth": n * 10, "by_priority": {"0": n}})) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/queues/q1/stats");
    let mut s = spec(200);
    s.http
        .push(HttpGauge::new("depth", &url, Some("$.depth"), Some("items")).expect("valid"));
    let log = watch(s, Duration::from_millis(1500)).await;
    let depth = log.series("depth").expect("series");
    let values: Vec<f64> = depth.points.iter().filter_map(|p| p.value).collect();
    assert!(values.len() >= 3, "{depth:?}");
    assert_eq!(depth.errors, 0, "{depth:?}");
    assert!(values.iter().all(|v| v % 10.0 == 0.0), "{values:?}");
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
    assert_eq!(depth.summary.last, values.last().copied());
    assert_eq!(depth.unit, "items");
    assert_eq!(depth.source, format!("GET {url} $.depth"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_gauge_counts_errors() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut s = spec(200);
    let url = format!("http://127.0.0.1:{port}/stats");
    s.http
        .push(HttpGauge::new("depth", &url, Some("$.depth"), None).expect("valid"));
    let db = format!("postgres://u@127.0.0.1:{port}/db");
    s.sql
        .push(SqlGauge::new("conns", &db, "select 1", None).expect("valid"));
    let log = watch(s, Duration::from_millis(1000)).await;
    let depth = log.series("depth").expect("series");
    assert!(depth.errors >= 2, "{depth:?}");
    assert!(depth.points.iter().all(|p| p.value.is_none()));
    assert_eq!(depth.last_error.as_deref(), Some("connection refused"));
    let conns = log.series("conns").expect("series");
    assert!(conns.errors >= 2, "{conns:?}");
    let why = conns.last_error.as_deref().unwrap_or_default();
    assert!(why.starts_with("cannot connect"), "{why}");
    assert_eq!(log.summary_lines().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gauge_that_never_answers_times_out_within_the_interval() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    // Accepts and holds every connection without a word.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut s = spec(300);
    let url = format!("http://{addr}/stats");
    s.http
        .push(HttpGauge::new("stuck", &url, None, None).expect("valid"));
    let log = watch(s, Duration::from_millis(1500)).await;
    let stuck = log.series("stuck").expect("series");
    assert!(stuck.errors >= 2, "{stuck:?}");
    let why = stuck.last_error.as_deref().unwrap_or_default();
    assert!(why.starts_with("timeout"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_gauges_read_postgres() {
    let Ok(url) = std::env::var("CICADA_TEST_POSTGRES") else {
        eprintln!("skipped: set CICADA_TEST_POSTGRES to a PostgreSQL URL to run this test");
        return;
    };
    let mut s = spec(300);
    s.sql.push(
        SqlGauge::new(
            "pg_connections",
            &url,
            "select count(*) from pg_stat_activity",
            None,
        )
        .expect("valid"),
    );
    s.sql.push(
        SqlGauge::new("bad", &url, "select count(*) from no_such_table_xyz", None).expect("valid"),
    );
    let log = watch(s, Duration::from_millis(1500)).await;
    let pg = log.series("pg_connections").expect("series");
    let values: Vec<f64> = pg.points.iter().filter_map(|p| p.value).collect();
    assert!(values.len() >= 2, "{pg:?}");
    assert!(values.iter().all(|&v| v >= 1.0), "{values:?}");
    assert_eq!(pg.errors, 0, "{pg:?}");
    let bad = log.series("bad").expect("series");
    assert!(bad.errors >= 2, "{bad:?}");
    let why = bad.last_error.as_deref().unwrap_or_default();
    assert!(why.contains("no_such_table_xyz"), "{why}");
}
