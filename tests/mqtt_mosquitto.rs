//! MQTT against a real Mosquitto that each test starts on a free port with
//! a generated config: seed 000's scenario cross-checked by an independent
//! subscriber, the `$SYS` monitor, a broker restart, and TLS. Skipped (with
//! a note) where Mosquitto is not installed, unless CICADA_REQUIRE_MOSQUITTO
//! is set, as in CI.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::mqtt::{readings, run_lampi, Mosquitto};
use common::*;

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn lampi_against_mosquitto_matches_an_independent_subscriber() {
    let Some(broker) = Mosquitto::start("") else {
        return;
    };
    // mosquitto_sub, QoS 2, one line per message: the count cicada's
    // acknowledged QoS 1/2 publishes must not exceed.
    let mut sub = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port.to_string(),
            "-q",
            "2",
            "-F",
            "%t",
            "-t",
            "lamp/#",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto_sub (package mosquitto-clients) starts");
    std::thread::sleep(Duration::from_millis(500));
    let s = Scratch::new();
    let ran = run_lampi(&s, &broker.url(), &[]);
    std::thread::sleep(Duration::from_millis(500));
    let _ = sub.kill();
    let mut lines = String::new();
    sub.stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut lines)
        .expect("read");
    let _ = sub.wait();
    let independent = lines.lines().filter(|l| l.starts_with("lamp/")).count() as u64;

    let r = &ran.report;
    check_schema(r);
    let mut acked = 0;
    for qos in 0..3 {
        let row = ran.stat(&format!("qos{qos} publish"));
        assert_eq!(row["qos"], qos);
        assert_eq!(u(&row["failures"]), 0, "{row}");
        if qos > 0 {
            acked += u(&row["requests"]);
        }
    }
    assert!(acked > 0);
    assert_eq!(u(&r["audit"]["lost"]), 0, "{}", r["audit"]);
    assert!(u(&ran.stat("e2e lamp/#")["requests"]) > 0);
    assert!(
        independent >= acked,
        "mosquitto_sub got {independent} messages, fewer than the {acked} QoS 1/2 publishes cicada counts as acknowledged"
    );
}

#[test]
fn the_sys_monitor_records_the_broker_view() {
    let Some(broker) = Mosquitto::start("sys_interval 1") else {
        return;
    };
    let yaml = format!(
        r#"
host: {}
monitor: {{ mqtt_sys: true }}
users:
  - name: device
    wait: 200ms
    steps:
      - mqtt.publish: {{ topic: "d/{{{{ user_id }}}}", payload: x, qos: 1 }}
"#,
        broker.url()
    );
    let s = Scratch::new();
    let file = s.file("s.yaml", &yaml);
    let prefix = s.path("out/run");
    let ran = run_reported(
        &s,
        &[
            "run",
            file.to_str().expect("utf-8"),
            "--users",
            "5",
            "--run-time",
            "4s",
            "--csv",
            prefix.to_str().expect("utf-8"),
        ],
    );
    check_schema(&ran.report);
    let b = &ran.report["broker"];
    assert!(b["problem"].is_null(), "{b}");
    assert!(u(&b["topics"]) > 10, "{b}");
    let connected: Vec<f64> = b["series"]["clients_connected"]
        .as_array()
        .expect("clients_connected")
        .iter()
        .map(|p| p[1].as_f64().expect("value"))
        .collect();
    assert!(
        connected.iter().any(|&n| n >= 5.0),
        "Mosquitto saw the 5 devices: {connected:?}"
    );
    assert!(b["series"]["messages_received_per_s"].is_array(), "{b}");
    let rows = csv_rows(&s.path("out/run_sys.csv"));
    assert_eq!(rows[0], ["Timestamp", "Elapsed (s)", "Topic", "Value"]);
    assert!(rows.iter().any(|r| r[2] == "$SYS/broker/clients/connected"));
    assert!(
        ran.stdout.contains(" Broker       $SYS: "),
        "{}",
        ran.stdout
    );
}

