//! Grafana unified alerting with the SNS contact point's message set to the
//! webhook JSON: one alert per `alerts[]` entry.

use serde_json::Value;

use super::lenient_json::INCOMPLETE;
use super::time::parse_time;
use super::{Decoded, Format};
use crate::alert::{Alert, Status};

/// String map of a JSON object; non-string values are printed as JSON.
pub(super) fn string_map(value: Option<&Value>) -> std::collections::BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter(|(k, _)| k.as_str() != INCOMPLETE)
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn status_of(alert: &Value, fallback: Option<&Value>) -> Status {
    let text = alert
        .get("status")
        .or(fallback)
        .and_then(Value::as_str)
        .unwrap_or("firing");
    if text.eq_ignore_ascii_case("resolved") {
        Status::Resolved
    } else {
        Status::Firing
    }
}

/// Webhook-shaped alerts (Grafana's or Alertmanager's) into alerts with `source`.
pub(super) fn webhook_alerts(json: &Value, source: &str, warnings: &mut Vec<String>) -> Vec<Alert> {
    let items = json
        .get("alerts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut alerts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if item.get(INCOMPLETE).is_some() {
            warnings.push(format!("alerts[{i}] was cut off and is skipped"));
            continue;
        }
        if !item.is_object() {
            warnings.push(format!("alerts[{i}] is not an object and is skipped"));
            continue;
        }
        let mut labels = string_map(item.get("labels"));
        if !labels.contains_key("alertname") {
            warnings.push(format!("alerts[{i}] has no alertname"));
            labels.insert("alertname".into(), "UnnamedAlert".into());
        }
        labels.insert("source".into(), source.into());
        let mut alert = Alert::new(labels, status_of(item, json.get("status")));
        alert.annotations = string_map(item.get("annotations"));
        alert.starts_at = item
            .get("startsAt")
            .and_then(Value::as_str)
            .and_then(parse_time);
        alert.ends_at = item
            .get("endsAt")
            .and_then(Value::as_str)
            .and_then(parse_time);
        alert.generator_url = item
            .get("generatorURL")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        if let Some(fp) = item
            .get("fingerprint")
            .and_then(Value::as_str)
            .filter(|f| !f.is_empty())
        {
            alert
                .annotations
                .insert("source_fingerprint".into(), fp.to_string());
        }
        for (field, annotation) in [
            ("silenceURL", "silence_url"),
            ("dashboardURL", "dashboard_url"),
            ("panelURL", "panel_url"),
        ] {
            if let Some(url) = item
                .get(field)
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty())
            {
                alert.annotations.insert(annotation.into(), url.to_string());
            }
        }
        if let Some(values) = item.get("values").and_then(Value::as_object) {
            for (name, value) in values {
                if let Some(v) = value.as_f64().filter(|v| v.is_finite()) {
                    alert.values.insert(name.clone(), v);
                }
            }
        }
        alerts.push(alert);
    }
    alerts
}

/// Decodes Grafana's webhook JSON.
pub fn decode_json(json: &Value) -> Decoded {
    let mut warnings = Vec::new();
    let alerts = webhook_alerts(json, "grafana", &mut warnings);
    if let Some(n) = json
        .get("truncatedAlerts")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
    {
        warnings.push(format!("Grafana left out {n} alerts (truncatedAlerts)"));
    }
    Decoded {
        format: Format::GrafanaJson,
        alerts,
        warnings,
    }
}
