//! The handler's config: an Alertmanager config file as users already write it
//! (`global`, `route`, `receivers`, `inhibit_rules`, `time_intervals`, `templates`)
//! plus an `alarm_handler:` block for what only a Lambda needs (DynamoDB tables, the
//! external URL). Validated up front; every error names the field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use alert_routing::{
    InhibitRuleConfig, Inhibitor, NamedTimeIntervalConfig, Route, RouteConfig, TimeIntervals,
};
use prom::duration::PromDuration;
use serde::Deserialize;

use crate::secret::SecretRef;

/// Environment variable holding the config file path.
pub const CONFIG_FILE_ENV: &str = "ALARM_HANDLER_CONFIG_FILE";
/// Environment variable holding the config YAML itself.
pub const CONFIG_ENV: &str = "ALARM_HANDLER_CONFIG";
/// Environment variable naming the SSM parameter that holds the config YAML.
pub const CONFIG_SSM_PARAMETER_ENV: &str = "ALARM_HANDLER_CONFIG_SSM_PARAMETER";
/// The prefix of the three variables, for [`config_source::ConfigSource::from_env`]:
/// exactly one of them must be set.
pub const CONFIG_ENV_PREFIX: &str = "ALARM_HANDLER";

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub global: GlobalConfig,
    pub route: RouteConfig,
    #[serde(default)]
    pub receivers: Vec<ReceiverConfig>,
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    #[serde(default)]
    pub time_intervals: Vec<NamedTimeIntervalConfig>,
    /// Deprecated Alertmanager spelling of `time_intervals`.
    #[serde(default)]
    pub mute_time_intervals: Vec<NamedTimeIntervalConfig>,
    /// Template files (relative to the config file) with `{{ define }}` blocks.
    #[serde(default)]
    pub templates: Vec<String>,
    #[serde(default)]
    pub alarm_handler: HandlerSettings,
}

/// `global:` fields that matter to the receivers we support. Alertmanager's SMTP,
/// OpsGenie, etc. settings are refused as unknown fields because those receivers
/// are not supported here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Accepted for compatibility; a Lambda has no timer to resolve alerts with.
    #[serde(default)]
    pub resolve_timeout: Option<PromDuration>,
    #[serde(default)]
    pub slack_api_url: Option<SecretRef>,
    #[serde(default)]
    pub slack_api_url_file: Option<PathBuf>,
    #[serde(default)]
    pub pagerduty_url: Option<String>,
    #[serde(default)]
    pub http_config: Option<HttpConfig>,
}

/// The subset of Alertmanager's `http_config` that makes sense from Lambda.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Per-request timeout; defaults to 10s.
    #[serde(default)]
    pub timeout: Option<PromDuration>,
    #[serde(default)]
    pub follow_redirects: Option<bool>,
}

/// Our additions, under `alarm_handler:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerSettings {
    /// Link to where alerts can be seen (Grafana, the AMP console); templates show
    /// it as `.ExternalURL`.
    #[serde(default)]
    pub external_url: Option<String>,
    /// DynamoDB table (`pk` and `sk` string keys, TTL on `expires_at`) recording
    /// deliveries per SNS message and receiver, so redeliveries notify once.
    #[serde(default)]
    pub idempotency_table: Option<String>,
    /// How long delivery records are kept; default 7d (longer than any SNS or Lambda
    /// retry).
    #[serde(default)]
    pub idempotency_ttl: Option<PromDuration>,
    /// DynamoDB table (same key schema; may be the idempotency table) of currently
    /// firing alerts, so inhibition sees alerts from earlier invocations.
    #[serde(default)]
    pub state_table: Option<String>,
    /// How long a firing alert with no `endsAt` counts as firing without news;
    /// default 24h.
    #[serde(default)]
    pub firing_ttl: Option<PromDuration>,
}

