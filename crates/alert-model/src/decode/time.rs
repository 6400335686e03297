//! Timestamps in the spellings senders use.

use chrono::{DateTime, NaiveDateTime, Utc};

/// RFC 3339 (`2026-11-23T10:00:00Z`), CloudWatch's `2024-09-09T01:59:07.423+0000`,
/// and Go's `time.Time` default (`2025-03-14 09:26:53.589 +0000 UTC`). Go's zero time
/// (year 1) means unset: `None`.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let parsed = DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            // Go: date, time, numeric offset, zone name (and maybe a monotonic clock
            // reading `m=+0.1`): keep the first three fields.
            let fields: Vec<&str> = text.split_whitespace().take(3).collect();
            if fields.len() == 3 {
                DateTime::parse_from_str(&fields.join(" "), "%Y-%m-%d %H:%M:%S%.f %z")
                    .map(|t| t.with_timezone(&Utc))
                    .ok()
            } else {
                NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                    .ok()
                    .map(|t| t.and_utc())
            }
        })?;
    (parsed.timestamp() > -62_000_000_000).then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling() {
        let want = "2025-03-14T09:26:53.589Z";
        for text in [
            "2025-03-14T09:26:53.589Z",
            "2025-03-14T09:26:53.589+0000",
            "2025-03-14 09:26:53.589 +0000 UTC",
            "2025-03-14 09:26:53.589 +0000 UTC m=+12.5",
            "2025-03-14 10:26:53.589 +0100 CET",
        ] {
            let got =
                parse_time(text).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            assert_eq!(got.as_deref(), Some(want), "{text}");
        }
        assert_eq!(parse_time("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_time("0001-01-01 00:00:00 +0000 UTC"), None);
        assert_eq!(parse_time("yesterday"), None);
    }
}
