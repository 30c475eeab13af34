//! Unit tests of the queue target's request validation: every refusal names
//! its field, and good input is kept byte for byte.

use super::*;

fn field(result: Result<impl std::fmt::Debug, Invalid>) -> String {
    result.expect_err("should be refused").field
}

#[test]
fn a_push_body_keeps_the_item_text_as_sent() {
    let item = push_body(br#"{"priority": 3, "item": {"b": 1, "a": [1, 2]}}"#).expect("valid");
    assert_eq!(item.item, r#"{"b": 1, "a": [1, 2]}"#);
    assert_eq!(item.priority, 3);
    let item = push_body(br#"{"item":{},"priority":0,"extra":true}"#).expect("valid");
    assert_eq!((item.item.as_str(), item.priority), ("{}", 0));
    let item = push_body(br#"{"item":{},"priority":9}"#).expect("valid");
    assert_eq!(item.priority, 9);
}

#[test]
fn every_bad_push_body_names_its_field() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "body"),
        (b"   ", "body"),
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"\"text\"", "body"),
        (b"priority=1", "body"),
        (br#"{"priority": 1}"#, "item"),
        (br#"{"item": [1], "priority": 1}"#, "item"),
        (br#"{"item": "x", "priority": 1}"#, "item"),
        (br#"{"item": null, "priority": 1}"#, "item"),
        (br#"{"item": 5, "priority": 1}"#, "item"),
        (br#"{"item": {}}"#, "priority"),
        (br#"{"item": {}, "priority": -1}"#, "priority"),
        (br#"{"item": {}, "priority": 10}"#, "priority"),
        (br#"{"item": {}, "priority": 1.5}"#, "priority"),
        (br#"{"item": {}, "priority": 1.0}"#, "priority"),
        (br#"{"item": {}, "priority": "1"}"#, "priority"),
        (br#"{"item": {}, "priority": null}"#, "priority"),
        (
            br#"{"item": {}, "priority": 99999999999999999999}"#,
            "priority",
        ),
    ];
    for (body, expected) in cases {
        let err = push_body(body).expect_err(&String::from_utf8_lossy(body));
        assert_eq!(
            &err.field,
            expected,
            "{}: {err}",
            String::from_utf8_lossy(body)
        );
        assert!(!err.error.is_empty());
    }
}

#[test]
fn batches_come_wrapped_or_bare() {
    let wrapped = batch_body(
        br#"{"items": [{"item": {"n": 1}, "priority": 2}, {"item": {"n": 2}, "priority": 0}]}"#,
    )
    .expect("valid");
    let bare =
        batch_body(br#"[{"item": {"n": 1}, "priority": 2}, {"item": {"n": 2}, "priority": 0}]"#)
            .expect("valid");
    assert_eq!(wrapped, bare);
    assert_eq!(wrapped.len(), 2);
    assert_eq!(wrapped[1].item, r#"{"n": 2}"#);
    assert_eq!(wrapped[1].priority, 0);
}

#[test]
fn a_bad_batch_entry_is_named_by_index() {
    let err = batch_body(br#"[{"item": {}, "priority": 1}, {"item": {}, "priority": -4}]"#)
        .expect_err("refused");
    assert_eq!(err.field, "items[1].priority");
    assert!(err.error.starts_with("items[1]: "), "{}", err.error);
    assert_eq!(
        field(batch_body(br#"[{"item": {}, "priority": 1}, 7]"#)),
        "items[1]"
    );
    assert_eq!(field(batch_body(br#"{"items": 3}"#)), "items");
    assert_eq!(field(batch_body(br#"{"things": []}"#)), "items");
    assert_eq!(field(batch_body(br#"[]"#)), "items");
    assert_eq!(field(batch_body(br#"{"items": []}"#)), "items");
    assert_eq!(field(batch_body(b"[{")), "body");
    assert_eq!(field(batch_body(b"5")), "body");
}

#[test]
fn a_batch_over_the_limit_is_refused_whole() {
    let entry = r#"{"item":{},"priority":1}"#;
    let at_limit = format!("[{}]", vec![entry; MAX_BATCH].join(","));
    assert_eq!(
        batch_body(at_limit.as_bytes()).expect("valid").len(),
        MAX_BATCH
    );
    let over = format!("[{}]", vec![entry; MAX_BATCH + 1].join(","));
    assert_eq!(field(batch_body(over.as_bytes())), "items");
}

#[test]
fn queue_ids() {
    for good in ["q1", "a", "orders.eu-west:1_x", &"x".repeat(128)] {
        assert_eq!(queue_id(good), Ok(()), "{good}");
    }
    for bad in ["", "a b", "a/b", "ü", "q?", "+", &"x".repeat(129)] {
        assert_eq!(field(queue_id(bad).map(|_| ())), "queue", "{bad}");
    }
}

#[test]
fn depth_is_one_to_a_hundred_and_defaults_to_one() {
    assert_eq!(depth(None), Ok(1));
    assert_eq!(depth(Some("1")), Ok(1));
    assert_eq!(depth(Some("100")), Ok(100));
    for bad in ["0", "101", "-1", "1.5", "ten", "", "99999999999999999999"] {
        assert_eq!(field(depth(Some(bad))), "depth", "{bad}");
    }
}

#[test]
fn ttl_forms_and_limits() {
    assert_eq!(ttl(None), Ok(DEFAULT_TTL));
    assert_eq!(ttl(Some("500ms")), Ok(Duration::from_millis(500)));
    assert_eq!(ttl(Some("1s")), Ok(Duration::from_secs(1)));
    assert_eq!(ttl(Some("30s")), Ok(Duration::from_secs(30)));
    assert_eq!(ttl(Some("2m")), Ok(Duration::from_secs(120)));
    assert_eq!(ttl(Some("1.5s")), Ok(Duration::from_millis(1500)));
    assert_eq!(ttl(Some("1h")), Ok(MAX_TTL));
    for bad in ["0s", "0ms", "30", "2h", "61m", "fast", "", "-1s", "1d", "s"] {
        assert_eq!(field(ttl(Some(bad))), "ttl", "{bad}");
    }
}

#[test]
fn lease_ids_are_uuids() {
    let id = uuid::Uuid::new_v4();
    assert_eq!(lease_id(&id.to_string()), Ok(id));
    assert_eq!(field(lease_id("nope")), "lease");
}

#[test]
fn mqtt_messages_with_or_without_an_envelope() {
    let enveloped = parse_message(br#"{"item": {"job": 1}, "priority": 2}"#).expect("valid");
    assert_eq!(
        (enveloped.item.as_str(), enveloped.priority),
        (r#"{"job": 1}"#, 2)
    );
    let bare = parse_message(br#" {"job": 2} "#).expect("valid");
    assert_eq!(
        (bare.item.as_str(), bare.priority),
        (r#"{"job": 2}"#, DEFAULT_MQTT_PRIORITY)
    );
    let with_priority = parse_message(br#"{"job": 3, "priority": 0}"#).expect("valid");
    assert_eq!(with_priority.priority, 0);
    assert_eq!(with_priority.item, r#"{"job": 3, "priority": 0}"#);
    assert_eq!(
        field(parse_message(br#"{"job": 3, "priority": 12}"#)),
        "priority"
    );
    assert_eq!(
        field(parse_message(br#"{"item": 1, "priority": 1}"#)),
        "item"
    );
    assert_eq!(field(parse_message(b"hello")), "body");
    assert_eq!(field(parse_message(b"[1]")), "body");
}