/// One `receivers` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    pub name: String,
    #[serde(default)]
    pub sns_configs: Vec<SnsConfig>,
    #[serde(default)]
    pub webhook_configs: Vec<WebhookConfig>,
    #[serde(default)]
    pub slack_configs: Vec<SlackConfig>,
    #[serde(default)]
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    /// Publishes the normalised alerts (schema v1) for the scaler.
    #[serde(default)]
    pub scaler_configs: Vec<ScalerConfig>,
}

/// Alertmanager's `sns_configs` (topic ARN form).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsConfig {
    #[serde(default = "yes")]
    pub send_resolved: bool,
    #[serde(default)]
    pub topic_arn: Option<String>,
    /// Accepted for compatibility and refused when set: we publish with the
    /// function's own credentials and endpoint.
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub sigv4: Option<yaml_serde::Value>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub target_arn: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// Message attributes (values are templates) for subscription filter policies.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// Alertmanager's `webhook_configs`: its JSON payload, version 4.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    #[serde(default = "yes")]
    pub send_resolved: bool,
    #[serde(default)]
    pub url: Option<SecretRef>,
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// At most this many alerts per payload (0 = all); the rest are counted in
    /// `truncatedAlerts`.
    #[serde(default)]
    pub max_alerts: usize,
    #[serde(default)]
    pub http_config: Option<HttpConfig>,
}

/// Alertmanager's `slack_configs` (incoming webhook).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    #[serde(default)]
    pub send_resolved: bool,
    #[serde(default)]
    pub api_url: Option<SecretRef>,
    #[serde(default)]
    pub api_url_file: Option<PathBuf>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub title_link: Option<String>,
    #[serde(default)]
    pub pretext: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub fallback: Option<String>,
    #[serde(default)]
    pub footer: Option<String>,
    #[serde(default)]
    pub icon_emoji: Option<String>,
    #[serde(default)]
    pub icon_url: Option<String>,
    #[serde(default)]
    pub http_config: Option<HttpConfig>,
}

/// Alertmanager's `pagerduty_configs`, Events API v2.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    #[serde(default = "yes")]
    pub send_resolved: bool,
    #[serde(default)]
    pub routing_key: Option<SecretRef>,
    #[serde(default)]
    pub routing_key_file: Option<PathBuf>,
    /// Events API v1 key: refused (v1 is retired); use `routing_key`.
    #[serde(default)]
    pub service_key: Option<yaml_serde::Value>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default)]
    pub client_url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub component: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    #[serde(default)]
    pub http_config: Option<HttpConfig>,
}

/// Our receiver for the scaler: the routed alerts as an [`alert_model::AlertBatch`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalerConfig {
    #[serde(default = "yes")]
    pub send_resolved: bool,
    pub topic_arn: String,
}

fn yes() -> bool {
    true
}

