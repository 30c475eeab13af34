//! The one latency histogram type: HdrHistogram in microseconds, 1 µs to 1 h,
//! 3 significant digits. Every percentile cicada prints comes from one of
//! these; never from a mean of means or a sampled list.

use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use hdrhistogram::Histogram;

/// Highest trackable value: one hour in microseconds. Longer values saturate.
const MAX_MICROS: u64 = 3_600_000_000;
/// Three significant digits: 0.1 % resolution at every magnitude.
const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency distribution in microseconds.
#[derive(Clone, Debug)]
pub struct Latency(Histogram<u64>);

/// A histogram string that does not decode (bad base64 or bad HDR payload).
#[derive(Debug, thiserror::Error)]
#[error("invalid HDR histogram encoding: {0}")]
pub struct DecodeError(String);

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty histogram with cicada's fixed bounds.
    pub fn new() -> Self {
        // The bounds are constants that hdrhistogram accepts; failure here is
        // a programming error caught by the unit tests, not user input.
        let h = Histogram::new_with_bounds(1, MAX_MICROS, SIGNIFICANT_DIGITS)
            .expect("constant HDR bounds are valid");
        Latency(h)
    }

    /// Records one observation; values beyond one hour saturate at one hour.
    #[inline]
    pub fn record(&mut self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// Records a value already in microseconds.
    #[inline]
    pub fn record_micros(&mut self, micros: u64) {
        self.0.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// Adds every observation of `other` into `self` (lossless merge).
    pub fn merge(&mut self, other: &Latency) {
        // Both sides share the same bounds, so addition cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// Empties the histogram, keeping its allocation.
    pub fn reset(&mut self) {
        self.0.reset();
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at `percentile` (0..=100) in milliseconds; 0 when empty.
    pub fn percentile_ms(&self, percentile: f64) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.0.value_at_percentile(percentile) as f64 / 1000.0
    }

    /// Smallest observation in milliseconds; 0 when empty.
    pub fn min_ms(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.0.min() as f64 / 1000.0
        }
    }

    /// Largest observation in milliseconds; 0 when empty.
    pub fn max_ms(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.0.max() as f64 / 1000.0
        }
    }

    /// Mean in milliseconds; 0 when empty.
    pub fn mean_ms(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.0.mean() / 1000.0
        }
    }

    /// Lossless text form: HdrHistogram V2 + deflate, base64 (the payload of
    /// the HdrHistogram interval log format, readable by every HDR library).
    pub fn encode(&self) -> String {
        let mut bytes = Vec::new();
        // Serializing into a Vec cannot fail for a well-formed histogram.
        let _ = V2DeflateSerializer::new().serialize(&self.0, &mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads the form written by [`Latency::encode`] (or any V2 histogram).
    pub fn decode(text: &str) -> Result<Latency, DecodeError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| DecodeError(e.to_string()))?;
        let decoded: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| DecodeError(format!("{e:?}")))?;
        let mut h = Latency::new();
        h.0.add(&decoded)
            .map_err(|e| DecodeError(format!("{e:?}")))?;
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_three_significant_digits() {
        let mut h = Latency::new();
        for ms in 1..=1000 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.count(), 1000);
        let p50 = h.percentile_ms(50.0);
        assert!((p50 - 500.0).abs() <= 0.5, "{p50}");
        let p99 = h.percentile_ms(99.0);
        assert!((p99 - 990.0).abs() <= 1.0, "{p99}");
        assert!((h.max_ms() - 1000.0).abs() <= 1.0);
        assert!((h.min_ms() - 1.0).abs() <= 0.001);
    }

    #[test]
    fn merge_is_lossless() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        a.record(Duration::from_micros(100));
        b.record(Duration::from_millis(3));
        b.record(Duration::from_millis(3));
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert!((a.max_ms() - 3.0).abs() < 0.01);
    }

    #[test]
    fn saturates_instead_of_failing() {
        let mut h = Latency::new();
        h.record(Duration::from_secs(10 * 3600));
        h.record(Duration::ZERO);
        assert_eq!(h.count(), 2);
        assert!(h.max_ms() >= 3_599_000.0);
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut h = Latency::new();
        for us in [5, 50, 500, 5000, 50_000] {
            h.record_micros(us);
        }
        let text = h.encode();
        assert!(text.starts_with("HISTF"), "V2 deflate cookie: {text}");
        let back = Latency::decode(&text).expect("decodes");
        assert_eq!(back.count(), 5);
        assert_eq!(back.percentile_ms(100.0), h.percentile_ms(100.0));
        assert!(Latency::decode("not base64!").is_err());
        assert!(Latency::decode("aGVsbG8=").is_err());
    }

    #[test]
    fn empty_histogram_reports_zeroes() {
        let h = Latency::new();
        assert_eq!(h.percentile_ms(99.0), 0.0);
        assert_eq!(h.mean_ms(), 0.0);
        assert_eq!(h.max_ms(), 0.0);
    }
}
