//! Unit tests of the pairing of rows and runs.

use super::*;

pub(super) fn row(kind: &str, name: &str, p: [f64; 3], rps: f64, req: u64, fail: u64) -> Measures {
    Measures {
        kind: kind.into(),
        name: name.into(),
        requests: req,
        failures: fail,
        rps,
        p50_ms: Some(p[0]),
        p95_ms: Some(p[1]),
        p99_ms: Some(p[2]),
    }
}

fn report(rows: Vec<Measures>) -> Loaded {
    Loaded {
        source: "x.json".into(),
        rows,
    }
}

fn strict() -> Rules {
    Rules {
        max_regression: Some(0.10),
        ..Rules::default()
    }
}

#[test]
fn rows_pair_by_type_and_name_with_the_total_last() {
    let base = report(vec![
        row("GET", "/b", [1.0, 2.0, 3.0], 10.0, 100, 0),
        row("GET", "/gone", [1.0, 2.0, 3.0], 10.0, 100, 0),
        row("", "Aggregated", [1.0, 2.0, 3.0], 20.0, 200, 0),
    ]);
    let new = report(vec![
        row("", "Aggregated", [1.0, 2.0, 3.0], 20.0, 200, 0),
        row("POST", "/a", [1.0, 2.0, 3.0], 10.0, 100, 0),
        row("GET", "/b", [1.0, 2.0, 3.0], 10.0, 100, 0),
    ]);
    let rows = compare_reports(&base, &new, &strict(), None);
    let seen: Vec<(&str, Presence)> = rows.iter().map(|r| (r.name.as_str(), r.presence)).collect();
    assert_eq!(
        seen,
        [
            ("/a", Presence::Added),
            ("/b", Presence::Both),
            ("/gone", Presence::Removed),
            ("Aggregated", Presence::Both)
        ]
    );
    assert_eq!(
        rows[0].verdict,
        Mark::Unjudged,
        "one-sided rows are listed, not judged"
    );
    assert_eq!(rows[1].verdict, Mark::Ok);
}

#[test]
fn a_regressed_row_makes_the_comparison_regressed() {
    let base = Input::Report(report(vec![row(
        "GET",
        "/a",
        [10.0, 20.0, 30.0],
        100.0,
        1000,
        0,
    )]));
    let new = Input::Report(report(vec![row(
        "GET",
        "/a",
        [30.0, 40.0, 50.0],
        100.0,
        1000,
        0,
    )]));
    let c = compare(&base, &new, &strict(), None).expect("comparable");
    assert!(c.regressed);
    let (id, r) = c.regressions().next().expect("one regression");
    assert_eq!((id, r.name.as_str()), (None, "/a"));
    assert_eq!(r.regressions().count(), 3, "p50, p95 and p99");
    let same = compare(&base, &base, &strict(), None).expect("comparable");
    assert!(!same.regressed);
}

#[test]
fn the_name_filter_keeps_the_total() {
    let base = report(vec![
        row("GET", "/a", [1.0, 1.0, 1.0], 1.0, 1, 0),
        row("GET", "/b", [1.0, 1.0, 1.0], 1.0, 1, 0),
        row("", "Aggregated", [1.0, 1.0, 1.0], 2.0, 2, 0),
    ]);
    let re = regex::Regex::new("^/a$").expect("regex");
    let rows = compare_reports(&base, &base, &strict(), Some(&re));
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["/a", "Aggregated"]);
}

#[test]
fn suites_pair_runs_by_id() {
    let run = |id: &str, p50: f64| SuiteRun {
        id: id.into(),
        report: Some(report(vec![row("GET", "/a", [p50, p50, p50], 1.0, 10, 0)])),
    };
    let base = Input::Suite {
        source: "base".into(),
        runs: vec![run("S1", 10.0), run("S2", 10.0)],
    };
    let new = Input::Suite {
        source: "new".into(),
        runs: vec![run("S2", 50.0), run("S3", 10.0)],
    };
    let c = compare(&base, &new, &strict(), None).expect("comparable");
    let runs: Vec<(Option<&str>, Presence)> = c
        .runs
        .iter()
        .map(|r| (r.id.as_deref(), r.presence))
        .collect();
    assert_eq!(
        runs,
        [
            (Some("S1"), Presence::Removed),
            (Some("S2"), Presence::Both),
            (Some("S3"), Presence::Added)
        ]
    );
    assert!(c.regressed, "S2's latency grew fivefold");
    let single = Input::Report(report(Vec::new()));
    let e = compare(&base, &single, &strict(), None).expect_err("mixed");
    assert!(e.to_string().contains("suite"), "{e}");
}
