//! `cicada run` against a test server: statuses, checks, extraction,
//! cookies, connection reuse, HTTPS, chunked bodies, timeouts, `--url`,
//! thresholds and exit codes, dead and silent targets.

mod common;

use common::server::TestServer;
use common::*;

/// A scenario with `users` (YAML list items) against `server`.
fn scenario(server: &TestServer, users: &str) -> String {
    format!("host: {}\nusers:\n{users}", server.url)
}

#[test]
fn extracted_ids_are_used_by_later_requests_and_counts_are_exact() {
    let server = TestServer::start();
    let yaml = scenario(
        &server,
        r#"
  - name: maker
    steps:
      - http: { method: POST, path: /items, name: create }
      - check: { status: 201 }
      - extract: { id: { json: $.id }, where: { header: location } }
      - http: { path: "/items/{{ id }}", name: "read" }
      - check: { json: { path: $.id, exists: true } }
      - http: { path: "{{ where }}", name: "read again" }
"#,
    );
    let r = run_scenario(&yaml, &["--users", "4", "--iterations", "20"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let posts = server
        .seen_at("/items")
        .into_iter()
        .filter(|s| s.method == "POST")
        .count();
    assert_eq!(posts, 20, "one POST per iteration");
    let reads: Vec<String> = server
        .seen()
        .into_iter()
        .filter(|s| s.method == "GET")
        .map(|s| s.uri)
        .collect();
    assert_eq!(reads.len(), 40);
    for n in 0..20 {
        let uri = format!("/items/item-{n}");
        assert_eq!(
            reads.iter().filter(|r| **r == uri).count(),
            2,
            "{uri} read twice: {reads:?}"
        );
    }
    assert_eq!(r.stat("create")["requests"], 20);
    assert_eq!(r.stat("read")["requests"], 20);
    assert_eq!(r.report["total"]["requests"], 60);
    assert_eq!(r.report["total"]["failures"], 0);
}

#[test]
fn bad_statuses_and_failed_checks_are_failures_with_reasons() {
    let server = TestServer::start();
    let s = Scratch::new();
    let file = s.file(
        "fail.yaml",
        &scenario(
            &server,
            r#"
  - name: u
    steps:
      - http: { path: /status/500, name: boom }
      - http: { path: /ok, name: wrong body }
      - check: { body_contains: nope }
      - http: { path: /status/404, name: expected 404, status: 404 }
      - http: { path: /items/x, name: json }
      - check: { json: { path: $.id, equals: y } }
      - http: { method: POST, path: /items, name: unique }
      - check: { json: { path: $.id, equals: y } }
"#,
        ),
    );
    let prefix = s.path("out/f");
    let out = run(&[
        "run",
        file.to_str().unwrap(),
        "--users",
        "2",
        "--iterations",
        "10",
        "--headless",
        "--csv",
        prefix.to_str().unwrap(),
    ]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "failures without thresholds fail the run");
    let rows = csv_rows(&s.path("out/f_failures.csv"));
    let find = |name: &str| {
        rows.iter()
            .find(|r| r[1] == name)
            .unwrap_or_else(|| panic!("no failure row for {name}: {rows:?}"))
            .clone()
    };
    assert_eq!(find("boom")[2], "HTTP 500");
    assert_eq!(find("boom")[3], "10");
    assert_eq!(
        find("wrong body")[2],
        "check failed: body does not contain 'nope'"
    );
    assert_eq!(
        find("json")[2],
        r#"check failed: $.id is not "y" (first seen: "x")"#
    );
    // Ids differ on every response; the failures still group into one row.
    let unique = find("unique");
    assert_eq!(
        unique[2].split(" (first seen").next(),
        Some(r#"check failed: $.id is not "y""#)
    );
    assert_eq!(unique[3], "10");
    assert!(
        rows.iter().all(|r| r[1] != "expected 404"),
        "404 was expected: {rows:?}"
    );
    let stats = csv_rows(&s.path("out/f_stats.csv"));
    let expected = stats.iter().find(|r| r[1] == "expected 404").expect("row");
    assert_eq!((expected[2].as_str(), expected[3].as_str()), ("10", "0"));
    assert!(text(&out).0.contains("Verdict: FAIL"), "{}", text(&out).0);
}

#[test]
fn thresholds_decide_the_exit_code() {
    let server = TestServer::start();
    let url = format!("{}/ok", server.url);
    let with = |extra: &[&str]| {
        run_url(
            &url,
            &[&["--users", "2", "--iterations", "20"][..], extra].concat(),
        )
    };
    let pass = with(&["--threshold", "p99<5s", "--threshold", "errors<1%"]);
    assert_eq!(pass.code, 0, "{}", pass.stdout);
    assert!(pass.stdout.contains("PASS  p99<5s"), "{}", pass.stdout);
    let fail = with(&["--threshold", "requests>1000"]);
    assert_eq!(fail.code, 1);
    assert!(
        fail.stdout.contains("FAIL  requests>1000"),
        "{}",
        fail.stdout
    );
    assert_eq!(with(&["--threshold", "\"GET /ok\": max<10s"]).code, 0);
    let bad = with(&["--threshold", "p95<soon"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("invalid threshold 'p95<soon'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn connections_are_kept_alive_and_reopened_when_the_server_closes_them() {
    let server = TestServer::start();
    let r = run_url(
        &format!("{}/close", server.url),
        &["--users", "1", "--iterations", "30"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.report["total"]["requests"], 30);
    assert_eq!(r.report["total"]["failures"], 0);
    assert_eq!(
        r.report["connections"]["opened"], 10,
        "a new connection after every third response"
    );
    assert_eq!(r.report["connections"]["reopened"], 9);
}

#[test]
fn quick_url_mode_sends_method_body_and_headers() {
    let server = TestServer::start();
    let url = format!("{}/echo?x=1", server.url);
    let r = run_url(
        &url,
        &[
            "-X",
            "POST",
            "--body",
            "hello",
            "-H",
            "X-Test: yes",
            "--iterations",
            "5",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let seen = server.seen_at("/echo");
    assert_eq!(seen.len(), 5);
    for s in seen {
        assert_eq!(
            (s.method.as_str(), s.uri.as_str(), s.body.as_str()),
            ("POST", "/echo?x=1", "hello")
        );
        assert!(s.headers.iter().any(|(k, v)| k == "x-test" && v == "yes"));
        assert!(s
            .headers
            .iter()
            .any(|(k, v)| k == "user-agent" && v.starts_with("cicada/")));
    }
}

#[test]
fn each_user_keeps_its_own_cookies() {
    let server = TestServer::start();
    let yaml = scenario(
        &server,
        "  - name: u\n    wait: 100ms\n    on_start:\n      - http: { method: POST, path: /login }\n    steps:\n      - http: { path: /whoami }\n      - check: { body_contains: \"session=s-\" }\n",
    );
    let r = run_scenario(
        &yaml,
        &["--users", "3", "--spawn-rate", "100", "--iterations", "9"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let cookies: std::collections::BTreeSet<String> = server
        .seen_at("/whoami")
        .iter()
        .filter_map(|s| {
            s.headers
                .iter()
                .find(|(k, _)| k == "cookie")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(cookies.len(), 3, "one session per user: {cookies:?}");
}

#[test]
fn https_with_a_self_signed_certificate_needs_insecure() {
    let server = common::tls::TlsServer::start();
    let url = format!("{}/", server.url);
    let strict = run_url(&url, &["--iterations", "3"]);
    assert_eq!(strict.code, 1);
    assert!(strict.stdout.contains("tls: "), "{}", strict.stdout);
    let insecure = run_url(&url, &["--iterations", "3", "--insecure"]);
    assert_eq!(insecure.code, 0, "{}", insecure.stdout);
}

#[test]
fn chunked_bodies_are_read_whole_and_checked() {
    let server = TestServer::start();
    let yaml = scenario(
        &server,
        "  - name: u\n    steps:\n      - http: { path: /chunked }\n      - check: { body_contains: ac }\n      - http: { path: /chunked, name: plain }\n",
    );
    let r = run_scenario(&yaml, &["--iterations", "4"]);
    assert_eq!(r.code, 1, "'ac' is not in aaa…bbb…ccc");
    assert_eq!(
        r.stat("plain")["bytes"],
        12_000,
        "3 chunks of 1000 bytes, 4 times"
    );
    assert_eq!(r.stat("plain")["failures"], 0);
    assert_eq!(r.stat("/chunked")["failures"], 4);
}

#[test]
fn a_slow_target_times_out_with_the_stage_named() {
    let server = TestServer::start();
    let r = run_url(
        &format!("{}/slow/2000", server.url),
        &["--timeout", "200ms", "--iterations", "2"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("timeout waiting for the response"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_dead_target_gives_counted_failures_and_exit_1() {
    let r = run_url(
        &format!("http://127.0.0.1:{}/x", dead_port()),
        &["--users", "3", "--run-time", "2s"],
    );
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("connection refused"), "{}", r.stdout);
    assert!(r.stdout.contains("no request succeeded"), "{}", r.stdout);
}

#[test]
fn a_dead_target_fails_the_run_even_when_its_fast_refusals_meet_the_latency_thresholds() {
    let r = run_url(
        &format!("http://127.0.0.1:{}/x", dead_port()),
        &["--users", "3", "--run-time", "2s", "--threshold", "p95<1s"],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("no request succeeded ("), "{}", r.stdout);
}

#[test]
fn a_target_that_never_answers_fails_the_run() {
    // Accepts connections, reads nothing, answers nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let r = run_url(&url, &["--users", "3", "--run-time", "2s"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("no request completed"), "{}", r.stdout);
    assert!(r.stdout.contains("3 requests were cut off"), "{}", r.stdout);
}

#[test]
fn connections_closed_while_idle_are_reopened_without_failures() {
    let url = format!("{}/", idle_closing_server(100));
    // Idle 1 s: the closed connection is noticed before the next request.
    let slow = run_scenario(
        &format!("host: {url}\nusers:\n  - name: u\n    wait: 1s\n    steps:\n      - http: {{ path: / }}\n"),
        &["--iterations", "3"],
    );
    assert_eq!(slow.code, 0, "{}", slow.stdout);
    assert_eq!(slow.report["connections"]["opened"], 3);
    assert_eq!(slow.report["connections"]["reopened"], 2);
    // Idle 300 ms: not probed; the GET finds the connection closed and is
    // sent again on a new one.
    let fast = run_scenario(
        &format!("host: {url}\nusers:\n  - name: u\n    wait: 300ms\n    steps:\n      - http: {{ path: / }}\n"),
        &["--iterations", "3"],
    );
    assert_eq!(fast.code, 0, "{}", fast.stdout);
    assert_eq!(fast.report["total"]["failures"], 0);
    // A POST is never sent twice: the same race is a failure.
    let post = run_scenario(
        &format!("host: {url}\nusers:\n  - name: u\n    wait: 300ms\n    steps:\n      - http: {{ method: POST, path: / }}\n"),
        &["--iterations", "5"],
    );
    assert_eq!(post.code, 1, "{}", post.stdout);
    // New connection, reused one found closed (failure), new, closed, new.
    assert_eq!(post.report["total"]["failures"], 2, "{}", post.stdout);
    assert!(
        post.stdout
            .contains("connection closed before the response"),
        "{}",
        post.stdout
    );
}
