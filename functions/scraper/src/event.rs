//! The invocation event: where this run's configuration comes from. EventBridge
//! schedules pass it as constant input, so one function serves many jobs and intervals
//! (one schedule each); a scheduled event without input falls back to the environment.

use config_source::{ConfigSource, ConfigSourceError};
use serde_json::Value;

use crate::discovery::shard::Shard;

use crate::config::{Config, ConfigError, LoadedConfig};

/// Environment variable naming a config file used when the event names none.
pub const CONFIG_FILE_ENV: &str = "SCRAPER_CONFIG_FILE";
/// Environment variable holding inline config YAML used when the event names none.
pub const CONFIG_ENV: &str = "SCRAPER_CONFIG";
/// Environment variable naming an SSM parameter used when the event names none.
pub const CONFIG_SSM_PARAMETER_ENV: &str = "SCRAPER_CONFIG_SSM_PARAMETER";
/// Prefix of the three variables above, for [`ConfigSource::from_env`].
const ENV_PREFIX: &str = "SCRAPER";
/// The event fields that name a config, in the order they are documented.
const EVENT_FIELDS: [&str; 3] = ["config_file", "config", "config_ssm_parameter"];

/// Why an event could not be turned into a configuration.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// An event field that names a config is of the wrong type or empty, or more
    /// than one is set.
    #[error("event field {field}: {reason}")]
    Field {
        /// The field(s), as named in the event.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither the event nor the environment names a config.
    #[error("no configuration: the event has no config_file, config or config_ssm_parameter, and none of {CONFIG_FILE_ENV}, {CONFIG_ENV}, {CONFIG_SSM_PARAMETER_ENV} is set")]
    NoConfig,
    /// The config could not be fetched (file, SSM parameter).
    #[error(transparent)]
    Source(#[from] ConfigSourceError),
    /// The configuration is refused.
    #[error("{origin}: {source}")]
    Config {
        /// Where the config came from (`inline config`, `SSM parameter /x`...).
        origin: String,
        /// Why it is refused.
        #[source]
        source: ConfigError,
    },
}

/// Where an event's configuration comes from.
///
/// Accepted: `{"config_file": "/path.yaml"}`, `{"config": "<yaml>"}`,
/// `{"config": {...}}` (the config as a JSON object),
/// `{"config_ssm_parameter": "/name"}` (Parameter Store, read with decryption), the
/// same inside an EventBridge event's `detail`, or none of them (then
/// `SCRAPER_CONFIG_FILE`, `SCRAPER_CONFIG` or `SCRAPER_CONFIG_SSM_PARAMETER`).
/// One object naming more than one is an error.
pub fn config_source(event: &Value) -> Result<ConfigSource, EventError> {
    let candidates = [Some(event), event.get("detail")];
    for object in candidates.into_iter().flatten() {
        let named: Vec<&str> = EVENT_FIELDS
            .into_iter()
            .filter(|f| object.get(f).is_some())
            .collect();
        let field = match named.as_slice() {
            [] => continue,
            [one] => *one,
            _ => {
                return Err(EventError::Field {
                    field: named.join(", "),
                    reason: "set only one of config_file, config and config_ssm_parameter".into(),
                })
            }
        };
        let value = &object[field];
        let string = |what: &str| {
            value
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| EventError::Field {
                    field: field.into(),
                    reason: format!("must be a string ({what})"),
                })
        };
        return match field {
            "config_file" => Ok(ConfigSource::File(string("a file path")?.into())),
            "config_ssm_parameter" => {
                let name = string("an SSM parameter name")?;
                if name.trim().is_empty() {
                    return Err(EventError::Field {
                        field: field.into(),
                        reason: "must not be empty".into(),
                    });
                }
                Ok(ConfigSource::SsmParameter(name.trim().to_string()))
            }
            _ => match value {
                Value::String(yaml) => Ok(ConfigSource::Inline(yaml.clone())),
                Value::Object(_) => serde_json::to_string(value)
                    .map(ConfigSource::Inline)
                    .map_err(|e| EventError::Field {
                        field: field.into(),
                        reason: e.to_string(),
                    }),
                _ => Err(EventError::Field {
                    field: field.into(),
                    reason: "must be a YAML string or an object".into(),
                }),
            },
        };
    }
    ConfigSource::from_env_optional(ENV_PREFIX)?.ok_or(EventError::NoConfig)
}

/// The share of the targets this invocation scrapes: the event's (or its `detail`'s)
/// `"shard": {"index": I, "count": N}`, or all of them.
pub fn shard(event: &Value) -> Result<Shard, EventError> {
    let given = [Some(event), event.get("detail")]
        .into_iter()
        .flatten()
        .find_map(|object| object.get("shard"));
    let Some(value) = given else {
        return Ok(Shard::ALL);
    };
    let field_error = |reason: String| EventError::Field {
        field: "shard".into(),
        reason,
    };
    let shard: Shard = serde_json::from_value(value.clone())
        .map_err(|e| field_error(format!("must be {{\"index\": I, \"count\": N}}: {e}")))?;
    shard.validate().map_err(|e| field_error(e.to_string()))
}

/// The configuration text an event asks for ([`config_source`]), with where it came
/// from. SSM parameters are cached per warm container for 30 s, so a `put-parameter`
/// applies to the runs that start after that, with no redeploy.
pub async fn load_config_text(event: &Value) -> Result<EventConfig, EventError> {
    let source = config_source(event)?;
    let text = source.load().await?;
    Ok(EventConfig {
        origin: source.describe(),
        text: text.text,
        stale: text.stale,
    })
}

