//! The queue target over real HTTP/1.1 on loopback: answers and their JSON
//! shapes, every validation case, leases and the outage switch. No timing
//! is asserted: waits are bounded polls.

mod queue_support;

use std::time::Duration;

use cicada_targets::queue::QueueConfig;
use hyper::{Method, StatusCode};
use queue_support::{ids, Backend, Server, POLL_EVERY, POLL_LIMIT};
use serde_json::json;

async fn server(admin: bool) -> Server {
    Server::start(QueueConfig {
        admin,
        ..Backend::memory().config
    })
    .await
}

#[tokio::test]
async fn push_pop_and_stats_answer_the_documented_shapes() {
    let s = server(false).await;
    let (status, body) = s.call(Method::GET, "/health", "").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let mut pushed = Vec::new();
    for (n, priority) in [(1, 2), (2, 0), (3, 2), (4, 0)] {
        let (status, body) = s
            .call(
                Method::POST,
                "/queues/q1/push",
                &json!({"item": {"n": n}, "priority": priority}).to_string(),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        pushed.push(body["id"].as_i64().expect("id"));
    }
    let (status, stats) = s.call(Method::GET, "/queues/q1/stats", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stats,
        json!({"queue": "q1", "depth": 4, "by_priority": {"0": 2, "2": 2}, "leased": 0})
    );
    let (status, popped) = s.call(Method::POST, "/queues/q1/pop?depth=3", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        popped,
        json!({"items": [
            {"item": {"n": 2}, "priority": 0, "id": pushed[1]},
            {"item": {"n": 4}, "priority": 0, "id": pushed[3]},
            {"item": {"n": 1}, "priority": 2, "id": pushed[0]},
        ]})
    );
    let (_, popped) = s.call(Method::POST, "/queues/q1/pop", "").await;
    assert_eq!(ids(&popped), [pushed[2]], "depth defaults to 1");
    let (status, empty) = s.call(Method::POST, "/queues/q1/pop?depth=100", "").await;
    assert_eq!((status, empty), (StatusCode::OK, json!({"items": []})));
    let (status, never) = s.call(Method::POST, "/queues/never-used/pop", "").await;
    assert_eq!((status, never), (StatusCode::OK, json!({"items": []})));
    s.stop().await;
}

#[tokio::test]
async fn an_item_comes_back_exactly_as_pushed() {
    let s = server(false).await;
    let item = r#"{"z": 1, "a": {"nested": [1, 2.5, "x", null, true]}, "unicode": "ü✓"}"#;
    let body = format!(r#"{{"priority": 4, "item": {item}}}"#);
    s.call(Method::POST, "/queues/q/push", &body).await;
    let (_, popped) = s.call(Method::POST, "/queues/q/pop", "").await;
    let expected: serde_json::Value = serde_json::from_str(item).expect("JSON");
    assert_eq!(popped["items"][0]["item"], expected);
    s.stop().await;
}

#[tokio::test]
async fn batches_push_all_or_nothing() {
    let s = server(false).await;
    let entries: Vec<_> = (0..300)
        .map(|n| json!({"item": {"n": n}, "priority": n % 3}))
        .collect();
    let (status, body) = s
        .call(
            Method::POST,
            "/queues/b/push_batch",
            &json!({"items": entries}).to_string(),
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::CREATED, json!({"pushed": 300}))
    );
    let (status, body) = s
        .call(
            Method::POST,
            "/queues/b/push_batch",
            &json!(entries[..2]).to_string(),
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::CREATED, json!({"pushed": 2})),
        "a bare list"
    );
    let mut bad = entries.clone();
    bad[150] = json!({"item": {"n": 150}, "priority": 12});
    let (status, body) = s
        .call(
            Method::POST,
            "/queues/b/push_batch",
            &json!({"items": bad}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "items[150].priority");
    let (_, stats) = s.call(Method::GET, "/queues/b/stats", "").await;
    assert_eq!(
        stats["depth"], 302,
        "nothing of the refused batch was written"
    );
    s.stop().await;
}

#[tokio::test]
async fn every_malformed_request_is_a_400_naming_its_field_and_writes_nothing() {
    let s = server(false).await;
    let (status, _) = s
        .call(
            Method::POST,
            "/queues/v/push",
            r#"{"item": {"keep": true}, "priority": 1}"#,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, before) = s.call(Method::GET, "/queues/v/stats", "").await;
    let cases: &[(&str, &str, &str)] = &[
        ("/queues/v/push", r#"{"priority": 1}"#, "item"),
        (
            "/queues/v/push",
            r#"{"item": "text", "priority": 1}"#,
            "item",
        ),
        (
            "/queues/v/push",
            r#"{"item": [1, 2], "priority": 1}"#,
            "item",
        ),
        ("/queues/v/push", r#"{"item": null, "priority": 1}"#, "item"),
        ("/queues/v/push", r#"{"item": {}}"#, "priority"),
        (
            "/queues/v/push",
            r#"{"item": {}, "priority": -1}"#,
            "priority",
        ),
        (
            "/queues/v/push",
            r#"{"item": {}, "priority": 10}"#,
            "priority",
        ),
        (
            "/queues/v/push",
            r#"{"item": {}, "priority": 2.5}"#,
            "priority",
        ),
        (
            "/queues/v/push",
            r#"{"item": {}, "priority": "1"}"#,
            "priority",
        ),
        ("/queues/v/push", r#"{"item": {}, "priority": 1"#, "body"),
        ("/queues/v/push", "not json at all", "body"),
        ("/queues/v/push", "", "body"),
        ("/queues/v/push", "[]", "body"),
        ("/queues/v/push_batch", r#"{"items": []}"#, "items"),
        (
            "/queues/v/push_batch",
            r#"[{"item": {}, "priority": 1}, {"item": 3, "priority": 1}]"#,
            "items[1].item",
        ),
        ("/queues/v/pop?depth=0", "", "depth"),
        ("/queues/v/pop?depth=101", "", "depth"),
        ("/queues/v/pop?depth=-3", "", "depth"),
        ("/queues/v/pop?depth=ten", "", "depth"),
        ("/queues/v/pop?depth=1.5", "", "depth"),
        ("/queues/v/lease?depth=101", "", "depth"),
        ("/queues/v/lease?ttl=0s", "", "ttl"),
        ("/queues/v/lease?ttl=2h", "", "ttl"),
        ("/queues/v/lease?ttl=soon", "", "ttl"),
        ("/queues/v/lease?ttl=30", "", "ttl"),
        (
            "/queues/bad%20id/push",
            r#"{"item": {}, "priority": 1}"#,
            "queue",
        ),
        ("/queues/a+b/pop", "", "queue"),
        ("/leases/not-a-uuid/ack", "", "lease"),
    ];
    for (path, body, field) in cases {
        let (status, answer) = s.call(Method::POST, path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        assert_eq!(answer["field"], *field, "{path} {body}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{answer}"
        );
    }
    let long = format!("/queues/{}/stats", "x".repeat(129));
    let (status, answer) = s.call(Method::GET, &long, "").await;
    assert_eq!(
        (status, answer["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("queue"))
    );
    let (_, after) = s.call(Method::GET, "/queues/v/stats", "").await;
    assert_eq!(before, after, "no refused request wrote or took anything");
    s.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let s = server(false).await;
    let (status, body) = s.call(Method::GET, "/nope", "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("no route for /nope"))
    );
    let (status, _) = s.call(Method::GET, "/queues/q/pop", "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = s.call(Method::POST, "/admin/outage?for=1s", "").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no admin routes without --admin"
    );
    let (status, _) = s.call(Method::POST, "/admin/reset", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test]
async fn leases_hide_items_until_acked_or_expired() {
    let s = server(false).await;
    for n in 0..3 {
        s.call(
            Method::POST,
            "/queues/l/push",
            &json!({"item": {"n": n}, "priority": 1}).to_string(),
        )
        .await;
    }
    let (status, lease) = s
        .call(Method::POST, "/queues/l/lease?depth=2&ttl=30s", "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lease["ttl_ms"], 30_000);
    assert_eq!(lease["items"].as_array().map(Vec::len), Some(2));
    let lease_id = lease["lease_id"].as_str().expect("lease id").to_string();
    let (_, popped) = s.call(Method::POST, "/queues/l/pop?depth=10", "").await;
    assert_eq!(
        popped["items"][0]["item"]["n"], 2,
        "leased items are invisible to pop"
    );
    assert_eq!(popped["items"].as_array().map(Vec::len), Some(1));
    let (_, stats) = s.call(Method::GET, "/queues/l/stats", "").await;
    assert_eq!(
        (stats["depth"].as_u64(), stats["leased"].as_u64()),
        (Some(0), Some(2))
    );
    let ack = format!("/leases/{lease_id}/ack");
    let (status, body) = s.call(Method::POST, &ack, "").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"acked": 2})));
    let (status, _) = s.call(Method::POST, &ack, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a lease is acked once");
    let (_, stats) = s.call(Method::GET, "/queues/l/stats", "").await;
    assert_eq!(
        (stats["depth"].as_u64(), stats["leased"].as_u64()),
        (Some(0), Some(0))
    );
    let (status, empty) = s.call(Method::POST, "/queues/l/lease", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&empty["lease_id"], &empty["items"]),
        (&json!(null), &json!([]))
    );

    // An unacked lease with a short ttl gives its items back.
    s.call(
        Method::POST,
        "/queues/e/push",
        r#"{"item": {"n": 7}, "priority": 0}"#,
    )
    .await;
    let (_, lease) = s.call(Method::POST, "/queues/e/lease?ttl=500ms", "").await;
    let lease_id = lease["lease_id"].as_str().expect("lease id").to_string();
    let mut back = false;
    for _ in 0..POLL_LIMIT {
        let (_, stats) = s.call(Method::GET, "/queues/e/stats", "").await;
        if stats["depth"] == 1 && stats["leased"] == 0 {
            back = true;
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    assert!(back, "the expired lease's item came back");
    let (status, _) = s
        .call(Method::POST, &format!("/leases/{lease_id}/ack"), "")
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an expired lease cannot be acked"
    );
    let (_, popped) = s.call(Method::POST, "/queues/e/pop", "").await;
    assert_eq!(popped["items"][0]["item"], json!({"n": 7}));
    s.stop().await;
}

#[tokio::test]
async fn the_outage_switch_gives_503s_then_recovers_by_itself() {
    let s = server(true).await;
    s.call(
        Method::POST,
        "/queues/o/push",
        r#"{"item": {}, "priority": 0}"#,
    )
    .await;
    let (status, body) = s.call(Method::POST, "/admin/outage?for=400ms", "").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"outage_ms": 400})));
    let (status, body) = s
        .call(
            Method::POST,
            "/queues/o/push",
            r#"{"item": {}, "priority": 0}"#,
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("store unavailable (simulated outage")),
        "{body}"
    );
    let (status, _) = s.call(Method::GET, "/health", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = s.call(Method::POST, "/admin/outage?for=forever", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut recovered = false;
    for _ in 0..POLL_LIMIT {
        let (status, _) = s
            .call(
                Method::POST,
                "/queues/o/push",
                r#"{"item": {}, "priority": 0}"#,
            )
            .await;
        if status == StatusCode::CREATED {
            recovered = true;
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        tokio::time::sleep(POLL_EVERY).await;
    }
    assert!(recovered, "the store came back by itself");
    let (status, _) = s.call(Method::GET, "/health", "").await;
    assert_eq!(status, StatusCode::OK);
    let (_, stats) = s.call(Method::GET, "/queues/o/stats", "").await;
    assert_eq!(
        stats["depth"], 2,
        "writes refused during the outage were not stored"
    );
    let (status, body) = s.call(Method::POST, "/admin/reset", "").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"deleted": 2})));
    s.call(
        Method::POST,
        "/queues/o/push",
        r#"{"item": {}, "priority": 0}"#,
    )
    .await;
    let (status, body) = s.call(Method::DELETE, "/queues/o", "").await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"queue": "o", "deleted": 1}))
    );
    s.stop().await;
}

#[tokio::test]
async fn the_delay_knob_still_serves_correctly() {
    let s = Server::start(QueueConfig {
        delay: Some(Duration::from_millis(5)),
        ..Backend::memory().config
    })
    .await;
    let (status, _) = s
        .call(
            Method::POST,
            "/queues/d/push",
            r#"{"item": {}, "priority": 0}"#,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, popped) = s.call(Method::POST, "/queues/d/pop", "").await;
    assert_eq!(popped["items"].as_array().map(Vec::len), Some(1));
    s.stop().await;
}
