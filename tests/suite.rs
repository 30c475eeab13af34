//! `cicada suite` end to end: the real binary starts the bundled queue
//! target itself, runs scaled-down variants of suites/pushpop.yaml with
//! setup, shapes, expected errors and faults, and writes one summary; a
//! slowed target is flagged by `cicada compare` and by a suite's baseline.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{cicada, code, json, no_panic, run_with_limit, text, Scratch};

/// The repository's suites folder.
fn suites() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("suites")
}

/// Runs `cicada suite` with `args`, bounded to three minutes.
fn suite(args: &[&str]) -> std::process::Output {
    let mut cmd = cicada();
    cmd.arg("suite").args(args);
    run_with_limit(cmd, Duration::from_secs(180))
}

/// The run with `id` in a summary.json.
fn run_of<'a>(summary: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    summary["runs"]
        .as_array()
        .and_then(|runs| runs.iter().find(|r| r["id"] == id))
        .unwrap_or_else(|| panic!("no run {id} in {summary}"))
}

#[test]
fn a_smoke_run_of_pushpop_writes_a_summary_with_verdicts_expected_errors_and_recovery() {
    let s = Scratch::new();
    let out = s.path("out");
    let file = suites().join("pushpop.yaml");
    let ran = suite(&[
        file.to_str().expect("utf-8 path"),
        "--scale",
        "0.02",
        "--only",
        "S2a,S6b,S7a,S7e",
        "--out",
        out.to_str().expect("utf-8 path"),
        "--headless",
    ]);
    no_panic(&ran);
    let (stdout, stderr) = text(&ran);
    // The verdicts judge latency against the seed's targets, which a busy
    // machine may miss: 0 or 1, never bad input or could not run.
    assert!([0, 1].contains(&code(&ran)), "{stdout}\n{stderr}");
    let summary = json(&out.join("summary.json"));
    let runs = summary["runs"].as_array().expect("runs");
    let ids: Vec<&str> = runs.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(
        ids,
        ["S2a", "S6b", "S7a", "S7e"],
        "only the chosen runs, in order"
    );
    for r in runs {
        let verdict = r["verdict"].as_str().expect("verdict");
        assert!(["pass", "fail"].contains(&verdict), "{r}");
        if verdict == "fail" {
            let reasons = r["reasons"].to_string();
            assert!(
                !reasons.contains("errors") && !reasons.contains("recover"),
                "{r}"
            );
        }
        assert!(r["requests"].as_u64().expect("requests") > 0, "{r}");
        for key in [
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
            "rps",
            "errors",
            "expected_errors",
        ] {
            assert!(r[key].is_number(), "{key} in {r}");
        }
        let report = out.join(r["report"].as_str().expect("report path"));
        assert!(report.is_file(), "{}", report.display());
    }
    // S2a pops from a queue the setup prepopulated: every pop found items.
    let s2a = json(&out.join("S2a.json"));
    assert_eq!(s2a["total"]["failures"], 0);
    // S7a's 400s were declared: counted as expected, not as failures.
    let s7a = run_of(&summary, "S7a");
    assert_eq!(s7a["errors"], 0, "{s7a}");
    assert!(s7a["expected_errors"].as_u64().expect("n") > 0, "{s7a}");
    // S7e restarted the target mid-run and recovered.
    let s7e = run_of(&summary, "S7e");
    let recovery = s7e["recovery_s"].as_f64().expect("a recovery time");
    let length = s7e["duration_s"].as_f64().expect("duration");
    assert!(recovery < length, "recovered within the run: {s7e}");
    let report = json(&out.join("S7e.json"));
    let fault = &report["faults"][0];
    assert_eq!(fault["action"], "restart_target", "{fault}");
    assert!(fault["error"].is_null(), "{fault}");
    // The monitor followed the target across the restart.
    let series = report["monitor"]["series"]
        .as_array()
        .expect("monitor series");
    assert!(
        series.iter().any(|s| s["name"] == "target rss"),
        "{series:?}"
    );
    assert!(out.join("S7e_monitor.csv").is_file());
    // The summary in markdown, and on the terminal.
    let md = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(md.contains("| S7e |"), "{md}");
    assert!(stdout.contains("of 4 runs passed"), "{stdout}");
    // The target was started, restarted by S7e, and stopped at the end:
    // nothing answers on its port any more.
    let log = std::fs::read_to_string(out.join("target.log")).expect("target.log");
    assert!(
        log.matches("queue target listening").count() >= 2,
        "started, then restarted:\n{log}"
    );
    let addr = log
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .expect("the target's address in its log");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "{addr} still answers"
    );
}

