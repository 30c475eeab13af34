//! Unit tests of reading reports, summaries and folders.

use super::*;

const LOCUST: &str = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\r\n\
GET,/,255,0,2,2.3,0.7,3.6,5.0,51.44,0.0,2,3,3,3,3,3,4,4,4,4,4\r\n\
POST,/fail,80,80,2,2.4,0.7,4.4,14.0,16.13,16.13,2,3,3,3,3,4,4,5,4,4,4\r\n\
GET,/never,0,0,0,0,0,0,0,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\r\n\
,Aggregated,335,80,2,2.3,0.7,6.6,14.5,94.81,16.13,2,3,3,3,3,3,4,4,7,7,7\r\n";

fn scratch(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

fn report(input: Input) -> Loaded {
    match input {
        Input::Report(r) => r,
        Input::Suite { .. } => panic!("a report"),
    }
}

#[test]
fn locust_stats_csv_is_read_by_column_name() {
    let (_d, path) = scratch("run_stats.csv", LOCUST);
    let r = report(load(&path).expect("loads"));
    assert_eq!(r.rows.len(), 4);
    let fail = &r.rows[1];
    assert_eq!((fail.kind.as_str(), fail.name.as_str()), ("POST", "/fail"));
    assert_eq!((fail.requests, fail.failures), (80, 80));
    assert_eq!(
        (fail.p50_ms, fail.p95_ms, fail.p99_ms),
        (Some(2.0), Some(4.0), Some(5.0))
    );
    assert_eq!(fail.error_percent(), Some(100.0));
    assert_eq!(r.rows[2].p99_ms, None, "N/A without requests");
    assert!(r.rows[3].is_total());
}

#[test]
fn json_reports_are_read_with_the_total_last() {
    let text = r#"{"stats":[{"type":"GET","name":"/a","requests":10,"failures":1,"rps":5.0,
        "percentiles_ms":{"50":1.5,"95":2.5,"99":3.5,"100":9.0}}],
        "total":{"type":"","name":"Aggregated","requests":10,"failures":1,"rps":5.0,
        "percentiles_ms":{"50":1.5,"95":2.5,"99":3.5,"100":9.0}}}"#;
    let (_d, path) = scratch("r.json", text);
    let r = report(load(&path).expect("loads"));
    assert_eq!(r.rows[0].p95_ms, Some(2.5));
    assert!(r.rows[1].is_total());
    assert_eq!(r.rows[1].error_percent(), Some(10.0));
}

#[test]
fn files_without_an_extension_are_sniffed() {
    let (_d, path) = scratch("stats", LOCUST);
    assert_eq!(report(load(&path).expect("loads")).rows.len(), 4);
}

#[test]
fn wrong_files_are_named_with_what_was_expected() {
    for (name, text, says) in [
        ("s.yaml", "users: 5\n", "neither JSON nor a CSV"),
        ("x.json", "{\"a\": 1}", "without `stats`"),
        ("x.json", "{\"stats\": 1", "invalid JSON"),
        (
            "x.json",
            "{\"stats\": [], \"total\": {}}",
            "not a cicada JSON report",
        ),
        (
            "h_stats_history.csv",
            "Timestamp,User Count,Type,Name\r\n",
            "no 'Request Count' column",
        ),
        (
            "y_stats.csv",
            "Type,Name,Request Count,Failure Count,Requests/s,50%,95%,99%\r\nGET,/,x,0,1,1,1,1\r\n",
            "line 2",
        ),
    ] {
        let (_d, path) = scratch(name, text);
        let e = load(&path).expect_err(name);
        assert!(!e.is_unreadable());
        let msg = e.to_string();
        assert!(msg.contains(name), "{msg}");
        assert!(msg.contains(says), "{msg}");
        assert!(msg.contains("expected a cicada JSON report"), "{msg}");
    }
    let e = load(Path::new("/nonexistent/base.json")).expect_err("missing");
    assert!(e.is_unreadable());
}

#[test]
fn folders_hold_one_report_or_a_suite_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = load(dir.path()).expect_err("empty");
    assert!(e.to_string().contains("no summary.json"), "{e}");
    std::fs::write(dir.path().join("run_stats.csv"), LOCUST).expect("write");
    std::fs::write(dir.path().join("run_stats_history.csv"), "x").expect("write");
    assert_eq!(report(load(dir.path()).expect("one csv")).rows.len(), 4);
    std::fs::write(dir.path().join("other_stats.csv"), LOCUST).expect("write");
    let e = load(dir.path()).expect_err("two csvs");
    assert!(e.to_string().contains("several candidates"), "{e}");

    std::fs::create_dir(dir.path().join("S1")).expect("mkdir");
    std::fs::write(dir.path().join("S1/run_stats.csv"), LOCUST).expect("write");
    std::fs::write(
        dir.path().join("summary.json"),
        r#"{"runs":[{"id":"S1","report":"S1/run_stats.csv","verdict":"pass"},{"id":"S2"}]}"#,
    )
    .expect("write");
    match load(dir.path()).expect("suite") {
        Input::Suite { runs, .. } => {
            assert_eq!(runs.len(), 2);
            assert_eq!(runs[0].report.as_ref().map(|r| r.rows.len()), Some(4));
            assert!(runs[1].report.is_none());
        }
        Input::Report(_) => panic!("a suite"),
    }
}
