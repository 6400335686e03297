//! What invoked the scaler: a scheduled reconcile, SNS records (the alarm-handler's
//! AlertBatch messages or raw CloudWatch alarm notifications), or an EventBridge
//! `CloudWatch Alarm State Change` event. Anything else is refused with an error that
//! says what arrived, so it lands in the dead-letter queue instead of vanishing.

use std::collections::BTreeMap;

use alert_model::{decode_event, decode_notification, Alert, Format, Notification};
use aws_lambda_events::event::sns::SnsEvent;
use serde_json::Value;

use crate::signal::AlarmState;

/// The invocation, decoded.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// Converge every policy from current alarm state.
    Reconcile,
    /// Alerts that arrived; only the policies they concern run.
    Alerts {
        /// The alerts, from every record.
        alerts: Vec<Alert>,
        /// The detected format of each record.
        formats: Vec<Format>,
        /// Decoding warnings (records that were not alerts, repaired bodies).
        warnings: Vec<String>,
    },
}

/// An event the scaler does not understand.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not a kind of event the scaler is ever sent.
    #[error(
        "unrecognised event (not an SNS notification, a CloudWatch Alarm State Change, \
         a Scheduled Event or {{\"reconcile\": true}}): {0}"
    )]
    Unrecognised(String),
    /// The right kind of event, but not readable.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The kind of event it claims to be.
        what: &'static str,
        /// Why it cannot be read.
        reason: String,
    },
}

/// Decodes an invocation event.
pub fn parse_invocation(event: &Value) -> Result<Invocation, EventError> {
    if event.get("reconcile").and_then(Value::as_bool) == Some(true) {
        return Ok(Invocation::Reconcile);
    }
    if event.get("Records").is_some() {
        let sns: SnsEvent =
            serde_json::from_value(event.clone()).map_err(|e| EventError::Malformed {
                what: "SNS event",
                reason: e.to_string(),
            })?;
        // SNS delivers one record per invocation: an event without any carries no
        // alarm, and is refused as malformed (the alarm-handler reports it as a
        // generic alert) rather than handled as nothing.
        if sns.records.is_empty() {
            return Err(EventError::Malformed {
                what: "SNS event",
                reason: "no records".into(),
            });
        }
        let mut alerts = Vec::new();
        let mut formats = Vec::new();
        let mut warnings = Vec::new();
        for record in &sns.records {
            let sns = &record.sns;
            let attributes: BTreeMap<String, String> = sns
                .message_attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.value.clone()))
                .collect();
            let decoded = decode_notification(&Notification {
                subject: sns.subject.as_deref(),
                message: &sns.message,
                attributes: &attributes,
                topic_arn: Some(sns.topic_arn.as_str()).filter(|t| !t.is_empty()),
                message_id: Some(sns.message_id.as_str()).filter(|t| !t.is_empty()),
                timestamp: Some(sns.timestamp),
            });
            if decoded.format == Format::Unknown {
                warnings.push(format!(
                    "SNS message {}: not an alert format the scaler knows; kept as a generic alert",
                    sns.message_id
                ));
            }
            formats.push(decoded.format);
            warnings.extend(decoded.warnings);
            alerts.extend(decoded.alerts);
        }
        return Ok(Invocation::Alerts {
            alerts,
            formats,
            warnings,
        });
    }
    match event.get("detail-type").and_then(Value::as_str) {
        Some("Scheduled Event") => Ok(Invocation::Reconcile),
        Some("CloudWatch Alarm State Change") => {
            let decoded = decode_event(event).map_err(|e| EventError::Malformed {
                what: "CloudWatch Alarm State Change event",
                reason: e.to_string(),
            })?;
            Ok(Invocation::Alerts {
                alerts: decoded.alerts,
                formats: vec![decoded.format],
                warnings: decoded.warnings,
            })
        }
        _ => Err(EventError::Unrecognised(describe(event))),
    }
}

/// A short description of an unknown event: its top-level keys, or its type.
fn describe(event: &Value) -> String {
    match event {
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).take(10).collect();
            format!("an object with keys {keys:?}")
        }
        Value::Null => "null".to_string(),
        Value::Array(_) => "an array".to_string(),
        other => {
            let text = other.to_string();
            let cut: String = text.chars().take(80).collect();
            format!("the value {cut}")
        }
    }
}

/// A CloudWatch alarm the alert reports on, with the state it claims: alerts from
/// CloudWatch carry `source="cloudwatch"`, the alarm name as `alertname` and the exact
/// state in the `alarm_state` annotation.
pub fn alarm_claim(alert: &Alert) -> Option<(&str, AlarmState)> {
    if alert.labels.get("source").map(String::as_str) != Some("cloudwatch") {
        return None;
    }
    let name = alert.labels.get("alertname")?;
    let state = alert
        .annotations
        .get("alarm_state")
        .and_then(|s| AlarmState::parse(s))
        .unwrap_or(match alert.status {
            alert_model::Status::Firing => AlarmState::Alarm,
            alert_model::Status::Resolved => AlarmState::Ok,
        });
    Some((name.as_str(), state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eventbridge(state: &str) -> Value {
        json!({
            "version": "0", "id": "e1", "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch", "account": "123456789012",
            "time": "2026-12-01T10:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-depth"],
            "detail": {
                "alarmName": "orders-depth",
                "state": {"value": state, "reason": "r", "timestamp": "2026-12-01T10:00:00.000+0000"},
                "previousState": {"value": "OK", "reason": "r", "timestamp": "2026-12-01T09:00:00.000+0000"},
                "configuration": {"metrics": []}
            }
        })
    }

    #[test]
    fn every_trigger_kind_is_recognised() {
        assert!(matches!(
            parse_invocation(&json!({"reconcile": true})),
            Ok(Invocation::Reconcile)
        ));
        assert!(matches!(
            parse_invocation(&json!({"detail-type": "Scheduled Event", "source": "aws.events"})),
            Ok(Invocation::Reconcile)
        ));
        let Ok(Invocation::Alerts { alerts, .. }) = parse_invocation(&eventbridge("ALARM")) else {
            panic!("EventBridge alarm event not decoded");
        };
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            alarm_claim(&alerts[0]),
            Some(("orders-depth", AlarmState::Alarm))
        );
        let Ok(Invocation::Alerts { alerts, .. }) =
            parse_invocation(&eventbridge("INSUFFICIENT_DATA"))
        else {
            panic!("not decoded");
        };
        assert_eq!(
            alarm_claim(&alerts[0]),
            Some(("orders-depth", AlarmState::InsufficientData))
        );
    }

    #[test]
    fn unknown_and_malformed_events_are_errors() {
        match parse_invocation(&json!({"hello": 1})) {
            Err(EventError::Unrecognised(what)) => assert!(what.contains("hello"), "{what}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_invocation(&json!({"Records": "nope"})),
            Err(EventError::Malformed { .. })
        ));
        // Found by fuzzing: no records is refused, not handled as no alerts.
        assert!(matches!(
            parse_invocation(&json!({"Records": []})),
            Err(EventError::Malformed { .. })
        ));
        assert!(matches!(
            parse_invocation(&json!(42)),
            Err(EventError::Unrecognised(_))
        ));
    }
}
