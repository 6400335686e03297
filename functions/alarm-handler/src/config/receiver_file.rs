//! `receivers:` entries as written: Alertmanager's integrations we support (SNS,
//! webhook, Slack, PagerDuty) and ours for the scaler. Alertmanager's integrations
//! keep its field names and defaults so an existing receiver loads unchanged.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::file::HttpConfig;
use crate::secret::SecretRef;

/// One `receivers` entry (Alertmanager's): a name the route refers to and the
/// integrations a notification for it goes to. Integrations we do not implement
/// (`email_configs`, ...) are refused as unknown fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Alertmanager's: the name routes use; required, unique.
    pub name: String,
    /// Alertmanager's `sns_configs`; default none.
    pub sns_configs: Vec<SnsConfig>,
    /// Alertmanager's `webhook_configs`; default none.
    pub webhook_configs: Vec<WebhookConfig>,
    /// Alertmanager's `slack_configs`; default none.
    pub slack_configs: Vec<SlackConfig>,
    /// Alertmanager's `pagerduty_configs`; default none.
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    /// Ours: publishes the routed alerts (schema v1) for the scaler, so scaling
    /// follows the same routing, grouping and inhibition as paging. Default none.
    pub scaler_configs: Vec<ScalerConfig>,
}

/// Alertmanager's `sns_configs` (topic ARN form only).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnsConfig {
    /// Alertmanager's: whether resolved notifications are sent; default true.
    pub send_resolved: bool,
    /// Alertmanager's: the topic to publish to; required here (the other targets
    /// are not supported).
    pub topic_arn: Option<String>,
    /// Alertmanager's; accepted for compatibility and refused when set: we publish
    /// with the function's own credentials and endpoint.
    pub api_url: Option<String>,
    /// Alertmanager's; refused when set, for the same reason as `api_url`.
    pub sigv4: Option<yaml_serde::Value>,
    /// Alertmanager's (SMS); refused when set: only `topic_arn` is supported.
    pub phone_number: Option<String>,
    /// Alertmanager's (mobile push); refused when set: only `topic_arn` is
    /// supported.
    pub target_arn: Option<String>,
    /// Alertmanager's: the message subject (a template); default Alertmanager's
    /// `sns.default.subject`.
    pub subject: Option<String>,
    /// Alertmanager's: the message body (a template); default Alertmanager's
    /// `sns.default.message`.
    pub message: Option<String>,
    /// Alertmanager's: message attributes (values are templates) for subscription
    /// filter policies; default none.
    pub attributes: BTreeMap<String, String>,
}

impl Default for SnsConfig {
    fn default() -> Self {
        Self {
            send_resolved: true,
            topic_arn: None,
            api_url: None,
            sigv4: None,
            phone_number: None,
            target_arn: None,
            subject: None,
            message: None,
            attributes: BTreeMap::new(),
        }
    }
}

/// Alertmanager's `webhook_configs`: its JSON payload, version 4.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Alertmanager's: whether resolved notifications are sent; default true.
    pub send_resolved: bool,
    /// Alertmanager's: where to POST (a [`SecretRef`]: literal, `env:` or `ssm:`);
    /// exactly one of `url` and `url_file`.
    pub url: Option<SecretRef>,
    /// Alertmanager's: the URL read from this file (relative to the config file's
    /// directory).
    pub url_file: Option<PathBuf>,
    /// Alertmanager's: at most this many alerts per payload (0 = all, the default);
    /// the rest are counted in `truncatedAlerts`.
    pub max_alerts: usize,
    /// Alertmanager's: HTTP settings (the timeout); default `global.http_config`.
    pub http_config: Option<HttpConfig>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            send_resolved: true,
            url: None,
            url_file: None,
            max_alerts: 0,
            http_config: None,
        }
    }
}

