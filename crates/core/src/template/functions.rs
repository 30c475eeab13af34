//! The functions a scenario's templates can call: `uuid()`,
//! `random_int(a, b)`, `random_float(a, b)`, `choice(list)`, `now_ms()`.

use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};

/// Names of the functions registered on the template environment, for validation.
pub const NAMES: [&str; 5] = ["uuid", "random_int", "random_float", "choice", "now_ms"];

/// Registers cicada's template functions on `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("uuid", uuid);
    env.add_function("random_int", random_int);
    env.add_function("random_float", random_float);
    env.add_function("choice", choice);
    env.add_function("now_ms", now_ms);
}

/// A random (v4) UUID, e.g. for unique message ids.
fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random integer in `a..=b`.
fn random_int(a: i64, b: i64) -> Result<i64, Error> {
    if a > b {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("random_int({a}, {b}): the lower bound is above the upper bound"),
        ));
    }
    Ok(fastrand::i64(a..=b))
}

/// A random float in `a..b`.
fn random_float(a: f64, b: f64) -> Result<f64, Error> {
    if a.is_nan() || b.is_nan() || a > b {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("random_float({a}, {b}): the lower bound is above the upper bound"),
        ));
    }
    Ok(a + fastrand::f64() * (b - a))
}

/// One element of a list, chosen uniformly.
fn choice(items: Vec<Value>) -> Result<Value, Error> {
    if items.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "choice(): the list is empty",
        ));
    }
    Ok(items[fastrand::usize(..items.len())].clone())
}

/// Milliseconds since the Unix epoch, e.g. to stamp a message.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        register(&mut env);
        env
    }

    fn render(src: &str) -> Result<String, Error> {
        env().render_str(src, ())
    }

    #[test]
    fn uuid_is_a_fresh_v4_each_time() {
        let a = render("{{ uuid() }}").expect("renders");
        let b = render("{{ uuid() }}").expect("renders");
        assert_eq!(a.len(), 36);
        assert_ne!(a, b);
    }

    #[test]
    fn random_numbers_stay_in_bounds() {
        for _ in 0..200 {
            let n: i64 = render("{{ random_int(3, 5) }}")
                .expect("renders")
                .parse()
                .expect("int");
            assert!((3..=5).contains(&n));
            let f: f64 = render("{{ random_float(0.5, 1.0) }}")
                .expect("renders")
                .parse()
                .expect("float");
            assert!((0.5..1.0).contains(&f));
        }
        assert!(render("{{ random_int(5, 3) }}").is_err());
    }

    #[test]
    fn choice_picks_from_the_list() {
        for _ in 0..50 {
            let c = render("{{ choice(['a', 'b']) }}").expect("renders");
            assert!(c == "a" || c == "b");
        }
        let e = render("{{ choice([]) }}").expect_err("empty list");
        assert!(e.to_string().contains("empty"), "{e}");
    }

    #[test]
    fn now_ms_is_recent() {
        let n: u64 = render("{{ now_ms() }}")
            .expect("renders")
            .parse()
            .expect("int");
        assert!(n > 1_600_000_000_000);
    }
}
