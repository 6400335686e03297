//! The invocation event: where this run's configuration comes from. EventBridge
//! schedules pass it as constant input, so one function serves many jobs and intervals
//! (one schedule each); a scheduled event without input falls back to the environment.

use serde_json::Value;

use crate::config::{Config, ConfigError, LoadedConfig};

/// Environment variable naming a config file used when the event names none.
pub const CONFIG_FILE_ENV: &str = "SCRAPER_CONFIG_FILE";
/// Environment variable holding inline config YAML used when the event names none.
pub const CONFIG_ENV: &str = "SCRAPER_CONFIG";

/// Why an event could not be turned into a configuration.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event field {field}: {reason}")]
    Field { field: String, reason: String },
    #[error("no configuration: the event has no config_file or config, and neither {CONFIG_FILE_ENV} nor {CONFIG_ENV} is set")]
    NoConfig,
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Loads the configuration an event asks for.
///
/// Accepted: `{"config_file": "/path.yaml"}`, `{"config": "<yaml>"}`,
/// `{"config": {...}}` (the config as a JSON object), the same inside an EventBridge
/// event's `detail`, or nothing (then the environment variables).
pub fn load_config(event: &Value) -> Result<LoadedConfig, EventError> {
    let candidates = [Some(event), event.get("detail")];
    for source in candidates.into_iter().flatten() {
        if let Some(path) = source.get("config_file") {
            let path = path.as_str().ok_or_else(|| EventError::Field {
                field: "config_file".into(),
                reason: "must be a string (a file path)".into(),
            })?;
            return Ok(Config::from_file(path)?);
        }
        if let Some(config) = source.get("config") {
            return match config {
                Value::String(yaml) => Ok(Config::from_yaml(yaml)?),
                Value::Object(_) => {
                    let text = serde_json::to_string(config).map_err(|e| EventError::Field {
                        field: "config".into(),
                        reason: e.to_string(),
                    })?;
                    Ok(Config::from_yaml(&text)?)
                }
                _ => Err(EventError::Field {
                    field: "config".into(),
                    reason: "must be a YAML string or an object".into(),
                }),
            };
        }
    }
    if let Ok(path) = std::env::var(CONFIG_FILE_ENV) {
        return Ok(Config::from_file(&path)?);
    }
    if let Ok(yaml) = std::env::var(CONFIG_ENV) {
        return Ok(Config::from_yaml(&yaml)?);
    }
    Err(EventError::NoConfig)
}

/// The time the run is scheduled for, epoch seconds: an EventBridge scheduled
/// event's `time` (the same for a retried invocation), else `now`. CloudWatch query
/// windows derive from it, so they tile across runs whatever the invocation latency.
pub fn scheduled_time(event: &Value, now: i64) -> i64 {
    event
        .get("time")
        .and_then(Value::as_str)
        .and_then(utc_rfc3339_seconds)
        .unwrap_or(now)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)` to epoch seconds (EventBridge writes UTC
/// `Z` times); `None` for anything else.
fn utc_rfc3339_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let zone = text
        .get(19..)?
        .trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if !(zone == "Z" || zone == "+00:00") || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's civil-from-days inverse).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn scheduled_time_comes_from_the_event() {
        let event =
            serde_json::json!({"time": "2026-11-23T10:05:00Z", "detail-type": "Scheduled Event"});
        assert_eq!(scheduled_time(&event, 7), 1_795_428_300);
        assert_eq!(
            scheduled_time(&serde_json::json!({"time": "1970-01-01T00:01:00.000Z"}), 7),
            60
        );
        assert_eq!(
            scheduled_time(&serde_json::json!({"time": "2024-02-29T00:00:00+00:00"}), 7),
            1_709_164_800
        );
        assert_eq!(scheduled_time(&serde_json::json!({"time": "soon"}), 7), 7);
        assert_eq!(scheduled_time(&serde_json::json!({}), 7), 7);
    }

    use super::*;

    #[test]
    fn inline_yaml_object_and_detail_forms() {
        let yaml = serde_json::json!({"config": "scrape_configs: [{job_name: a}]"});
        assert_eq!(
            load_config(&yaml).expect("yaml").config.scrape_configs[0].job_name,
            "a"
        );
        let object =
            serde_json::json!({"detail": {"config": {"scrape_configs": [{"job_name": "b"}]}}});
        assert_eq!(
            load_config(&object).expect("object").config.scrape_configs[0].job_name,
            "b"
        );
    }

    #[test]
    fn wrong_types_and_broken_config_name_the_problem() {
        let err = load_config(&serde_json::json!({"config_file": 3})).expect_err("must fail");
        assert!(err.to_string().contains("config_file"), "{err}");
        let err = load_config(&serde_json::json!({"config": "scrape_configs: [{job_nam: a}]"}))
            .expect_err("must fail");
        assert!(err.to_string().contains("job_nam"), "{err}");
        let err = load_config(&serde_json::json!({"config_file": "/nonexistent.yaml"}))
            .expect_err("must fail");
        assert!(err.to_string().contains("/nonexistent.yaml"), "{err}");
    }
}