/// Why a config is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config: {0}")]
    Yaml(String),
    #[error("config: {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("config: {0}")]
    Route(#[from] alert_routing::RouteError),
    #[error("config: time_intervals: {0}")]
    TimeInterval(#[from] alert_routing::TimeIntervalError),
    #[error("config: inhibit_rules: {0}")]
    Inhibit(#[from] alert_routing::MatcherError),
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The validated, compiled config.
#[derive(Debug)]
pub struct Config {
    pub file: ConfigFile,
    pub route: Route,
    pub inhibitor: Inhibitor,
    pub time_intervals: TimeIntervals,
    /// Contents of `templates` files, in order, with their paths.
    pub template_sources: Vec<(String, String)>,
}

impl Config {
    /// Parses and validates YAML; relative `templates` and `*_file` paths are taken
    /// from `base_dir` (the config file's directory) or the working directory.
    pub fn parse(yaml: &str, base_dir: Option<&Path>) -> Result<Config, ConfigError> {
        let file: ConfigFile =
            yaml_serde::from_str(yaml).map_err(|e| ConfigError::Yaml(e.to_string()))?;
        file.route.validate_root()?;
        let route = Route::from_config(&file.route)?;
        let mut intervals = file.time_intervals.clone();
        intervals.extend(file.mute_time_intervals.iter().cloned());
        let time_intervals = TimeIntervals::new(&intervals)?;
        let inhibitor = Inhibitor::new(&file.inhibit_rules)?;
        validate_receivers(&file)?;
        validate_route_references(&route, &file, &time_intervals)?;
        let base = base_dir.map(Path::to_path_buf).unwrap_or_default();
        let mut template_sources = Vec::new();
        for (i, name) in file.templates.iter().enumerate() {
            for path in
                template_paths(&base, name).map_err(|e| invalid(format!("templates[{i}]"), e))?
            {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    invalid(
                        format!("templates[{i}]"),
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                template_sources.push((path.display().to_string(), text));
            }
        }
        let mut config = Config {
            file,
            route,
            inhibitor,
            time_intervals,
            template_sources,
        };
        config.read_secret_files(&base)?;
        Ok(config)
    }

    /// Receiver by name (validation guarantees every routed name exists).
    pub fn receiver(&self, name: &str) -> Option<&ReceiverConfig> {
        self.file.receivers.iter().find(|r| r.name == name)
    }

    /// `*_file` secrets become literal [`SecretRef`]s so senders see one form.
    fn read_secret_files(&mut self, base: &Path) -> Result<(), ConfigError> {
        let read = |field: String, path: &Path| -> Result<SecretRef, ConfigError> {
            let path = base.join(path);
            std::fs::read_to_string(&path)
                .map(|text| SecretRef::new(text.trim().to_string()))
                .map_err(|e| invalid(field, format!("cannot read {}: {e}", path.display())))
        };
        if let Some(path) = self.file.global.slack_api_url_file.clone() {
            self.file.global.slack_api_url = Some(read("global.slack_api_url_file".into(), &path)?);
        }
        for (r, receiver) in self.file.receivers.iter_mut().enumerate() {
            for (i, c) in receiver.webhook_configs.iter_mut().enumerate() {
                if let Some(path) = c.url_file.clone() {
                    c.url = Some(read(
                        format!("receivers[{r}].webhook_configs[{i}].url_file"),
                        &path,
                    )?);
                }
            }
            for (i, c) in receiver.slack_configs.iter_mut().enumerate() {
                if let Some(path) = c.api_url_file.clone() {
                    c.api_url = Some(read(
                        format!("receivers[{r}].slack_configs[{i}].api_url_file"),
                        &path,
                    )?);
                }
            }
            for (i, c) in receiver.pagerduty_configs.iter_mut().enumerate() {
                if let Some(path) = c.routing_key_file.clone() {
                    c.routing_key = Some(read(
                        format!("receivers[{r}].pagerduty_configs[{i}].routing_key_file"),
                        &path,
                    )?);
                }
            }
        }
        Ok(())
    }
}

/// The files a `templates` entry names: a path, or a `*` pattern in the last
/// component (`templates/*.tmpl`), matched in sorted order as Alertmanager globs.
fn template_paths(base: &Path, entry: &str) -> Result<Vec<PathBuf>, String> {
    let path = base.join(entry);
    let pattern = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !pattern.contains('*') {
        return Ok(vec![path]);
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .map(|n| wildcard_match(&pattern, &n.to_string_lossy()))
                .unwrap_or(false)
        })
        .collect();
    found.sort();
    Ok(found)
}

/// `*` matches any run of characters; everything else matches itself.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return pattern == name;
    }
    if !name.starts_with(first)
        || !name[first.len()..].ends_with(last)
        || name.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

fn validate_receivers(file: &ConfigFile) -> Result<(), ConfigError> {
    let mut names = BTreeSet::new();
    for (r, receiver) in file.receivers.iter().enumerate() {
        let at = |rest: &str| format!("receivers[{r}] ({}){rest}", receiver.name);
        if receiver.name.is_empty() {
            return Err(invalid(format!("receivers[{r}].name"), "missing name"));
        }
        if !names.insert(receiver.name.as_str()) {
            return Err(invalid(at(""), "receiver name is not unique"));
        }
        for (i, c) in receiver.sns_configs.iter().enumerate() {
            let field = |f: &str| at(&format!(".sns_configs[{i}].{f}"));
            if c.api_url.is_some() || c.sigv4.is_some() {
                return Err(invalid(
                    field("api_url"),
                    "not supported: the function publishes with its own role and the standard AWS endpoint settings",
                ));
            }
            if c.phone_number.is_some() || c.target_arn.is_some() {
                return Err(invalid(
                    field("phone_number"),
                    "only topic_arn is supported",
                ));
            }
            match &c.topic_arn {
                Some(arn) if arn.starts_with("arn:") && arn.split(':').count() == 6 => {}
                Some(arn) => {
                    return Err(invalid(
                        field("topic_arn"),
                        format!("not a topic ARN: {arn:?}"),
                    ))
                }
                None => return Err(invalid(field("topic_arn"), "must be provided")),
            }
        }
        for (i, c) in receiver.webhook_configs.iter().enumerate() {
            if c.url.is_some() == c.url_file.is_some() {
                return Err(invalid(
                    at(&format!(".webhook_configs[{i}]")),
                    "exactly one of url and url_file must be set",
                ));
            }
        }
        for (i, c) in receiver.slack_configs.iter().enumerate() {
            if c.api_url.is_some() && c.api_url_file.is_some() {
                return Err(invalid(
                    at(&format!(".slack_configs[{i}]")),
                    "at most one of api_url and api_url_file must be set",
                ));
            }
            if c.api_url.is_none()
                && c.api_url_file.is_none()
                && file.global.slack_api_url.is_none()
                && file.global.slack_api_url_file.is_none()
            {
                return Err(invalid(
                    at(&format!(".slack_configs[{i}].api_url")),
                    "no api_url here nor global.slack_api_url",
                ));
            }
        }
        for (i, c) in receiver.pagerduty_configs.iter().enumerate() {
            let field = at(&format!(".pagerduty_configs[{i}]"));
            if c.service_key.is_some() {
                return Err(invalid(
                    field,
                    "service_key (Events API v1) is not supported; use routing_key (Events API v2)",
                ));
            }
            if c.routing_key.is_some() == c.routing_key_file.is_some() {
                return Err(invalid(
                    field,
                    "exactly one of routing_key and routing_key_file must be set",
                ));
            }
        }
        for (i, c) in receiver.scaler_configs.iter().enumerate() {
            if !(c.topic_arn.starts_with("arn:") && c.topic_arn.split(':').count() == 6) {
                return Err(invalid(
                    at(&format!(".scaler_configs[{i}].topic_arn")),
                    format!("not a topic ARN: {:?}", c.topic_arn),
                ));
            }
        }
    }
    Ok(())
}

fn validate_route_references(
    route: &Route,
    file: &ConfigFile,
    intervals: &TimeIntervals,
) -> Result<(), ConfigError> {
    let mut problem = None;
    route.walk(&mut |node| {
        if problem.is_some() {
            return;
        }
        if !file.receivers.iter().any(|r| r.name == node.receiver) {
            problem = Some(invalid(
                format!("route {}", node.key()),
                format!("undefined receiver {:?} used in route", node.receiver),
            ));
            return;
        }
        for name in node
            .mute_time_intervals
            .iter()
            .chain(&node.active_time_intervals)
        {
            if !intervals.contains(name) {
                problem = Some(invalid(
                    format!("route {}", node.key()),
                    format!("undefined time interval {name:?} used in route"),
                ));
                return;
            }
        }
    });
    problem.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(yaml: &str) -> String {
        match Config::parse(yaml, None) {
            Ok(_) => panic!("accepted:\n{yaml}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_full_alertmanager_config_loads() {
        let config = Config::parse(
            r#"
global:
  resolve_timeout: 5m
  slack_api_url: env:SLACK_URL
route:
  receiver: default
  group_by: ['alertname', 'cluster']
  routes:
    - match: {team: db}
      receiver: db
    - match_re: {service: '^(foo1|foo2)$'}
      receiver: pager
      continue: true
      mute_time_intervals: [weekend]
receivers:
  - name: default
    sns_configs:
      - topic_arn: arn:aws:sns:eu-west-1:123456789012:alerts
        subject: '{{ .CommonLabels.alertname }}'
        attributes: {team: '{{ .CommonLabels.team }}'}
  - name: db
    slack_configs: [{channel: '#db'}]
    webhook_configs: [{url: 'http://127.0.0.1:9/hook', max_alerts: 10}]
  - name: pager
    pagerduty_configs: [{routing_key: 'ssm:/alerts/pd-key'}]
    scaler_configs: [{topic_arn: 'arn:aws:sns:eu-west-1:123456789012:scaler'}]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname]
time_intervals:
  - name: weekend
    time_intervals: [{weekdays: ['saturday', 'sunday']}]
alarm_handler:
  idempotency_table: alarm-handler
  state_table: alarm-handler
"#,
            None,
        )
        .expect("valid");
        assert_eq!(config.file.receivers.len(), 3);
        assert_eq!(
            config.file.alarm_handler.idempotency_table.as_deref(),
            Some("alarm-handler")
        );
        assert!(config
            .receiver("pager")
            .is_some_and(|r| r.scaler_configs.len() == 1));
    }

    #[test]
    fn template_globs_match_files_in_order() {
        assert!(wildcard_match("*.tmpl", "a.tmpl"));
        assert!(wildcard_match("x*y*z", "x-y-z"));
        assert!(!wildcard_match("*.tmpl", "a.tmp"));
        assert!(!wildcard_match("ab*ba", "aba"));
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("t")).expect("mkdir");
        for (name, text) in [
            ("b.tmpl", "{{ define \"b\" }}B{{ end }}"),
            ("a.tmpl", "{{ define \"a\" }}A{{ end }}"),
            ("c.txt", ""),
        ] {
            std::fs::write(dir.path().join("t").join(name), text).expect("write");
        }
        let config = Config::parse(
            "route: {receiver: r}\nreceivers: [{name: r}]\ntemplates: ['t/*.tmpl']\n",
            Some(dir.path()),
        )
        .expect("valid");
        let names: Vec<String> = config
            .template_sources
            .iter()
            .map(|(p, _)| p.rsplit('/').next().unwrap_or("").to_string())
            .collect();
        assert_eq!(names, vec!["a.tmpl", "b.tmpl"]);
    }

    #[test]
    fn errors_name_the_field() {
        let base = "route: {receiver: a}\nreceivers: [{name: a}]\n";
        assert!(Config::parse(base, None).is_ok());
        assert!(error_of("route: {receiver: b}\nreceivers: [{name: a}]\n")
            .contains("undefined receiver \"b\""));
        assert!(error_of("route: {}\nreceivers: [{name: a}]\n").contains("default receiver"));
        assert!(
            error_of("route: {receiver: a}\nreceivers: [{name: a}, {name: a}]\n")
                .contains("receivers[1] (a): receiver name is not unique")
        );
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a, email_configs: [{to: x}]}]\n"
        )
        .contains("unknown field `email_configs`"));
        assert!(error_of(
            "route: {receiver: a, routes: [{receiver: a, mute_time_intervals: [nope]}]}\nreceivers: [{name: a}]\n"
        )
        .contains("undefined time interval \"nope\""));
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a, sns_configs: [{topic_arn: nope}]}]\n"
        )
        .contains("receivers[0] (a).sns_configs[0].topic_arn: not a topic ARN"));
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a, slack_configs: [{channel: x}]}]\n"
        )
        .contains("no api_url here nor global.slack_api_url"));
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a, pagerduty_configs: [{service_key: x}]}]\n"
        )
        .contains("Events API v1"));
        assert!(error_of("route: {receiver: a}\nreceivers: [{name: a}]\ninhibit_rules: [{source_matchers: ['a=~\"(\"']}]\n")
            .starts_with("config: inhibit_rules"));
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a}]\ntemplates: [/nonexistent/x.tmpl]\n"
        )
        .contains("templates[0]: cannot read /nonexistent/x.tmpl"));
        assert!(error_of("route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url_file: /nonexistent/u}]}]\n")
            .contains("webhook_configs[0].url_file: cannot read"));
    }
}
