use super::*;
use bytes::BytesMut;

fn options() -> ConnectOptions {
    ConnectOptions {
        client_id: "lamp-1".into(),
        keep_alive: 30,
        clean: true,
        login: Some(("u".into(), "p".into())),
        will: Some(Will {
            topic: "lamp/gone".into(),
            payload: Bytes::from_static(b"bye"),
            qos: 1,
            retain: false,
        }),
    }
}

#[test]
fn both_versions_encode_connect_and_publish() {
    for v in [Version::V311, Version::V5] {
        let mut out = BytesMut::new();
        connect(v, &options(), &mut out).expect("encodes");
        assert_eq!(out[0] >> 4, 1, "CONNECT");
        let props = Properties {
            content_type: Some("application/json".into()),
            ..Default::default()
        };
        let mut out = BytesMut::new();
        let p = OutPublish {
            topic: "lamp/set_config",
            payload: Bytes::from_static(b"{}"),
            qos: 1,
            retain: true,
            pkid: 7,
            properties: Some(&props),
        };
        publish(v, &p, &mut out).expect("encodes");
        assert_eq!(out[0], 0x30 | 0x02 | 0x01, "PUBLISH, QoS 1, retain");
    }
}

#[test]
fn decodes_what_a_broker_sends_in_pieces() {
    // PUBLISH encoded by the same codec, as a broker would forward it.
    let mut wire = BytesMut::new();
    let p = OutPublish {
        topic: "t",
        payload: Bytes::from_static(b"hello"),
        qos: 1,
        retain: false,
        pkid: 3,
        properties: None,
    };
    publish(Version::V311, &p, &mut wire).expect("encodes");
    ack(Version::V311, Ack::PubAck, 9, &mut wire);
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for byte in wire.iter() {
        buf.extend_from_slice(&[*byte]);
        while let Some(packet) = decode(Version::V311, &mut buf).expect("valid") {
            got.push(packet);
        }
    }
    assert_eq!(got.len(), 2);
    let Incoming::Publish(m) = &got[0] else {
        panic!("publish first")
    };
    assert_eq!(
        (m.topic.as_str(), &m.payload[..], m.qos, m.pkid),
        ("t", &b"hello"[..], 1, 3)
    );
    assert_eq!(got[1], Incoming::Ack(Ack::PubAck, 9, Ok(())));
}

#[test]
fn refusals_are_in_words() {
    let mut buf = BytesMut::from(&[0x20, 0x02, 0x00, 0x05][..]);
    assert_eq!(
        decode(Version::V311, &mut buf),
        Ok(Some(Incoming::ConnAck(Err("not authorized (5)".into()))))
    );
    let mut junk = BytesMut::from(&[0xF0, 0x00][..]);
    assert!(decode(Version::V311, &mut junk).is_err());
}

#[test]
fn mqtt5_user_properties_come_through() {
    let props = Properties {
        user_properties: vec![("cicada".into(), "1:2:3".into())],
        ..Default::default()
    };
    let mut wire = BytesMut::new();
    let p = OutPublish {
        topic: "t",
        payload: Bytes::new(),
        qos: 0,
        retain: false,
        pkid: 0,
        properties: Some(&props),
    };
    publish(Version::V5, &p, &mut wire).expect("encodes");
    let Some(Incoming::Publish(m)) = decode(Version::V5, &mut wire).expect("valid") else {
        panic!("publish")
    };
    assert_eq!(
        m.user_properties,
        vec![("cicada".to_string(), "1:2:3".to_string())]
    );
}

#[test]
fn an_mqtt5_connack_carries_the_receive_maximum() {
    // CONNACK, success, properties: Receive Maximum (0x21) = 20.
    let mut buf = BytesMut::from(&[0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x14][..]);
    assert_eq!(
        decode(Version::V5, &mut buf),
        Ok(Some(Incoming::ConnAck(Ok(Some(20)))))
    );
    let mut v4 = BytesMut::from(&[0x20, 0x02, 0x00, 0x00][..]);
    assert_eq!(
        decode(Version::V311, &mut v4),
        Ok(Some(Incoming::ConnAck(Ok(None))))
    );
}
