//! The jobs scenario of seed 001 against the bundled jobs target: Locust-
//! compatible CSVs, the JSON report against its schema, the `job completed`
//! metric and the backlog warning; the demo; the target's own errors.

mod common;

use std::time::Duration;

use cicada_core::metrics::Latency;
use common::*;

/// The header line of a Locust fixture file.
fn locust_header(file: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/locust")
        .join(file);
    csv_rows(&path).remove(0)
}

fn jobs_run(target: &JobsTarget, s: &Scratch, run_time: &str) -> std::process::Output {
    let prefix = s.path("out/j");
    let json_path = s.path("out/j.json");
    run(&[
        "run",
        "examples/jobs.yaml",
        "--host",
        &target.url,
        "--users",
        "20",
        "--spawn-rate",
        "20",
        "--run-time",
        run_time,
        "--headless",
        "--csv",
        prefix.to_str().unwrap(),
        "--json",
        json_path.to_str().unwrap(),
    ])
}

#[test]
fn jobs_scenario_reports_like_locust_and_warns_about_the_backlog() {
    let target = JobsTarget::start(10.0);
    let s = Scratch::new();
    let out = jobs_run(&target, &s, "8s");
    no_panic(&out);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        code(&out),
        1,
        "the 'job completed' threshold fails under a backlog\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("backlog: 'job completed'"), "{stdout}");
    assert!(
        stdout.contains("FAIL  \"job completed\": p95<2s"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PASS  \"POST /jobs\": p95<100ms"),
        "{stdout}"
    );

    for (ours, locust) in [
        ("j_stats.csv", "run_stats.csv"),
        ("j_stats_history.csv", "run_stats_history.csv"),
        ("j_failures.csv", "run_failures.csv"),
        ("j_exceptions.csv", "run_exceptions.csv"),
    ] {
        let rows = csv_rows(&s.path(&format!("out/{ours}")));
        let header = &rows[0];
        let fixture = locust_header(locust);
        if ours == "j_failures.csv" {
            assert_eq!(&header[..4], &fixture[..], "Locust's columns come first");
            assert_eq!(&header[4..], ["First Seen", "Last Seen"]);
        } else {
            assert_eq!(header, &fixture, "{ours} has Locust's header");
        }
    }
    let raw = std::fs::read(s.path("out/j_stats.csv")).expect("stats");
    assert!(
        raw.windows(2).any(|w| w == b"\r\n"),
        "CRLF line ends, like Locust"
    );
    let stats = csv_rows(&s.path("out/j_stats.csv"));
    let names: Vec<(&str, &str)> = stats[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("GET", "GET /jobs/[id]"),
            ("POST", "POST /jobs"),
            ("POLL", "job completed"),
            ("", "Aggregated")
        ]
    );
    let history = csv_rows(&s.path("out/j_stats_history.csv"));
    assert!(history.len() > 8, "rows for every second");
    assert!(history[1..]
        .iter()
        .any(|r| r[3] == "Aggregated" && r[2].is_empty()));

    let report = json(&s.path("out/j.json"));
    check_schema(&report);

    let post = stat(&report, "POST /jobs");
    let get = stat(&report, "GET /jobs/[id]");
    let poll = stat(&report, "job completed");
    assert_eq!(poll["type"], "POLL");
    assert!(poll["requests"].as_u64().unwrap() > 0);
    let requests = post["requests"].as_u64().unwrap() + get["requests"].as_u64().unwrap();
    assert_eq!(
        report["total"]["requests"].as_u64().unwrap(),
        requests,
        "POLL stays out of Aggregated"
    );
    assert_eq!(report["total"]["failures"], 0);
    for key in ["50", "90", "95", "99", "99.9", "100"] {
        assert!(report["total"]["percentiles_ms"][key].is_number(), "{key}");
    }
    let h = Latency::decode(post["histogram"].as_str().unwrap()).expect("lossless histogram");
    assert_eq!(h.count(), post["requests"].as_u64().unwrap());
    assert!(report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["kind"] == "backlog"));
}

#[test]
fn a_fast_worker_has_no_backlog() {
    let target = JobsTarget::start(1000.0);
    let s = Scratch::new();
    let out = jobs_run(&target, &s, "5s");
    no_panic(&out);
    let (stdout, _) = text(&out);
    assert_eq!(code(&out), 0, "{stdout}");
    assert!(!stdout.contains("backlog"), "{stdout}");
}

#[test]
fn demo_runs_with_nothing_set_up_and_writes_its_reports() {
    let s = Scratch::new();
    let out_dir = s.path("demo");
    let mut cmd = cicada();
    cmd.args([
        "demo",
        "--run-time",
        "8s",
        "--headless",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let out = run_with_limit(cmd, Duration::from_secs(120));
    no_panic(&out);
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("job completed"), "{stdout}");
    assert!(stdout.contains("backlog"), "{stdout}");
    assert!(stdout.contains("The service's own view"), "{stdout}");
    // Then seed 000's lamps against the embedded broker.
    assert!(stdout.contains("qos2 publish"), "{stdout}");
    assert!(stdout.contains("The audit: "), "{stdout}");
    for f in [
        "jobs_stats.csv",
        "jobs_stats_history.csv",
        "jobs_failures.csv",
        "jobs.json",
        "lampi_stats.csv",
        "lampi.json",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} written");
    }
    let lampi = json(&out_dir.join("lampi.json"));
    assert_eq!(lampi["audit"]["lost"], 0, "{}", lampi["audit"]);
    assert!(stat(&lampi, "e2e lamp/#")["requests"].as_u64().unwrap() > 0);
    // Then seed 002's queue: a sine wave, its depth monitored, an outage.
    let queue = json(&out_dir.join("queue.json"));
    let fault = &queue["faults"][0];
    assert!(
        fault["action"].as_str().unwrap().starts_with("db_outage"),
        "{fault}"
    );
    assert!(fault["failed_requests"].as_u64().unwrap() > 0, "{fault}");
    assert!(fault["first_success_s"].is_number(), "{fault}");
    let depth = &queue["monitor"]["series"][0];
    assert_eq!(depth["name"], "depth q1", "{depth}");
    assert!(out_dir.join("queue_monitor.csv").is_file());
    assert!(stdout.contains("The outage: "), "{stdout}");
}

#[test]
fn the_target_refuses_a_taken_port_and_a_bad_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = run(&["target", "jobs", "--addr", &addr]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out).1.contains(&format!("cannot listen on {addr}")),
        "{}",
        text(&out).1
    );
    let out = run(&["target", "jobs", "--addr", "nowhere"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out).1.contains("invalid listen address 'nowhere'"),
        "{}",
        text(&out).1
    );
    let out = run(&["target", "jobs", "--completion-rate", "0"]);
    assert_eq!(code(&out), 2);
}
