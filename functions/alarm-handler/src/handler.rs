//! One invocation: decode, update and read the firing state, then either send every
//! group now (without timers) or store the groups for their timers and flush what
//! is due (with timers); the scheduled flush; the summary. On the immediate path any
//! delivery failure fails the invocation so Lambda retries it; a flush's failures
//! stay due for the next flush instead. Undecodable input is not a failure (it
//! becomes a generic alert).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alert_model::{Alert, Status};
use chrono::{DateTime, Utc};
use notify_template::Templates;
use serde_json::Value;

use crate::aggregation::{first_flush, flush_group, FlushInputs, GroupIdentity, GroupStore};
use crate::config::{Config, ConfigError};
use crate::delivery::{deliver, Delivery};
use crate::event::{decode_invocation, Message};
use crate::firing_state::FiringState;
use crate::grouping::{dispatch, route_only};
use crate::ledger::Ledger;
use crate::receivers::{alerts_to_send, integrations, Notifier, Origin};
use crate::silences::{Silence, SilenceState, SilenceStore};
use crate::summary::Summary;

const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
const DEFAULT_FIRING_TTL: Duration = Duration::from_secs(24 * 3600);
/// Longer than the 15-minute Lambda maximum: a pending claim older than this
/// belongs to an invocation that no longer runs.
const CLAIM_LEASE: Duration = Duration::from_secs(16 * 60);
/// Alertmanager's `--data.retention` default.
const DEFAULT_SILENCE_RETENTION: Duration = Duration::from_secs(120 * 3600);
/// TTL of group heads: every add and flush renews it (a group is flushed every
/// `group_interval`), so only a head no flush reaches any more expires.
const GROUP_KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

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
    pub(crate) config: Config,
    notifier: Notifier,
    ledger: Option<Ledger>,
    pub(crate) state: Option<FiringState>,
    groups: Option<GroupStore>,
    pub(crate) silences: Option<SilenceStore>,
}

impl Handler {
    /// Builds clients from the standard AWS config (`AWS_ENDPOINT_URL` etc.).
    pub fn new(config: Config, aws: &aws_config::SdkConfig) -> Result<Handler, StartupError> {
        crate::api::mark_start();
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
        let groups = settings
            .state_table
            .as_ref()
            .map(|table| GroupStore::new(dynamodb(), table.clone(), GROUP_KEEP));
        let silences = settings.state_table.as_ref().map(|table| {
            let retention = settings
                .silence_retention
                .map_or(DEFAULT_SILENCE_RETENTION, |d| d.0);
            SilenceStore::new(dynamodb(), table.clone(), retention)
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
            groups,
            silences,
        })
    }

    /// Handles one invocation event at time `now` (time intervals are evaluated at
    /// `now`).
    pub async fn handle(
        &mut self,
        event: &Value,
        now: DateTime<Utc>,
    ) -> Result<Summary, InvocationError> {
        Box::pin(self.process(decode_invocation(event), now)).await
    }

