//! How load is applied: user weights and data rows, stages, the open model
//! (latency from the intended start, rate ramps, the user cap), and the end
//! of a run (`--stop-timeout`).

mod common;

use common::server::TestServer;
use common::*;

#[test]
fn weights_and_data_rows_shape_who_does_what() {
    let server = TestServer::start();
    let s = Scratch::new();
    s.file("people.csv", "login,pin\nann,1\nbob,2\ncid,3\n");
    let user = |name: &str, weight: u32| {
        format!(
            "  - name: {name}\n    weight: {weight}\n    wait: 1s\n    steps:\n      - http: {{ path: /log, query: {{ kind: {name}, user: \"{{{{ user_id }}}}\", login: \"{{{{ login }}}}\" }} }}\n"
        )
    };
    let file = s.file(
        "mix.yaml",
        &format!(
            "host: {}\ndata: {{ file: people.csv }}\nload: {{ users: 8, spawn_rate: 100, iterations: 24 }}\nusers:\n{}{}",
            server.url,
            user("reader", 1),
            user("writer", 3)
        ),
    );
    let out = run(&["run", file.to_str().unwrap(), "--headless"]);
    assert_eq!(code(&out), 0, "{}", text(&out).1);
    let seen = server.seen_at("/log");
    assert_eq!(seen.len(), 24);
    let users_of = |kind: &str| {
        let mut u: Vec<&str> = seen
            .iter()
            .filter(|s| s.uri.contains(&format!("kind={kind}")))
            .filter_map(|s| s.uri.split("user=").nth(1)?.split('&').next())
            .collect();
        u.sort();
        u.dedup();
        u.len()
    };
    assert_eq!(
        (users_of("reader"), users_of("writer")),
        (2, 6),
        "weights 1:3 of 8 users"
    );
    for login in ["ann", "bob", "cid"] {
        let n = seen
            .iter()
            .filter(|s| s.uri.contains(&format!("login={login}")))
            .count();
        assert_eq!(n, 8, "round-robin rows: {login}");
    }
}

