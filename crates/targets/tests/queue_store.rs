//! The queue store against every backend: SQLite in memory, an SQLite file,
//! and a real PostgreSQL when `CICADA_TEST_POSTGRES` holds a URL (skipped
//! with a note otherwise). Lease expiry is tested with explicit clock
//! values, never by waiting.

mod queue_support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cicada_targets::queue::{NewItem, Popped, Store, StoreError};
use queue_support::Backend;

fn item(n: usize, priority: i32) -> NewItem {
    NewItem {
        item: format!(r#"{{"n": {n}}}"#),
        priority,
    }
}

fn numbers(items: &[Popped]) -> Vec<usize> {
    items
        .iter()
        .map(|p| {
            let v: serde_json::Value = serde_json::from_str(&p.item).expect("JSON");
            v["n"].as_u64().expect("n") as usize
        })
        .collect()
}

/// A fixed "now" for tests that need no expiry.
const T0: i64 = 1_000_000;

/// Runs `test` against every backend, each with a fresh store.
async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Arc<Store>, &'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in Backend::all() {
        let store = Arc::new(backend.open().await);
        test(store.clone(), backend.name).await;
        backend.finish(&store).await;
    }
}

#[tokio::test]
async fn pop_serves_priority_then_fifo() {
    each_backend(|store, name| async move {
        for (n, priority) in [(1, 3), (2, 0), (3, 3), (4, 1), (5, 0), (6, 9)] {
            store.push("q", &item(n, priority)).await.expect("push");
        }
        let popped = store.pop("q", 100, T0).await.expect("pop");
        assert_eq!(numbers(&popped), [2, 5, 4, 1, 3, 6], "{name}");
        let priorities: Vec<i32> = popped.iter().map(|p| p.priority).collect();
        assert_eq!(priorities, [0, 0, 1, 3, 3, 9], "{name}");
        assert!(
            store.pop("q", 1, T0).await.expect("pop").is_empty(),
            "{name}"
        );
    })
    .await;
}

#[tokio::test]
async fn depth_limits_what_one_pop_takes_and_ids_are_unique() {
    each_backend(|store, name| async move {
        let mut pushed = Vec::new();
        for n in 0..5 {
            pushed.push(store.push("q", &item(n, 2)).await.expect("push"));
        }
        let first = store.pop("q", 2, T0).await.expect("pop");
        let rest = store.pop("q", 100, T0).await.expect("pop");
        assert_eq!(numbers(&first), [0, 1], "{name}");
        assert_eq!(numbers(&rest), [2, 3, 4], "{name}");
        let ids: Vec<i64> = first.iter().chain(&rest).map(|p| p.id).collect();
        assert_eq!(ids, pushed, "{name}: pop hands out the ids push returned");
        // Ids are never reused, even after the queue is emptied.
        let next = store.push("q", &item(9, 2)).await.expect("push");
        assert!(next > *pushed.last().unwrap(), "{name}");
    })
    .await;
}

#[tokio::test]
async fn empty_and_unknown_queues_pop_nothing_and_queues_are_separate() {
    each_backend(|store, name| async move {
        assert!(store
            .pop("never-used", 10, T0)
            .await
            .expect("pop")
            .is_empty());
        store.push("a", &item(1, 0)).await.expect("push");
        store.push("b", &item(2, 0)).await.expect("push");
        assert_eq!(
            numbers(&store.pop("b", 10, T0).await.expect("pop")),
            [2],
            "{name}"
        );
        let stats = store.stats("a", T0).await.expect("stats");
        assert_eq!((stats.depth, stats.leased), (1, 0), "{name}");
        let empty = store.stats("never-used", T0).await.expect("stats");
        assert_eq!(empty.depth, 0);
        assert!(empty.by_priority.is_empty());
    })
    .await;
}

