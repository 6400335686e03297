//! Grafana's legacy (dashboard) alerting SNS channel: subject `State: ALERTING` (or
//! the rule title), body `State: alerting\n<message>` as text, or JSON with `body`,
//! `state` and the rule's tags merged in as top-level keys.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Decoded, Format};
use crate::alert::{Alert, Status};

/// Keys of the JSON form that are not tags.
const NON_TAG_KEYS: &[&str] = &[
    "body",
    "state",
    "ruleName",
    "ruleUrl",
    "title",
    "message",
    "ruleId",
    "orgId",
    "dashboardId",
    "panelId",
    "evalMatches",
    "imageUrl",
];

fn status_of(state: &str) -> Status {
    match state.to_ascii_lowercase().as_str() {
        "ok" | "paused" | "no_data_resolved" => Status::Resolved,
        _ => Status::Firing,
    }
}

fn name_from(subject: Option<&str>, message: &str) -> String {
    let subject = subject.map(str::trim).unwrap_or("");
    // `[Alerting] High CPU` titles carry the rule name; `State: ALERTING` does not.
    if let Some(rest) = subject
        .strip_prefix('[')
        .and_then(|s| s.split_once(']'))
        .map(|(_, r)| r.trim())
    {
        if !rest.is_empty() {
            return rest.chars().take(200).collect();
        }
    }
    if !subject.is_empty() && !subject.starts_with("State:") {
        return subject.chars().take(200).collect();
    }
    message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map_or_else(
            || "GrafanaLegacyAlert".to_string(),
            |l| l.chars().take(200).collect(),
        )
}

fn alert(name: String, state: &str, message: &str, tags: BTreeMap<String, String>) -> Alert {
    let mut labels = tags;
    labels.insert("alertname".into(), name);
    labels.insert("source".into(), "grafana_legacy".into());
    let mut alert = Alert::new(labels, status_of(state));
    alert.annotations.insert("state".into(), state.to_string());
    if !message.is_empty() {
        alert
            .annotations
            .insert("message".into(), message.to_string());
    }
    alert
}

/// The text form; `None` when neither subject nor body starts with `State:`.
pub fn decode_text(subject: Option<&str>, body: &str) -> Option<Decoded> {
    let first = body.lines().next().unwrap_or("").trim();
    let state = first.strip_prefix("State:").map(str::trim).or_else(|| {
        subject
            .map(str::trim)
            .and_then(|s| s.strip_prefix("State:"))
            .map(str::trim)
    })?;
    let message = if first.starts_with("State:") {
        body.split_once('\n').map_or("", |(_, rest)| rest).trim()
    } else {
        body.trim()
    };
    let name = name_from(subject, message);
    Some(Decoded {
        format: Format::GrafanaLegacy,
        alerts: vec![alert(name, state, message, BTreeMap::new())],
        warnings: Vec::new(),
    })
}

/// The JSON form.
pub fn decode_json(json: &Value, subject: Option<&str>) -> Decoded {
    let state = json
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or("alerting");
    let message = json.get("body").and_then(Value::as_str).unwrap_or("");
    let tags: BTreeMap<String, String> = json
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !NON_TAG_KEYS.contains(&k.as_str()))
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .filter(|(k, _)| k != "alertname" && k != "source")
                .collect()
        })
        .unwrap_or_default();
    let name = json
        .get("ruleName")
        .or_else(|| json.get("title"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(|| name_from(subject, message), str::to_string);
    let mut alert = alert(name, state, message, tags);
    if let Some(url) = json
        .get("ruleUrl")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        alert.generator_url = Some(url.to_string());
    }
    Decoded {
        format: Format::GrafanaLegacy,
        alerts: vec![alert],
        warnings: Vec::new(),
    }
}