#[test]
fn stages_ramp_users_up_and_down() {
    let server = TestServer::start();
    let yaml = format!(
        "host: {}\nload:\n  stages:\n    - {{ duration: 2s, users: 6 }}\n    - {{ duration: 2s, users: 6 }}\n    - {{ duration: 2s, users: 0 }}\nusers:\n  - name: u\n    wait: 100ms\n    steps:\n      - http: {{ path: /ok }}\n",
        server.url
    );
    let r = run_scenario(&yaml, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let users: Vec<u64> = r.report["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["users"].as_u64().unwrap())
        .collect();
    let at_peak = users
        .iter()
        .position(|&u| u == 6)
        .unwrap_or_else(|| panic!("never 6 users: {users:?}"));
    assert!(
        users[..at_peak].iter().any(|&u| u > 0 && u < 6),
        "ramped up: {users:?}"
    );
    assert!(
        users[at_peak..].iter().any(|&u| u < 6),
        "ramped down: {users:?}"
    );
    assert_eq!(r.report["load"]["peak_users"], 6);
}

#[test]
fn open_model_latency_includes_the_wait_for_a_free_user() {
    let server = TestServer::start();
    let r = run_url(
        &format!("{}/slow/300", server.url),
        &[
            "--rate",
            "20/s",
            "--max-users",
            "2",
            "--run-time",
            "3s",
            "--threads",
            "1",
        ],
    );
    let a = &r.report["arrivals"];
    assert!(
        a["due"].as_u64().unwrap() > a["started"].as_u64().unwrap(),
        "{a}"
    );
    assert!(a["queued"].as_u64().unwrap() > 0, "{a}");
    assert!(a["late"].as_u64().unwrap() > 0, "{a}");
    // Two users at 300 ms each serve under 7/s of the 20/s asked: queued
    // arrivals wait, and that wait is part of their latency.
    let p50 = r.report["total"]["percentiles_ms"]["50"].as_f64().unwrap();
    assert!(
        p50 > 600.0,
        "p50 {p50} should include the time spent waiting in line"
    );
    assert!(r.stdout.contains("open model:"), "{}", r.stdout);
}

#[test]
fn open_model_follows_a_rate_ramp() {
    let server = TestServer::start();
    let yaml = format!(
        "host: {}\nload:\n  stages:\n    - {{ duration: 3s, rate: 20/s }}\n    - {{ duration: 1s, rate: 20/s }}\nusers:\n  - name: u\n    steps:\n      - http: {{ path: /ok }}\n",
        server.url
    );
    let r = run_scenario(&yaml, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    // 0→20/s over 3 s is 30 arrivals, then 20 more in the last second.
    let due = r.report["arrivals"]["due"].as_u64().unwrap();
    assert!(
        (49..=51).contains(&due),
        "{due} arrivals due: {:#}",
        r.report["arrivals"]
    );
    let total = &r.report["total"];
    let sent = total["requests"].as_u64().unwrap() + total["interrupted"].as_u64().unwrap();
    assert_eq!(
        sent,
        server.seen_at("/ok").len() as u64,
        "completed + cut off = what the server saw"
    );
}

#[test]
fn open_model_follows_a_square_wave_and_the_history_shows_its_target() {
    let server = TestServer::start();
    let yaml = format!(
        "host: {}\nload:\n  rate: {{ square: {{ high: 40, low: 10, high_for: 2s, low_for: 2s }} }}\n  run_time: 4s\nusers:\n  - name: u\n    steps:\n      - http: {{ path: /ok }}\n",
        server.url
    );
    let r = run_scenario(&yaml, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    // 2 s at 40/s and 2 s at 10/s: 100 arrivals due by the schedule.
    let due = r.report["arrivals"]["due"].as_u64().unwrap();
    assert!(
        (99..=101).contains(&due),
        "{due}: {:#}",
        r.report["arrivals"]
    );
    let targets: Vec<(f64, f64)> = r.report["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["elapsed_s"].as_f64().unwrap(),
                h["target"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(
        targets.iter().any(|&(t, v)| t < 2.0 && v == 40.0),
        "{targets:?}"
    );
    assert!(
        targets
            .iter()
            .any(|&(t, v)| (2.0..4.0).contains(&t) && v == 10.0),
        "{targets:?}"
    );
}

#[test]
fn open_model_respects_max_users_below_the_thread_count() {
    let server = TestServer::start();
    let r = run_url(
        &format!("{}/slow/50", server.url),
        &[
            "--rate",
            "50/s",
            "--max-users",
            "1",
            "--threads",
            "4",
            "--run-time",
            "2s",
        ],
    );
    assert_eq!(r.report["load"]["peak_users"], 1);
    assert_eq!(r.report["connections"]["opened"], 1);
    assert!(
        r.report["arrivals"]["queued"].as_u64().unwrap() > 0,
        "{:#}",
        r.report["arrivals"]
    );
}

#[test]
fn open_model_latency_carries_the_wait_in_line_but_not_earlier_steps() {
    let server = TestServer::start();
    let yaml = format!("host: {}\nusers:\n  - name: u\n    steps:\n      - sleep: 300ms\n      - http: {{ path: /ok }}\n", server.url);
    let r = run_scenario(&yaml, &["--rate", "4/s", "--run-time", "2s"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let min = r.stat("/ok")["min_ms"].as_f64().unwrap();
    assert!(
        min < 300.0,
        "the 300 ms sleep before the request is not its latency: {min}"
    );
}

#[test]
fn stop_timeout_lets_running_iterations_finish() {
    let server = TestServer::start();
    let r = run_url(
        &format!("{}/slow/1500", server.url),
        &["--users", "2", "--run-time", "1s", "--stop-timeout", "5s"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        r.report["total"]["interrupted"], 0,
        "in-flight requests finished"
    );
    assert_eq!(r.report["total"]["requests"], 2);
}

#[test]
fn open_model_serves_every_user_type_even_with_one_user() {
    let server = TestServer::start();
    let yaml = format!(
        "host: {}\nusers:\n  - name: a\n    steps:\n      - http: {{ path: /ok, name: a }}\n  - name: b\n    steps:\n      - http: {{ path: /ok, name: b }}\n",
        server.url
    );
    let r = run_scenario(
        &yaml,
        &["--rate", "10/s", "--max-users", "1", "--run-time", "2s"],
    );
    assert!(r.stat("a")["requests"].as_u64().unwrap() > 0);
    assert!(
        r.stat("b")["requests"].as_u64().unwrap() > 0,
        "type b has its own user"
    );
}

#[test]
fn open_model_iterations_are_taken_when_arrivals_are_generated() {
    let server = TestServer::start();
    let r = run_url(
        &format!("{}/ok", server.url),
        &["--rate", "1000/s", "--iterations", "100"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let a = &r.report["arrivals"];
    assert_eq!(
        (
            a["due"].as_u64(),
            a["started"].as_u64(),
            a["never_started"].as_u64()
        ),
        (Some(100), Some(100), Some(0)),
        "{a}"
    );
    assert_eq!(r.report["total"]["requests"], 100);
}

#[test]
fn arrivals_that_never_start_fail_the_run() {
    let server = TestServer::start();
    let r = run_url(
        &format!("{}/slow/500", server.url),
        &[
            "--rate",
            "40/s",
            "--max-users",
            "1",
            "--threads",
            "1",
            "--run-time",
            "2s",
            "--threshold",
            "errors<1%",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.report["verdict"], "fail");
    assert!(
        r.report["verdict_reason"]
            .as_str()
            .unwrap()
            .contains("arrivals never started"),
        "{}",
        r.report["verdict_reason"]
    );
}

#[test]
fn a_data_row_per_user_is_there_from_on_start_to_the_end() {
    let server = TestServer::start();
    let s = Scratch::new();
    s.file("people.csv", "login\nann\nbob\ncid\n");
    let file = s.file(
        "per_user.yaml",
        &format!(
            "host: {}\ndata: {{ file: people.csv, per: user }}\nusers:\n  - name: u\n    wait: 100ms\n    on_start:\n      - http: {{ path: /log, query: {{ user: \"{{{{ user_id }}}}\", login: \"{{{{ login }}}}\", at: start }} }}\n    steps:\n      - http: {{ path: /log, query: {{ user: \"{{{{ user_id }}}}\", login: \"{{{{ login }}}}\", at: task }} }}\n",
            server.url
        ),
    );
    let out = run(&[
        "run",
        file.to_str().unwrap(),
        "--users",
        "3",
        "--spawn-rate",
        "100",
        "--iterations",
        "9",
        "--headless",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out).1);
    let mut pairs: Vec<(String, String)> = server
        .seen_at("/log")
        .iter()
        .map(|s| {
            let q = |k: &str| {
                s.uri
                    .split(&format!("{k}="))
                    .nth(1)
                    .and_then(|v| v.split('&').next())
                    .unwrap_or("")
                    .to_string()
            };
            (q("user"), q("login"))
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(
        pairs.len(),
        3,
        "each user keeps one login from on_start on: {pairs:?}"
    );
}
