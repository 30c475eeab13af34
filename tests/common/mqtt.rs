//! MQTT brokers for the end-to-end tests: the embedded one (`cicada
//! broker`, a child process) and a Mosquitto of the test's own on a free
//! port with a generated config.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{cicada, run_reported, Ran, Scratch};

/// `cicada broker` on a free port, killed on drop.
pub struct EmbeddedBroker {
    child: Child,
    /// `mqtt://127.0.0.1:PORT` (MQTT 3.1.1).
    pub url: String,
    /// `mqtt://127.0.0.1:PORT` of the MQTT 5 listener.
    pub v5_url: String,
}

impl EmbeddedBroker {
    /// Starts the broker with an MQTT 3.1.1 and an MQTT 5 listener.
    pub fn start() -> EmbeddedBroker {
        let mut child = cicada()
            .args(["broker", "--addr", ":0", "--v5-addr", ":0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("broker starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let urls: Vec<String> = line
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .filter(|w| w.starts_with("mqtt://"))
            .map(str::to_string)
            .collect();
        assert_eq!(urls.len(), 2, "two listeners in {line:?}");
        EmbeddedBroker {
            child,
            url: urls[0].clone(),
            v5_url: urls[1].clone(),
        }
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where Mosquitto is, if installed.
fn mosquitto_binary() -> Option<PathBuf> {
    [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// A Mosquitto of the test's own, killed on drop.
pub struct Mosquitto {
    child: Option<Child>,
    dir: tempfile::TempDir,
    binary: PathBuf,
    /// Its port.
    pub port: u16,
}

impl Mosquitto {
    /// Starts Mosquitto on a free port with `extra` config lines, or
    /// `None` when it is not installed (CI installs it and sets
    /// `CICADA_REQUIRE_MOSQUITTO=1`, which makes its absence a failure).
    pub fn start(extra: &str) -> Option<Mosquitto> {
        let Some(binary) = mosquitto_binary() else {
            assert!(
                std::env::var_os("CICADA_REQUIRE_MOSQUITTO").is_none(),
                "CICADA_REQUIRE_MOSQUITTO is set but mosquitto is not installed"
            );
            eprintln!("SKIPPED: mosquitto is not installed (apt install mosquitto)");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let port = super::dead_port();
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}\n"
        );
        std::fs::write(dir.path().join("mosquitto.conf"), conf).expect("config");
        let mut m = Mosquitto {
            child: None,
            dir,
            binary,
            port,
        };
        m.launch();
        Some(m)
    }

    /// The config folder (for certificate files).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn launch(&mut self) {
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Kills Mosquitto, waits `down`, and starts it again on the same port.
    pub fn restart(&mut self, down: Duration) {
        self.kill();
        std::thread::sleep(down);
        self.launch();
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Devices publishing a QoS 1 `reading` every 100 ms to `host`.
pub fn readings(host: &str) -> String {
    format!(
        r#"
host: {host}
users:
  - name: device
    wait: 100ms
    steps:
      - mqtt.publish: {{ topic: "d/{{{{ user_id }}}}", payload: x, qos: 1, name: reading }}
"#
    )
}

/// `examples/lampi.yaml` against `host` with 30 users for 4 s.
pub fn run_lampi(s: &Scratch, host: &str, extra: &[&str]) -> Ran {
    let args = [
        "run",
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lampi.yaml"),
        "--host",
        host,
        "--users",
        "30",
        "--spawn-rate",
        "30",
        "--run-time",
        "4s",
    ];
    run_reported(s, &[&args[..], extra].concat())
}
