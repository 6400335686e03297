//! One invocation: decode, update and read the firing state, dispatch, deliver
//! through the ledger, summarise. Any delivery failure fails the invocation so
//! Lambda retries it; undecodable input is not a failure (it becomes a generic alert).

use std::time::{Duration, Instant};

use alert_model::Status;
use chrono::{DateTime, Utc};
use notify_template::Templates;
use serde_json::Value;

use crate::config::{Config, ConfigError};
use crate::event::decode_invocation;
use crate::firing_state::FiringState;
use crate::grouping::dispatch;
use crate::ledger::{Claim, Ledger};
use crate::receivers::{alerts_to_send, integrations, Notifier, Origin};
use crate::summary::Summary;

const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
const DEFAULT_FIRING_TTL: Duration = Duration::from_secs(24 * 3600);
/// Longer than the 15-minute Lambda maximum: a pending claim older than this
/// belongs to an invocation that no longer runs.
const CLAIM_LEASE: Duration = Duration::from_secs(16 * 60);

/// Cannot start: the config or the templates are broken.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The config text could not be read from its source.
    #[error(transparent)]
    Source(#[from] config_source::ConfigSourceError),
    /// The config is refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A `templates` file does not parse as Go templates.
    #[error("template {file}: {source}")]
    Template {
        /// The file's path.
        file: String,
        /// The parse error.
        source: notify_template::TemplateError,
    },
    /// The HTTP client for webhooks, Slack and PagerDuty cannot be built (no TLS
    /// roots).
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Some deliveries failed; the summary says which.
#[derive(Debug, thiserror::Error)]
#[error("{} of {} deliveries failed: {}", .summary.deliveries.failed, .summary.deliveries.failed + .summary.deliveries.sent, .summary.failures.join("; "))]
pub struct InvocationError {
    /// The invocation's summary, with the failures listed.
    pub summary: Box<Summary>,
}

/// The warm container's state.
pub struct Handler {
    config: Config,
    notifier: Notifier,
    ledger: Option<Ledger>,
    state: Option<FiringState>,
}

impl Handler {
    /// Builds clients from the standard AWS config (`AWS_ENDPOINT_URL` etc.).
    pub fn new(config: Config, aws: &aws_config::SdkConfig) -> Result<Handler, StartupError> {
        let mut templates = Templates::with_defaults();
        for (file, text) in &config.template_sources {
            templates
                .add(file, text)
                .map_err(|source| StartupError::Template {
                    file: file.clone(),
                    source,
                })?;
        }
        let settings = &config.file.alarm_handler;
        let dynamodb = || aws_sdk_dynamodb::Client::new(aws);
        let ledger = settings.idempotency_table.as_ref().map(|table| {
            let ttl = settings
                .idempotency_ttl
                .map_or(DEFAULT_IDEMPOTENCY_TTL, |d| d.0);
            Ledger::new(dynamodb(), table.clone(), ttl, CLAIM_LEASE)
        });
        let state = settings.state_table.as_ref().map(|table| {
            let ttl = settings.firing_ttl.map_or(DEFAULT_FIRING_TTL, |d| d.0);
            FiringState::new(dynamodb(), table.clone(), ttl)
        });
        let notifier = Notifier::new(
            &config,
            aws_sdk_sns::Client::new(aws),
            Some(aws_sdk_ssm::Client::new(aws)),
            templates,
        )?;
        Ok(Handler {
            config,
            notifier,
            ledger,
            state,
        })
    }

    /// Handles one invocation event at time `now` (time intervals are evaluated at
    /// `now`).
    pub async fn handle(
        &mut self,
        event: &Value,
        now: DateTime<Utc>,
    ) -> Result<Summary, InvocationError> {
        let started = Instant::now();
        let mut summary = Summary::default();
        let messages = decode_invocation(event);
        summary.messages = messages.len();
        let all_alerts: Vec<_> = messages
            .iter()
            .flat_map(|m| m.decoded.alerts.iter().cloned())
            .collect();
        for message in &messages {
            *summary
                .formats
                .entry(message.decoded.format.as_str().to_string())
                .or_default() += 1;
            summary
                .warnings
                .extend(message.decoded.warnings.iter().cloned());
        }
        summary.alerts = all_alerts.len();
        summary.firing = all_alerts
            .iter()
            .filter(|a| a.status == Status::Firing)
            .count();
        summary.resolved = summary.alerts - summary.firing;

        let mut firing_elsewhere = Vec::new();
        if let Some(state) = &self.state {
            match state.firing(now).await {
                Ok((labels, unreadable)) => {
                    if unreadable > 0 {
                        summary
                            .warnings
                            .push(format!("{unreadable} unreadable items in the state table"));
                    }
                    firing_elsewhere = labels;
                }
                Err(e) => summary.failures.push(e.to_string()),
            }
        }

        // This invocation's news about an alert supersedes the recorded state.
        let current: std::collections::HashSet<&str> =
            all_alerts.iter().map(|a| a.fingerprint.as_str()).collect();
        firing_elsewhere
            .retain(|labels| !current.contains(alert_model::fingerprint(labels).as_str()));
        for message in &messages {
            let alerts = &message.decoded.alerts;
            let routed = dispatch(&self.config, alerts, &firing_elsewhere, now);
            summary.inhibited += routed.inhibited.len();
            summary.muted += routed.muted.len();
            summary.routes_matched += routed.routes_matched;
            summary.groups += routed.groups.len();
            if message.id.is_none() && self.ledger.is_some() {
                summary.warnings.push(
                    "input has no message id: delivered without the idempotency ledger".into(),
                );
            }
            let origin = Origin {
                format: message.decoded.format.as_str(),
                message_id: message.id.as_deref(),
            };
            for group in &routed.groups {
                let Some(receiver) = self.config.receiver(group.receiver) else {
                    summary
                        .failures
                        .push(format!("{}: receiver is not configured", group.receiver));
                    continue;
                };
                for (integration, index) in integrations(receiver) {
                    let Some(to_send) = alerts_to_send(group, &integration) else {
                        summary.deliveries.nothing_to_send += 1;
                        continue;
                    };
                    let name = format!("{}/{}[{index}]", receiver.name, integration.kind());
                    let delivery_id = format!("{name}/{}", group.key_id());
                    let ledger = self.ledger.as_ref().zip(message.id.as_deref());
                    if let Some((ledger, id)) = ledger {
                        match ledger.claim(id, &delivery_id, now).await {
                            Ok(Claim::Claimed) => {}
                            Ok(Claim::AlreadyDelivered) => {
                                summary.deliveries.duplicate(&receiver.name);
                                continue;
                            }
                            Ok(Claim::InProgress) => {
                                summary.deliveries.fail(&receiver.name);
                                summary.failures.push(format!(
                                    "{name}: another invocation is delivering this message"
                                ));
                                continue;
                            }
                            Err(e) => {
                                summary.deliveries.fail(&receiver.name);
                                summary.failures.push(format!("{name}: {e}"));
                                continue;
                            }
                        }
                    }
                    let result = self
                        .notifier
                        .send(&self.config, &name, integration, &to_send, origin)
                        .await;
                    match result {
                        Ok(()) => {
                            summary.deliveries.sent += 1;
                            *summary
                                .deliveries
                                .per_receiver
                                .entry(receiver.name.clone())
                                .or_default() += 1;
                            if let Some((ledger, id)) = ledger {
                                if let Err(e) = ledger.delivered(id, &delivery_id, now).await {
                                    // Sent, but a retry would send again: report it.
                                    summary
                                        .failures
                                        .push(format!("{name}: sent, but not recorded: {e}"));
                                }
                            }
                        }
                        Err(e) => {
                            summary.deliveries.fail(&receiver.name);
                            summary.failures.push(e.to_string());
                            if let Some((ledger, id)) = ledger {
                                if let Err(e) = ledger.release(id, &delivery_id).await {
                                    summary.failures.push(format!("{name}: {e}"));
                                }
                            }
                        }
                    }
                }
            }
        }

        if let Some(state) = &self.state {
            if let Err(e) = state.record(&all_alerts, now).await {
                summary.failures.push(e.to_string());
            }
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        if summary.failures.is_empty() {
            Ok(summary)
        } else {
            Err(InvocationError {
                summary: Box::new(summary),
            })
        }
    }
}
