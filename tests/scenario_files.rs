//! Broken scenario files are refused before any load, naming file, line and
//! column, with exit code 2.

mod common;

use common::server::TestServer;
use common::*;

fn refused(yaml: &str) -> (String, TestServer) {
    let server = TestServer::start();
    let s = Scratch::new();
    let file = s.file("broken.yaml", &yaml.replace("HOST", &server.url));
    let out = run(&[
        "run",
        file.to_str().unwrap(),
        "--run-time",
        "2s",
        "--headless",
    ]);
    no_panic(&out);
    assert_eq!(code(&out), 2, "bad input exits 2: {:?}", text(&out));
    let (_, stderr) = text(&out);
    assert!(
        server.seen().is_empty(),
        "no load before validation: {:?}",
        server.seen()
    );
    (
        stderr.replace(&file.display().to_string(), "broken.yaml"),
        server,
    )
}

#[test]
fn an_unknown_key_names_its_line_and_the_known_keys() {
    let (e, _) = refused(
        "host: HOST\nusers:\n  - name: a\n    steps:\n      - http: { path: /ok, methd: GET }\n",
    );
    assert!(e.contains("broken.yaml:5:"), "{e}");
    assert!(e.contains("unknown field `methd`, expected one of"), "{e}");
    assert!(e.contains("| "), "the line is shown: {e}");
}

#[test]
fn a_wrong_type_says_what_was_expected() {
    let (e, _) = refused("host: HOST\nload: { users: many }\nusers:\n  - name: a\n    steps: []\n");
    assert!(e.contains("broken.yaml:2:"), "{e}");
    assert!(e.contains("invalid count 'many'"), "{e}");
}

#[test]
fn a_bad_template_and_an_unknown_variable_are_located() {
    let (e, _) = refused(
        "host: HOST\nusers:\n  - name: a\n    steps:\n      - http: { path: \"/x/{{ id }}\" }\n      - http: { path: \"/y/{{ 1 + }}\" }\n",
    );
    assert!(e.contains("broken.yaml:5:23: unknown variable `id`"), "{e}");
    assert!(e.contains("broken.yaml:6:23: invalid template"), "{e}");
    assert!(e.contains("2 errors in broken.yaml"), "{e}");
}

#[test]
fn a_missing_file_is_bad_input() {
    let out = run(&["run", "/nonexistent/scenario.yaml"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out)
            .1
            .contains("cannot read scenario /nonexistent/scenario.yaml"),
        "{}",
        text(&out).1
    );
}

#[test]
fn bad_flags_are_bad_input() {
    for (args, expect) in [
        (
            vec!["run", "--url", "ftp://x/", "--run-time", "1s"],
            "expected http:// or https://",
        ),
        (
            vec!["run", "--url", "http://127.0.0.1:1/", "--run-time", "soon"],
            "invalid duration 'soon'",
        ),
        (
            vec!["run", "--url", "http://127.0.0.1:1/", "--users", "0"],
            "users must be at least 1",
        ),
        (
            vec!["run", "--url", "http://127.0.0.1:1/", "--host", "nope"],
            "--host",
        ),
    ] {
        let out = run(&args);
        assert_eq!(code(&out), 2, "{args:?}: {:?}", text(&out));
        assert!(text(&out).1.contains(expect), "{args:?}: {}", text(&out).1);
    }
}

#[test]
fn a_command_line_threshold_must_name_a_row() {
    let server = TestServer::start();
    let url = format!("{}/ok", server.url);
    let out = run(&[
        "run",
        "--url",
        &url,
        "--iterations",
        "1",
        "--threshold",
        "\"GET /typo\": errors=0",
    ]);
    assert_eq!(code(&out), 2, "{:?}", text(&out));
    assert!(
        text(&out)
            .1
            .contains("no row is named 'GET /typo'; rows: GET GET /ok"),
        "{}",
        text(&out).1
    );
    assert!(server.seen().is_empty());
}
