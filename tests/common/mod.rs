//! Shared helpers for the end-to-end tests: the real `cicada` binary run as
//! a child process, the bundled jobs target as another, and a small HTTP
//! server on a free loopback port whose behaviour the tests choose.

#![allow(dead_code)]

pub mod fake_broker;
pub mod mqtt;
pub mod queue;
pub mod server;
pub mod tls;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn cicada() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cicada"));
    c.env_remove("CICADA_HOST")
        .env_remove("CICADA_USERS")
        .env_remove("CICADA_RUN_TIME");
    c
}

/// Runs `cmd` to completion, killing it (and failing the test) after
/// `limit`: every test run is bounded.
pub fn run_with_limit(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cicada binary starts");
    wait_with_limit(child, limit)
}

/// Waits for `child`, killing it after `limit`.
pub fn wait_with_limit(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait().expect("try_wait") {
            Some(_) => return child.wait_with_output().expect("output"),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "cicada did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Runs cicada with `args`, bounded to a minute.
pub fn run(args: &[&str]) -> Output {
    let mut cmd = cicada();
    cmd.args(args);
    run_with_limit(cmd, Duration::from_secs(60))
}

/// Stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The exit code (panics if killed by a signal).
pub fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {:?}", out.status))
}

/// Asserts nothing panicked.
pub fn no_panic(out: &Output) {
    let (o, e) = text(out);
    assert!(
        !e.contains("panicked") && !o.contains("panicked"),
        "a panic:\n{e}"
    );
}

/// `cicada target jobs` on a free port, killed on drop.
pub struct JobsTarget {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl JobsTarget {
    /// Starts the target with `rate` completions per second.
    pub fn start(rate: f64) -> JobsTarget {
        let mut child = cicada()
            .args([
                "target",
                "jobs",
                "--addr",
                ":0",
                "--completion-rate",
                &rate.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("target starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        JobsTarget { child, url }
    }
}

impl Drop for JobsTarget {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch folder with a scenario file in it.
pub struct Scratch {
    /// The folder (removed on drop).
    pub dir: tempfile::TempDir,
}

impl Scratch {
    /// An empty scratch folder.
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Writes `text` to `name` in the folder and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    /// A path in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Reads a JSON report.
pub fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// The stats entry named `name` in a JSON report.
pub fn stat<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["stats"]
        .as_array()
        .expect("stats")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stats row {name}: {report:#}"))
}

/// Reads a CSV file into rows of fields (header first).
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.records()
        .map(|rec| rec.expect("record").iter().map(str::to_string).collect())
        .collect()
}

/// A finished `cicada run` with its JSON report.
pub struct Ran {
    /// Exit code.
    pub code: i32,
    /// Standard output (the summary).
    pub stdout: String,
    /// Standard error (progress lines, errors).
    pub stderr: String,
    /// The JSON report (`Null` when none was written).
    pub report: serde_json::Value,
}

impl Ran {
    /// The stats entry named `name`.
    pub fn stat(&self, name: &str) -> &serde_json::Value {
        stat(&self.report, name)
    }
}

/// `cicada run FILE ARGS --headless --json …` for the scenario `yaml`.
pub fn run_scenario(yaml: &str, args: &[&str]) -> Ran {
    let s = Scratch::new();
    let file = s.file("scenario.yaml", yaml);
    let file = file.to_str().expect("utf-8 path").to_string();
    run_reported(&s, &[&["run", file.as_str()][..], args].concat())
}

/// `cicada run --url URL ARGS --headless --json …`.
pub fn run_url(url: &str, args: &[&str]) -> Ran {
    let s = Scratch::new();
    run_reported(&s, &[&["run", "--url", url][..], args].concat())
}

/// `cicada ARGS --headless --json …`, with the report written in `s`.
pub fn run_reported(s: &Scratch, args: &[&str]) -> Ran {
    let json_path = s.path("report.json");
    let json_arg = json_path.to_str().expect("utf-8 path");
    let out = run(&[args, &["--headless", "--json", json_arg]].concat());
    no_panic(&out);
    let (stdout, stderr) = text(&out);
    let report = if json_path.exists() {
        json(&json_path)
    } else {
        serde_json::Value::Null
    };
    Ran {
        code: code(&out),
        stdout,
        stderr,
        report,
    }
}

/// Asserts that `report` matches docs/report.schema.json.
pub fn check_schema(report: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/report.schema.json")).expect("schema parses");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match docs/report.schema.json: {errors:#?}"
    );
}

/// A loopback port with nothing listening on it.
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A raw HTTP/1.1 server that answers `200 ok` with keep-alive, then closes
/// each connection once it has been idle for `idle_ms` (as servers with a
/// keep-alive timeout do, without telling the client).
pub fn idle_closing_server(idle_ms: u64) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(Duration::from_millis(idle_ms)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return, // closed, or idle too long: close
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
                    }
                }
            });
        }
    });
    url
}
