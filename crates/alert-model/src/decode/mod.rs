//! Decoders for every alert notification format that reaches the alerts topic.
//! [`decode_notification`] never fails: input it cannot read becomes one generic
//! alert carrying the raw subject and body, so nothing is ever dropped.

mod alertmanager;
mod batch;
mod cloudwatch;
mod generic;
mod grafana;
mod grafana_legacy;
pub mod lenient_json;
mod text_list;
mod time;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::alert::Alert;

/// What an SNS record carries.
#[derive(Debug, Clone, Copy)]
pub struct Notification<'a> {
    /// The SNS `Subject` (CloudWatch puts `ALARM: "name" in Region` there).
    pub subject: Option<&'a str>,
    /// The SNS `Message`: the alert payload, JSON or text.
    pub message: &'a str,
    /// SNS message attributes, name -> string value (`truncated` -> `true`).
    pub attributes: &'a BTreeMap<String, String>,
    /// The topic it was published to (gives region and account when the payload
    /// does not).
    pub topic_arn: Option<&'a str>,
    /// The SNS `MessageId`: the same on every redelivery, so it identifies the
    /// notification for idempotency.
    pub message_id: Option<&'a str>,
    /// When SNS accepted the message: the fallback start time for formats without one.
    pub timestamp: Option<DateTime<Utc>>,
}

/// The detected input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Grafana unified alerting with the SNS message set to the webhook JSON.
    GrafanaJson,
    /// Grafana's default text message (`**Firing**` / `**Resolved**` sections).
    GrafanaText,
    /// Grafana's legacy (dashboard) alerting SNS channel, as text or JSON.
    GrafanaLegacy,
    /// Alertmanager (or AMP's alert manager) with the AWS-documented "send as JSON"
    /// SNS template: webhook-shaped, read leniently.
    AlertmanagerJson,
    /// Alertmanager's default text message (`Alerts Firing:` / `Alerts Resolved:`).
    AlertmanagerText,
    /// A CloudWatch alarm state change published to SNS.
    CloudwatchAlarm,
    /// An EventBridge `CloudWatch Alarm State Change` event.
    EventbridgeAlarm,
    /// This project's own [`crate::AlertBatch`] (what the alarm-handler publishes for
    /// the scaler).
    AlertBatch,
    /// Alerts posted to the alarm-handler's Alertmanager API (`POST
    /// /api/v2/alerts`) by Prometheus, Grafana or anything that speaks to an
    /// Alertmanager; their labels are kept exactly as sent.
    AlertmanagerApi,
    /// None of the above: the text becomes one generic alert rather than be lost.
    Unknown,
}

impl Format {
    /// The snake_case name used in logs and summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::GrafanaJson => "grafana_json",
            Format::GrafanaText => "grafana_text",
            Format::GrafanaLegacy => "grafana_legacy",
            Format::AlertmanagerJson => "alertmanager_json",
            Format::AlertmanagerText => "alertmanager_text",
            Format::CloudwatchAlarm => "cloudwatch_alarm",
            Format::EventbridgeAlarm => "eventbridge_alarm",
            Format::AlertBatch => "alert_batch",
            Format::AlertmanagerApi => "alertmanager_api",
            Format::Unknown => "unknown",
        }
    }
}

/// Alerts decoded from one notification.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The format detected.
    pub format: Format,
    /// The alerts (input no decoder recognises becomes one generic firing alert).
    pub alerts: Vec<Alert>,
    /// Things worth a log line: truncation, repaired JSON, fallbacks.
    pub warnings: Vec<String>,
}

/// A direct event that is not an alarm state-change event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A field the event must have is missing or has the wrong shape.
    #[error("event {field}: {reason}")]
    Invalid {
        /// The field, as a JSON path (`detail.alarmName`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Region and account from an ARN (`arn:aws:<service>:<region>:<account>:...`).
pub(crate) fn arn_region_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some(_), Some(region), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some((region, account))
}

