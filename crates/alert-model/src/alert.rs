//! The normalised alert, and the batch the alarm-handler publishes to the scaler.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fingerprint::fingerprint;

/// Version of the JSON form of [`AlertBatch`] / [`Alert`]. Consumers refuse a batch
/// whose major version they do not know; additive changes keep the version.
pub const SCHEMA_VERSION: &str = "1";

/// Firing or resolved, as in Alertmanager. A CloudWatch alarm in `ALARM` is firing;
/// `OK` and `INSUFFICIENT_DATA` are resolved (the exact state stays in the
/// `alarm_state` annotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The condition holds now.
    Firing,
    /// The condition no longer holds (or the alarm has no data to say it does).
    Resolved,
}

impl Status {
    /// `firing` / `resolved`, the spelling every receiver payload uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }
}

/// One alert, whatever sent it. Field names follow Alertmanager's webhook payload so
/// anyone who knows that format can read this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Alert {
    /// Identity: routing, grouping, inhibition and the fingerprint use labels only.
    /// Always has `alertname` and `source`; `region`, `account_id` and `severity`
    /// when the input tells them.
    pub labels: BTreeMap<String, String>,
    /// Descriptive text (`summary`, `description`, `runbook_url`, the alarm's
    /// reason): shown in notifications, never part of the identity.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Firing or resolved, as the input reported it.
    pub status: Status,
    /// When the condition started, if the input says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    /// When it resolved (or, for a firing alert, when the sender would consider it
    /// resolved without news); absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// [`fingerprint`] of `labels`: 16 hex digits, the same for the firing and the
    /// resolved notification of one alert.
    pub fingerprint: String,
    /// Link back to what raised the alert (the rule's graph, the alarm's console
    /// page), serialised as Alertmanager's `generatorURL`.
    #[serde(
        default,
        rename = "generatorURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub generator_url: Option<String>,
    /// Query values the sender reported (Grafana `values`, CloudWatch datapoints).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, f64>,
}

impl Alert {
    /// An alert whose fingerprint is computed from `labels`.
    pub fn new(labels: BTreeMap<String, String>, status: Status) -> Alert {
        let fingerprint = fingerprint(&labels);
        Alert {
            labels,
            annotations: BTreeMap::new(),
            status,
            starts_at: None,
            ends_at: None,
            fingerprint,
            generator_url: None,
            values: BTreeMap::new(),
        }
    }

    /// Recomputes the fingerprint after labels changed.
    pub fn refresh_fingerprint(&mut self) {
        self.fingerprint = fingerprint(&self.labels);
    }

    /// When the alert's state last changed, as its sender says: a firing alert's
    /// start, a resolved one's end (or start); `None` when the sender says neither.
    /// State stores keep only a newer or equal state, so a retried old message
    /// cannot undo a newer one.
    pub fn state_changed_at(&self) -> Option<DateTime<Utc>> {
        match self.status {
            Status::Firing => self.starts_at,
            Status::Resolved => self.ends_at.or(self.starts_at),
        }
    }

    /// `alertname`, or the empty string.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }
}

/// What the alarm-handler's scaler receiver publishes: one routed group of alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertBatch {
    /// [`SCHEMA_VERSION`] when written.
    pub schema_version: String,
    /// The receiver that published the batch.
    pub receiver: String,
    /// `firing` when any alert fires.
    pub status: Status,
    /// The labels the batch was grouped by (`group_by`), as in an Alertmanager
    /// webhook's `groupLabels`.
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    /// The labels every alert in the batch shares, as in `commonLabels`.
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    /// The input format the alerts were decoded from (`cloudwatch_alarm`, ...).
    pub source_format: String,
    /// The SNS `MessageId` (or EventBridge event id) the alerts came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_message_id: Option<String>,
    /// The alerts, firing and resolved.
    pub alerts: Vec<Alert>,
}
