//! `cicada target queue` end to end: the real binary on a free port with a
//! temp SQLite file (or PostgreSQL when `CICADA_TEST_POSTGRES` is set),
//! driven over HTTP: the first line, push/pop order, validation, items kept
//! across a kill and restart, concurrent clients, leases, the outage switch,
//! MQTT ingestion (the embedded broker; Mosquitto for a shared subscription
//! and a broker restart), and refused settings. Waits are
//! bounded polls; no timing is asserted.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::mqtt::{EmbeddedBroker, Mosquitto};
use common::queue::{drain, http, items, publish, push, QueueTarget};
use common::{code, dead_port, no_panic, run, text, Scratch};
use serde_json::{json, Value};

#[test]
fn serves_the_queue_from_an_sqlite_file_and_keeps_it_across_a_kill() {
    let s = Scratch::new();
    let db = s.path("queue.db");
    let db_arg = db.to_str().expect("utf-8");
    let t = QueueTarget::start(&["--database", db_arg]);
    assert!(
        t.first_line
            .starts_with("queue target listening on http://127.0.0.1:"),
        "{:?}",
        t.first_line
    );
    assert!(t.first_line.contains("store sqlite:"), "{:?}", t.first_line);
    let (status, health) = t.call("GET", "/health", "");
    assert_eq!((status, &health["status"]), (200, &json!("ok")));

    let a = push(&t, "q1", json!({"n": "a"}), 2);
    let b = push(&t, "q1", json!({"n": "b"}), 0);
    let c = push(&t, "q1", json!({"n": "c"}), 2);
    let (status, popped) = t.call("POST", "/queues/q1/pop?depth=2", "");
    assert_eq!(status, 200);
    assert_eq!(
        popped,
        json!({"items": [
            {"item": {"n": "b"}, "priority": 0, "id": b},
            {"item": {"n": "a"}, "priority": 2, "id": a},
        ]})
    );
    let (status, bad) = t.call(
        "POST",
        "/queues/q1/push",
        r#"{"item": {"n": "x"}, "priority": -1}"#,
    );
    assert_eq!((status, &bad["field"]), (400, &json!("priority")));
    let (status, bad) = t.call("POST", "/queues/q1/pop?depth=101", "");
    assert_eq!((status, &bad["field"]), (400, &json!("depth")));
    let (status, _) = t.call("POST", "/admin/outage?for=1s", "");
    assert_eq!(status, 404, "admin routes are off without --admin");

    // Killed, not stopped: committed items are on disk.
    drop(t);
    let t = QueueTarget::start(&["--database", db_arg]);
    let (_, stats) = t.call("GET", "/queues/q1/stats", "");
    assert_eq!(
        stats,
        json!({"queue": "q1", "depth": 1, "by_priority": {"2": 1}, "leased": 0})
    );
    let (_, popped) = t.call("POST", "/queues/q1/pop", "");
    assert_eq!(items(&popped)[0]["id"], c);
    let (_, empty) = t.call("POST", "/queues/q1/pop", "");
    assert_eq!(empty, json!({"items": []}));

    // --reset empties it at start.
    push(&t, "q1", json!({}), 0);
    drop(t);
    let t = QueueTarget::start(&["--database", db_arg, "--reset"]);
    let (_, stats) = t.call("GET", "/queues/q1/stats", "");
    assert_eq!(stats["depth"], 0);
}

