//! `cicada compare` on real reports: two runs of one scenario, one against
//! a fast route and one against a route that sleeps 40 ms, written as JSON
//! and CSV by `cicada run`; Locust's own CSV; suite folders; wrong inputs.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::server::TestServer;
use common::*;

/// Reports written once for every test of this file.
struct Reports {
    dir: PathBuf,
}

impl Reports {
    /// A file among the reports, as an argument.
    fn arg(&self, name: &str) -> String {
        self.dir
            .join(name)
            .to_str()
            .expect("utf-8 path")
            .to_string()
    }
}

/// `fast.json`, `fast_stats.csv` (and history), `slow.json`: the same
/// scenario (one row, `GET /work`) against `/slow/0` and `/slow/40`.
fn reports() -> &'static Reports {
    static REPORTS: OnceLock<Reports> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let server = TestServer::start();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("compare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("report folder");
        for (name, ms) in [("fast", 0), ("slow", 40)] {
            let scenario = dir.join(format!("{name}.yaml"));
            let yaml = format!(
                "host: {}\nusers:\n  - name: u\n    steps:\n      - http: {{ path: /slow/{ms}, name: GET /work }}\n",
                server.url
            );
            std::fs::write(&scenario, yaml).expect("scenario");
            let out = run(&[
                "run",
                scenario.to_str().expect("utf-8"),
                "--users",
                "2",
                "--iterations",
                "40",
                "--headless",
                "--json",
                dir.join(format!("{name}.json")).to_str().expect("utf-8"),
                "--csv",
                dir.join(name).to_str().expect("utf-8"),
            ]);
            assert_eq!(code(&out), 0, "{:?}", text(&out));
        }
        Reports { dir }
    })
}

/// `cicada compare ARGS`.
fn compare(args: &[&str]) -> (i32, String, String) {
    let out = run(&[&["compare"][..], args].concat());
    no_panic(&out);
    let (stdout, stderr) = text(&out);
    (code(&out), stdout, stderr)
}

/// The first line of the table group of row `name`.
fn row_line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("no row {name}:\n{stdout}"))
}