#[tokio::test]
async fn stats_count_available_items_per_priority() {
    each_backend(|store, name| async move {
        for (n, priority) in [(1, 0), (2, 0), (3, 4), (4, 9)] {
            store.push("q", &item(n, priority)).await.expect("push");
        }
        store
            .lease("q", 1, T0, Duration::from_secs(30))
            .await
            .expect("lease");
        let stats = store.stats("q", T0).await.expect("stats");
        assert_eq!(stats.queue, "q");
        assert_eq!(stats.depth, 3, "{name}");
        assert_eq!(stats.leased, 1, "{name}");
        let by: Vec<(&str, u64)> = stats
            .by_priority
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(by, [("0", 1), ("4", 1), ("9", 1)], "{name}");
    })
    .await;
}

#[tokio::test]
async fn batches_are_stored_whole_and_in_order() {
    each_backend(|store, name| async move {
        // More than one multi-row insert's worth, and an odd remainder.
        let items: Vec<NewItem> = (0..2_345).map(|n| item(n, (n % 2) as i32)).collect();
        assert_eq!(
            store.push_batch("bulk", &items).await.expect("batch"),
            2_345
        );
        let stats = store.stats("bulk", T0).await.expect("stats");
        assert_eq!(stats.depth, 2_345, "{name}");
        let first = store.pop("bulk", 3, T0).await.expect("pop");
        assert_eq!(numbers(&first), [0, 2, 4], "{name}: priority 0 first, FIFO");
    })
    .await;
}

#[tokio::test]
async fn leased_items_are_hidden_until_acked() {
    each_backend(|store, name| async move {
        for n in 0..4 {
            store.push("q", &item(n, 1)).await.expect("push");
        }
        let ttl = Duration::from_secs(30);
        let lease = store.lease("q", 2, T0, ttl).await.expect("lease");
        let id = lease.id.expect("a lease id");
        assert_eq!(numbers(&lease.items), [0, 1], "{name}");
        let other = store.lease("q", 10, T0, ttl).await.expect("lease");
        assert_eq!(
            numbers(&other.items),
            [2, 3],
            "{name}: a second lease skips leased items"
        );
        assert_eq!(store.pop("q", 10, T0).await.expect("pop"), [], "{name}");
        assert_eq!(store.ack(id, T0 + 1).await.expect("ack"), 2, "{name}");
        assert_eq!(
            store.ack(id, T0 + 1).await.expect("ack"),
            0,
            "{name}: acked once"
        );
        let stats = store.stats("q", T0 + 1).await.expect("stats");
        assert_eq!((stats.depth, stats.leased), (0, 2), "{name}");
        let empty = store.lease("nothing", 5, T0, ttl).await.expect("lease");
        assert_eq!((empty.id, empty.items.len()), (None, 0), "{name}");
    })
    .await;
}

#[tokio::test]
async fn an_expired_lease_returns_its_items_to_their_place() {
    each_backend(|store, name| async move {
        for n in 0..3 {
            store.push("q", &item(n, 2)).await.expect("push");
        }
        store.push("q", &item(99, 5)).await.expect("push");
        let ttl = Duration::from_millis(500);
        let lease = store.lease("q", 2, T0, ttl).await.expect("lease");
        let id = lease.id.expect("lease id");
        // Just before expiry: still hidden.
        let before = store.stats("q", T0 + 499).await.expect("stats");
        assert_eq!((before.depth, before.leased), (2, 2), "{name}");
        // At expiry: visible again to pop and stats, before any sweep.
        let after = store.stats("q", T0 + 500).await.expect("stats");
        assert_eq!((after.depth, after.leased), (4, 0), "{name}");
        assert_eq!(
            store.ack(id, T0 + 500).await.expect("ack"),
            0,
            "{name}: too late"
        );
        assert_eq!(store.sweep(T0 + 500).await.expect("sweep"), 2, "{name}");
        assert_eq!(store.sweep(T0 + 500).await.expect("sweep"), 0, "{name}");
        let popped = store.pop("q", 10, T0 + 600).await.expect("pop");
        assert_eq!(
            numbers(&popped),
            [0, 1, 2, 99],
            "{name}: same priority, same FIFO place"
        );
    })
    .await;
}

