//! The `monitor:` section: what validates, and where each mistake points.

use std::path::Path;
use std::time::Duration;

use crate::monitor::{MonitorSpec, ProcessRef};
use crate::scenario::{parse, Plan};

const USERS: &str = "users:\n  - name: u\n    steps:\n      - http: { path: / }\n";

fn scenario(monitor: &str) -> String {
    format!("host: http://127.0.0.1:8081/api\nmonitor:\n{monitor}{USERS}")
}

fn plan(monitor: &str) -> Plan {
    match parse(&scenario(monitor), "s.yaml", Path::new("."), None) {
        Ok(plan) => plan,
        Err(e) => panic!("expected a valid scenario, got:\n{e}"),
    }
}

/// Every problem as `line:column: message`.
fn problems(monitor: &str) -> Vec<String> {
    match parse(&scenario(monitor), "s.yaml", Path::new("."), None) {
        Ok(_) => panic!("expected an invalid scenario"),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| format!("{}:{}: {}", p.loc.line, p.loc.column, p.message))
            .collect(),
    }
}

#[test]
fn the_whole_section_validates() {
    let p = plan(concat!(
        "  mqtt_sys: false\n",
        "  process: { pid: 1234 }\n",
        "  processes: [target, { name: postgres, label: db }, 99, { target: true, label: t2 }]\n",
        "  http:\n",
        "    - { name: depth, url: \"http://127.0.0.1:8081/queues/q1/stats\", json: \"$.depth\" }\n",
        "    - { name: rel, url: /queues/q1/stats, json: depth, unit: items }\n",
        "  sql:\n",
        "    - { name: pg, url: \"postgres://postgres@127.0.0.1:5432/test\", query: \"select count(*) from pg_stat_activity\" }\n",
        "  every: 2s\n",
    ));
    let m: MonitorSpec = p.monitor.expect("a monitor");
    assert_eq!(m.every, Duration::from_secs(2));
    let what: Vec<(&ProcessRef, &str)> = m
        .processes
        .iter()
        .map(|p| (&p.what, p.label.as_str()))
        .collect();
    assert_eq!(
        what,
        [
            (&ProcessRef::Pid(1234), "pid 1234"),
            (&ProcessRef::Target, "target"),
            (&ProcessRef::Name("postgres".into()), "db"),
            (&ProcessRef::Pid(99), "pid 99"),
            (&ProcessRef::Target, "t2"),
        ]
    );
    assert_eq!(m.http[0].target, "/queues/q1/stats");
    assert_eq!(m.http[1].url, "http://127.0.0.1:8081/api/queues/q1/stats");
    assert_eq!(
        (m.http[1].json_text.as_str(), m.http[1].unit.as_str()),
        ("$.depth", "items")
    );
    assert_eq!(m.sql[0].query, "select count(*) from pg_stat_activity");
    assert!(m.uses_target() && !p.mqtt_sys);
}

#[test]
fn only_mqtt_sys_or_nothing_means_no_monitor() {
    let p = plan("  mqtt_sys: true\n");
    assert!(p.mqtt_sys && p.monitor.is_none());
    let p = plan("  every: 1s\n");
    assert!(p.monitor.is_none());
}

#[test]
fn mistakes_are_located() {
    // Line 1 is `host:`, 2 is `monitor:`, the section starts on line 3.
    assert_eq!(
        problems("  process: { pid: 12, name: postgres }\n"),
        ["3:12: give one of `pid`, `name` or `target`, not several"]
    );
    assert_eq!(
        problems("  process: { pid: 0 }\n"),
        ["3:12: pid 0 is not a process id (1 to 4294967295)"]
    );
    assert_eq!(
        problems("  process: { label: x }\n"),
        ["3:12: which process? give `pid: 1234`, `name: postgres` or `target: true`"]
    );
    let unknown = problems("  process: { pid: 1, nmae: x }\n");
    assert!(
        unknown[0].starts_with("3:") && unknown[0].contains("nmae"),
        "{unknown:?}"
    );
    let word = problems("  process: postgres\n");
    assert!(
        word[0].starts_with("3:12: unexpected 'postgres'"),
        "{word:?}"
    );
    let unknown = problems("  htp: []\n");
    assert!(
        unknown[0].starts_with("3:3: unknown field `htp`"),
        "{unknown:?}"
    );
    assert_eq!(
        problems("  every: 10ms\n"),
        ["3:10: `every` must be at least 100 ms (default 1 s)"]
    );
}

#[test]
fn gauge_mistakes_are_located() {
    let bad_path = problems("  http:\n    - { name: d, url: /s, json: \"$.[[\" }\n");
    assert_eq!(bad_path.len(), 1, "{bad_path:?}");
    assert!(
        bad_path[0].starts_with("4:33: invalid JSON path '$.[['"),
        "{bad_path:?}"
    );
    let bad_url = problems("  http:\n    - { name: d, url: \"ftp://h/s\" }\n");
    assert!(
        bad_url[0].starts_with("4:23: unsupported scheme 'ftp'"),
        "{bad_url:?}"
    );
    let dup = problems("  http:\n    - { name: d, url: /a }\n  sql:\n    - { name: d, url: \"sqlite:q.db\", query: select 1 }\n");
    assert_eq!(
        dup,
        ["6:15: two monitor series are called 'd': give each gauge its own name"]
    );
    let db = problems("  sql:\n    - { name: n, url: \"mysql://h/db\", query: select 1 }\n");
    assert!(
        db[0].starts_with("4:23: unsupported database URL"),
        "{db:?}"
    );
    let empty = problems("  sql:\n    - { name: n, url: \"sqlite:q.db\", query: \" \" }\n");
    assert!(
        empty[0].starts_with("4:45: the query is empty"),
        "{empty:?}"
    );
    let labels = problems("  processes: [target, { target: true }]\n");
    assert!(
        labels[0].contains("two processes are labelled 'target'"),
        "{labels:?}"
    );
}

#[test]
fn relative_urls_need_an_http_host() {
    let text = format!("monitor:\n  http: [{{ name: d, url: /stats }}]\n{USERS}");
    let e = parse(&text, "s.yaml", Path::new("."), None).expect_err("no host");
    let p = &e.problems()[0];
    assert_eq!((p.loc.line, p.loc.column), (2, 26));
    assert!(p.message.contains("is relative"), "{}", p.message);
    // `--host` resolves it.
    let plan = parse(&text, "s.yaml", Path::new("."), Some("https://[::1]:8443"))
        .expect("valid with a host");
    let m = plan.monitor.expect("a monitor");
    assert_eq!(m.http[0].url, "https://[::1]:8443/stats");
}

#[test]
fn suites_validate_a_section_on_its_own() {
    let raw: super::RawMonitor = serde_saphyr::from_str(
        "process: target\nhttp: [{ name: d, url: /q/stats, json: $.depth }]\n",
    )
    .expect("parses");
    let spec = super::build_monitor(&raw, Some("http://127.0.0.1:9000"), false)
        .expect("valid")
        .expect("something to watch");
    assert_eq!(spec.http[0].url, "http://127.0.0.1:9000/q/stats");
    let e = super::build_monitor(&raw, None, false).expect_err("relative without host");
    assert!(e[0].message.contains("is relative"));
}
