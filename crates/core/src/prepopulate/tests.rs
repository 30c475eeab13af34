//! Unit tests of the options, the progress and the verdict.

use super::*;

#[test]
fn options_are_checked_before_any_request() {
    let ok = Options::new("http://127.0.0.1:1", "q1", 10);
    assert!(ok.validate().is_ok());
    let bad = |o: Options| o.validate().expect_err("invalid").to_string();
    assert!(bad(Options::new("mqtt://h:1", "q1", 1)).contains("target"));
    assert!(bad(Options::new("http://h:1", "a b", 1)).contains("queue id 'a b'"));
    assert!(bad(Options {
        queues: Vec::new(),
        ..ok.clone()
    })
    .contains("no queue"));
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = Options {
        priorities: 3..=1,
        ..ok.clone()
    };
    assert!(bad(reversed).contains("must not exceed"));
    assert!(bad(Options {
        concurrency: 0,
        ..ok.clone()
    })
    .contains("above 0"));
}

#[test]
fn progress_gives_rate_fraction_and_eta() {
    let p = Progress {
        pushed: 500,
        failed: 0,
        total: 1000,
        elapsed: Duration::from_secs(2),
    };
    assert_eq!(p.items_per_s(), 250.0);
    assert_eq!(p.fraction(), 0.5);
    assert_eq!(p.eta(), Some(Duration::from_secs(2)));
    let none = Progress {
        pushed: 0,
        elapsed: Duration::ZERO,
        ..p
    };
    assert_eq!(none.eta(), None);
}

#[test]
fn a_summary_is_verified_only_when_each_queue_grew_by_its_items() {
    let mut s = Summary {
        requested: 200,
        pushed: 200,
        failed: 0,
        retries: 0,
        batch: 500,
        failures: Vec::new(),
        refused: false,
        depth_before: 10,
        depth_after: 210,
        queues: vec![
            QueueDepth {
                queue: "a".into(),
                before: 10,
                after: 110,
            },
            QueueDepth {
                queue: "b".into(),
                before: 0,
                after: 100,
            },
        ],
        elapsed: Duration::from_secs(1),
        items_per_s: 200.0,
    };
    assert!(s.verified());
    s.queues[1].after = 99;
    let p = s.problem().expect("a problem");
    assert!(p.contains("queue b grew by 99, expected 100"), "{p}");
    s.queues[1].after = 100;
    s.failed = 50;
    s.failures = vec![("503 Service Unavailable".into(), 50)];
    let p = s.problem().expect("a problem");
    assert!(
        p.contains("50 of 200 items failed (50 × 503 Service Unavailable)"),
        "{p}"
    );
}
