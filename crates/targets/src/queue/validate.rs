//! Request validation for the queue target, as seed 002's S7 scenarios want
//! it: every malformed request is refused with a 400 whose JSON names the
//! offending field, before anything is written.
//!
//! Bodies are parsed here from raw bytes rather than by axum's `Json`
//! extractor, whose rejections are 415/422 with a plain-text body. Items are
//! kept as the exact JSON text the client sent ([`RawValue`]), so a popped
//! item is byte for byte the pushed one and is never re-serialized.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

/// Highest (numerically largest) priority; 0 is served first.
pub const MAX_PRIORITY: i32 = 9;
/// Priority of an MQTT message that is a bare object without a `priority`
/// field (see `parse_message`).
pub const DEFAULT_MQTT_PRIORITY: i32 = 5;
/// Most items one pop or lease may ask for (seed 002's limit).
pub const MAX_DEPTH: i64 = 100;
/// Most items one `push_batch` may carry: enough for fast prepopulation,
/// small enough that one transaction stays short.
pub const MAX_BATCH: usize = 10_000;
/// Longest lease: past an hour a "dead consumer" is no longer detected.
pub const MAX_TTL: Duration = Duration::from_secs(3600);
/// Lease duration when `ttl` is not given.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// Longest queue id, so ids stay usable as MQTT topic levels and file names.
pub const MAX_QUEUE_ID: usize = 128;

/// A refused request: what was wrong and which field, shown to the client
/// as `{"error": …, "field": …}` with status 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The field at fault, e.g. `priority` or `items[3].item`.
    pub field: String,
    /// What was wrong, in words, naming the accepted values.
    pub error: String,
}

impl Invalid {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, error: impl Into<String>) -> Invalid {
        Invalid {
            field: field.into(),
            error: error.into(),
        }
    }

    /// The same error about a field nested under `prefix` (batch entries).
    fn within(self, prefix: &str) -> Invalid {
        Invalid {
            field: format!("{prefix}.{}", self.field),
            error: format!("{prefix}: {}", self.error),
        }
    }
}

impl fmt::Display for Invalid {
    /// The message as logged for rejected MQTT messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (field {})", self.error, self.field)
    }
}

/// One item to store: its exact JSON text (an object) and its priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// The item's JSON text, as sent.
    pub item: String,
    /// 0 (served first) ..= 9.
    pub priority: i32,
}

/// Checks a queue id: 1..=128 characters of `[A-Za-z0-9_.:-]`, so ids are
/// safe in URLs, topics and logs.
pub fn queue_id(id: &str) -> Result<(), Invalid> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
    if id.is_empty() || id.len() > MAX_QUEUE_ID || !id.chars().all(ok_char) {
        return Err(Invalid::new(
            "queue",
            format!(
                "invalid queue id '{}': expected 1 to {MAX_QUEUE_ID} characters of A-Z, a-z, 0-9, '_', '.', ':' or '-'",
                truncate(id)
            ),
        ));
    }
    Ok(())
}

/// Shortens what the client sent before echoing it in an error.
fn truncate(s: &str) -> String {
    if s.chars().count() <= 64 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(64).collect::<String>())
    }
}

/// Parses the body as JSON, telling unparsable text apart from JSON of the
/// wrong shape (both are the `body` field's fault).
fn json<'a, T: serde::Deserialize<'a>>(body: &'a [u8], expected: &str) -> Result<T, Invalid> {
    serde_json::from_slice(body).map_err(|e| {
        if serde_json::from_slice::<IgnoredAny>(body).is_ok() {
            Invalid::new("body", format!("the body must be {expected}"))
        } else if body.iter().all(u8::is_ascii_whitespace) {
            Invalid::new("body", format!("the body is empty: expected {expected}"))
        } else {
            Invalid::new("body", format!("the body is not valid JSON: {e}"))
        }
    })
}

/// The fields of one push body, each still raw.
type Fields<'a> = HashMap<String, &'a RawValue>;

/// Body of `POST /queues/{id}/push`: `{"item": {…}, "priority": 0..=9}`.
pub fn push_body(body: &[u8]) -> Result<NewItem, Invalid> {
    let fields: Fields = json(
        body,
        r#"a JSON object such as {"item": {…}, "priority": 0}"#,
    )?;
    entry(&fields)
}

/// One `{"item", "priority"}` object, both fields required.
fn entry(fields: &Fields) -> Result<NewItem, Invalid> {
    let item = fields
        .get("item")
        .ok_or_else(|| Invalid::new("item", "missing field 'item': expected a JSON object"))?;
    let item = object(item)?;
    let priority = fields.get("priority").ok_or_else(|| {
        Invalid::new(
            "priority",
            format!("missing field 'priority': expected an integer from 0 to {MAX_PRIORITY}"),
        )
    })?;
    Ok(NewItem {
        item,
        priority: priority_value(priority)?,
    })
}

/// The item's text if it is a JSON object.
fn object(raw: &RawValue) -> Result<String, Invalid> {
    let text = raw.get().trim();
    if text.starts_with('{') {
        Ok(text.to_string())
    } else {
        Err(Invalid::new(
            "item",
            format!(
                "'item' must be a JSON object, got {}",
                kind(text).unwrap_or("something else")
            ),
        ))
    }
}

/// What kind of JSON value `text` is, for error messages.
fn kind(text: &str) -> Option<&'static str> {
    Some(match text.as_bytes().first()? {
        b'[' => "an array",
        b'"' => "a string",
        b'n' => "null",
        b't' | b'f' => "a boolean",
        b'{' => "an object",
        _ => "a number",
    })
}

