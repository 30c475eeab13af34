//! Ctrl-C (SIGINT) stops the users and still writes every report; requests
//! cut off are counted as interrupted, not as failures.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::server::TestServer;
use common::*;

#[test]
fn sigint_stops_the_run_and_writes_the_reports() {
    let server = TestServer::start();
    let s = Scratch::new();
    let file = s.file(
        "slow.yaml",
        &format!(
            "host: {}\nusers:\n  - name: a\n    steps:\n      - http: {{ path: /ok }}\n      - http: {{ path: /slow/5000, name: slow }}\n",
            server.url
        ),
    );
    let prefix = s.path("out/i");
    let json_path = s.path("out/i.json");
    let mut child = cicada()
        .args([
            "run",
            file.to_str().unwrap(),
            "--users",
            "4",
            "--run-time",
            "60s",
            "--headless",
            "--csv",
            prefix.to_str().unwrap(),
            "--json",
            json_path.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // Wait for the first progress line: users are running by then.
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let started = Instant::now();
    loop {
        let line = lines.next().expect("a progress line").expect("utf-8");
        if line.starts_with("[cicada]") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no progress line"
        );
    }
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0);
    let out = wait_with_limit(child, Duration::from_secs(20));
    no_panic(&out);
    let report = json(&json_path);
    assert_eq!(report["load"]["stopped_by"], "interrupted");
    let slow = stat(&report, "slow");
    assert_eq!(
        slow["interrupted"], 4,
        "each user was waiting for /slow: {slow}"
    );
    assert_eq!(slow["failures"], 0, "interrupted is not a failure");
    assert!(stat(&report, "/ok")["requests"].as_u64().unwrap() >= 4);
    assert_eq!(code(&out), 0, "nothing failed");
    for f in ["i_stats.csv", "i_stats_history.csv", "i_failures.csv"] {
        assert!(s.path(&format!("out/{f}")).is_file(), "{f}");
    }
}
