//! `cicada prepopulate` and `cicada_core::prepopulate` against a fake queue
//! target: exact item counts, spread priorities, item sizes, the verified
//! depth, retries with backoff, failures counted by cause, lost writes
//! caught by the depth check, exit codes.

mod common;
#[path = "common/fake_queue.rs"]
mod fake_queue;

use std::process::Output;

use cicada_core::prepopulate::{self, Options, Progress};
use common::*;
use fake_queue::{Behaviour, FakeQueue};

/// `cicada prepopulate --target FAKE ARGS`.
fn prepopulate(fake: &FakeQueue, args: &[&str]) -> Output {
    let out = run(&[&["prepopulate", "--target", fake.url.as_str()][..], args].concat());
    no_panic(&out);
    out
}

#[test]
fn fills_a_queue_with_spread_priorities_and_verifies_its_depth() {
    let fake = FakeQueue::start(Behaviour::default());
    let out = prepopulate(
        &fake,
        &[
            "--queue",
            "q1",
            "--items",
            "3k",
            "--priorities",
            "0-2",
            "--item-size",
            "1KB",
            "--concurrency",
            "8",
            "--batch",
            "100",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 0, "{stdout}\n{stderr}");
    let items = fake.items("q1");
    let mut seqs: Vec<u64> = items.iter().map(|i| i.seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (0..3000).collect::<Vec<u64>>(),
        "each item exactly once"
    );
    for p in 0..=2 {
        let n = items.iter().filter(|i| i.priority == p).count();
        assert_eq!(n, 1000, "priority {p} gets a third");
    }
    assert!(items.iter().all(|i| i.size == 1024), "1KB items");
    assert_eq!(fake.batches(), 30, "batches of 100");
    assert!(stdout.contains("pushed 3,000 of 3,000 items"), "{stdout}");
    assert!(stdout.contains("0 failed, 0 retries"), "{stdout}");
    assert!(
        stdout.contains("queue q1: depth 0 → 3,000 (+3000, verified)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("prepopulate: "),
        "a progress line without a TTY: {stderr}"
    );
}

#[test]
fn passing_failures_are_retried_and_nothing_is_lost() {
    let fake = FakeQueue::start(Behaviour {
        fail_first: 3,
        ..Behaviour::default()
    });
    let out = prepopulate(
        &fake,
        &[
            "--queue",
            "q1",
            "--items",
            "1000",
            "--batch",
            "100",
            "--concurrency",
            "4",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 0, "{stdout}\n{stderr}");
    assert_eq!(fake.failures_sent(), 3);
    assert_eq!(fake.items("q1").len(), 1000);
    assert!(stdout.contains("0 failed, 3 retries"), "{stdout}");
    assert!(stdout.contains("(+1000, verified)"), "{stdout}");
}

#[test]
fn failures_that_do_not_pass_are_counted_by_cause_and_exit_1() {
    let fake = FakeQueue::start(Behaviour {
        fail_first: u64::MAX,
        ..Behaviour::default()
    });
    let out = prepopulate(
        &fake,
        &[
            "--queue",
            "q1",
            "--items",
            "100",
            "--batch",
            "50",
            "--retries",
            "2",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 1, "{stdout}\n{stderr}");
    assert_eq!(fake.failures_sent(), 6, "2 batches × (1 + 2 retries)");
    assert!(
        stderr.contains("100 of 100 items failed (100 × 503 Service Unavailable)"),
        "{stderr}"
    );
    assert!(stdout.contains("(+0, MISMATCH)"), "{stdout}");
}

#[test]
fn lost_writes_are_caught_by_the_depth_check() {
    let fake = FakeQueue::start(Behaviour {
        lose_first: 1,
        ..Behaviour::default()
    });
    let out = prepopulate(
        &fake,
        &["--queue", "q1", "--items", "500", "--batch", "100"],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("pushed 500 of 500 items"), "{stdout}");
    assert!(
        stderr.contains("queue q1 grew by 400, expected 500"),
        "{stderr}"
    );
}

#[test]
fn the_library_fills_several_queues_and_reports_progress() {
    let fake = FakeQueue::start(Behaviour {
        initial: vec![("q2".into(), 50)],
        ..Behaviour::default()
    });
    let options = Options {
        queues: vec!["q1".into(), "q2".into()],
        priorities: 1..=4,
        concurrency: 3,
        batch: 70,
        ..Options::new(&fake.url, "unused", 1000)
    };
    let mut seen: Vec<Progress> = Vec::new();
    let summary = prepopulate::run_blocking(&options, &mut |p| seen.push(p)).expect("runs");
    assert!(summary.verified(), "{:?}", summary.problem());
    assert_eq!(
        (summary.requested, summary.pushed, summary.failed),
        (2000, 2000, 0)
    );
    assert_eq!((summary.depth_before, summary.depth_after), (50, 2050));
    let depths: Vec<(&str, u64, u64)> = summary
        .queues
        .iter()
        .map(|q| (q.queue.as_str(), q.before, q.after))
        .collect();
    assert_eq!(depths, [("q1", 0, 1000), ("q2", 50, 1050)]);
    assert_eq!(fake.items("q1").len(), 1000);
    let last = seen.last().expect("progress at the end");
    assert_eq!(
        (last.pushed, last.total, last.fraction()),
        (2000, 2000, 1.0)
    );
    assert!(
        seen.windows(2).all(|w| w[0].pushed <= w[1].pushed),
        "progress only grows"
    );
    for p in 1..=4 {
        let n = fake.items("q1").iter().filter(|i| i.priority == p).count();
        assert_eq!(n, 250, "priority {p}");
    }
}

#[test]
fn a_refused_batch_stops_the_load() {
    let fake = FakeQueue::start(Behaviour::default());
    // The fake accepts priorities 0..=9 only: every batch gets 400.
    let options = Options {
        priorities: 12..=12,
        concurrency: 2,
        batch: 10,
        ..Options::new(&fake.url, "q1", 1000)
    };
    let summary = prepopulate::run_blocking(&options, &mut |_| {}).expect("runs");
    assert!(summary.refused);
    assert_eq!((summary.pushed, summary.failed), (0, 1000));
    assert_eq!(summary.retries, 0, "a 400 is not retried");
    let problem = summary.problem().expect("a problem");
    assert!(
        problem.contains("400 Bad Request: {\"error\":"),
        "{problem}"
    );
    assert!(problem.contains("not sent: the load stopped"), "{problem}");
    assert_eq!(fake.batches(), 0);
}

#[test]
fn an_unreachable_target_exits_3_and_bad_input_exits_2() {
    let url = format!("http://127.0.0.1:{}", dead_port());
    let out = run(&[
        "prepopulate",
        "--target",
        &url,
        "--queue",
        "q1",
        "--items",
        "10",
        "--retries",
        "1",
    ]);
    no_panic(&out);
    let (_, stderr) = text(&out);
    assert_eq!(code(&out), 3, "{stderr}");
    assert!(
        stderr.contains("/queues/q1/stats: connection refused"),
        "{stderr}"
    );

    let fake = FakeQueue::start(Behaviour::default());
    for (args, says) in [
        (
            &["--queue", "q1", "--items", "10", "--priorities", "3-1"][..],
            "invalid priorities '3-1'",
        ),
        (&["--queue", "a b", "--items", "10"][..], "queue id 'a b'"),
        (
            &["--queue", "q1", "--items", "ten"][..],
            "invalid count 'ten'",
        ),
    ] {
        let out = prepopulate(&fake, args);
        let (_, stderr) = text(&out);
        assert_eq!(code(&out), 2, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
    assert_eq!(fake.batches(), 0, "nothing sent on bad input");
}

#[test]
fn the_bundled_queue_target_is_filled_and_verified() {
    let dir = Scratch::new();
    let db = dir.path("queue.db");
    let target = common::queue::QueueTarget::start(&["--database", db.to_str().expect("utf-8")]);
    let fill = || {
        let out = run(&[
            "prepopulate",
            "--target",
            &target.url,
            "--queue",
            "q1",
            "--items",
            "5k",
            "--priorities",
            "0-2",
            "--item-size",
            "1KB",
            "--concurrency",
            "8",
        ]);
        no_panic(&out);
        out
    };
    let out = fill();
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("queue q1: depth 0 → 5,000 (+5000, verified)"),
        "{stdout}"
    );
    let out = fill();
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("queue q1: depth 5,000 → 10,000 (+5000, verified)"),
        "{stdout}"
    );
}
