//! `data:` files: a CSV with a header row whose columns become template
//! variables, one row per iteration, round-robin across all users or random.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use minijinja::Value;

use super::raw::{DataOrder, DataPer};
use crate::template::Row;

/// The rows of a data file.
#[derive(Debug)]
pub struct DataSource {
    columns: Arc<[String]>,
    rows: Vec<Arc<[Value]>>,
    order: DataOrder,
    per: DataPer,
    next: AtomicUsize,
}

impl DataSource {
    /// Reads a CSV file; its header names the columns.
    pub fn load(path: &Path, order: DataOrder, per: DataPer) -> Result<DataSource, String> {
        let mut reader = csv::Reader::from_path(path)
            .map_err(|e| format!("cannot read data file {}: {e}", path.display()))?;
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| format!("data file {}: {e}", path.display()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if let Some(bad) = columns.iter().find(|c| !is_identifier(c)) {
            return Err(format!(
                "data file {}: column '{bad}' is not a variable name (letters, digits, _)",
                path.display()
            ));
        }
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record =
                record.map_err(|e| format!("data file {}: row {}: {e}", path.display(), i + 2))?;
            let values: Vec<Value> = record.iter().map(Value::from).collect();
            rows.push(Arc::from(values));
        }
        if rows.is_empty() {
            return Err(format!(
                "data file {} has a header but no rows",
                path.display()
            ));
        }
        Ok(DataSource {
            columns: Arc::from(columns),
            rows,
            order,
            per,
            next: AtomicUsize::new(0),
        })
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// True when each iteration takes a new row.
    pub fn per_iteration(&self) -> bool {
        self.per == DataPer::Iteration
    }

    /// The columns of a data file, read from its header alone (to know the
    /// variables when the rows are broken).
    pub fn header(path: &Path) -> Option<Vec<String>> {
        let mut reader = csv::Reader::from_path(path).ok()?;
        Some(
            reader
                .headers()
                .ok()?
                .iter()
                .map(|h| h.trim().to_string())
                .collect(),
        )
    }

    /// The next row.
    pub fn next_row(&self) -> Row {
        let i = match self.order {
            DataOrder::RoundRobin => self.next.fetch_add(1, Ordering::Relaxed) % self.rows.len(),
            DataOrder::Random => fastrand::usize(..self.rows.len()),
        };
        Row {
            columns: self.columns.clone(),
            values: self.rows[i].clone(),
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        f
    }

    #[test]
    fn round_robin_wraps() {
        let f = file("login,pin\nann,1\nbob,2\n");
        let d =
            DataSource::load(f.path(), DataOrder::RoundRobin, DataPer::Iteration).expect("loads");
        assert_eq!(d.columns(), ["login", "pin"]);
        let logins: Vec<String> = (0..3).map(|_| d.next_row().values[0].to_string()).collect();
        assert_eq!(logins, ["ann", "bob", "ann"]);
    }

    #[test]
    fn bad_files_are_explained() {
        let e = DataSource::load(
            Path::new("/nonexistent.csv"),
            DataOrder::Random,
            DataPer::User,
        )
        .expect_err("missing");
        assert!(e.contains("cannot read data file"), "{e}");
        let f = file("user name\nx\n");
        let e =
            DataSource::load(f.path(), DataOrder::Random, DataPer::User).expect_err("bad column");
        assert!(e.contains("not a variable name"), "{e}");
        let f = file("a,b\n");
        let e = DataSource::load(f.path(), DataOrder::Random, DataPer::User).expect_err("empty");
        assert!(e.contains("no rows"), "{e}");
    }
}
