//! Human units on the command line and in scenario files: `30s`, `1m30s`,
//! `500ms`, `10k`, `2000/s`, `1KB`.
//!
//! Written by hand because no maintained crate accepts the same forms for
//! every kind of quantity (humantime has no fractions and no rates), and the
//! error messages must say what was expected.

use std::time::Duration;

/// A value the user typed that is not a duration, count, rate or size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{input}': expected {expected}")]
pub struct UnitError {
    /// Which kind of quantity was expected ("duration", "rate", ...).
    pub what: &'static str,
    /// The text as the user wrote it.
    pub input: String,
    /// Examples of accepted forms.
    pub expected: &'static str,
}

const DURATION_FORMS: &str = "a number with a unit, e.g. 250ms, 2s, 1.5m, 1m30s, 1h, at most 365d";

/// The longest duration accepted: a year is longer than any load test, and
/// the bound keeps every `Instant + duration` far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);
const RATE_FORMS: &str = "a rate such as 200, 200/s, 6000/m, 2k/s";
const COUNT_FORMS: &str = "a whole number such as 50, 10k, 1.5m, 10_000";
const SIZE_FORMS: &str = "a size such as 512, 100B, 1KB, 1.5MB";

fn error(what: &'static str, input: &str, expected: &'static str) -> UnitError {
    UnitError {
        what,
        input: input.to_string(),
        expected,
    }
}

/// Splits `"12.5ms"` into `(12.5, "ms")`; the number must come first.
fn split_number(s: &str) -> Option<(f64, &str)> {
    let end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .map_or(s.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let digits: String = s[..end].chars().filter(|&c| c != '_').collect();
    let value: f64 = digits.parse().ok()?;
    value.is_finite().then_some((value, &s[end..]))
}

/// Parses a duration: one or more `<number><unit>` parts (`1m30s`), units
/// `us`/`µs`, `ms`, `s`, `m`, `h`, `d`. A bare `0` is accepted.
pub fn parse_duration(input: &str) -> Result<Duration, UnitError> {
    let err = || error("duration", input, DURATION_FORMS);
    let s = input.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(err());
    }
    let mut rest = s;
    let mut total = 0.0_f64;
    while !rest.is_empty() {
        let (value, tail) = split_number(rest).ok_or_else(err)?;
        let unit_len = tail
            .char_indices()
            .find(|&(_, c)| c.is_ascii_digit() || c == '.')
            .map_or(tail.len(), |(i, _)| i);
        let seconds_per_unit = match tail[..unit_len].trim() {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hrs" => 3600.0,
            "d" => 86400.0,
            _ => return Err(err()),
        };
        total += value * seconds_per_unit;
        rest = &tail[unit_len..];
    }
    Duration::try_from_secs_f64(total)
        .ok()
        .filter(|d| *d <= MAX_DURATION)
        .ok_or_else(err)
}

/// Parses a count with an optional `k` (thousand) or `m` (million) suffix.
pub fn parse_count(input: &str) -> Result<u64, UnitError> {
    let err = || error("count", input, COUNT_FORMS);
    let (value, suffix) = split_number(input.trim()).ok_or_else(err)?;
    let scale = match suffix {
        "" => 1.0,
        "k" | "K" => 1e3,
        "m" | "M" => 1e6,
        _ => return Err(err()),
    };
    let n = value * scale;
    if n.fract() != 0.0 || n > u64::MAX as f64 {
        return Err(err());
    }
    Ok(n as u64)
}

/// Parses a rate and returns events per second: `200`, `200/s`, `6000/m`,
/// `2k/s`, `1/h`.
pub fn parse_rate(input: &str) -> Result<f64, UnitError> {
    let err = || error("rate", input, RATE_FORMS);
    let s = input.trim();
    let (amount, per) = match s.split_once('/') {
        Some((a, p)) => (a.trim(), p.trim()),
        None => (s, "s"),
    };
    let (value, suffix) = split_number(amount).ok_or_else(err)?;
    let scale = match suffix {
        "" => 1.0,
        "k" | "K" => 1e3,
        _ => return Err(err()),
    };
    let seconds = match per {
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" | "hr" => 3600.0,
        _ => return Err(err()),
    };
    Ok(value * scale / seconds)
}

/// Parses a byte size: `512`, `100B`, `1KB` (1024), `1.5MB`.
pub fn parse_size(input: &str) -> Result<u64, UnitError> {
    let err = || error("size", input, SIZE_FORMS);
    let (value, suffix) = split_number(input.trim()).ok_or_else(err)?;
    let scale = match suffix.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" | "KIB" => 1024.0,
        "M" | "MB" | "MIB" => 1024.0 * 1024.0,
        _ => return Err(err()),
    };
    Ok((value * scale).round() as u64)
}

/// Formats a duration for people: `850µs`, `12.3ms`, `4.56s`, `2m05s`.
pub fn format_duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0}µs")
    } else if micros < 100_000.0 {
        format!("{:.1}ms", micros / 1000.0)
    } else if micros < 1e6 {
        format!("{:.0}ms", micros / 1000.0)
    } else if micros < 60e6 {
        format!("{:.2}s", micros / 1e6)
    } else {
        let secs = d.as_secs();
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

/// Formats milliseconds compactly for tables: `0.21`, `12.3`, `1534`.
pub fn format_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("100us"), Ok(Duration::from_micros(100)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 5s "), Ok(Duration::from_secs(5)));
    }

    #[test]
    fn bad_durations_say_what_was_expected() {
        for bad in [
            "",
            "5",
            "s",
            "5x",
            "-1s",
            "1.2.3s",
            "ms5",
            "366d",
            "200000000000000d",
        ] {
            let e = parse_duration(bad).expect_err(bad);
            assert!(e.to_string().contains("invalid duration"), "{e}");
            assert!(e.to_string().contains("250ms"), "{e}");
        }
    }

    #[test]
    fn counts_with_suffixes() {
        assert_eq!(parse_count("50"), Ok(50));
        assert_eq!(parse_count("10k"), Ok(10_000));
        assert_eq!(parse_count("1.5m"), Ok(1_500_000));
        assert_eq!(parse_count("10_000"), Ok(10_000));
        assert!(parse_count("1.5").is_err());
        assert!(parse_count("ten").is_err());
        assert!(parse_count("-3").is_err());
    }

    #[test]
    fn rates_per_second() {
        assert_eq!(parse_rate("200"), Ok(200.0));
        assert_eq!(parse_rate("200/s"), Ok(200.0));
        assert_eq!(parse_rate("6000/m"), Ok(100.0));
        assert_eq!(parse_rate("2k/s"), Ok(2000.0));
        assert_eq!(parse_rate("3600/h"), Ok(1.0));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("10/week").is_err());
    }

    #[test]
    fn sizes_in_bytes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("100B"), Ok(100));
        assert_eq!(parse_size("1KB"), Ok(1024));
        assert_eq!(parse_size("1.5MB"), Ok(1_572_864));
        assert!(parse_size("1XB").is_err());
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_micros(850)), "850µs");
        assert_eq!(format_duration(Duration::from_micros(12_300)), "12.3ms");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_millis(4560)), "4.56s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
    }
}
