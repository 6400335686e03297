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

#[cfg(test)]
mod tests {
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
