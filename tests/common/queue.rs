//! The bundled queue target run as a child process, and the small clients
//! its end-to-end tests drive it with (HTTP over one connection, an MQTT
//! publisher that waits for every PUBACK).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::cicada;

/// `cicada target queue --addr :0 ARGS`, killed on drop.
pub struct QueueTarget {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The first line it printed.
    pub first_line: String,
}

impl QueueTarget {
    pub fn start(args: &[&str]) -> QueueTarget {
        let mut child = cicada()
            .args(["target", "queue", "--addr", ":0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("target starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut first_line = String::new();
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .expect("first line");
        let url = first_line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first_line:?}"))
            .to_string();
        QueueTarget {
            child,
            url,
            first_line,
        }
    }

    /// One request on a fresh connection: status and JSON body.
    pub fn call(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        http(&self.url, method, path, body)
    }

    /// Polls `path` until `ready` holds for its JSON (bounded).
    pub fn wait_for(&self, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, body) = self.call("GET", path, "");
            if ready(&body) {
                return body;
            }
            assert!(Instant::now() < deadline, "{path} never got ready: {body}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for QueueTarget {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 client: one request per connection, JSON answer.
pub fn http(base: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let status: u16 = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let (_, json_text) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no body in {answer:?}"));
    let json = serde_json::from_str(json_text)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {json_text:?}"));
    (status, json)
}

/// Pushes one item and returns its id (asserting the 201).
pub fn push(t: &QueueTarget, queue: &str, item: Value, priority: i64) -> i64 {
    let body = json!({"item": item, "priority": priority}).to_string();
    let (status, answer) = t.call("POST", &format!("/queues/{queue}/push"), &body);
    assert_eq!(status, 201, "{answer}");
    answer["id"].as_i64().expect("id")
}

/// The `items` of a pop or lease answer.
pub fn items(answer: &Value) -> Vec<Value> {
    answer["items"].as_array().expect("items").clone()
}

/// Publishes `{"item": {"n": n}, "priority": n % 10}` for every `n` at
/// QoS 1 to `topic`, returning once the broker acknowledged them all.
pub fn publish(port: u16, topic: &str, numbers: std::ops::Range<usize>) {
    let id = format!("queue-e2e-publisher-{}", numbers.start);
    let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    let total = numbers.len();
    let (client, mut connection) = rumqttc::Client::new(options, total + 10);
    let topic = topic.to_string();
    let publisher = std::thread::spawn(move || {
        for n in numbers {
            let payload = json!({"item": {"n": n}, "priority": n % 10}).to_string();
            client
                .publish(topic.as_str(), rumqttc::QoS::AtLeastOnce, false, payload)
                .expect("queued");
        }
        client
    });
    let mut acked = 0;
    for event in connection.iter() {
        if let rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)) =
            event.expect("publisher connection")
        {
            acked += 1;
        }
        if acked == total {
            break;
        }
    }
    drop(publisher.join().expect("publisher"));
}

/// Pops every item of `queue` and returns their `n`s.
pub fn drain(t: &QueueTarget, queue: &str) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        let (_, popped) = t.call("POST", &format!("/queues/{queue}/pop?depth=100"), "");
        let batch = items(&popped);
        if batch.is_empty() {
            return seen;
        }
        seen.extend(batch.iter().map(|i| i["item"]["n"].as_u64().expect("n")));
    }
}
