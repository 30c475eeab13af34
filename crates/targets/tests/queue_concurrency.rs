//! Many concurrent HTTP clients against the queue target on an SQLite
//! file: pushers and poppers at once never get a 5xx, and every pushed item
//! is popped exactly once.

mod queue_support;

use std::collections::HashSet;
use std::time::Duration;

use hyper::{Method, StatusCode};
use queue_support::{call, ids, Backend, Server};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_clients_on_an_sqlite_file_get_no_5xx_and_every_item_once() {
    const PUSHERS: usize = 8;
    const EACH: usize = 200;
    let backend = Backend::file();
    let s = Server::start(backend.config.clone()).await;
    let addr = s.addr;
    let pushers: Vec<_> = (0..PUSHERS)
        .map(|p| {
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..EACH {
                    let body = json!({"item": {"p": p, "i": i}, "priority": i % 4}).to_string();
                    let (status, answer) = call(addr, Method::POST, "/queues/c/push", &body).await;
                    assert_eq!(status, StatusCode::CREATED, "{answer}");
                    ids.push(answer["id"].as_i64().expect("id"));
                }
                ids
            })
        })
        .collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poppers: Vec<_> = (0..8)
        .map(|_| {
            let done = done.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                    let (status, answer) =
                        call(addr, Method::POST, "/queues/c/pop?depth=5", "").await;
                    assert_eq!(status, StatusCode::OK, "{answer}");
                    let batch = ids(&answer);
                    if batch.is_empty() && finished {
                        return got;
                    }
                    if batch.is_empty() {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    got.extend(batch);
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
    let unique: HashSet<i64> = popped.iter().copied().collect();
    assert_eq!(pushed.len(), PUSHERS * EACH);
    assert_eq!(unique.len(), popped.len(), "no item handed out twice");
    assert_eq!(unique, pushed, "none lost");
    s.stop().await;
}
