//! Grafana's legacy (dashboard, pre-8) alerting: the SNS channel and the webhook.
//!
//! The SNS channel sends subject `State: ALERTING` and, as text, the body
//! `State: alerting\n<message>`; with "include tags" the text body becomes
//! `state:alerting\nbody:<message>\n` and one `key:value` line per tag. As JSON it
//! sends `body`, `state` and the tags merged in as top-level keys. The webhook posts
//! `title`, `ruleId`, `ruleName`, `state`, `evalMatches`, `tags` and optionally
//! `message`, `ruleUrl`, `imageUrl`. Every form gives the same labels for a rule's
//! firing and its `ok`, so a resolve clears its alert; tag keys become valid label
//! names.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Decoded, Format};
use crate::alert::{Alert, Status};
use crate::label_name::sanitize_label_name;

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

/// Tags as labels: keys made valid label names (the first of two keys that clean up
/// alike wins), never replacing `alertname` or `source`.
fn tag_labels<'a>(tags: impl IntoIterator<Item = (&'a str, String)>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for (key, value) in tags {
        let name = sanitize_label_name(key.trim());
        if name != "alertname" && name != "source" {
            labels.entry(name).or_insert(value);
        }
    }
    labels
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

/// The text form; `None` when neither subject nor body starts with `State:` (or, with
/// tags, `state:`).
pub fn decode_text(subject: Option<&str>, body: &str) -> Option<Decoded> {
    if let Some(decoded) = decode_text_with_tags(subject, body) {
        return Some(decoded);
    }
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

/// The text form with tags: `state:<state>`, `body:<message>`, then `key:value` lines.
/// Nothing is escaped, so a message line after the first that holds a `:` reads as a
/// tag; lines without one continue the message.
fn decode_text_with_tags(subject: Option<&str>, body: &str) -> Option<Decoded> {
    let mut lines = body.lines();
    let state = lines.next()?.trim().strip_prefix("state:")?.trim();
    let mut message = lines.next()?.strip_prefix("body:")?.to_string();
    let mut tags = Vec::new();
    for line in lines {
        match line.split_once(':') {
            Some((key, value)) if !key.trim().is_empty() => {
                tags.push((key, value.trim().to_string()));
            }
            _ => {
                message.push('\n');
                message.push_str(line);
            }
        }
    }
    let message = message.trim();
    let name = name_from(subject, message);
    Some(Decoded {
        format: Format::GrafanaLegacy,
        alerts: vec![alert(name, state, message, tag_labels(tags))],
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
    let tags = json
        .as_object()
        .map(|o| {
            tag_labels(
                o.iter()
                    .filter(|(k, _)| !NON_TAG_KEYS.contains(&k.as_str()))
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.as_str(), s.to_string()))),
            )
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

/// The legacy webhook's body (`ruleName`, `state`, `evalMatches`, `tags`, ...).
pub fn decode_webhook(json: &Value) -> Decoded {
    let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::trim);
    let state = text("state").unwrap_or("alerting");
    let message = text("message").unwrap_or("");
    let title = text("title").unwrap_or("");
    let name = text("ruleName")
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| name_from(Some(title), message));
    let tags = json
        .get("tags")
        .and_then(Value::as_object)
        .map(|o| {
            tag_labels(o.iter().filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.as_str(), s.clone())),
                Value::Null => None,
                other => Some((k.as_str(), other.to_string())),
            }))
        })
        .unwrap_or_default();
    let mut alert = alert(name, state, message, tags);
    if !title.is_empty() {
        alert.annotations.insert("title".into(), title.to_string());
    }
    // Kept as written: a test notification's id is above 2^53.
    if let Some(id) = json.get("ruleId").filter(|v| v.is_number()) {
        alert.annotations.insert("rule_id".into(), id.to_string());
    }
    if let Some(image) = text("imageUrl")
        .or_else(|| text("image_url"))
        .filter(|u| !u.is_empty())
    {
        alert
            .annotations
            .insert("image_url".into(), image.to_string());
    }
    alert.generator_url = text("ruleUrl")
        .or_else(|| text("rule_url"))
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    for matched in json
        .get("evalMatches")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(metric), Some(value)) = (
            matched.get("metric").and_then(Value::as_str),
            matched.get("value").and_then(Value::as_f64),
        ) {
            alert.values.insert(metric.to_string(), value);
        }
    }
    Decoded {
        format: Format::GrafanaLegacy,
        alerts: vec![alert],
        warnings: Vec::new(),
    }
}