#[test]
fn concurrent_pushers_and_poppers_get_no_5xx_and_every_item_once() {
    let s = Scratch::new();
    let db = s.path("queue.db");
    let t = QueueTarget::start(&["--database", db.to_str().expect("utf-8")]);
    let url = t.url.clone();
    let pushers: Vec<_> = (0..8)
        .map(|p| {
            let url = url.clone();
            std::thread::spawn(move || {
                (0..200)
                    .map(|i| {
                        let body = json!({"item": {"p": p, "i": i}, "priority": i % 5}).to_string();
                        let (status, answer) = http(&url, "POST", "/queues/c/push", &body);
                        assert_eq!(status, 201, "{answer}");
                        answer["id"].as_i64().expect("id")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poppers: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                    let (status, answer) = http(&url, "POST", "/queues/c/pop?depth=10", "");
                    assert_eq!(status, 200, "{answer}");
                    let batch = items(&answer);
                    if batch.is_empty() && finished {
                        return got;
                    }
                    if batch.is_empty() {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    got.extend(batch.iter().map(|i| i["id"].as_i64().expect("id")));
                }
            })
        })
        .collect();
    let mut pushed = HashSet::new();
    for p in pushers {
        pushed.extend(p.join().expect("pusher"));
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut popped = Vec::new();
    for p in poppers {
        popped.extend(p.join().expect("popper"));
    }
    let unique: HashSet<i64> = popped.iter().copied().collect();
    assert_eq!(pushed.len(), 1600);
    assert_eq!(unique.len(), popped.len(), "no item handed out twice");
    assert_eq!(unique, pushed, "none lost");
}

#[test]
fn leases_expire_and_the_outage_switch_recovers() {
    let t = QueueTarget::start(&["--database", "sqlite::memory:", "--admin"]);
    assert!(t.first_line.contains("admin routes on"), "{}", t.first_line);
    let first = push(&t, "l", json!({"n": 1}), 1);
    push(&t, "l", json!({"n": 2}), 1);

    let (status, lease) = t.call("POST", "/queues/l/lease?depth=1&ttl=500ms", "");
    assert_eq!(status, 200);
    assert_eq!(items(&lease)[0]["id"], first);
    let (_, popped) = t.call("POST", "/queues/l/pop?depth=10", "");
    assert_eq!(
        items(&popped).len(),
        1,
        "the leased item is invisible to pop"
    );
    // The consumer "dies": the item comes back by itself.
    t.wait_for("/queues/l/stats", |s| s["depth"] == 1 && s["leased"] == 0);
    let (_, lease) = t.call("POST", "/queues/l/lease?ttl=30s", "");
    assert_eq!(items(&lease)[0]["id"], first, "same item, same place");
    let lease_id = lease["lease_id"].as_str().expect("lease id");
    let (status, acked) = t.call("POST", &format!("/leases/{lease_id}/ack"), "");
    assert_eq!((status, acked), (200, json!({"acked": 1})));

    let (status, _) = t.call("POST", "/admin/outage?for=500ms", "");
    assert_eq!(status, 200);
    let (status, down) = t.call("POST", "/queues/l/push", r#"{"item": {}, "priority": 0}"#);
    assert_eq!(status, 503, "{down}");
    assert!(down["error"]
        .as_str()
        .is_some_and(|e| e.contains("simulated outage")));
    t.wait_for("/health", |h| h["status"] == "ok");
    push(&t, "l", json!({"after": true}), 0);
}

#[test]
fn mqtt_messages_are_ingested_into_the_queue_named_by_the_topic() {
    const N: usize = 200;
    let broker = EmbeddedBroker::start();
    let t = QueueTarget::start(&["--database", "sqlite::memory:", "--mqtt", &broker.url]);
    assert!(t.first_line.contains("queues/+/push"), "{}", t.first_line);
    t.wait_for("/ingest/stats", |s| s["connected"] == true);

    let port: u16 = broker
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("broker port");
    publish(port, "queues/q7/push", 0..N);

    t.wait_for("/ingest/stats", |s| s["ingested"] == N);
    let seen = drain(&t, "q7");
    let unique: HashSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "each message stored once");
    assert_eq!(unique, (0..N as u64).collect(), "every message arrived");
}

#[test]
fn a_shared_subscription_splits_the_stream_and_survives_a_broker_restart() {
    let Some(mut mosquitto) = Mosquitto::start("") else {
        return;
    };
    let args = [
        "--database",
        "sqlite::memory:",
        "--mqtt",
        &mosquitto.url(),
        "--ingest-group",
        "workers",
    ];
    let targets = [QueueTarget::start(&args), QueueTarget::start(&args)];
    for t in &targets {
        assert!(
            t.first_line.contains("$share/workers/queues/+/push"),
            "{}",
            t.first_line
        );
        t.wait_for("/ingest/stats", |s| s["connected"] == true);
    }
    publish(mosquitto.port, "queues/jobs/push", 0..100);
    let ingested = |t: &QueueTarget| {
        t.call("GET", "/ingest/stats", "").1["ingested"]
            .as_u64()
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while targets.iter().map(ingested).sum::<u64>() < 100 {
        assert!(Instant::now() < deadline, "not everything was ingested");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        targets.iter().all(|t| ingested(t) > 0),
        "each group member took a share"
    );

    mosquitto.restart(Duration::from_millis(200));
    for t in &targets {
        t.wait_for("/ingest/stats", |s| {
            s["connects"].as_u64() >= Some(2) && s["connected"] == true
        });
    }
    publish(mosquitto.port, "queues/jobs/push", 100..200);
    let deadline = Instant::now() + Duration::from_secs(20);
    while targets.iter().map(ingested).sum::<u64>() < 200 {
        assert!(
            Instant::now() < deadline,
            "not everything was ingested after the restart"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen: Vec<u64> = targets.iter().flat_map(|t| drain(t, "jobs")).collect();
    let unique: HashSet<u64> = seen.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "each message went to one member once"
    );
    assert_eq!(unique, (0..200).collect(), "every message arrived");
}

#[test]
fn a_persistent_ingest_session_loses_nothing_published_while_the_target_is_down() {
    let Some(mosquitto) = Mosquitto::start("") else {
        return;
    };
    let s = Scratch::new();
    let db = s.path("jobs.db");
    let args = [
        "--database",
        db.to_str().expect("utf-8"),
        "--mqtt",
        &mosquitto.url(),
        "--ingest-client-id",
        "e2e-jobs-target",
    ];
    let first = QueueTarget::start(&args);
    first.wait_for("/ingest/stats", |s| s["connected"] == true);
    publish(mosquitto.port, "queues/jobs/push", 0..50);
    first.wait_for("/queues/jobs/stats", |s| s["depth"] == 50);
    drop(first);
    // The target is down: the broker keeps these for its session.
    publish(mosquitto.port, "queues/jobs/push", 50..100);
    let again = QueueTarget::start(&args);
    again.wait_for("/queues/jobs/stats", |s| s["depth"] == 100);
    let seen: HashSet<u64> = drain(&again, "jobs").into_iter().collect();
    assert_eq!(seen, (0..100).collect(), "every job, once");
}

#[test]
fn postgres_when_configured() {
    let Ok(url) = std::env::var("CICADA_TEST_POSTGRES") else {
        eprintln!(
            "note: CICADA_TEST_POSTGRES is not set, so the PostgreSQL end-to-end test is skipped"
        );
        return;
    };
    let t = QueueTarget::start(&["--database", &url]);
    assert!(
        t.first_line.contains("store postgres://"),
        "{}",
        t.first_line
    );
    // A queue of this run's own in the shared default table.
    let queue = format!("e2e-{}", std::process::id());
    let low = push(&t, &queue, json!({"n": 1}), 5);
    let high = push(&t, &queue, json!({"n": 2}), 0);
    let (_, popped) = t.call("POST", &format!("/queues/{queue}/pop?depth=5"), "");
    let ids: Vec<Value> = items(&popped).iter().map(|i| i["id"].clone()).collect();
    assert_eq!(ids, [json!(high), json!(low)]);
    let (_, stats) = t.call("GET", &format!("/queues/{queue}/stats"), "");
    assert_eq!(stats["depth"], 0);
}

#[test]
fn refused_settings_name_what_is_wrong() {
    let out = run(&["target", "queue", "--database", "mysql://h/db"]);
    no_panic(&out);
    let (_, stderr) = text(&out);
    assert_eq!(code(&out), 2, "{stderr}");
    assert!(stderr.contains("--database 'mysql://h/db'"), "{stderr}");

    let out = run(&["target", "queue", "--mqtt", "localhost:1883"]);
    let (_, stderr) = text(&out);
    assert_eq!(code(&out), 2, "{stderr}");
    assert!(stderr.contains("--mqtt"), "{stderr}");

    let out = run(&[
        "target", "queue", "--mqtt", "mqtt://h", "--ingest", "queues/#",
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(code(&out), 2, "{stderr}");
    assert!(stderr.contains("--ingest"), "{stderr}");

    let dead = format!("postgres://postgres@127.0.0.1:{}/test", dead_port());
    let out = run(&["target", "queue", "--addr", ":0", "--database", &dead]);
    let (_, stderr) = text(&out);
    assert_eq!(code(&out), 3, "{stderr}");
    assert!(
        stderr.contains("cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:"),
        "{stderr}"
    );

    let s = Scratch::new();
    let missing = s.path("no/such/dir/q.db");
    let out = run(&[
        "target",
        "queue",
        "--addr",
        ":0",
        "--database",
        missing.to_str().expect("utf-8"),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(code(&out), 3, "{stderr}");
    assert!(
        stderr.contains("cannot open the SQLite database sqlite:"),
        "{stderr}"
    );
}