/// Alertmanager's `slack_configs` (incoming webhook). The text fields are templates;
/// unset ones use Alertmanager's `slack.default.*` templates.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    /// Alertmanager's: whether resolved notifications are sent; default false (as
    /// in Alertmanager, unlike the other integrations).
    pub send_resolved: bool,
    /// Alertmanager's: the incoming-webhook URL (a [`SecretRef`]); default
    /// `global.slack_api_url`.
    pub api_url: Option<SecretRef>,
    /// Alertmanager's: the URL read from this file; at most one of `api_url` and
    /// `api_url_file`.
    pub api_url_file: Option<PathBuf>,
    /// Alertmanager's: the channel or user to post to; default the webhook's own.
    pub channel: Option<String>,
    /// Alertmanager's: the name shown as the poster; default the webhook's own.
    pub username: Option<String>,
    /// Alertmanager's: the attachment colour; default red while firing, green when
    /// resolved.
    pub color: Option<String>,
    /// Alertmanager's: the attachment title.
    pub title: Option<String>,
    /// Alertmanager's: the link of the title.
    pub title_link: Option<String>,
    /// Alertmanager's: text above the attachment.
    pub pretext: Option<String>,
    /// Alertmanager's: the attachment text.
    pub text: Option<String>,
    /// Alertmanager's: plain-text summary for clients that cannot show attachments.
    pub fallback: Option<String>,
    /// Alertmanager's: the attachment footer.
    pub footer: Option<String>,
    /// Alertmanager's: an emoji used as the poster's icon.
    pub icon_emoji: Option<String>,
    /// Alertmanager's: an image URL used as the poster's icon.
    pub icon_url: Option<String>,
    /// Alertmanager's: HTTP settings (the timeout); default `global.http_config`.
    pub http_config: Option<HttpConfig>,
}

/// Alertmanager's `pagerduty_configs`, Events API v2 only. The text fields are
/// templates; unset ones use Alertmanager's `pagerduty.default.*` templates.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Alertmanager's: whether resolved notifications are sent; default true.
    pub send_resolved: bool,
    /// Alertmanager's: the Events API v2 integration key (a [`SecretRef`]); exactly
    /// one of `routing_key` and `routing_key_file`.
    pub routing_key: Option<SecretRef>,
    /// Alertmanager's: the key read from this file.
    pub routing_key_file: Option<PathBuf>,
    /// Alertmanager's Events API v1 key: refused (v1 is retired); use `routing_key`.
    pub service_key: Option<yaml_serde::Value>,
    /// Alertmanager's: the Events API URL; default `global.pagerduty_url`, then
    /// PagerDuty's public endpoint.
    pub url: Option<String>,
    /// Alertmanager's: the client name shown in the incident.
    pub client: Option<String>,
    /// Alertmanager's: the client link shown in the incident.
    pub client_url: Option<String>,
    /// Alertmanager's: the incident summary.
    pub description: Option<String>,
    /// Alertmanager's: the event severity; default `error`.
    pub severity: Option<String>,
    /// Alertmanager's: the event class.
    pub class: Option<String>,
    /// Alertmanager's: the affected component.
    pub component: Option<String>,
    /// Alertmanager's: the logical group of the source.
    pub group: Option<String>,
    /// Alertmanager's: the affected system; default the client name.
    pub source: Option<String>,
    /// Alertmanager's: custom details (values are templates); default Alertmanager's
    /// firing / resolved / num_firing / num_resolved.
    pub details: BTreeMap<String, String>,
    /// Alertmanager's: HTTP settings (the timeout); default `global.http_config`.
    pub http_config: Option<HttpConfig>,
}

impl Default for PagerdutyConfig {
    fn default() -> Self {
        Self {
            send_resolved: true,
            routing_key: None,
            routing_key_file: None,
            service_key: None,
            url: None,
            client: None,
            client_url: None,
            description: None,
            severity: None,
            class: None,
            component: None,
            group: None,
            source: None,
            details: BTreeMap::new(),
            http_config: None,
        }
    }
}

/// Ours: the routed alerts as an [`alert_model::AlertBatch`] on an SNS topic the
/// scaler subscribes to.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScalerConfig {
    /// Whether resolved alerts are published; default true, because the scaler
    /// undoes a change sooner when it hears the alert resolve.
    pub send_resolved: bool,
    /// The scaler's topic; required.
    pub topic_arn: String,
}

impl Default for ScalerConfig {
    fn default() -> Self {
        Self {
            send_resolved: true,
            topic_arn: String::new(),
        }
    }
}
