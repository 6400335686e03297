//! Prometheus duration strings (`30s`, `1m30s`, `500ms`, `1h`), as Prometheus and
//! Alertmanager configs write them, so configs copied from either parse unchanged.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A duration written the Prometheus way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    /// A duration of `ms` milliseconds (usable in `const` defaults).
    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }
    /// A duration of `s` seconds (usable in `const` defaults).
    pub const fn from_secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }
}

/// Why a duration string was refused; the messages are Prometheus' own wording, and
/// each carries the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string is empty (Prometheus refuses it rather than read zero).
    #[error("empty duration string")]
    Empty,
    /// A unit without its number, or a character that is neither.
    #[error("not a valid duration string: {0:?}")]
    Invalid(String),
    /// A number with more digits than fit in 64 bits.
    #[error("number too large in duration {0:?}")]
    NumberTooLarge(String),
    /// A number without a unit, or a unit Prometheus does not know (`1.5s`, `10`).
    #[error("not a valid duration string: {0:?} (unit missing or unknown)")]
    UnitMissing(String),
    /// Units must decrease (`1h30m`, not `30m1h`), each at most once.
    #[error("not a valid duration string: {0:?} (units out of order)")]
    OutOfOrder(String),
    /// The total overflows 64-bit milliseconds.
    #[error("duration {0:?} is too large")]
    TooLarge(String),
}

/// Parses `[0-9]+(y|w|d|h|m|s|ms)` units in decreasing order, like Prometheus'
/// `model.ParseDuration`; `0` alone is allowed.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3600 * 1000),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("ms", 1),
        ("m", 60 * 1000),
        ("s", 1000),
    ];
    // Order in which units may appear (ms comes last).
    const ORDER: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut rest = text;
    let mut total_ms: u64 = 0;
    let mut last_rank: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::Invalid(text.to_string()));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| DurationError::NumberTooLarge(text.to_string()))?;
        rest = &rest[digits..];
        let (unit, factor) = UNITS
            .iter()
            .find(|(unit, _)| rest.starts_with(unit))
            .ok_or_else(|| DurationError::UnitMissing(text.to_string()))?;
        let rank = ORDER.iter().position(|u| u == unit).unwrap_or(0);
        if last_rank.is_some_and(|last| rank <= last) {
            return Err(DurationError::OutOfOrder(text.to_string()));
        }
        last_rank = Some(rank);
        rest = &rest[unit.len()..];
        total_ms = number
            .checked_mul(*factor)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| DurationError::TooLarge(text.to_string()))?;
    }
    Ok(Duration::from_millis(total_ms))
}

impl fmt::Display for PromDuration {
    /// Prometheus' rendering: `0s`, `5m`, `1h30m`, `90d`; years and weeks only when exact.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis() as u64;
        if ms == 0 {
            return f.write_str("0s");
        }
        const DAY: u64 = 24 * 3600 * 1000;
        for (unit, mult, exact) in [
            ("y", 365 * DAY, true),
            ("w", 7 * DAY, true),
            ("d", DAY, false),
            ("h", 3600 * 1000, false),
            ("m", 60 * 1000, false),
            ("s", 1000, false),
            ("ms", 1, false),
        ] {
            if exact && !ms.is_multiple_of(mult) {
                continue;
            }
            let v = ms / mult;
            if v > 0 {
                write!(f, "{v}{unit}")?;
                ms -= v * mult;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = PromDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Prometheus duration such as 10s, 1m30s or 500ms")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_duration(v).map(PromDuration).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                if v == 0 {
                    Ok(PromDuration(Duration::ZERO))
                } else {
                    Err(E::custom(format!(
                        "duration {v} has no unit; write e.g. {v}s"
                    )))
                }
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(
            parse_duration("1h1ms"),
            Ok(Duration::from_millis(3_600_001))
        );
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("1s1m").is_err());
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn renders_like_prometheus() {
        for text in [
            "0s", "30s", "5m", "4h", "1h30m", "90d", "2w", "1y", "1500ms",
        ] {
            let d = PromDuration(parse_duration(text).expect("valid"));
            let expected = if text == "1500ms" { "1s500ms" } else { text };
            assert_eq!(d.to_string(), expected);
        }
    }
}
