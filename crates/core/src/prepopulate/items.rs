//! What the prepopulator pushes: items of about the asked size, priorities
//! spread round-robin, batches as the queue target's `push_batch` reads
//! them, and the split of the work into batches.

use std::ops::RangeInclusive;

/// The largest request body the prepopulator builds: a batch of large items
/// is cut to stay under it (servers commonly refuse bodies of a few MB).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Bytes of a batch entry around its item: `{"item":…,"priority":9},`.
const ENTRY_OVERHEAD: usize = 24;

/// Items per request for items of `item_size` bytes: `batch`, cut so a
/// request stays under [`MAX_BATCH_BYTES`], at least 1.
pub fn effective_batch(batch: usize, item_size: usize) -> usize {
    let fits = MAX_BATCH_BYTES / (item_size + ENTRY_OVERHEAD).max(1);
    batch.min(fits).max(1)
}

/// One request's worth of items: `count` items of queue `queue` (an index
/// into the options' queues) starting at sequence number `first`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Index of the queue.
    pub queue: usize,
    /// Sequence number of its first item within that queue.
    pub first: u64,
    /// Items in it.
    pub count: u64,
}

/// The split of `items` per queue over `queues` queues into batches of
/// `batch`, interleaved across queues so concurrent requests spread over
/// them. Computed by index, so no list of batches is kept.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    queues: usize,
    items: u64,
    batch: u64,
}

impl Plan {
    /// The plan for `items` per queue.
    pub fn new(queues: usize, items: u64, batch: usize) -> Plan {
        Plan {
            queues: queues.max(1),
            items,
            batch: batch.max(1) as u64,
        }
    }

    /// Batches in all.
    pub fn batches(&self) -> u64 {
        self.items.div_ceil(self.batch) * self.queues as u64
    }

    /// Batch number `index` (below [`Plan::batches`]).
    pub fn batch(&self, index: u64) -> Batch {
        let queue = (index % self.queues as u64) as usize;
        let first = (index / self.queues as u64) * self.batch;
        Batch {
            queue,
            first,
            count: self.batch.min(self.items - first),
        }
    }
}

/// Builds request bodies for one item size and priority range.
#[derive(Clone, Debug)]
pub struct Bodies {
    pad: String,
    item_size: usize,
    priorities: RangeInclusive<u8>,
}

impl Bodies {
    /// Bodies of items of about `item_size` bytes with `priorities`.
    pub fn new(item_size: usize, priorities: RangeInclusive<u8>) -> Bodies {
        Bodies {
            pad: "x".repeat(item_size),
            item_size,
            priorities,
        }
    }

    /// The priority of item `seq`: round-robin over the range.
    pub fn priority(&self, seq: u64) -> u8 {
        let (low, high) = (*self.priorities.start(), *self.priorities.end());
        let span = u64::from(high.saturating_sub(low)) + 1;
        low + (seq % span) as u8
    }

    /// Appends item `seq`: `{"seq":N,"pad":"xx…"}`, exactly `item_size`
    /// bytes when that is at least the item without padding.
    pub fn item(&self, seq: u64, out: &mut Vec<u8>) {
        let digits = seq.checked_ilog10().map_or(1, |d| d as usize + 1);
        let bare = r#"{"seq":,"pad":""}"#.len() + digits;
        let pad = self.item_size.saturating_sub(bare);
        out.extend_from_slice(br#"{"seq":"#);
        out.extend_from_slice(seq.to_string().as_bytes());
        out.extend_from_slice(br#","pad":""#);
        out.extend_from_slice(&self.pad.as_bytes()[..pad]);
        out.extend_from_slice(br#""}"#);
    }

    /// The `push_batch` body of `batch`:
    /// `{"items":[{"item":{…},"priority":p},…]}`.
    pub fn batch(&self, batch: Batch, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(16 + batch.count as usize * (self.item_size + ENTRY_OVERHEAD));
        out.extend_from_slice(br#"{"items":["#);
        for seq in batch.first..batch.first + batch.count {
            if seq > batch.first {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"item":"#);
            self.item(seq, out);
            out.extend_from_slice(br#","priority":"#);
            out.extend_from_slice(self.priority(seq).to_string().as_bytes());
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
    }
}

/// Parses `0-2` or `3` into a priority range within 0..=9 (the queue
/// target's priorities; 0 is the highest).
pub fn parse_priorities(text: &str) -> Result<RangeInclusive<u8>, String> {
    let bad =
        || format!("invalid priorities '{text}': expected a priority 0-9 or a range such as 0-2");
    let (a, b) = match text.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (text.trim(), text.trim()),
    };
    let a: u8 = a.parse().map_err(|_| bad())?;
    let b: u8 = b.parse().map_err(|_| bad())?;
    if a > b || b > 9 {
        return Err(bad());
    }
    Ok(a..=b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_have_the_asked_size_and_are_json() {
        let bodies = Bodies::new(1024, 0..=2);
        for seq in [0, 9, 10, 123_456] {
            let mut out = Vec::new();
            bodies.item(seq, &mut out);
            assert_eq!(out.len(), 1024);
            let v: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
            assert_eq!(v["seq"], seq);
        }
        let tiny = Bodies::new(5, 0..=0);
        let mut out = Vec::new();
        tiny.item(7, &mut out);
        assert_eq!(out, br#"{"seq":7,"pad":""}"#);
    }

    #[test]
    fn batches_parse_with_round_robin_priorities() {
        let bodies = Bodies::new(64, 3..=5);
        let mut out = Vec::new();
        bodies.batch(
            Batch {
                queue: 0,
                first: 10,
                count: 4,
            },
            &mut out,
        );
        let v: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        let items = v["items"].as_array().expect("items");
        let seen: Vec<(u64, u64)> = items
            .iter()
            .map(|e| {
                (
                    e["item"]["seq"].as_u64().expect("seq"),
                    e["priority"].as_u64().expect("p"),
                )
            })
            .collect();
        assert_eq!(seen, [(10, 4), (11, 5), (12, 3), (13, 4)]);
    }

    #[test]
    fn the_plan_covers_every_item_once_across_queues() {
        let plan = Plan::new(3, 1050, 500);
        assert_eq!(plan.batches(), 9);
        let mut per_queue = [Vec::new(), Vec::new(), Vec::new()];
        for i in 0..plan.batches() {
            let b = plan.batch(i);
            per_queue[b.queue].extend(b.first..b.first + b.count);
        }
        for q in per_queue {
            assert_eq!(q, (0..1050).collect::<Vec<u64>>());
        }
        assert_eq!(Plan::new(2, 0, 500).batches(), 0);
    }

    #[test]
    fn large_items_get_smaller_batches() {
        assert_eq!(effective_batch(500, 100), 500);
        assert_eq!(effective_batch(500, 10 * 1024), 102);
        assert_eq!(effective_batch(500, 4 * 1024 * 1024), 1);
        assert_eq!(effective_batch(0, 10), 1);
    }

    #[test]
    fn priorities_are_a_range_within_0_to_9() {
        assert_eq!(parse_priorities("0-2"), Ok(0..=2));
        assert_eq!(parse_priorities("4"), Ok(4..=4));
        for bad in ["3-1", "12", "0-10", "x", "-1"] {
            assert!(parse_priorities(bad).is_err(), "{bad}");
        }
    }
}
