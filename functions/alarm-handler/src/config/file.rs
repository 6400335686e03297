//! The top of the config file as written: Alertmanager's own blocks, the `global:`
//! settings our receivers use, and our `alarm_handler:` block. Shapes only; what the
//! values must satisfy is in `validate.rs`.

use std::path::PathBuf;

use alert_routing::{InhibitRuleConfig, NamedTimeIntervalConfig, RouteConfig};
use prom::duration::PromDuration;
use serde::Deserialize;

use super::receiver_file::ReceiverConfig;
use crate::secret::SecretRef;

/// The file as written: an Alertmanager config plus `alarm_handler:`. Unknown fields
/// are refused (not ignored) so a typo or an Alertmanager feature we do not implement
/// is an error at load rather than a silently different behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Alertmanager's `global:` (the parts our receivers use); default empty.
    #[serde(default)]
    pub global: GlobalConfig,
    /// Alertmanager's routing tree; required, and its root must name a receiver.
    pub route: RouteConfig,
    /// Alertmanager's `receivers:`; every name the route uses must be here. Default
    /// none.
    #[serde(default)]
    pub receivers: Vec<ReceiverConfig>,
    /// Alertmanager's `inhibit_rules:`; default none.
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// Alertmanager's named `time_intervals:` for routes' mute / active intervals;
    /// default none.
    #[serde(default)]
    pub time_intervals: Vec<NamedTimeIntervalConfig>,
    /// Alertmanager's deprecated spelling of `time_intervals`, still accepted (merged
    /// with them) so older configs load unchanged. Default none.
    #[serde(default)]
    pub mute_time_intervals: Vec<NamedTimeIntervalConfig>,
    /// Alertmanager's `templates:`: files with `{{ define }}` blocks, each entry a
    /// path or a glob (`templates/*.tmpl`), relative to the config file's directory.
    /// Default none.
    #[serde(default)]
    pub templates: Vec<String>,
    /// Ours: what only a Lambda needs (tables, the external URL), kept in its own
    /// block so the rest of the file stays a plain Alertmanager config. Default empty.
    #[serde(default)]
    pub alarm_handler: HandlerSettings,
}

/// `global:` fields that matter to the receivers we support. Alertmanager's SMTP,
/// OpsGenie, etc. settings are refused as unknown fields because those receivers
/// are not supported here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalConfig {
    /// Alertmanager's: an alert posted to the Alertmanager API (`POST
    /// /api/v2/alerts`) without `endsAt` counts as resolved this long after it was
    /// last received. Alerts from SNS (CloudWatch alarms, Grafana, the AMP alert
    /// manager) report state changes once and do not repeat, so they stay firing
    /// until resolved or `alarm_handler.firing_ttl`. Default 5m.
    pub resolve_timeout: Option<PromDuration>,
    /// Alertmanager's: the Slack webhook URL for `slack_configs` that set none (a
    /// [`SecretRef`]: literal, `env:` or `ssm:`). Default unset.
    pub slack_api_url: Option<SecretRef>,
    /// Alertmanager's: the same, read from this file (relative to the config file's
    /// directory). Default unset.
    pub slack_api_url_file: Option<PathBuf>,
    /// Alertmanager's: the PagerDuty Events API URL for `pagerduty_configs` that set
    /// none. Default PagerDuty's public endpoint.
    pub pagerduty_url: Option<String>,
    /// Alertmanager's: HTTP settings for receivers that set none (here: the request
    /// timeout). Default unset.
    pub http_config: Option<HttpConfig>,
}

/// The subset of Alertmanager's `http_config` that makes sense from Lambda (no
/// proxies, client certificates or OAuth: the function's network is the VPC's).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Ours (Alertmanager has no per-request timeout here): a request slower than
    /// this fails so the invocation is not held until Lambda's own timeout. Default
    /// 10s.
    pub timeout: Option<PromDuration>,
    /// Alertmanager's; accepted so existing configs load, and not used: the client
    /// follows redirects (reqwest's default, up to 10), as Alertmanager does by
    /// default. Default unset.
    pub follow_redirects: Option<bool>,
}

/// Ours, under `alarm_handler:`: what a stateless Lambda needs to behave like one
/// long-running Alertmanager.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HandlerSettings {
    /// Link to where alerts can be seen (Grafana, the AMP console); templates show
    /// it as `.ExternalURL`. Default unset.
    pub external_url: Option<String>,
    /// DynamoDB table (`pk` and `sk` string keys, TTL on `expires_at`) recording
    /// deliveries per SNS message and receiver, so redeliveries notify once. Default
    /// unset: no deduplication.
    pub idempotency_table: Option<String>,
    /// How long delivery records are kept; default 7d (longer than any SNS or Lambda
    /// retry).
    pub idempotency_ttl: Option<PromDuration>,
    /// DynamoDB table (same key schema; may be the idempotency table) of currently
    /// firing alerts, so inhibition sees alerts from earlier invocations. Default
    /// unset: inhibition sees only the alerts of the same invocation.
    pub state_table: Option<String>,
    /// How long a firing alert with no `endsAt` counts as firing without news;
    /// default 24h.
    pub firing_ttl: Option<PromDuration>,
    /// Apply the routes' `group_wait`, `group_interval` and `repeat_interval` as
    /// Alertmanager does: alerts are collected into groups in `state_table` and sent
    /// by the once-a-minute flush invocation (the template's `AlertTimers` schedule).
    /// Needs `state_table` and `idempotency_table`. Default false: every invocation
    /// sends its own alerts at once and nothing repeats.
    pub timers: bool,
    /// How long expired silences stay listed (Alertmanager's `--data.retention`).
    /// Default 120h.
    pub silence_retention: Option<PromDuration>,
}