#[tokio::test]
async fn a_re_leased_item_belongs_to_the_new_lease() {
    each_backend(|store, name| async move {
        store.push("q", &item(1, 0)).await.expect("push");
        let ttl = Duration::from_millis(100);
        let old = store
            .lease("q", 1, T0, ttl)
            .await
            .expect("lease")
            .id
            .expect("id");
        let new = store.lease("q", 1, T0 + 200, ttl).await.expect("lease");
        assert_eq!(numbers(&new.items), [1], "{name}");
        assert_eq!(store.ack(old, T0 + 250).await.expect("ack"), 0, "{name}");
        assert_eq!(
            store.ack(new.id.expect("id"), T0 + 250).await.expect("ack"),
            1,
            "{name}"
        );
    })
    .await;
}

#[tokio::test]
async fn delete_and_reset_empty_the_store() {
    each_backend(|store, name| async move {
        store.push("a", &item(1, 0)).await.expect("push");
        store.push("a", &item(2, 0)).await.expect("push");
        store.push("b", &item(3, 0)).await.expect("push");
        assert_eq!(store.delete_queue("a").await.expect("delete"), 2, "{name}");
        assert_eq!(
            store.stats("b", T0).await.expect("stats").depth,
            1,
            "{name}"
        );
        assert_eq!(store.reset().await.expect("reset"), 1, "{name}");
        assert_eq!(
            store.stats("b", T0).await.expect("stats").depth,
            0,
            "{name}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_outage_switch_makes_every_operation_unavailable() {
    each_backend(|store, name| async move {
        store.push("q", &item(1, 0)).await.expect("push");
        store.outage().start(Duration::from_secs(60));
        let err = store.push("q", &item(2, 0)).await.expect_err("down");
        assert!(matches!(err, StoreError::Outage { .. }), "{name}: {err}");
        assert!(err.is_unavailable());
        assert!(err
            .to_string()
            .starts_with("store unavailable (simulated outage"));
        assert!(store.pop("q", 1, T0).await.is_err());
        assert!(store.stats("q", T0).await.is_err());
        assert!(store.ping().await.is_err());
        store.outage().start(Duration::ZERO);
        store.ping().await.expect("back");
        assert_eq!(
            store.stats("q", T0).await.expect("stats").depth,
            1,
            "{name}: nothing written"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushers_and_poppers_hand_out_every_item_exactly_once() {
    const PUSHERS: usize = 8;
    const EACH: usize = 200;
    each_backend(|store, name| async move {
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|p| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut ids = Vec::new();
                    for i in 0..EACH {
                        let n = p * EACH + i;
                        ids.push(
                            store
                                .push("c", &item(n, (n % 3) as i32))
                                .await
                                .expect("push"),
                        );
                    }
                    ids
                })
            })
            .collect();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let poppers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                let done = done.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                        let batch = store.pop("c", 7, T0).await.expect("pop");
                        if batch.is_empty() && finished {
                            return got;
                        }
                        if batch.is_empty() {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        got.extend(batch.into_iter().map(|p| p.id));
                    }
                })
            })
            .collect();
        let mut pushed = HashSet::new();
        for p in pushers {
            pushed.extend(p.await.expect("pusher"));
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut popped = Vec::new();
        for p in poppers {
            popped.extend(p.await.expect("popper"));
        }
        assert_eq!(pushed.len(), PUSHERS * EACH, "{name}");
        let unique: HashSet<i64> = popped.iter().copied().collect();
        assert_eq!(
            unique.len(),
            popped.len(),
            "{name}: no item handed out twice"
        );
        assert_eq!(unique, pushed, "{name}: none lost");
    })
    .await;
}