    /// Handles decoded messages (from SNS, EventBridge or the Alertmanager API's
    /// `POST /api/v2/alerts`) at time `now`.
    pub async fn process(
        &mut self,
        messages: Vec<Message>,
        now: DateTime<Utc>,
    ) -> Result<Summary, InvocationError> {
        let started = Instant::now();
        let mut summary = Summary {
            messages: messages.len(),
            ..Summary::default()
        };
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

        if self.config.file.alarm_handler.timers {
            // Boxed: the flush's future is deep, and inlining it here overflows the
            // compiler's layout depth for the runtime's future.
            Box::pin(self.collect(&messages, &all_alerts, now, &mut summary)).await;
        } else {
            // Only the immediate path reads what fires elsewhere (for inhibition); the
            // timers path decides at the flush, so a storm's invocations do not each
            // read the whole firing list for nothing.
            let firing_elsewhere = self.firing_elsewhere(&all_alerts, now, &mut summary).await;
            // Without the silences nothing is sent: the failure makes Lambda retry.
            if let Some(silences) = self.active_silences(now, &mut summary).await {
                for message in &messages {
                    self.send_now(message, &firing_elsewhere, &silences, now, &mut summary)
                        .await;
                }
            }
            self.record_firing(&all_alerts, now, &mut summary).await;
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        finish(summary)
    }

    /// The alerts the state table records as firing, less those this invocation has
    /// news about (its news supersedes the record).
    async fn firing_elsewhere(
        &self,
        all_alerts: &[Alert],
        now: DateTime<Utc>,
        summary: &mut Summary,
    ) -> Vec<BTreeMap<String, String>> {
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
        let current: std::collections::HashSet<&str> =
            all_alerts.iter().map(|a| a.fingerprint.as_str()).collect();
        firing_elsewhere
            .retain(|labels| !current.contains(alert_model::fingerprint(labels).as_str()));
        firing_elsewhere
    }

    /// The timers path: store each group's alerts, then flush at once the groups that
    /// are due already (`group_wait: 0`, or an alert older than `group_wait`).
    async fn collect(
        &mut self,
        messages: &[Message],
        all_alerts: &[Alert],
        now: DateTime<Utc>,
        summary: &mut Summary,
    ) {
        let Some(groups) = &self.groups else {
            return;
        };
        // Recorded first, so these alerts inhibit in the flushes below.
        self.record_firing(all_alerts, now, summary).await;
        let mut due_now = Vec::new();
        for message in messages {
            let routed = route_only(&self.config, &message.decoded.alerts);
            summary.routes_matched += routed.routes_matched;
            summary.groups += routed.groups.len();
            let format = message.decoded.format.as_str();
            for group in &routed.groups {
                let identity = GroupIdentity::of(group);
                let oldest = group.alerts.iter().filter_map(|a| a.starts_at).min();
                let due = first_flush(oldest, group.route.group_wait, now);
                let alerts: Vec<(&Alert, &str)> =
                    group.alerts.iter().map(|a| (*a, format)).collect();
                match groups.add(&identity, &alerts, due, now).await {
                    Ok((head, stale)) => {
                        if stale > 0 {
                            summary.warnings.push(format!(
                                "group {}: {stale} alerts older than the state already stored \
                                 were not applied (a retried or late message)",
                                identity.key
                            ));
                        }
                        if head.next_flush > now {
                            summary.groups_waiting += 1;
                        } else if !due_now.contains(&identity.id) {
                            due_now.push(identity.id);
                        }
                    }
                    Err(e) => summary.failures.push(e.to_string()),
                }
            }
        }
        if !due_now.is_empty() {
            // The alerts are stored: what this flush could not send, the scheduled
            // flush sends. Its failures must not fail this invocation, or Lambda would
            // retry the message and store its (by then perhaps outdated) alerts again.
            let mut flushed = Summary::default();
            self.flush(&due_now, now, &mut flushed).await;
            let failures = std::mem::take(&mut flushed.failures);
            summary.absorb(flushed);
            summary.warnings.extend(
                failures
                    .into_iter()
                    .map(|f| format!("flush (the scheduled flush retries): {f}")),
            );
        }
    }

    /// Records the alerts in the firing state (for inhibition and the API's alert
    /// listing); alerts older than the state stored are named in a warning.
    async fn record_firing(&self, alerts: &[Alert], now: DateTime<Utc>, summary: &mut Summary) {
        let Some(state) = &self.state else {
            return;
        };
        match state.record(alerts, now).await {
            Ok(0) => {}
            Ok(stale) => summary.warnings.push(format!(
                "firing state: {stale} alerts older than the state already stored were not \
                 applied (a retried or late message)"
            )),
            Err(e) => summary.failures.push(e.to_string()),
        }
    }

    /// Handles the scheduled flush: every group whose timer is due at `now`. Never
    /// an error: what failed stays due and the next minute's flush retries it (a
    /// Lambda retry would only add a second flush); the failures are in the summary
    /// and its figures.
    pub async fn flush_due(&mut self, now: DateTime<Utc>) -> Result<Summary, InvocationError> {
        let started = Instant::now();
        let mut summary = Summary::default();
        match &self.groups {
            Some(groups) if self.config.file.alarm_handler.timers => match groups.due(now).await {
                Ok(ids) => Box::pin(self.flush(&ids, now, &mut summary)).await,
                Err(e) => summary.failures.push(e.to_string()),
            },
            _ => summary
                .warnings
                .push("flush: alarm_handler.timers is off; nothing is held to flush".into()),
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    /// Flushes the groups `ids` (those not due or held by another flush are left).
    async fn flush(&mut self, ids: &[String], now: DateTime<Utc>, summary: &mut Summary) {
        let (Some(groups), Some(ledger)) = (&self.groups, &self.ledger) else {
            return;
        };
        if ids.is_empty() {
            // Nothing due: the minute's flush costs its one query.
            return;
        }
        let Some(silences) = self.silences_now(now, summary).await else {
            return;
        };
        let firing = match &self.state {
            Some(state) => match state.firing(now).await {
                Ok((labels, _)) => labels,
                Err(e) => {
                    summary.failures.push(e.to_string());
                    return;
                }
            },
            None => Vec::new(),
        };
        let inputs = FlushInputs {
            silences: &silences,
            firing: &firing,
        };
        for id in ids {
            Box::pin(flush_group(
                &self.config,
                &mut self.notifier,
                ledger,
                groups,
                &inputs,
                id,
                now,
                summary,
            ))
            .await;
        }
    }

    /// Every kept silence (none without a state table); `None` when they cannot be
    /// read, a failure in the summary: nothing may be sent then, it would ignore a
    /// maintenance window.
    async fn silences_now(
        &self,
        now: DateTime<Utc>,
        summary: &mut Summary,
    ) -> Option<Vec<Silence>> {
        let Some(store) = &self.silences else {
            return Some(Vec::new());
        };
        match store.list(now).await {
            Ok((silences, unreadable)) => {
                if unreadable > 0 {
                    summary.warnings.push(format!(
                        "{unreadable} silences in the state table do not decode"
                    ));
                }
                Some(silences)
            }
            Err(e) => {
                summary
                    .failures
                    .push(format!("silences cannot be read, nothing sent: {e}"));
                None
            }
        }
    }

    /// The silences active at `now`; `None` as for [`Handler::silences_now`].
    async fn active_silences(
        &self,
        now: DateTime<Utc>,
        summary: &mut Summary,
    ) -> Option<Vec<Silence>> {
        let mut silences = self.silences_now(now, summary).await?;
        silences.retain(|s| s.state(now) == SilenceState::Active);
        Some(silences)
    }

    /// The immediate path: route one message's alerts and send every group now.
    async fn send_now(
        &mut self,
        message: &Message,
        firing_elsewhere: &[BTreeMap<String, String>],
        silences: &[Silence],
        now: DateTime<Utc>,
        summary: &mut Summary,
    ) {
        let alerts = &message.decoded.alerts;
        let routed = dispatch(&self.config, alerts, firing_elsewhere, now);
        summary.inhibited += routed.inhibited.len();
        summary.muted += routed.muted.len();
        summary.routes_matched += routed.routes_matched;
        summary.groups += routed.groups.len();
        if message.id.is_none() && self.ledger.is_some() {
            summary
                .warnings
                .push("input has no message id: delivered without the idempotency ledger".into());
        }
        let origin = Origin {
            format: message.decoded.format.as_str(),
            message_id: message.id.as_deref(),
        };
        for mut group in routed.groups {
            let before = group.alerts.len();
            group
                .alerts
                .retain(|a| !silences.iter().any(|s| s.mutes(&a.labels, now)));
            summary.silenced += before - group.alerts.len();
            if group.alerts.is_empty() {
                continue;
            }
            let Some(receiver) = self.config.receiver(group.receiver) else {
                summary
                    .failures
                    .push(format!("{}: receiver is not configured", group.receiver));
                continue;
            };
            for (integration, index) in integrations(receiver) {
                let Some(to_send) = alerts_to_send(&group, &integration) else {
                    summary.deliveries.nothing_to_send += 1;
                    continue;
                };
                let name = format!("{}/{}[{index}]", receiver.name, integration.kind());
                let delivery_id = format!("{name}/{}", group.key_id());
                let delivery = Delivery {
                    name: &name,
                    receiver: &receiver.name,
                    integration,
                    ledger: self.ledger.as_ref().zip(message.id.as_deref()),
                    delivery_id: &delivery_id,
                };
                deliver(
                    &mut self.notifier,
                    &self.config,
                    delivery,
                    &to_send,
                    origin,
                    now,
                    summary,
                )
                .await;
            }
        }
    }
}

/// Ok unless something failed (then Lambda retries).
fn finish(summary: Summary) -> Result<Summary, InvocationError> {
    if summary.failures.is_empty() {
        Ok(summary)
    } else {
        Err(InvocationError {
            summary: Box::new(summary),
        })
    }
}
