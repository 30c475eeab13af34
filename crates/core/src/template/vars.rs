//! A user's variables as templates see them: `user_id`, `iteration`, the
//! scenario's `vars`, the current `data:` row, and what `extract`/`set`
//! stored. Exposed to minijinja as an object, so rendering builds no map.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};

/// One row of a `data:` file: column names shared by all rows.
#[derive(Clone, Debug)]
pub struct Row {
    /// Column names from the file's header.
    pub columns: Arc<[String]>,
    /// The row's values, one per column.
    pub values: Arc<[Value]>,
}

/// The variables of one user. Held in an `Arc` so that rendering passes it
/// to minijinja without copying; mutated through `Arc::make_mut` between
/// renders, when no other reference exists.
#[derive(Clone, Debug)]
pub struct Vars {
    /// The user's number, from 0, unique in the run.
    pub user_id: u64,
    /// The user's iteration count, from 0.
    pub iteration: u64,
    globals: Arc<Vec<(String, Value)>>,
    row: Option<Row>,
    locals: Vec<(String, Value)>,
}

/// Names every template can use without declaring them.
pub const BUILTIN_NAMES: [&str; 2] = ["user_id", "iteration"];

impl Vars {
    /// Fresh variables for user `user_id`, seeing the scenario's `globals`.
    pub fn new(user_id: u64, globals: Arc<Vec<(String, Value)>>) -> Self {
        Vars {
            user_id,
            iteration: 0,
            globals,
            row: None,
            locals: Vec::new(),
        }
    }

    /// Stores `value` under `name` (from `extract` or `set`).
    pub fn set(&mut self, name: &str, value: Value) {
        match self.locals.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => self.locals.push((name.to_string(), value)),
        }
    }

    /// Makes `row` the current data row.
    pub fn set_row(&mut self, row: Row) {
        self.row = Some(row);
    }

    /// Looks a variable up: locals, then the data row, then the scenario's
    /// vars, then the built-ins.
    pub fn get(&self, name: &str) -> Option<Value> {
        if let Some((_, v)) = self.locals.iter().find(|(n, _)| n == name) {
            return Some(v.clone());
        }
        if let Some(row) = &self.row {
            if let Some(i) = row.columns.iter().position(|c| c == name) {
                return row.values.get(i).cloned();
            }
        }
        if let Some((_, v)) = self.globals.iter().find(|(n, _)| n == name) {
            return Some(v.clone());
        }
        match name {
            "user_id" => Some(Value::from(self.user_id)),
            "iteration" => Some(Value::from(self.iteration)),
            _ => None,
        }
    }
}

impl Object for Vars {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names: Vec<Value> = self
            .locals
            .iter()
            .map(|(n, _)| Value::from(n.as_str()))
            .collect();
        if let Some(row) = &self.row {
            names.extend(row.columns.iter().map(|c| Value::from(c.as_str())));
        }
        names.extend(self.globals.iter().map(|(n, _)| Value::from(n.as_str())));
        names.extend(BUILTIN_NAMES.iter().map(|n| Value::from(*n)));
        Enumerator::Values(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_order_locals_row_globals_builtins() {
        let globals = Arc::new(vec![
            ("host_name".to_string(), Value::from("g")),
            ("shadowed".to_string(), Value::from("global")),
        ]);
        let mut v = Vars::new(7, globals);
        v.set_row(Row {
            columns: Arc::from(vec!["login".to_string(), "shadowed".to_string()]),
            values: Arc::from(vec![Value::from("ann"), Value::from("row")]),
        });
        assert_eq!(v.get("shadowed"), Some(Value::from("row")));
        v.set("shadowed", Value::from("local"));
        assert_eq!(v.get("shadowed"), Some(Value::from("local")));
        assert_eq!(v.get("login"), Some(Value::from("ann")));
        assert_eq!(v.get("host_name"), Some(Value::from("g")));
        assert_eq!(v.get("user_id"), Some(Value::from(7u64)));
        assert_eq!(v.get("missing"), None);
    }

    #[test]
    fn set_overwrites() {
        let mut v = Vars::new(0, Arc::new(Vec::new()));
        v.set("x", Value::from(1));
        v.set("x", Value::from(2));
        assert_eq!(v.get("x"), Some(Value::from(2)));
    }
}
