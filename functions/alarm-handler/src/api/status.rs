//! `GET /api/v2/status`: what `amtool config show` and Grafana's Alertmanager data
//! source read. No cluster (`status: disabled`); the version is this crate's; the
//! config is the loaded text with literal secrets masked as `<secret>`, as
//! Alertmanager masks them (references such as `env:NAME` and `ssm:/name` are shown,
//! they are not secrets).

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::models::api_time;
use super::request::ApiResponse;
use crate::config::Config;

/// Keys whose literal values are secrets in our receivers and `global`.
const SECRET_KEYS: &[&str] = &[
    "slack_api_url",
    "api_url",
    "url",
    "routing_key",
    "service_key",
];

static STARTED: OnceLock<DateTime<Utc>> = OnceLock::new();

/// Marks the process start (called when the first handler is built), the API's
/// `uptime`.
pub fn mark_start() {
    STARTED.get_or_init(Utc::now);
}

/// The config text with literal secret values masked. A text that does not parse
/// as YAML (cannot happen for a loaded config) is not shown at all.
pub fn masked_config(original: &str) -> String {
    let Ok(mut value) = yaml_serde::from_str::<yaml_serde::Value>(original) else {
        return String::new();
    };
    mask(&mut value);
    yaml_serde::to_string(&value).unwrap_or_default()
}

fn mask(value: &mut yaml_serde::Value) {
    match value {
        yaml_serde::Value::Mapping(map) => {
            for (key, value) in map.iter_mut() {
                let secret = key.as_str().is_some_and(|k| SECRET_KEYS.contains(&k));
                match value {
                    yaml_serde::Value::String(text)
                        if secret && !text.starts_with("env:") && !text.starts_with("ssm:") =>
                    {
                        *text = "<secret>".into();
                    }
                    other => mask(other),
                }
            }
        }
        yaml_serde::Value::Sequence(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// `GET /api/v2/status`.
pub fn status(config: &Config, now: DateTime<Utc>) -> ApiResponse {
    ApiResponse::ok(json!({
        "cluster": {"status": "disabled", "peers": []},
        "versionInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "revision": "",
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "none (alarm-handler is written in Rust)",
        },
        "config": {"original": masked_config(&config.original)},
        "uptime": api_time(*STARTED.get_or_init(|| now)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_secrets_are_masked_and_references_kept() {
        let text = "global:\n  slack_api_url: https://hooks.slack.com/services/T/B/X\nreceivers:\n  - name: a\n    webhook_configs: [{url: 'ssm:/hook'}]\n    pagerduty_configs: [{routing_key: abc123}]\n";
        let masked = masked_config(text);
        assert!(!masked.contains("hooks.slack.com"), "{masked}");
        assert!(!masked.contains("abc123"), "{masked}");
        assert!(masked.contains("ssm:/hook"), "{masked}");
        assert_eq!(masked.matches("<secret>").count(), 2, "{masked}");
    }
}