#[test]
fn devices_ride_out_a_mosquitto_restart() {
    let Some(mut broker) = Mosquitto::start("") else {
        return;
    };
    let yaml = readings(&broker.url());
    let s = Scratch::new();
    let file = s.file("s.yaml", &yaml);
    let json_path = s.path("r.json");
    let mut cmd = cicada();
    cmd.args([
        "run",
        file.to_str().expect("utf-8"),
        "--users",
        "3",
        "--run-time",
        "6s",
        "--headless",
        "--json",
        json_path.to_str().expect("utf-8"),
    ]);
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cicada starts");
    std::thread::sleep(Duration::from_millis(1500));
    broker.restart(Duration::from_secs(1));
    let out = wait_with_limit(child, Duration::from_secs(60));
    no_panic(&out);
    let report = json(&json_path);
    let c = &report["connections"];
    assert!(u(&c["dropped"]) >= 3, "{c}");
    assert!(u(&c["reopened"]) >= 3, "{c}");
    // Readings were acknowledged in the last seconds, after the restart.
    let late: u64 = report["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["elapsed_s"].as_f64().expect("elapsed") > 4.0)
        .flat_map(|h| h["rows"].as_array().expect("rows").iter())
        .filter(|r| r["name"] == "reading")
        .map(|r| u(&r["requests"]) - u(&r["failures"]))
        .sum();
    assert!(late > 0, "{:#}", report["history"]);
}

#[test]
fn mqtts_with_a_ca_file_connects_and_without_it_names_the_certificate_problem() {
    let dir = tempfile::tempdir().expect("dir");
    let (ca, cert, key) = common::tls::ca_signed_server_files(dir.path());
    let tls_port = dead_port();
    let Some(_broker) = Mosquitto::start(&format!(
        "listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}",
        ca.display(),
        cert.display(),
        key.display()
    )) else {
        return;
    };
    let scenario = |tls: &str| {
        format!(
            r#"
mqtt: {{ broker: "mqtts://localhost:{tls_port}"{tls} }}
users:
  - name: device
    steps:
      - mqtt.publish: {{ topic: t, payload: x, qos: 1, wait_ack: true }}
"#
        )
    };
    let ok = run_scenario(
        &scenario(&format!(", tls: {{ ca: \"{}\" }}", ca.display())),
        &["--iterations", "5"],
    );
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    assert_eq!(u(&ok.stat("publish t qos1")["requests"]), 5);

    let untrusted = run_scenario(&scenario(""), &["--iterations", "1", "--run-time", "2s"]);
    assert_eq!(untrusted.code, 1);
    let errors = untrusted.report["failures"].to_string();
    assert!(errors.contains("certificate"), "{errors}");
}

#[test]
fn mqtt5_keeps_to_the_receive_maximum_mosquitto_announces() {
    // Stock Mosquitto takes 20 QoS 1/2 messages in flight per client and
    // says so in its MQTT 5 CONNACK; cicada's default window is 100. Each
    // device fires 100 QoS 2 publishes at once: beyond 20, Mosquitto would
    // refuse them ("quota exceeded").
    let Some(broker) = Mosquitto::start("") else {
        return;
    };
    let yaml = format!(
        r#"
host: {}
mqtt: {{ protocol: 5 }}
users:
  - name: observer
    count: 1
    on_start:
      - mqtt.subscribe: {{ topic: "burst/#", qos: 2, audit: true }}
    steps:
      - sleep: 10s
  - name: device
    count: 5
    on_start:
      - sleep: 300ms
    steps:
      - mqtt.publish: {{ topic: "burst/{{{{ user_id }}}}", payload: x, qos: 2, repeat: 100, audit: true, name: burst }}
      - sleep: 10s
"#,
        broker.url()
    );
    let ran = run_scenario(&yaml, &["--run-time", "3s"]);
    let burst = ran.stat("burst");
    assert_eq!(u(&burst["requests"]), 500, "{burst}");
    assert_eq!(u(&burst["failures"]), 0, "{}", ran.stdout);
    assert_eq!(
        u(&ran.report["audit"]["lost"]),
        0,
        "{}",
        ran.report["audit"]
    );
    assert_eq!(u(&ran.report["audit"]["received"]), 500);
}
