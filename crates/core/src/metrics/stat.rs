//! Names of the rows in every report: one per (type, name), fixed before the
//! run starts so the hot path records by index, never by string.

use std::collections::HashMap;

/// Whether a row counts requests (and so enters the `Aggregated` row) or is a
/// measure derived from other requests, such as a `POLL` completion time whose
/// requests already have rows of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// A request the target answered (HTTP request, MQTT publish, ...).
    Request,
    /// A measure over several requests (poll completion, end-to-end, ...).
    Derived,
}

/// One row of the report: the CSV `Type` and `Name` columns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StatKey {
    /// `GET`, `POST`, ... for HTTP; `POLL` for poll completions.
    pub kind: String,
    /// The name the user grouped requests under, e.g. `GET /jobs/[id]`.
    pub name: String,
    /// Whether the row enters the `Aggregated` totals.
    pub row: RowKind,
    /// The QoS of an MQTT publish row.
    pub qos: Option<u8>,
    /// Its successes are errors provoked on purpose (`expected_error`).
    pub expected_error: bool,
}

/// Index of a row in a [`StatTable`]; what the hot path records against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatId(pub u32);

impl StatId {
    /// The index as a `usize` for slices.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Every row a run can produce, interned at plan time.
#[derive(Clone, Debug, Default)]
pub struct StatTable {
    keys: Vec<StatKey>,
    index: HashMap<(String, String), StatId>,
}

impl StatTable {
    /// Returns the id of (kind, name), adding the row on first sight.
    pub fn intern(&mut self, kind: &str, name: &str, row: RowKind) -> StatId {
        if let Some(&id) = self.index.get(&(kind.to_string(), name.to_string())) {
            return id;
        }
        let id = StatId(self.keys.len() as u32);
        self.keys.push(StatKey {
            kind: kind.to_string(),
            name: name.to_string(),
            row,
            qos: None,
            expected_error: false,
        });
        self.index.insert((kind.to_string(), name.to_string()), id);
        id
    }

    /// Marks an MQTT publish row with its QoS (shown in the JSON report).
    pub fn set_qos(&mut self, id: StatId, qos: u8) {
        self.keys[id.index()].qos = Some(qos);
    }

    /// Marks a row whose expected answers are errors provoked on purpose.
    pub fn set_expected_error(&mut self, id: StatId) {
        self.keys[id.index()].expected_error = true;
    }

    /// The key of a row.
    pub fn key(&self, id: StatId) -> &StatKey {
        &self.keys[id.index()]
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no row was declared.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Rows in id order.
    pub fn iter(&self) -> impl Iterator<Item = (StatId, &StatKey)> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, k)| (StatId(i as u32), k))
    }

    /// `Ok` when a threshold may name `name`: a row, or `Aggregated`; else
    /// an error listing the rows there are.
    pub fn check_name(&self, name: &str) -> Result<(), String> {
        if name == "Aggregated" || !self.find(name).is_empty() {
            return Ok(());
        }
        let rows: Vec<String> = self
            .keys
            .iter()
            .map(|k| format!("{} {}", k.kind, k.name))
            .collect();
        Err(format!(
            "no row is named '{name}'; rows: {}",
            if rows.is_empty() {
                "none".to_string()
            } else {
                rows.join(", ")
            }
        ))
    }

    /// Rows whose name is `name`, or whose `"TYPE name"` is `name` (so a
    /// threshold on `"POST /jobs"` finds type `POST`, name `/jobs`).
    /// A name ending in `*` is a prefix: `e2e*` finds every `e2e …` row.
    pub fn find(&self, name: &str) -> Vec<StatId> {
        let matches = |full: &str| match name.strip_suffix('*') {
            Some(prefix) => full.starts_with(prefix),
            None => full == name,
        };
        self.iter()
            .filter(|(_, k)| matches(&k.name) || matches(&format!("{} {}", k.kind, k.name)))
            .map(|(id, _)| id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable() {
        let mut t = StatTable::default();
        let a = t.intern("GET", "/a", RowKind::Request);
        let b = t.intern("POLL", "done", RowKind::Derived);
        assert_eq!(t.intern("GET", "/a", RowKind::Request), a);
        assert_ne!(a, b);
        assert_eq!(t.len(), 2);
        assert_eq!(t.key(b).kind, "POLL");
    }

    #[test]
    fn find_by_name_or_type_and_name() {
        let mut t = StatTable::default();
        let post = t.intern("POST", "/jobs", RowKind::Request);
        let named = t.intern("GET", "GET /jobs/[id]", RowKind::Request);
        assert_eq!(t.find("POST /jobs"), vec![post]);
        assert_eq!(t.find("/jobs"), vec![post]);
        assert_eq!(t.find("GET /jobs/[id]"), vec![named]);
        assert!(t.find("nope").is_empty());
        let e2e = t.intern("MQTT", "e2e lamp/#", RowKind::Derived);
        assert_eq!(t.find("e2e*"), vec![e2e]);
        assert_eq!(t.find("POST*"), vec![post]);
        assert_eq!(t.check_name("Aggregated"), Ok(()));
        assert_eq!(t.check_name("POST /jobs"), Ok(()));
        assert_eq!(
            t.check_name("nope"),
            Err(
                "no row is named 'nope'; rows: POST /jobs, GET GET /jobs/[id], MQTT e2e lamp/#"
                    .into()
            )
        );
    }
}
