//! MQTT end to end against the embedded broker (`cicada broker`): seed
//! 000's lamp fleet with its delivery audit, MQTT 5, request/reply with
//! `mqtt.expect`, and the broker command's own errors.

mod common;

use common::mqtt::{run_lampi, EmbeddedBroker};
use common::*;

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn lampi_publishes_at_every_qos_and_the_audit_finds_nothing_lost() {
    let broker = EmbeddedBroker::start();
    let s = Scratch::new();
    let csv = s.path("lampi");
    let ran = run_lampi(&s, &broker.url, &["--csv", csv.to_str().expect("utf-8")]);
    let r = &ran.report;
    check_schema(r);
    assert!(
        r["failures"].as_array().expect("failures").is_empty(),
        "{}",
        ran.stdout
    );
    let mut acked_qos12 = 0;
    let mut publishes = 0;
    for qos in 0..3 {
        let row = ran.stat(&format!("qos{qos} publish"));
        assert_eq!(row["type"], "MQTT");
        assert_eq!(row["qos"], qos, "{row}");
        // Each task publishes 100 times.
        assert_eq!(u(&row["requests"]) % 100, 0, "{row}");
        assert!(u(&row["requests"]) > 0);
        publishes += u(&row["requests"]);
        if qos > 0 {
            acked_qos12 += u(&row["requests"]);
        }
    }
    assert_eq!(
        u(&ran.stat("connect")["requests"]),
        30,
        "29 lamps and the observer (count users are part of --users, as in Locust)"
    );
    assert_eq!(u(&ran.stat("subscribe lamp/#")["requests"]), 1);
    let audit = &r["audit"];
    assert_eq!(u(&audit["published"]), publishes, "{audit}");
    assert_eq!(u(&audit["lost"]), 0, "{audit}");
    assert_eq!(u(&audit["duplicated"]), 0, "{audit}");
    assert!(u(&audit["received"]) >= acked_qos12, "{audit}");
    let e2e = ran.stat("e2e lamp/#");
    assert_eq!(e2e["row"], "derived");
    assert_eq!(u(&e2e["requests"]), u(&audit["received"]));
    let lost = r["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .find(|t| t["threshold"] == "lost=0")
        .expect("lampi.yaml judges lost=0");
    assert_eq!(lost["pass"], true);
    assert!(ran.stdout.contains("\n Audit  "), "{}", ran.stdout);
    // The Locust-format CSV has the MQTT rows too.
    let rows = csv_rows(&s.path("lampi_stats.csv"));
    assert!(rows
        .iter()
        .any(|row| row[0] == "MQTT" && row[1] == "qos1 publish"));
}

#[test]
fn mqtt5_stamps_in_a_property_and_expect_waits_for_a_reply() {
    let broker = EmbeddedBroker::start();
    let yaml = format!(
        r#"
host: {host}
mqtt: {{ protocol: 5, client_id: "dev-{{{{ user_id }}}}" }}
users:
  - name: device
    count: 2
    on_start:
      - mqtt.subscribe: {{ topic: "state/{{{{ user_id }}}}", qos: 1, audit: true }}
    steps:
      - mqtt.publish:
          topic: "state/{{{{ user_id }}}}"
          json: {{ n: "{{{{ iteration }}}}", user: "{{{{ user_id }}}}" }}
          qos: 1
          wait_ack: true
          audit: true
          name: report state
      - mqtt.expect:
          topic: "state/+"
          timeout: 5s
          json: {{ path: $.user, exists: true }}
          extract: {{ n: {{ json: $.n }} }}
      - mqtt.publish: {{ topic: "state/{{{{ user_id }}}}", payload: "got {{{{ n }}}}", qos: 1, name: echo }}
      - mqtt.expect: {{ topic: "state/#", body_contains: "got", timeout: 5s, name: echo back }}
"#,
        host = broker.v5_url
    );
    let ran = run_scenario(&yaml, &["--iterations", "20"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(u(&ran.stat("report state")["requests"]), 20);
    assert_eq!(u(&ran.stat("expect state/+")["requests"]), 20);
    assert_eq!(u(&ran.stat("expect echo back")["requests"]), 20);
    assert_eq!(u(&ran.stat("expect echo back")["failures"]), 0);
    let audit = &ran.report["audit"];
    assert_eq!(u(&audit["lost"]), 0, "{audit}");
    assert_eq!(
        u(&audit["published"]),
        20,
        "only `report state` is audited: {audit}"
    );
}

#[test]
fn an_expect_that_nothing_answers_fails_with_its_wait() {
    let broker = EmbeddedBroker::start();
    let yaml = format!(
        r#"
host: {host}
users:
  - name: asker
    steps:
      - mqtt.publish: {{ topic: "cmd/lamp", payload: "on", qos: 1, wait_ack: true }}
      - mqtt.expect: {{ topic: "reply/lamp", timeout: 300ms }}
"#,
        host = broker.url
    );
    let ran = run_scenario(&yaml, &["--iterations", "3", "--users", "1"]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let row = ran.stat("expect reply/lamp");
    assert_eq!((u(&row["requests"]), u(&row["failures"])), (3, 3));
    assert!(row["min_ms"].as_f64().expect("ms") >= 300.0);
    let failure = &ran.report["failures"][0];
    assert_eq!(
        failure["error"],
        "no message on 'reply/lamp' matching within 300ms"
    );
    assert_eq!(failure["occurrences"], 3);
}

#[test]
fn the_broker_command_refuses_a_taken_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = run(&["broker", "--addr", &addr]);
    let (_, stderr) = text(&out);
    assert_eq!(code(&out), 3, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("--addr"), "says what to do: {stderr}");
}
