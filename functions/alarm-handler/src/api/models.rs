//! The JSON shapes of Alertmanager's v2 API (`api/v2/openapi.yaml`), the subset
//! served here. Field names and required fields follow the spec; a test checks the
//! responses against it.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::silences::{Silence, SilenceMatcher};

/// Times as Alertmanager writes them: RFC 3339, UTC, milliseconds.
pub fn api_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `postableSilence`: what `amtool silence add` and Grafana send.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableSilence {
    /// Set to change an existing silence.
    #[serde(default)]
    pub id: Option<String>,
    /// At least one.
    pub matchers: Vec<SilenceMatcher>,
    /// From when.
    pub starts_at: DateTime<Utc>,
    /// Until when.
    pub ends_at: DateTime<Utc>,
    /// Who.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

/// `silenceStatus`.
#[derive(Debug, Clone, Serialize)]
pub struct SilenceStatus {
    /// `active`, `pending` or `expired`.
    pub state: &'static str,
}

/// `gettableSilence`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GettableSilence {
    /// The silence's id.
    pub id: String,
    /// Its state now.
    pub status: SilenceStatus,
    /// Last change.
    pub updated_at: String,
    /// The matchers, with both `isRegex` and `isEqual`.
    pub matchers: Vec<SilenceMatcher>,
    /// From when.
    pub starts_at: String,
    /// Until when.
    pub ends_at: String,
    /// Who.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

impl GettableSilence {
    /// The silence as listed at `now`.
    pub fn new(silence: &Silence, now: DateTime<Utc>) -> GettableSilence {
        GettableSilence {
            id: silence.id.clone(),
            status: SilenceStatus {
                state: silence.state(now).as_str(),
            },
            updated_at: api_time(silence.updated_at),
            matchers: silence.matchers.clone(),
            starts_at: api_time(silence.starts_at),
            ends_at: api_time(silence.ends_at),
            created_by: silence.created_by.clone(),
            comment: silence.comment.clone(),
        }
    }
}

/// `receiver`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiverName {
    /// The receiver's name.
    pub name: String,
}

/// `alertStatus`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertStatus {
    /// `active`, or `suppressed` when silenced or inhibited.
    pub state: &'static str,
    /// Ids of the active silences that match.
    pub silenced_by: Vec<String>,
    /// Fingerprint of the firing alert that inhibits it.
    pub inhibited_by: Vec<String>,
}

/// `gettableAlert`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GettableAlert {
    /// The labels.
    pub labels: BTreeMap<String, String>,
    /// The annotations.
    pub annotations: BTreeMap<String, String>,
    /// The receivers of every route the alert matches.
    pub receivers: Vec<ReceiverName>,
    /// The labels' fingerprint.
    pub fingerprint: String,
    /// When it started.
    pub starts_at: String,
    /// When it was last received.
    pub updated_at: String,
    /// When it resolves without news.
    pub ends_at: String,
    /// Silenced, inhibited or active.
    pub status: AlertStatus,
    /// Where it came from.
    #[serde(rename = "generatorURL", skip_serializing_if = "Option::is_none")]
    pub generator_url: Option<String>,
}

/// `alertGroup`.
#[derive(Debug, Clone, Serialize)]
pub struct AlertGroup {
    /// The group labels.
    pub labels: BTreeMap<String, String>,
    /// The route's receiver.
    pub receiver: ReceiverName,
    /// The group's alerts.
    pub alerts: Vec<GettableAlert>,
}

/// `postableAlert`: what Prometheus and Grafana send.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    /// The identity; at least one pair.
    pub labels: BTreeMap<String, String>,
    /// Descriptions.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When it started; default: `endsAt` when given, else now.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// When it resolves; default: now + `resolve_timeout`.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Link back to the rule.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
}
