//! The data a notification template sees, shaped like Alertmanager's template
//! `Data` so templates written for Alertmanager work unchanged.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// One alert as templates see it (`.Alerts` items).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateAlert {
    /// `firing` or `resolved` (`.Status`).
    pub status: String,
    /// The alert's identity (`.Labels`).
    pub labels: BTreeMap<String, String>,
    /// Descriptive text such as `summary` and `runbook_url` (`.Annotations`).
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 (`.StartsAt`).
    pub starts_at: String,
    /// RFC 3339 (`.EndsAt`); callers put Alertmanager's zero time
    /// `0001-01-01T00:00:00Z` when unknown, so templates written for Alertmanager
    /// compare it the same way.
    pub ends_at: String,
    /// Link back to the rule or alarm (`.GeneratorURL`), empty when unknown.
    pub generator_url: String,
    /// The 16-hex-digit label fingerprint (`.Fingerprint`).
    pub fingerprint: String,
}

fn common(
    alerts: &[TemplateAlert],
    pick: fn(&TemplateAlert) -> &BTreeMap<String, String>,
) -> Map<String, Value> {
    let Some((first, rest)) = alerts.split_first() else {
        return Map::new();
    };
    pick(first)
        .iter()
        .filter(|(k, v)| rest.iter().all(|a| pick(a).get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// `.Receiver`, `.Status`, `.Alerts`, `.GroupLabels`, `.CommonLabels`,
/// `.CommonAnnotations` (labels/annotations equal across all alerts) and
/// `.ExternalURL`.
pub fn notification_data(
    receiver: &str,
    status: &str,
    alerts: &[TemplateAlert],
    group_labels: &BTreeMap<String, String>,
    external_url: &str,
) -> Value {
    let items: Vec<Value> = alerts
        .iter()
        .map(|a| {
            json!({
                "Status": a.status,
                "Labels": a.labels,
                "Annotations": a.annotations,
                "StartsAt": a.starts_at,
                "EndsAt": a.ends_at,
                "GeneratorURL": a.generator_url,
                "Fingerprint": a.fingerprint,
            })
        })
        .collect();
    json!({
        "Receiver": receiver,
        "Status": status,
        "Alerts": items,
        "GroupLabels": group_labels,
        "CommonLabels": common(alerts, |a| &a.labels),
        "CommonAnnotations": common(alerts, |a| &a.annotations),
        "ExternalURL": external_url,
    })
}
