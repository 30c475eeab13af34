use super::*;

fn request(qos: u8, timeout_ms: u64) -> PublishRequest<'static> {
    PublishRequest {
        topic: "t",
        payload: Bytes::from_static(b"x"),
        qos,
        retain: false,
        properties: None,
        stat: StatId(0),
        timeout: Duration::from_millis(timeout_ms),
        waited: false,
        audit: None,
    }
}

fn decode_all(out: &mut BytesMut) -> Vec<Incoming> {
    let mut v = Vec::new();
    while let Some(p) = packet::decode(Version::V311, out).expect("valid") {
        v.push(p);
    }
    v
}

#[tokio::test(start_paused = true)]
async fn qos1_is_acked_and_qos0_waits_for_the_write() {
    let now = Instant::now();
    let mut s = State::new(Version::V311, Duration::from_secs(30), now);
    s.publish(request(0, 1000), now).expect("ok");
    let first = s.out.len();
    s.publish(request(1, 1000), now).expect("ok");
    assert_eq!(s.qos0.len(), 1);
    assert!(
        s.wrote(first - 1, now).is_empty(),
        "not all of it written yet"
    );
    assert_eq!(s.wrote(1, now).len(), 1, "the QoS 0 publish is out");
    assert_eq!(s.pending.len(), 1);
    let pkid = s.pending[0].pkid;
    let ev = s.incoming(Incoming::Ack(Ack::PubAck, pkid, Ok(())));
    assert!(matches!(ev, Some(Event::Acked(p)) if p.pkid == pkid));
    assert!(s.pending.is_empty());
}

#[tokio::test(start_paused = true)]
async fn qos2_goes_through_pubrec_pubrel_pubcomp() {
    let now = Instant::now();
    let mut s = State::new(Version::V311, Duration::from_secs(30), now);
    s.publish(request(2, 1000), now).expect("ok");
    let pkid = s.pending[0].pkid;
    s.out.clear();
    assert_eq!(s.incoming(Incoming::Ack(Ack::PubRec, pkid, Ok(()))), None);
    assert_eq!(
        decode_all(&mut s.out),
        vec![Incoming::Ack(Ack::PubRel, pkid, Ok(()))]
    );
    assert_eq!(
        s.incoming(Incoming::Ack(Ack::PubAck, pkid, Ok(()))),
        None,
        "a PUBACK is not what QoS 2 waits for"
    );
    assert!(matches!(
        s.incoming(Incoming::Ack(Ack::PubComp, pkid, Ok(()))),
        Some(Event::Acked(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn unacknowledged_publishes_fail_at_their_deadline() {
    let now = Instant::now();
    let mut s = State::new(Version::V311, Duration::from_secs(30), now);
    s.publish(request(1, 500), now).expect("ok");
    s.publish(request(2, 2000), now).expect("ok");
    assert_eq!(s.next_deadline(), Some(now + Duration::from_millis(500)));
    assert!(s.expire(now + Duration::from_millis(499)).is_empty());
    let ev = s.expire(now + Duration::from_millis(500));
    assert!(
        matches!(&ev[..], [Event::Failed(_, why)] if why == "no PUBACK within 500ms"),
        "{ev:?}"
    );
    let ev = s.expire(now + Duration::from_secs(3));
    assert!(
        matches!(&ev[..], [Event::Failed(_, why)] if why == "no PUBREC within 2.00s"),
        "{ev:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn incoming_qos2_is_delivered_once_and_completed() {
    let now = Instant::now();
    let mut s = State::new(Version::V311, Duration::from_secs(30), now);
    let m = Message {
        topic: "t".into(),
        payload: Bytes::new(),
        qos: 2,
        pkid: 4,
        retain: false,
        user_properties: vec![],
    };
    assert!(matches!(
        s.incoming(Incoming::Publish(m.clone())),
        Some(Event::Message(_))
    ));
    assert_eq!(
        s.incoming(Incoming::Publish(m)),
        None,
        "the resend is not delivered again"
    );
    assert_eq!(s.incoming(Incoming::Ack(Ack::PubRel, 4, Ok(()))), None);
    let sent = decode_all(&mut s.out);
    assert_eq!(sent.last(), Some(&Incoming::Ack(Ack::PubComp, 4, Ok(()))));
}

#[tokio::test(start_paused = true)]
async fn keep_alive_pings_when_idle_and_gives_up_without_an_answer() {
    let now = Instant::now();
    let ka = Duration::from_secs(10);
    let mut s = State::new(Version::V311, ka, now);
    assert_eq!(s.keep_alive(now + Duration::from_secs(5)), Ok(()));
    assert!(s.out.is_empty());
    assert_eq!(s.keep_alive(now + ka), Ok(()));
    assert_eq!(s.out[..], [0xC0, 0x00], "PINGREQ");
    assert!(s.keep_alive(now + ka + ka).is_err());
    s.incoming(Incoming::PingResp);
    assert_eq!(s.keep_alive(now + ka + ka), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn a_lost_connection_fails_everything_in_flight() {
    let now = Instant::now();
    let mut s = State::new(Version::V311, Duration::from_secs(30), now);
    s.publish(request(1, 500), now).expect("ok");
    s.publish(request(1, 500), now).expect("ok");
    let ev = s.lost("reset by the broker");
    assert_eq!(ev.len(), 2);
    assert!(s.pending.is_empty() && s.out.is_empty());
    assert!(
        matches!(&ev[0], Event::Failed(_, why) if why.contains("connection lost before the ack"))
    );
}

#[tokio::test(start_paused = true)]
async fn mqtt5_refusals_fail_the_publish_with_the_reason() {
    let now = Instant::now();
    let mut s = State::new(Version::V5, Duration::from_secs(30), now);
    s.publish(request(1, 500), now).expect("ok");
    let pkid = s.pending[0].pkid;
    let ev = s.incoming(Incoming::Ack(
        Ack::PubAck,
        pkid,
        Err("quota exceeded".into()),
    ));
    assert!(matches!(ev, Some(Event::Failed(_, why)) if why == "PUBACK: quota exceeded"));
}