#[test]
fn mistakes_in_a_suite_are_bad_input_with_line_and_column() {
    let s = Scratch::new();
    let mixed = suites().join("pushpop/mixed.yaml");
    let file = s.file(
        "bad.yaml",
        &format!(
            "host: http://127.0.0.1:1\nruns:\n  - id: A\n    scenario: {}\n    faults:\n      - {{ at: 1s, restart_target: true }}\n    thresholds: [\"p95<fast\"]\n",
            mixed.display()
        ),
    );
    let ran = suite(&[file.to_str().expect("utf-8")]);
    let (_, stderr) = text(&ran);
    assert_eq!(code(&ran), 2, "{stderr}");
    assert!(
        stderr.contains("bad.yaml:6:9") && stderr.contains("needs a managed target"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.yaml:7:18") && stderr.contains("p95<fast"),
        "{stderr}"
    );
    let ran = suite(&[
        suites().join("pushpop.yaml").to_str().expect("utf-8"),
        "--only",
        "S9z",
    ]);
    let (_, stderr) = text(&ran);
    assert_eq!(code(&ran), 2, "{stderr}");
    assert!(
        stderr.contains("no run `S9z`") && stderr.contains("S1a"),
        "{stderr}"
    );
}

/// A one-run suite of the mixed scenario against a queue target started
/// with `extra` flags.
fn one_run_suite(s: &Scratch, name: &str, extra: &str) -> PathBuf {
    let mixed = suites().join("pushpop/mixed.yaml");
    s.file(
        &format!("{name}.yaml"),
        &format!(
            "target:\n  command: \"{{cicada}} target queue --addr 127.0.0.1:{{port}} --database {{out}}/q.db {extra}\"\n  ready: /health\nhost: http://127.0.0.1:{{port}}\nruns:\n  - id: mixed\n    scenario: {}\n    load: {{ rate: 40, run_time: 3s }}\n",
            mixed.display()
        ),
    )
}

#[test]
fn a_target_slowed_by_20ms_is_a_regression_for_compare_and_for_a_baseline() {
    let s = Scratch::new();
    let base = s.path("base");
    let slow = s.path("slow");
    for (file, out) in [
        (one_run_suite(&s, "fast", ""), &base),
        (one_run_suite(&s, "slow", "--delay 20ms"), &slow),
    ] {
        let ran = suite(&[
            file.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--headless",
        ]);
        assert_eq!(code(&ran), 0, "{}", text(&ran).1);
    }
    let compare = |a: &Path, b: &Path| {
        let mut cmd = cicada();
        cmd.args([
            "compare",
            a.to_str().expect("utf-8"),
            b.to_str().expect("utf-8"),
        ])
        .args(["--max-regression", "10%"]);
        run_with_limit(cmd, Duration::from_secs(30))
    };
    let flagged = compare(&base.join("mixed.json"), &slow.join("mixed.json"));
    let (stdout, stderr) = text(&flagged);
    assert_eq!(code(&flagged), 1, "{stdout}\n{stderr}");
    let same = compare(&base.join("mixed.json"), &base.join("mixed.json"));
    assert_eq!(code(&same), 0, "{}", text(&same).0);
    // The same verdict from a suite run against the first as its baseline.
    let again = suite(&[
        s.path("slow.yaml").to_str().expect("utf-8"),
        "--out",
        s.path("again").to_str().expect("utf-8"),
        "--baseline",
        base.to_str().expect("utf-8"),
        "--max-regression",
        "10%",
        "--headless",
    ]);
    let (stdout, stderr) = text(&again);
    assert_eq!(code(&again), 1, "{stdout}\n{stderr}");
    assert!(s.path("again").join("compare.md").is_file());
}

#[test]
fn mqtt_jobs_into_the_queue_lose_nothing_when_a_consumer_dies_holding_a_lease() {
    let s = Scratch::new();
    let out = s.path("out");
    let ran = suite(&[
        suites().join("mqtt-queue.yaml").to_str().expect("utf-8"),
        "--scale",
        "0.5",
        "--out",
        out.to_str().expect("utf-8"),
        "--headless",
    ]);
    no_panic(&ran);
    let (stdout, stderr) = text(&ran);
    assert_eq!(code(&ran), 0, "{stdout}\n{stderr}");
    let summary = json(&out.join("summary.json"));
    let audit = &run_of(&summary, "MQ1")["audit"];
    let published = audit["published"].as_u64().expect("published");
    assert!(published > 100, "{audit}");
    assert_eq!(audit["lost"], 0, "{audit}");
    assert_eq!(
        audit["ingested"], published,
        "every acked job stored once: {audit}"
    );
    let accounted = ["consumed", "remaining", "leased"]
        .iter()
        .map(|k| audit[*k].as_u64().expect("count"))
        .sum::<u64>();
    assert_eq!(accounted, published, "{audit}");
    // The dead consumer's jobs were handed out again.
    assert!(audit["duplicated"].as_u64().expect("n") > 0, "{audit}");
    assert!(stdout.contains("0 lost"), "{stdout}");
}

#[test]
fn pause_kill_and_start_faults_are_carried_out_and_measured() {
    let s = Scratch::new();
    let mixed = suites().join("pushpop/mixed.yaml");
    let file = s.file(
        "faults.yaml",
        &format!(
            "target:\n  command: \"{{cicada}} target queue --addr 127.0.0.1:{{port}} --database {{out}}/q.db\"\n  ready: /health\nhost: http://127.0.0.1:{{port}}\nruns:\n  - id: F\n    scenario: {}\n    load: {{ rate: 40, run_time: 10s }}\n    faults:\n      - {{ at: 1s, pause_target: 1s }}\n      - {{ at: 5s, kill_target: true }}\n      - {{ at: 6s, start_target: true }}\n",
            mixed.display()
        ),
    );
    let out = s.path("out");
    let ran = suite(&[
        file.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--headless",
    ]);
    no_panic(&ran);
    let (stdout, stderr) = text(&ran);
    assert!([0, 1].contains(&code(&ran)), "{stdout}\n{stderr}");
    let report = json(&out.join("F.json"));
    let faults = report["faults"].as_array().expect("faults");
    let actions: Vec<&str> = faults.iter().filter_map(|f| f["action"].as_str()).collect();
    assert_eq!(
        actions,
        ["pause_target 1.00s", "kill_target", "start_target"],
        "{faults:?}"
    );
    for f in faults {
        assert!(f["error"].is_null(), "{f}");
    }
    // The pause froze the target: it ended a second later, and the killed
    // target refused requests until it was started again.
    let pause = &faults[0];
    let took = pause["done_s"].as_f64().expect("done") - pause["at_s"].as_f64().expect("at");
    assert!(took >= 1.0, "{pause}");
    assert!(
        faults[1]["failed_requests"].as_u64().expect("n") > 0,
        "{}",
        faults[1]
    );
    assert!(report["total"]["requests"].as_u64().expect("n") > 0);
}
