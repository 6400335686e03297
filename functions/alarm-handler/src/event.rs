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