/// A configuration's text as an event named it, not yet parsed.
#[derive(Debug, Clone)]
pub struct EventConfig {
    /// Where it came from (`inline config`, `SSM parameter /x`...), for messages.
    pub origin: String,
    /// The YAML (or JSON) text.
    pub text: std::sync::Arc<str>,
    /// Set when refreshing the config failed and the last good text is used: why.
    pub stale: Option<String>,
}

impl EventConfig {
    /// Parses and validates the text.
    pub fn parse(&self) -> Result<LoadedConfig, EventError> {
        Config::from_yaml(&self.text).map_err(|source| EventError::Config {
            origin: self.origin.clone(),
            source,
        })
    }

    /// The warning to report while a stale config is in use.
    pub fn stale_warning(&self) -> Option<String> {
        self.stale.as_ref().map(|reason| {
            format!(
                "using the last good config from {}: refreshing it failed: {reason}",
                self.origin
            )
        })
    }
}

/// Loads and validates the configuration an event asks for ([`config_source`]).
pub async fn load_config(event: &Value) -> Result<LoadedConfig, EventError> {
    let named = load_config_text(event).await?;
    let mut loaded = named.parse()?;
    loaded.warnings.extend(named.stale_warning());
    Ok(loaded)
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

/// An RFC 3339 time (EventBridge writes UTC `Z` times) to epoch seconds; `None` for
/// anything else, so a malformed `time` falls back to the clock.
fn utc_rfc3339_seconds(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
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
        // Another offset is the same instant (EventBridge writes Z; a hand-made event
        // may not).
        assert_eq!(
            scheduled_time(&serde_json::json!({"time": "2026-11-23T12:05:00+02:00"}), 7),
            1_795_428_300
        );
        assert_eq!(scheduled_time(&serde_json::json!({"time": "soon"}), 7), 7);
        assert_eq!(scheduled_time(&serde_json::json!({}), 7), 7);
    }

    use super::*;

    #[tokio::test]
    async fn inline_yaml_object_and_detail_forms() {
        let yaml = serde_json::json!({"config": "scrape_configs: [{job_name: a}]"});
        assert_eq!(
            load_config(&yaml)
                .await
                .expect("yaml")
                .config
                .scrape_configs[0]
                .job_name,
            "a"
        );
        let object =
            serde_json::json!({"detail": {"config": {"scrape_configs": [{"job_name": "b"}]}}});
        assert_eq!(
            load_config(&object)
                .await
                .expect("object")
                .config
                .scrape_configs[0]
                .job_name,
            "b"
        );
    }

    #[test]
    fn ssm_parameters_are_named_in_the_event_or_its_detail() {
        assert_eq!(
            config_source(&serde_json::json!({"config_ssm_parameter": " /p/scraper/a "}))
                .expect("source"),
            ConfigSource::SsmParameter("/p/scraper/a".into())
        );
        assert_eq!(
            config_source(&serde_json::json!({
                "detail-type": "Scheduled Event",
                "detail": {"config_ssm_parameter": "/p/scraper/b"}
            }))
            .expect("source"),
            ConfigSource::SsmParameter("/p/scraper/b".into())
        );
        assert_eq!(
            config_source(&serde_json::json!({"config_file": "/etc/s.yaml"})).expect("source"),
            ConfigSource::File("/etc/s.yaml".into())
        );
    }

    #[test]
    fn an_event_naming_two_sources_or_a_bad_one_is_refused() {
        let err = config_source(&serde_json::json!({
            "config_file": "/a.yaml", "config_ssm_parameter": "/p"
        }))
        .expect_err("two");
        assert_eq!(
            err.to_string(),
            "event field config_file, config_ssm_parameter: set only one of config_file, config and config_ssm_parameter"
        );
        let err = config_source(&serde_json::json!({"config_ssm_parameter": 7})).expect_err("type");
        assert_eq!(
            err.to_string(),
            "event field config_ssm_parameter: must be a string (an SSM parameter name)"
        );
        let err =
            config_source(&serde_json::json!({"config_ssm_parameter": " "})).expect_err("empty");
        assert!(err.to_string().contains("must not be empty"), "{err}");
    }

    #[tokio::test]
    async fn wrong_types_and_broken_config_name_the_problem() {
        let err = load_config(&serde_json::json!({"config_file": 3}))
            .await
            .expect_err("must fail");
        assert!(err.to_string().contains("config_file"), "{err}");
        let err = load_config(&serde_json::json!({"config": "scrape_configs: [{job_nam: a}]"}))
            .await
            .expect_err("must fail");
        assert!(err.to_string().contains("job_nam"), "{err}");
        assert!(err.to_string().starts_with("inline config: "), "{err}");
        let err = load_config(&serde_json::json!({"config_file": "/nonexistent.yaml"}))
            .await
            .expect_err("must fail");
        assert!(err.to_string().contains("/nonexistent.yaml"), "{err}");
    }

    #[tokio::test]
    async fn a_refused_config_reports_its_cause_once() {
        let yaml =
            "scrape_configs: [{job_name: a, relabel_configs: [{regex: '(x', action: drop}]}]";
        let err = load_config(&serde_json::json!({ "config": yaml }))
            .await
            .expect_err("an unclosed group compiled");
        let text = function_cli::error_chain(&err);
        assert!(
            text.starts_with(
                "inline config: invalid config: scrape_configs[0].relabel_configs[0].regex: is not a valid regular expression: invalid regex \"(x\""
            ),
            "{text}"
        );
        assert_eq!(text.matches("relabel_configs[0]").count(), 1, "{text}");
    }
}
