//! The MQTT client against the embedded broker: connect, publish at every
//! QoS, subscribe, audit.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use cicada_core::metrics::{Recorder, RowKind, StatTable};
use cicada_core::protocols::mqtt::session::{MqttSession, Publish};
use cicada_core::protocols::mqtt::settings::{Broker, Settings};
use cicada_core::template::Compiler;
use cicada_targets::broker::{start, BrokerOptions};

#[test]
fn publishes_at_every_qos_are_acked_and_audited() {
    let broker = start(&BrokerOptions::new("127.0.0.1:0".parse().unwrap())).expect("broker");
    let mut table = StatTable::default();
    let connect = table.intern("MQTT", "connect", RowKind::Request);
    let subscribe = table.intern("MQTT", "subscribe", RowKind::Request);
    let e2e = table.intern("MQTT", "e2e t/#", RowKind::Derived);
    let q: Vec<_> = (0..3)
        .map(|n| table.intern("MQTT", &format!("publish qos{n}"), RowKind::Request))
        .collect();
    let recorder = Rc::new(RefCell::new(Recorder::new(table.len())));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let c = Compiler::new();
        let settings = Arc::new(Settings::new(
            Broker::parse(&format!("mqtt://{}", broker.addr)).unwrap(),
            c.text("cicada-test").unwrap().item,
        ));
        let mut sub =
            MqttSession::start(settings.clone(), "sub".into(), 1, recorder.clone(), connect);
        let granted = sub
            .subscribe(
                &[("t/#".to_string(), 2)],
                true,
                Some(e2e),
                false,
                Duration::from_secs(5),
            )
            .await;
        assert_eq!(granted, Ok(vec![2]));
        let mut publisher =
            MqttSession::start(settings, "pub".into(), 2, recorder.clone(), connect);
        for qos in 0..3u8 {
            for _ in 0..20 {
                let p = Publish {
                    topic: &format!("t/{qos}"),
                    payload: bytes::Bytes::from_static(b"{\"on\":true}"),
                    qos,
                    retain: false,
                    properties: None,
                    stat: q[qos as usize],
                    timeout: Duration::from_secs(5),
                    wait_ack: qos == 2,
                    audit: true,
                };
                publisher.publish(&p).await.expect("published");
            }
        }
        // Let acks and deliveries arrive.
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(publisher);
        drop(sub);
        let _ = subscribe;
    });
    let mut rec = recorder.borrow_mut();
    let audit = rec.take_audit();
    let interval = rec.take_interval();
    let count = |id| {
        interval
            .stats
            .iter()
            .find(|(s, _)| *s == id)
            .map_or((0, 0), |(_, c)| (c.requests, c.failures))
    };
    assert_eq!(count(connect), (2, 0));
    for id in &q {
        assert_eq!(count(*id), (20, 0), "{id:?}");
    }
    assert_eq!(
        count(e2e).0,
        60,
        "every message arrived and was timed end to end"
    );
    let summary = audit.summarize();
    assert_eq!(
        (
            summary.published,
            summary.received,
            summary.lost,
            summary.duplicated
        ),
        (60, 60, 0, 0)
    );
}
