//! The invocation events of the alarm-handler and the scaler: SNS record envelopes,
//! EventBridge `CloudWatch Alarm State Change` events delivered directly, scheduled
//! events and anything else. The alarm-handler keeps every input (at least one
//! message, each with at least one alert); when both functions accept an event they
//! read the same alerts from it; an SNS envelope around any text is always accepted
//! by both, as one message with its id.
//!
//! Input: 1 flag byte (bit 0: wrap the text as the Message of one SNS record, bit 1:
//! and give it a Subject line taken from the text's first line), then the text (the
//! whole event when not wrapped).
#![no_main]

use alarm_handler::event::decode_invocation;
use fuzz_support::{bit, flags_and_rest, text};
use libfuzzer_sys::fuzz_target;
use scaler::event::{parse_invocation, Invocation};
use serde_json::{json, Value};

const MESSAGE_ID: &str = "95df01b4-ee98-5cb9-9903-4c221d41eb5e";

fn sns_envelope(subject: Option<&str>, message: &str) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:alerts:2bcfbf39",
        "Sns": {
            "Type": "Notification",
            "MessageId": MESSAGE_ID,
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
            "Subject": subject,
            "Message": message,
            "Timestamp": "2026-12-01T10:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "",
            "SigningCertUrl": "",
            "UnsubscribeUrl": "",
            "MessageAttributes": {}
        }
    }]})
}

fuzz_target!(|data: &[u8]| {
    let Some((flags, rest)) = flags_and_rest(data) else {
        return;
    };
    let text = text(rest);
    let wrapped = bit(flags, 0);
    let event = if wrapped {
        match text.split_once('\n') {
            Some((subject, message)) if bit(flags, 1) => sns_envelope(Some(subject), message),
            _ => sns_envelope(None, &text),
        }
    } else {
        match serde_json::from_str::<Value>(&text) {
            Ok(event) => event,
            Err(_) => return,
        }
    };

    let messages = decode_invocation(&event);
    assert!(!messages.is_empty(), "an invocation was dropped");
    for message in &messages {
        assert!(!message.decoded.alerts.is_empty(), "a message was dropped");
    }
    if wrapped {
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].id.as_deref(), Some(MESSAGE_ID));
    }

    match parse_invocation(&event) {
        Ok(Invocation::Alerts {
            alerts, formats, ..
        }) => {
            let handler_alerts: Vec<_> = messages
                .iter()
                .flat_map(|m| m.decoded.alerts.iter().cloned())
                .collect();
            assert_eq!(
                alerts, handler_alerts,
                "the functions read different alerts"
            );
            let handler_formats: Vec<_> = messages.iter().map(|m| m.decoded.format).collect();
            assert_eq!(formats, handler_formats);
        }
        Ok(Invocation::Reconcile) => assert!(!wrapped, "an SNS record read as a reconcile"),
        Err(e) => {
            assert!(!wrapped, "an SNS record refused: {e}");
            assert!(!e.to_string().is_empty());
        }
    }
});
