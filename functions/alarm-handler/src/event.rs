//! What invoked the function: SNS records (the normal case), an EventBridge alarm
//! state-change event delivered directly, or anything else (kept as a generic
//! alert, never dropped).

use std::collections::BTreeMap;

use alert_model::{decode_event, decode_notification, Decoded, Notification};
use aws_lambda_events::event::sns::SnsEvent;
use serde_json::Value;

/// One message's alerts, with what identifies the message for idempotency.
#[derive(Debug)]
pub struct Message {
    /// SNS `MessageId` or EventBridge `id`; `None` for other input (no idempotency).
    pub id: Option<String>,
    /// The message's alerts, its detected format and decoding warnings.
    pub decoded: Decoded,
}

/// Splits an invocation's event into messages and decodes each.
pub fn decode_invocation(event: &Value) -> Vec<Message> {
    if event.get("Records").is_some() {
        match serde_json::from_value::<SnsEvent>(event.clone()) {
            // SNS delivers one record per invocation; an event without any carries no
            // notification, and is reported as the generic alert it is rather than
            // handled as nothing (found by fuzzing).
            Ok(sns) if sns.records.is_empty() => {
                return vec![generic(event, Some("SNS event without records".into()))]
            }
            Ok(sns) => {
                return sns
                    .records
                    .iter()
                    .map(|record| {
                        let sns = &record.sns;
                        let attributes: BTreeMap<String, String> = sns
                            .message_attributes
                            .iter()
                            .map(|(k, v)| (k.clone(), v.value.clone()))
                            .collect();
                        let notification = Notification {
                            subject: sns.subject.as_deref(),
                            message: &sns.message,
                            attributes: &attributes,
                            topic_arn: Some(sns.topic_arn.as_str()).filter(|t| !t.is_empty()),
                            message_id: Some(sns.message_id.as_str()).filter(|t| !t.is_empty()),
                            timestamp: Some(sns.timestamp),
                        };
                        Message {
                            id: notification.message_id.map(str::to_string),
                            decoded: decode_notification(&notification),
                        }
                    })
                    .collect();
            }
            Err(e) => return vec![generic(event, Some(format!("not an SNS event: {e}")))],
        }
    }
    if event.get("detail-type").is_some() {
        return match decode_event(event) {
            Ok(decoded) => vec![Message {
                id: event.get("id").and_then(Value::as_str).map(str::to_string),
                decoded,
            }],
            Err(e) => vec![generic(event, Some(e.to_string()))],
        };
    }
    vec![generic(event, None)]
}

/// Any other JSON: decoded as a notification whose body is the event text, which
/// makes it a generic alert.
fn generic(event: &Value, warning: Option<String>) -> Message {
    let text = event.to_string();
    let attributes = BTreeMap::new();
    let notification = Notification {
        subject: None,
        message: &text,
        attributes: &attributes,
        topic_arn: None,
        message_id: None,
        timestamp: None,
    };
    let mut decoded = decode_notification(&notification);
    decoded.warnings.extend(warning);
    Message { id: None, decoded }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SNS event without records still gives one message, a generic alert saying
    /// what was wrong, never nothing (found by fuzzing).
    #[test]
    fn an_sns_event_without_records_is_reported_not_dropped() {
        let event = serde_json::json!({ "Records": [] });
        let messages = decode_invocation(&event);
        assert_eq!(messages.len(), 1);
        assert!(!messages[0].decoded.alerts.is_empty());
        assert!(
            messages[0]
                .decoded
                .warnings
                .iter()
                .any(|w| w.contains("without records")),
            "{:?}",
            messages[0].decoded.warnings
        );
    }
}
