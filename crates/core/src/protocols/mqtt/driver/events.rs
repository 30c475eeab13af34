//! What the broker sent, and what time did: acks, failures, messages
//! (with their audit and end-to-end latency), SUBACKs, keep-alive.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::time::Instant;

use crate::metrics::Recorder;
use crate::protocols::mqtt::audit::{now_us, Stamp};
use crate::protocols::mqtt::packet;
use crate::protocols::mqtt::session::{keep, Link};
use crate::protocols::mqtt::state::Event;
use crate::protocols::mqtt::topic::matches;

/// Handles every complete packet in `inbound`.
pub(super) fn process(
    link: &Link,
    inbound: &mut BytesMut,
    recorder: &Rc<RefCell<Recorder>>,
    user: u64,
) -> Result<(), String> {
    let version = link.shared.borrow().state.version();
    while let Some(packet) = packet::decode(version, inbound)? {
        let event = link.shared.borrow_mut().state.incoming(packet);
        if let Some(e) = event {
            apply(link, e, recorder, user)?;
        }
    }
    if inbound.is_empty() {
        // Idle connections hold no buffer.
        *inbound = BytesMut::new();
    }
    Ok(())
}

/// Timeouts and keep-alive.
pub(super) fn tick(link: &Link, recorder: &Rc<RefCell<Recorder>>, user: u64) -> Result<(), String> {
    let now = Instant::now();
    let expired = {
        let mut s = link.shared.borrow_mut();
        s.state.keep_alive(now)?;
        s.state.expire(now)
    };
    for e in expired {
        apply(link, e, recorder, user)?;
    }
    Ok(())
}

/// Records what happened and wakes the user when it concerns it.
pub(super) fn apply(
    link: &Link,
    event: Event,
    recorder: &Rc<RefCell<Recorder>>,
    user: u64,
) -> Result<(), String> {
    let now = Instant::now();
    let mut rec = recorder.borrow_mut();
    let mut s = link.shared.borrow_mut();
    match event {
        Event::Acked(p) => {
            rec.success(p.stat, now.duration_since(p.started), p.bytes);
            if let Some((topic, seq)) = &p.audit {
                rec.audit()
                    .sent
                    .entry((user, topic.clone()))
                    .or_default()
                    .acked
                    .insert(*seq);
            }
            if p.waited {
                s.outcomes.push((p.pkid, Ok(())));
            }
        }
        Event::Failed(p, why) => {
            rec.failure(p.stat, now.duration_since(p.started), p.bytes, &why, None);
            if p.waited {
                s.outcomes.push((p.pkid, Err(why)));
            }
        }
        Event::Message(m) => {
            let audited = s.subscriptions.iter().find(|x| {
                x.audit
                    .as_ref()
                    .is_some_and(|a| matches(&a.filter, &m.topic))
            });
            if let (Some(sub), Some(stamp)) = (audited, Stamp::of(&m)) {
                let topic = Arc::from(m.topic.as_str());
                rec.audit()
                    .received
                    .entry((user, stamp.publisher, topic))
                    .or_default()
                    .record(stamp.seq, m.qos);
                if let Some(e2e) = sub.e2e {
                    let micros = now_us().saturating_sub(stamp.sent_us);
                    rec.success(e2e, Duration::from_micros(micros), m.payload.len() as u64);
                }
            }
            keep(&mut s, m);
        }
        Event::SubAck(pkid, granted) => s.subacks.push((pkid, granted)),
        Event::Disconnect(why) => return Err(format!("the broker disconnected: {why}")),
    }
    drop(s);
    link.to_user.notify_waiters();
    Ok(())
}
