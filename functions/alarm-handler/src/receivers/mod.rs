//! Delivering one group's notification to one receiver integration (`sns_configs[0]`,
//! `webhook_configs[1]`, ...). Payload builders are pure functions per integration;
//! [`Notifier`] holds the clients and sends.

mod pagerduty;
mod scaler;
mod slack;
mod sns;
mod template_data;
mod webhook;

use std::time::Duration;

use alert_model::Status;
use aws_sdk_sns::error::DisplayErrorContext;
use notify_template::{TemplateError, Templates};

use crate::config::{Config, ReceiverConfig};
use crate::grouping::Group;
use crate::secret::{SecretError, SecretRef, SecretResolver};

pub use pagerduty::pagerduty_event;
pub use scaler::scaler_batch;
pub use slack::slack_message;
pub use sns::{sns_message, SnsMessage};
pub use template_data::template_data;
pub use webhook::webhook_payload;

/// One integration of a receiver, as configured.
#[derive(Debug, Clone, Copy)]
pub enum Integration<'a> {
    /// An `sns_configs` entry.
    Sns(&'a crate::config::SnsConfig),
    /// A `webhook_configs` entry.
    Webhook(&'a crate::config::WebhookConfig),
    /// A `slack_configs` entry.
    Slack(&'a crate::config::SlackConfig),
    /// A `pagerduty_configs` entry.
    Pagerduty(&'a crate::config::PagerdutyConfig),
    /// A `scaler_configs` entry.
    Scaler(&'a crate::config::ScalerConfig),
}

impl Integration<'_> {
    /// The config key without `_configs`: `sns`, `webhook`, `slack`, `pagerduty`,
    /// `scaler`.
    pub fn kind(&self) -> &'static str {
        match self {
            Integration::Sns(_) => "sns",
            Integration::Webhook(_) => "webhook",
            Integration::Slack(_) => "slack",
            Integration::Pagerduty(_) => "pagerduty",
            Integration::Scaler(_) => "scaler",
        }
    }

    /// The integration's `send_resolved`.
    pub fn send_resolved(&self) -> bool {
        match self {
            Integration::Sns(c) => c.send_resolved,
            Integration::Webhook(c) => c.send_resolved,
            Integration::Slack(c) => c.send_resolved,
            Integration::Pagerduty(c) => c.send_resolved,
            Integration::Scaler(c) => c.send_resolved,
        }
    }
}

/// Every integration of a receiver with its index within its kind.
pub fn integrations(receiver: &ReceiverConfig) -> Vec<(Integration<'_>, usize)> {
    let mut all = Vec::new();
    all.extend(
        receiver
            .sns_configs
            .iter()
            .enumerate()
            .map(|(i, c)| (Integration::Sns(c), i)),
    );
    all.extend(
        receiver
            .webhook_configs
            .iter()
            .enumerate()
            .map(|(i, c)| (Integration::Webhook(c), i)),
    );
    all.extend(
        receiver
            .slack_configs
            .iter()
            .enumerate()
            .map(|(i, c)| (Integration::Slack(c), i)),
    );
    all.extend(
        receiver
            .pagerduty_configs
            .iter()
            .enumerate()
            .map(|(i, c)| (Integration::Pagerduty(c), i)),
    );
    all.extend(
        receiver
            .scaler_configs
            .iter()
            .enumerate()
            .map(|(i, c)| (Integration::Scaler(c), i)),
    );
    all
}

/// The alerts an integration is told about: resolved ones only with
/// `send_resolved`; `None` when nothing is left (Alertmanager sends nothing then).
pub fn alerts_to_send<'a>(group: &Group<'a>, integration: &Integration<'_>) -> Option<Group<'a>> {
    let mut group = group.clone();
    if !integration.send_resolved() {
        group.alerts.retain(|a| a.status == Status::Firing);
    }
    (!group.alerts.is_empty()).then_some(group)
}

/// A notification that could not be delivered. Never contains a secret (webhook URLs
/// and routing keys are not printed).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A template of the integration does not render for this group.
    #[error("{integration}: template: {source}")]
    Template {
        /// The integration, `receiver/kind[i]`.
        integration: String,
        /// The rendering error.
        source: TemplateError,
    },
    /// A URL or key reference could not be resolved.
    #[error("{0}")]
    Secret(#[from] SecretError),
    /// The HTTP request did not get a response (connection, TLS, timeout).
    #[error("{integration}: request failed: {reason}")]
    Request {
        /// The integration, `receiver/kind[i]`.
        integration: String,
        /// The client's error, without the URL (it may hold a secret).
        reason: String,
    },
    /// The endpoint answered with a status other than 2xx.
    #[error("{integration}: HTTP {status}: {body}")]
    Status {
        /// The integration, `receiver/kind[i]`.
        integration: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body, which usually says why.
        body: String,
    },
    /// SNS Publish failed.
    #[error("{integration}: SNS publish failed: {reason}")]
    Publish {
        /// The integration, `receiver/kind[i]`.
        integration: String,
        /// The SDK's error with its causes.
        reason: String,
    },
    /// The payload (or a message attribute) could not be encoded.
    #[error("{integration}: cannot encode the payload: {reason}")]
    Encode {
        /// The integration, `receiver/kind[i]`.
        integration: String,
        /// The serialiser's error.
        reason: String,
    },
}

/// Where alerts came from, for payloads that carry it.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The detected input format (`alertmanager`, `cloudwatch`, ...).
    pub format: &'a str,
    /// The SNS `MessageId` or EventBridge `id`, when there is one.
    pub message_id: Option<&'a str>,
}

/// Sends notifications; built once per warm container.
pub struct Notifier {
    sns: aws_sdk_sns::Client,
    http: reqwest::Client,
    templates: Templates,
    secrets: SecretResolver,
    external_url: String,
    default_timeout: Duration,
}

impl Notifier {
    /// `templates` already holds the config's template files.
    pub fn new(
        config: &Config,
        sns: aws_sdk_sns::Client,
        ssm: Option<aws_sdk_ssm::Client>,
        templates: Templates,
    ) -> Result<Notifier, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("alarm-handler/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let default_timeout = config
            .file
            .global
            .http_config
            .as_ref()
            .and_then(|h| h.timeout)
            .map_or(Duration::from_secs(10), |d| d.0);
        Ok(Notifier {
            sns,
            http,
            templates,
            secrets: SecretResolver::new(ssm),
            external_url: config
                .file
                .alarm_handler
                .external_url
                .clone()
                .unwrap_or_default(),
            default_timeout,
        })
    }

    /// Delivers `group` (already filtered by [`alerts_to_send`]) to one integration.
    /// `name` is `receiver/kind[index]`, used in errors and logs.
    pub async fn send(
        &mut self,
        config: &Config,
        name: &str,
        integration: Integration<'_>,
        group: &Group<'_>,
        origin: Origin<'_>,
    ) -> Result<(), DeliveryError> {
        let data = template_data(group, &self.external_url);
        let template_error = |source| DeliveryError::Template {
            integration: name.to_string(),
            source,
        };
        match integration {
            Integration::Sns(c) => {
                let message =
                    sns_message(c, &self.templates, &data, group).map_err(template_error)?;
                let topic = c.topic_arn.as_deref().unwrap_or_default();
                self.publish(name, topic, message).await
            }
            Integration::Scaler(c) => {
                let message =
                    scaler::scaler_message(group, origin).map_err(|e| DeliveryError::Encode {
                        integration: name.to_string(),
                        reason: e.to_string(),
                    })?;
                self.publish(name, &c.topic_arn, message).await
            }
            Integration::Webhook(c) => {
                let url = self.secret(name, "url", c.url.as_ref()).await?;
                let body = webhook_payload(group, &self.external_url, c.max_alerts);
                let timeout = timeout_of(c.http_config.as_ref(), self.default_timeout);
                self.post(name, url.expose(), &body, timeout).await
            }
            Integration::Slack(c) => {
                let url = match c.api_url.as_ref() {
                    Some(url) => self.secret(name, "api_url", Some(url)).await?,
                    None => {
                        let global = config.file.global.slack_api_url.clone();
                        self.secret(name, "global.slack_api_url", global.as_ref())
                            .await?
                    }
                };
                let body = slack_message(c, &self.templates, &data).map_err(template_error)?;
                let timeout = timeout_of(c.http_config.as_ref(), self.default_timeout);
                self.post(name, url.expose(), &body, timeout).await
            }
            Integration::Pagerduty(c) => {
                let key = self
                    .secret(name, "routing_key", c.routing_key.as_ref())
                    .await?;
                let body = pagerduty_event(c, &self.templates, &data, group, key.expose())
                    .map_err(template_error)?;
                let url = c
                    .url
                    .clone()
                    .or_else(|| config.file.global.pagerduty_url.clone())
                    .unwrap_or_else(|| pagerduty::DEFAULT_URL.to_string());
                let timeout = timeout_of(c.http_config.as_ref(), self.default_timeout);
                self.post(name, &url, &body, timeout).await
            }
        }
    }

    async fn secret(
        &mut self,
        name: &str,
        field: &str,
        secret: Option<&SecretRef>,
    ) -> Result<crate::secret::Secret, DeliveryError> {
        let field = format!("{name}.{field}");
        match secret {
            Some(secret) => Ok(self.secrets.resolve(&field, secret).await?),
            None => Err(DeliveryError::Secret(SecretError::Empty { field })),
        }
    }

    async fn publish(
        &self,
        name: &str,
        topic_arn: &str,
        message: SnsMessage,
    ) -> Result<(), DeliveryError> {
        let mut request = self
            .sns
            .publish()
            .topic_arn(topic_arn)
            .message(message.message);
        if let Some(subject) = message.subject {
            request = request.subject(subject);
        }
        for (key, value) in message.attributes {
            let attribute = aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| DeliveryError::Encode {
                    integration: name.to_string(),
                    reason: e.to_string(),
                })?;
            request = request.message_attributes(key, attribute);
        }
        request.send().await.map_err(|e| DeliveryError::Publish {
            integration: name.to_string(),
            reason: DisplayErrorContext(&e).to_string(),
        })?;
        Ok(())
    }

    async fn post(
        &self,
        name: &str,
        url: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<(), DeliveryError> {
        let request_error = |e: reqwest::Error| DeliveryError::Request {
            integration: name.to_string(),
            // Without the URL (a secret for Slack and webhooks), and through the
            // errors' own texts only: their debug forms carry the host and port.
            reason: function_cli::error_chain(&e.without_url()),
        };
        let text = serde_json::to_vec(body).map_err(|e| DeliveryError::Encode {
            integration: name.to_string(),
            reason: e.to_string(),
        })?;
        let response = self
            .http
            .post(url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(text)
            .send()
            .await
            .map_err(request_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        let mut excerpt: String = body.chars().take(512).collect();
        if excerpt.len() < body.len() {
            excerpt.push_str("...");
        }
        Err(DeliveryError::Status {
            integration: name.to_string(),
            status: status.as_u16(),
            body: excerpt,
        })
    }
}

fn timeout_of(config: Option<&crate::config::HttpConfig>, default: Duration) -> Duration {
    config.and_then(|h| h.timeout).map_or(default, |d| d.0)
}