#[test]
fn a_slower_target_is_a_regression_with_exit_1() {
    let r = reports();
    let json_out = r.dir.join("diff.json");
    let (code, stdout, stderr) = compare(&[
        &r.arg("fast.json"),
        &r.arg("slow.json"),
        "--max-regression",
        "10%",
        "--json",
        json_out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        row_line(&stdout, "GET /work").starts_with("REGRESSED"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Verdict: 2 rows regressed: GET /work (p50 ms +"),
        "{stdout}"
    );
    let diff = json(&json_out);
    assert_eq!(diff["regressed"], true);
    let row = &diff["runs"][0]["rows"][0];
    assert_eq!(
        (&row["name"], &row["verdict"]),
        (&"GET /work".into(), &"regressed".into())
    );
    assert_eq!(row["metrics"][0]["metric"], "p50");
    assert_eq!(row["metrics"][0]["mark"], "regressed");

    let (code, stdout, _) = compare(&[&r.arg("fast.json"), &r.arg("slow.json")]);
    assert_eq!(code, 0, "without a rule compare only reports\n{stdout}");
    assert!(stdout.contains("not judged"), "{stdout}");

    let (code, stdout, _) = compare(&[
        &r.arg("slow.json"),
        &r.arg("fast.json"),
        "--max-regression",
        "10%",
    ]);
    assert_eq!(code, 0, "faster is no regression\n{stdout}");
    assert!(
        row_line(&stdout, "GET /work").starts_with("improved"),
        "{stdout}"
    );
}

#[test]
fn the_same_report_twice_passes() {
    let r = reports();
    let (code, stdout, stderr) = compare(&[
        &r.arg("fast.json"),
        &r.arg("fast.json"),
        "--max-regression",
        "1%",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(row_line(&stdout, "GET /work").starts_with("ok"), "{stdout}");
    assert!(stdout.contains("Verdict: no regression."), "{stdout}");

    // A run's folder (JSON and CSVs): compared by its JSON report.
    let folder = r.dir.join("one-run");
    std::fs::create_dir_all(&folder).expect("folder");
    for f in ["fast.json", "fast_stats.csv", "fast_stats_history.csv"] {
        std::fs::copy(r.dir.join(f), folder.join(f)).expect("copy");
    }
    let folder = folder.to_str().expect("utf-8");
    let (code, stdout, _) = compare(&[folder, folder, "--max-regression", "1%"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("one-run/fast.json"), "{stdout}");
}

#[test]
fn csv_reports_compare_with_json_reports() {
    let r = reports();
    // cicada's own CSV of a run against its JSON: the same numbers.
    let (code, stdout, stderr) = compare(&[
        &r.arg("fast_stats.csv"),
        &r.arg("fast.json"),
        "--max-regression",
        "1%",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(row_line(&stdout, "GET /work").starts_with("ok"), "{stdout}");
    assert!(
        !stdout.contains("added") && !stdout.contains("removed"),
        "{stdout}"
    );

    // Real Locust output against a cicada JSON report.
    let locust = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/locust/full_stats.csv");
    let (code, stdout, stderr) = compare(&[locust.to_str().expect("utf-8"), &r.arg("fast.json")]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        row_line(&stdout, "/item/[id]").starts_with("removed"),
        "{stdout}"
    );
    assert!(
        row_line(&stdout, "GET /work").starts_with("added"),
        "{stdout}"
    );
    let total = row_line(&stdout, "Aggregated");
    assert!(
        total.contains("p50 ms") && total.contains("2.00"),
        "Locust's median: {stdout}"
    );
}

#[test]
fn wrong_inputs_exit_2_naming_the_file_and_missing_ones_exit_3() {
    let r = reports();
    let (code, _, stderr) = compare(&[&r.arg("fast.yaml"), &r.arg("fast.json")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("fast.yaml: neither JSON nor a CSV"),
        "{stderr}"
    );
    assert!(stderr.contains("expected a cicada JSON report"), "{stderr}");

    let (code, _, stderr) = compare(&[&r.arg("fast.json"), &r.arg("fast_stats_history.csv")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("fast_stats_history.csv: no 'Request Count' column"),
        "{stderr}"
    );

    let (code, _, stderr) = compare(&[&r.arg("fast.json"), &r.arg("missing.json")]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("cannot read") && stderr.contains("missing.json"),
        "{stderr}"
    );

    let (code, _, stderr) = compare(&[
        &r.arg("fast.json"),
        &r.arg("fast.json"),
        "--max-regression",
        "10",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("10%"), "{stderr}");
}

#[test]
fn markdown_output_is_a_table_for_ci_comments() {
    let r = reports();
    let (code, stdout, _) = compare(&[
        &r.arg("fast.json"),
        &r.arg("slow.json"),
        "--markdown",
        "--max-regression",
        "10%",
    ]);
    assert_eq!(code, 1, "{stdout}");
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("| Verdict | Type | Name | p50 ms | p95 ms | p99 ms | rps | errors % |")
    );
    assert_eq!(lines.next(), Some("|---|---|---|---:|---:|---:|---:|---:|"));
    assert!(
        stdout.contains("| :x: REGRESSED | GET | GET /work | **"),
        "{stdout}"
    );
}

#[test]
fn suite_folders_compare_run_by_run() {
    let r = reports();
    let suite = |name: &str, runs: &[(&str, &str)]| -> String {
        let dir = r.dir.join(name);
        let mut entries = Vec::new();
        for (id, report) in runs {
            std::fs::create_dir_all(dir.join(id)).expect("run folder");
            std::fs::copy(r.dir.join(report), dir.join(id).join("report.json")).expect("copy");
            entries.push(serde_json::json!({"id": id, "verdict": "pass", "report": format!("{id}/report.json")}));
        }
        let summary = serde_json::json!({ "runs": entries });
        std::fs::write(dir.join("summary.json"), summary.to_string()).expect("summary");
        dir.to_str().expect("utf-8").to_string()
    };
    let base = suite("suite-base", &[("S1", "fast.json"), ("S2", "fast.json")]);
    let new = suite(
        "suite-new",
        &[
            ("S1", "fast.json"),
            ("S2", "slow.json"),
            ("S3", "fast.json"),
        ],
    );
    let (code, stdout, stderr) = compare(&[&base, &new, "--max-regression", "10%"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("Run ")), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("S2") && l.contains("REGRESSED")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("S3") && l.contains("added")),
        "{stdout}"
    );
    assert!(stdout.contains("S2 GET /work (p50 ms"), "{stdout}");

    let (code, _, stderr) = compare(&[&base, &r.arg("fast.json")]);
    assert_eq!(code, 2, "a suite against one report: {stderr}");
    assert!(stderr.contains("suite"), "{stderr}");
}
