//! Where the queue keeps its items, as given by `--database`: an embedded
//! SQLite file (the default, nothing to install), SQLite in memory (tests),
//! or a PostgreSQL server (seed 002's original backend).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The default SQLite file, in the current directory.
pub const DEFAULT_SQLITE_FILE: &str = "cicada-queue.db";
/// The default table name: prefixed so it cannot clash with the tables of
/// an application sharing the PostgreSQL database.
pub const DEFAULT_TABLE: &str = "cicada_queue_items";

/// The forms `--database` accepts, quoted in every parse error.
const FORMS: &str =
    "expected sqlite:PATH, sqlite://PATH, sqlite::memory:, a file path, or postgres://USER@HOST:PORT/DB";

/// A parsed `--database`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file, created if missing.
    SqliteFile(PathBuf),
    /// SQLite in memory: gone when the target stops (tests, throwaway runs).
    SqliteMemory,
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Default for Database {
    /// [`DEFAULT_SQLITE_FILE`] in the current directory.
    fn default() -> Self {
        Database::SqliteFile(PathBuf::from(DEFAULT_SQLITE_FILE))
    }
}

/// A `--database` value that is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--database '{input}': {FORMS}")]
pub struct DatabaseError {
    /// The value as given.
    pub input: String,
}

impl FromStr for Database {
    type Err = DatabaseError;

    /// Parses the forms people type: a bare path is an SQLite file, any
    /// other URL scheme is refused rather than guessed at.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = || DatabaseError {
            input: input.to_string(),
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(err());
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Database::Postgres(s.to_string()));
        }
        if matches!(s, "sqlite::memory:" | ":memory:" | "sqlite://:memory:") {
            return Ok(Database::SqliteMemory);
        }
        let path = if let Some(rest) = s.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = s.strip_prefix("sqlite:") {
            rest
        } else if s.contains("://") {
            return Err(err());
        } else {
            s
        };
        // sqlx's own `?mode=rwc` style options are not supported: the file
        // is always created if missing.
        if path.is_empty() || path.contains('?') {
            return Err(err());
        }
        Ok(Database::SqliteFile(PathBuf::from(path)))
    }
}

impl fmt::Display for Database {
    /// The database as shown on the target's first line and in errors, with
    /// any PostgreSQL password hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::SqliteFile(path) => write!(f, "sqlite:{}", path.display()),
            Database::SqliteMemory => f.write_str("sqlite::memory:"),
            Database::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// `url` with the password between `user:` and `@` replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Checks a table name: a lowercase SQL identifier short enough that the
/// index names derived from it stay under PostgreSQL's 63-byte limit. It is
/// spliced into SQL text, so nothing else may pass.
pub fn table_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && name.len() <= 48 {
        Ok(())
    } else {
        Err(format!(
            "invalid table name '{name}': expected 1 to 48 characters of a-z, 0-9 and '_', not starting with a digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Database {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn sqlite_forms() {
        let file = |p: &str| Database::SqliteFile(PathBuf::from(p));
        assert_eq!(parse("cicada-queue.db"), file("cicada-queue.db"));
        assert_eq!(parse("sqlite:q.db"), file("q.db"));
        assert_eq!(parse("sqlite://q.db"), file("q.db"));
        assert_eq!(parse("sqlite:///tmp/q.db"), file("/tmp/q.db"));
        assert_eq!(
            parse("/tmp/dir with space/q.db"),
            file("/tmp/dir with space/q.db")
        );
        assert_eq!(parse("sqlite::memory:"), Database::SqliteMemory);
        assert_eq!(parse(":memory:"), Database::SqliteMemory);
        assert_eq!(Database::default(), file(DEFAULT_SQLITE_FILE));
    }

    #[test]
    fn postgres_forms() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        assert_eq!(parse(url), Database::Postgres(url.to_string()));
        assert!(matches!(parse("postgresql://h/db"), Database::Postgres(_)));
    }

    #[test]
    fn other_forms_are_refused_with_the_accepted_ones() {
        for bad in [
            "",
            "  ",
            "mysql://h/db",
            "sqlite:",
            "sqlite://",
            "sqlite:q.db?mode=ro",
        ] {
            let err = bad.parse::<Database>().expect_err(bad).to_string();
            assert!(err.starts_with("--database"), "{err}");
            assert!(err.contains("postgres://"), "{err}");
        }
    }

    #[test]
    fn display_hides_passwords() {
        assert_eq!(
            parse("postgres://app:s3cret@db:5432/q").to_string(),
            "postgres://app:***@db:5432/q"
        );
        assert_eq!(
            parse("postgres://app@db/q").to_string(),
            "postgres://app@db/q"
        );
        assert_eq!(parse("q.db").to_string(), "sqlite:q.db");
    }

    #[test]
    fn table_names() {
        assert!(table_name(DEFAULT_TABLE).is_ok());
        assert!(table_name("t_1").is_ok());
        for bad in ["", "1t", "T", "a-b", "a;drop", &"x".repeat(49)] {
            assert!(table_name(bad).is_err(), "{bad}");
        }
    }
}