/// Fills `region` / `account_id` from the topic ARN when the payload did not say,
/// marks truncation, and recomputes fingerprints now that labels are final.
fn finish(mut decoded: Decoded, n: &Notification<'_>) -> Decoded {
    // An AlertBatch's alerts already carry their final labels.
    let topic = n
        .topic_arn
        .and_then(arn_region_account)
        .filter(|_| decoded.format != Format::AlertBatch);
    let mut flags: Vec<(&str, String)> = Vec::new();
    for attribute in ["truncated", "subject_truncated"] {
        if n.attributes
            .get(attribute)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        {
            flags.push((attribute, "true".to_string()));
            decoded
                .warnings
                .push(format!("the sender marked the message {attribute}"));
        }
    }
    // AMP says what it changed: `modified` = "Message: Error - Message has been
    // truncated from X KB, ..." (or "true" from other senders).
    if let Some(why) = n
        .attributes
        .get("modified")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("false"))
    {
        flags.push(("modified", why.to_string()));
        decoded
            .warnings
            .push(format!("the sender modified the message: {why}"));
    }
    for alert in &mut decoded.alerts {
        if let Some((region, account)) = topic {
            if !region.is_empty() {
                alert
                    .labels
                    .entry("region".into())
                    .or_insert_with(|| region.to_string());
            }
            if !account.is_empty() {
                alert
                    .labels
                    .entry("account_id".into())
                    .or_insert_with(|| account.to_string());
            }
        }
        for (flag, value) in &flags {
            alert.annotations.insert((*flag).to_string(), value.clone());
        }
        alert.refresh_fingerprint();
    }
    decoded
}

/// Detects the format of an SNS notification and decodes it.
pub fn decode_notification(n: &Notification<'_>) -> Decoded {
    let mut decoded = detect(n);
    if decoded.alerts.is_empty() {
        // A recognised format with no readable alert (cut off before the first
        // one ended): keep the notification as a generic alert.
        let mut generic = generic::decode(
            n.subject,
            n.message,
            Some(format!(
                "{} message without a complete alert",
                decoded.format.as_str()
            )),
        );
        generic.warnings.append(&mut decoded.warnings);
        decoded = generic;
    }
    finish(decoded, n)
}

fn detect(n: &Notification<'_>) -> Decoded {
    let body = n.message.trim_start_matches('\u{feff}').trim();
    if body.starts_with('{') {
        match serde_json::from_str::<Value>(body) {
            Ok(json) => {
                if let Some(decoded) = decode_json(&json, n) {
                    return decoded;
                }
            }
            Err(e) => {
                // Alertmanager's AWS JSON template does not escape values, and SNS
                // senders truncate long bodies: read what can be read.
                let (json, repaired) = lenient_json::parse(body);
                if let Some(mut decoded) = decode_json(&json, n) {
                    decoded.warnings.push(format!(
                        "the message is not valid JSON ({e}); read it leniently{}",
                        if repaired.truncated {
                            " (it was cut off)"
                        } else {
                            ""
                        }
                    ));
                    if repaired.truncated {
                        for alert in &mut decoded.alerts {
                            alert.annotations.insert("truncated".into(), "true".into());
                        }
                    }
                    return decoded;
                }
            }
        }
    }
    if let Some(decoded) = grafana_legacy::decode_text(n.subject, body) {
        return decoded;
    }
    let truncated = n
        .attributes
        .get("truncated")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if let Some(decoded) = text_list::decode(n.subject, body, truncated) {
        return decoded;
    }
    generic::decode(n.subject, n.message, None)
}

fn decode_json(json: &Value, n: &Notification<'_>) -> Option<Decoded> {
    let object = json.as_object()?;
    if object.contains_key("schemaVersion") && object.contains_key("alerts") {
        return Some(batch::decode(json, n));
    }
    if object.contains_key("detail-type") {
        return cloudwatch::decode_eventbridge(json).ok();
    }
    if object.contains_key("AlarmName") && object.contains_key("NewStateValue") {
        return cloudwatch::decode_sns(json);
    }
    if object.get("alerts").is_some_and(Value::is_array) {
        return Some(if is_grafana(object) {
            grafana::decode_json(json)
        } else {
            alertmanager::decode_json(json)
        });
    }
    if object.get("body").is_some_and(Value::is_string)
        && object.get("state").is_some_and(Value::is_string)
    {
        return Some(grafana_legacy::decode_json(json, n.subject));
    }
    // The legacy webhook: no `body`, but the rule's fields.
    if object.get("state").is_some_and(Value::is_string)
        && ["ruleName", "ruleId", "evalMatches"]
            .iter()
            .any(|k| object.contains_key(*k))
    {
        return Some(grafana_legacy::decode_webhook(json));
    }
    None
}

/// Grafana's webhook-shaped payload has `orgId`, `title`, `state` or Grafana-only
/// alert fields; Alertmanager's does not.
fn is_grafana(object: &serde_json::Map<String, Value>) -> bool {
    ["orgId", "title", "state", "message"]
        .iter()
        .any(|k| object.contains_key(*k))
        || object
            .get("alerts")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .is_some_and(|a| {
                a.get("silenceURL").is_some()
                    || a.get("values").is_some()
                    || a.get("valueString").is_some()
            })
}

/// Decodes an event delivered directly (not through SNS): EventBridge
/// `CloudWatch Alarm State Change` events.
pub fn decode_event(event: &Value) -> Result<Decoded, DecodeError> {
    cloudwatch::decode_eventbridge(event)
}