/// A priority: an integer from 0 to 9 (`1.0`, `"1"`, `-1` and `10` are not).
fn priority_value(raw: &RawValue) -> Result<i32, Invalid> {
    let text = raw.get().trim();
    let expected = format!("'priority' must be an integer from 0 to {MAX_PRIORITY}, got {text}");
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Number(n)) => match n.as_i64() {
            Some(p) if (0..=i64::from(MAX_PRIORITY)).contains(&p) => Ok(p as i32),
            _ => Err(Invalid::new("priority", expected)),
        },
        _ => Err(Invalid::new("priority", expected)),
    }
}

/// Body of `POST /queues/{id}/push_batch`: `{"items": [entry, …]}` or a bare
/// list of entries, 1 to [`MAX_BATCH`] of them, every one valid.
pub fn batch_body(body: &[u8]) -> Result<Vec<NewItem>, Invalid> {
    let expected = r#"{"items": [{"item": {…}, "priority": 0}, …]} or a JSON list of such entries"#;
    let trimmed = body.trim_ascii_start();
    let entries: Vec<Fields> = if trimmed.starts_with(b"[") {
        json::<Vec<&RawValue>>(body, expected)?
            .into_iter()
            .enumerate()
            .map(|(i, raw)| batch_entry(i, raw))
            .collect::<Result<_, _>>()?
    } else {
        let fields: Fields = json(body, expected)?;
        let items: &RawValue = fields.get("items").copied().ok_or_else(|| {
            Invalid::new(
                "items",
                format!("missing field 'items': expected {expected}"),
            )
        })?;
        let list: Vec<&RawValue> = serde_json::from_str(items.get())
            .map_err(|_| Invalid::new("items", "'items' must be a JSON list of entries"))?;
        list.into_iter()
            .enumerate()
            .map(|(i, raw)| batch_entry(i, raw))
            .collect::<Result<_, _>>()?
    };
    if entries.is_empty() || entries.len() > MAX_BATCH {
        return Err(Invalid::new(
            "items",
            format!(
                "a batch holds 1 to {MAX_BATCH} items, got {}",
                entries.len()
            ),
        ));
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, fields)| entry(fields).map_err(|e| e.within(&format!("items[{i}]"))))
        .collect()
}

/// Entry `i` of a batch as fields, or an error naming its index.
fn batch_entry(i: usize, raw: &RawValue) -> Result<Fields<'_>, Invalid> {
    serde_json::from_str(raw.get()).map_err(|_| {
        Invalid::new(
            format!("items[{i}]"),
            format!("items[{i}] must be an object such as {{\"item\": {{…}}, \"priority\": 0}}"),
        )
    })
}

/// An MQTT message's payload. Either the push body (`{"item": {…},
/// "priority": p}`, both required as over HTTP), or, when the object has
/// no `item` field, the whole object is the item and its priority is its
/// own `priority` field if present (0..=9) or [`DEFAULT_MQTT_PRIORITY`]:
/// devices then publish their plain readings without an envelope.
pub fn parse_message(payload: &[u8]) -> Result<NewItem, Invalid> {
    let fields: Fields = json(payload, "a JSON object")?;
    if fields.contains_key("item") {
        return entry(&fields);
    }
    let priority = match fields.get("priority") {
        Some(raw) => priority_value(raw)?,
        None => DEFAULT_MQTT_PRIORITY,
    };
    let text = std::str::from_utf8(payload)
        .map_err(|_| Invalid::new("body", "the payload is not UTF-8"))?
        .trim();
    Ok(NewItem {
        item: text.to_string(),
        priority,
    })
}

/// The query parameter `depth`: 1 to [`MAX_DEPTH`], default 1.
pub fn depth(value: Option<&str>) -> Result<i64, Invalid> {
    let Some(value) = value else { return Ok(1) };
    match value.trim().parse::<i64>() {
        Ok(d) if (1..=MAX_DEPTH).contains(&d) => Ok(d),
        _ => Err(Invalid::new(
            "depth",
            format!(
                "'depth' must be an integer from 1 to {MAX_DEPTH}, got '{}'",
                truncate(value)
            ),
        )),
    }
}

/// The query parameter `ttl` of a lease: `500ms`, `1s`, `30s`, `2m`, `1h`
/// (also `1.5s`); more than zero and at most [`MAX_TTL`]; default
/// [`DEFAULT_TTL`].
pub fn ttl(value: Option<&str>) -> Result<Duration, Invalid> {
    let Some(value) = value else {
        return Ok(DEFAULT_TTL);
    };
    match duration(value) {
        Some(d) if !d.is_zero() && d <= MAX_TTL => Ok(d),
        _ => Err(Invalid::new(
            "ttl",
            format!(
                "'ttl' must be a duration such as 500ms, 30s or 2m, more than 0 and at most 1h, got '{}'",
                truncate(value)
            ),
        )),
    }
}

/// A duration written `<number><unit>` with unit `ms`, `s`, `m` or `h`
/// (the target does not depend on the engine's richer parser).
pub fn duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// A lease id in a path: a UUID, as the target hands out.
pub fn lease_id(id: &str) -> Result<uuid::Uuid, Invalid> {
    uuid::Uuid::parse_str(id).map_err(|_| {
        Invalid::new(
            "lease",
            format!(
                "invalid lease id '{}': expected a UUID as returned by /lease",
                truncate(id)
            ),
        )
    })
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
