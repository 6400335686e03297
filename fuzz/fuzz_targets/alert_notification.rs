//! Every SNS alert decoder, through `decode_notification` as the alarm-handler and
//! the scaler call it (strict JSON, the lenient reader on broken JSON, Grafana and
//! Alertmanager text, CloudWatch, EventBridge, legacy Grafana, the generic fallback).
//! Nothing is dropped (at least one alert), every alert carries `alertname` and
//! `source` and the fingerprint of its labels, and the alerts survive the trip the
//! alarm-handler sends them on to the scaler: published as an `AlertBatch` and
//! decoded again, they are the same alerts.
//!
//! Input: 1 flag byte (bit 0: the first line is the SNS subject; bit 1: `truncated`
//! attribute; bit 2: `modified` attribute; bit 3: a topic ARN; bit 4: an SNS
//! timestamp), then the text.
#![no_main]

use std::collections::BTreeMap;

use alert_model::{
    decode_notification, fingerprint, AlertBatch, Format, Notification, Status, SCHEMA_VERSION,
};
use fuzz_support::{bit, flags_and_rest, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((flags, rest)) = flags_and_rest(data) else {
        return;
    };
    let text = text(rest);
    let (subject, message) = match text.split_once('\n') {
        Some((subject, message)) if bit(flags, 0) => (Some(subject), message),
        _ => (None, text.as_ref()),
    };
    let mut attributes = BTreeMap::new();
    if bit(flags, 1) {
        attributes.insert("truncated".to_string(), "true".to_string());
    }
    if bit(flags, 2) {
        attributes.insert(
            "modified".to_string(),
            "Message: Error - Message has been truncated from 300 KB".to_string(),
        );
    }
    let timestamp = bit(flags, 4)
        .then(|| chrono::DateTime::from_timestamp(1_700_000_000, 0))
        .flatten();
    let notification = Notification {
        subject,
        message,
        attributes: &attributes,
        topic_arn: bit(flags, 3).then_some("arn:aws:sns:eu-west-1:123456789012:alerts"),
        message_id: Some("0b9d4a46-8d39-5f7e-9d0c-1a2b3c4d5e6f"),
        timestamp,
    };
    let decoded = decode_notification(&notification);
    assert!(!decoded.alerts.is_empty(), "a notification was dropped");
    for alert in &decoded.alerts {
        assert_eq!(alert.fingerprint, fingerprint(&alert.labels), "{alert:?}");
        if decoded.format != Format::AlertBatch {
            for label in ["alertname", "source"] {
                assert!(
                    alert.labels.contains_key(label),
                    "{} alert without {label}: {alert:?}",
                    decoded.format.as_str()
                );
            }
        }
    }

    // What the scaler receiver publishes, and what the scaler reads back.
    let batch = AlertBatch {
        schema_version: SCHEMA_VERSION.to_string(),
        receiver: "scaler".to_string(),
        status: if decoded.alerts.iter().any(|a| a.status == Status::Firing) {
            Status::Firing
        } else {
            Status::Resolved
        },
        group_labels: BTreeMap::new(),
        common_labels: BTreeMap::new(),
        source_format: decoded.format.as_str().to_string(),
        source_message_id: None,
        alerts: decoded.alerts.clone(),
    };
    let published = serde_json::to_string(&batch)
        .unwrap_or_else(|e| panic!("an AlertBatch does not serialise: {e}"));
    let empty = BTreeMap::new();
    let again = decode_notification(&Notification {
        subject: None,
        message: &published,
        attributes: &empty,
        topic_arn: None,
        message_id: None,
        timestamp: None,
    });
    assert_eq!(
        again.format,
        Format::AlertBatch,
        "published batch not read back as one: {:?}\n{published}",
        again.warnings
    );
    assert_eq!(again.alerts, decoded.alerts, "{published}");
});
