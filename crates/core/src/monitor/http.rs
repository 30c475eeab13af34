//! The HTTP JSON gauge: `GET` a URL, take the number at a JSON path (a
//! queue's depth from `/queues/q1/stats`). It uses the load's own HTTP
//! client over one kept-alive connection, so sampling every second costs
//! one request, not a connection.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, HOST};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::Value;
use serde_json_path::JsonPath;

use super::spec::HttpGauge;
use crate::metrics::Recorder;
use crate::protocols::http::{encode_request, ClientSettings, Keep, Session};

/// Reads one [`HttpGauge`] again and again over the same connection.
pub(super) struct HttpProbe {
    gauge: HttpGauge,
    session: Session,
    /// The encoded request, the same every time.
    request: Vec<u8>,
}

impl HttpProbe {
    /// A probe with no connection open yet.
    pub fn new(gauge: HttpGauge, settings: Arc<ClientSettings>) -> HttpProbe {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, gauge.origin.host_header());
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let mut request = Vec::new();
        encode_request(&mut request, &Method::GET, &gauge.target, &headers, &[]);
        // The session's connect counts go nowhere: the monitor is not load.
        let recorder = Rc::new(RefCell::new(Recorder::new(0)));
        HttpProbe {
            gauge,
            session: Session::new(settings, recorder),
            request,
        }
    }

    /// One reading within `timeout`, or why there is none.
    pub async fn sample(&mut self, timeout: Duration) -> Result<f64, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let keep = Keep {
            body: true,
            headers: false,
        };
        let response = self
            .session
            .send(
                &self.gauge.origin,
                &self.request,
                &Method::GET,
                keep,
                deadline,
            )
            .await
            .map_err(|f| f.to_string())?;
        if !response.status.is_success() {
            return Err(format!("HTTP {}", response.status.as_u16()));
        }
        let doc: Value = serde_json::from_slice(&response.body)
            .map_err(|e| format!("the response is not JSON: {e}"))?;
        extract(&self.gauge.json, &self.gauge.json_text, &doc)
    }
}

/// The number `path` selects in `doc`. Several matches are summed (`$.*`
/// over a depth per priority gives the total); a numeric string counts as
/// its number, `true`/`false` as 1/0.
pub(super) fn extract(path: &JsonPath, text: &str, doc: &Value) -> Result<f64, String> {
    let nodes = path.query(doc).all();
    if nodes.is_empty() {
        return Err(format!("nothing at {text}"));
    }
    let mut sum = 0.0;
    for node in nodes {
        sum += match node {
            Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("{text} is the text '{s}', not a number"))?,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Null => return Err(format!("{text} is null")),
            Value::Array(_) => return Err(format!("{text} is an array, not a number")),
            Value::Object(_) => return Err(format!("{text} is an object, not a number")),
        };
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(path: &str, doc: &Value) -> Result<f64, String> {
        extract(&JsonPath::parse(path).expect("valid"), path, doc)
    }

    #[test]
    fn numbers_are_taken_at_the_path() {
        let doc = json!({"depth": 42, "by_priority": {"0": 10, "1": 30, "2": 2}, "rate": "1.5",
                         "up": true, "none": null, "list": [1], "obj": {}});
        assert_eq!(at("$.depth", &doc), Ok(42.0));
        assert_eq!(at("$.by_priority.*", &doc), Ok(42.0));
        assert_eq!(at("$.rate", &doc), Ok(1.5));
        assert_eq!(at("$.up", &doc), Ok(1.0));
        assert_eq!(at("$", &json!(7)), Ok(7.0));
    }

    #[test]
    fn what_is_not_a_number_says_so() {
        let doc = json!({"none": null, "list": [1], "obj": {}, "word": "many"});
        assert_eq!(at("$.missing", &doc), Err("nothing at $.missing".into()));
        assert_eq!(at("$.none", &doc), Err("$.none is null".into()));
        assert_eq!(
            at("$.list", &doc),
            Err("$.list is an array, not a number".into())
        );
        assert_eq!(
            at("$.obj", &doc),
            Err("$.obj is an object, not a number".into())
        );
        assert_eq!(
            at("$.word", &doc),
            Err("$.word is the text 'many', not a number".into())
        );
    }
}
