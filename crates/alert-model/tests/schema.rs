//! The published JSON schema of [`AlertBatch`] matches what the code writes, and the
//! alarm-handler's page (`docs/alarm-handler.md`) shows that same schema.

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;

use alert_model::{Alert, AlertBatch, Status, SCHEMA_VERSION};
use chrono::{TimeZone, Utc};
use serde_json::Value;

fn schema() -> Value {
    let text = include_str!("../schema/alert-batch-v1.schema.json");
    serde_json::from_str(text).expect("schema is JSON")
}

fn full_batch() -> AlertBatch {
    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_string(), "queue-backlog".to_string());
    labels.insert("source".to_string(), "cloudwatch".to_string());
    let mut alert = Alert::new(labels.clone(), Status::Firing);
    alert
        .annotations
        .insert("alarm_state".into(), "ALARM".into());
    alert.starts_at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).single();
    alert.ends_at = Utc.with_ymd_and_hms(2026, 11, 23, 11, 0, 0).single();
    alert.generator_url = Some("https://console".into());
    alert.values.insert("A".into(), 1.5);
    AlertBatch {
        schema_version: SCHEMA_VERSION.into(),
        receiver: "scaler".into(),
        status: Status::Firing,
        group_labels: labels.clone(),
        common_labels: labels,
        source_format: "cloudwatch_alarm".into(),
        source_message_id: Some("m-1".into()),
        alerts: vec![alert],
    }
}

/// Every field written is declared, every required field is written, with the
/// declared JSON type.
fn check(object: &Value, schema: &Value, defs: &Value, path: &str) {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => &defs[r.trim_start_matches("#/$defs/")],
        None => schema,
    };
    let properties = schema["properties"].as_object().expect("properties");
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("{path} is not an object"));
    for key in map.keys() {
        assert!(
            properties.contains_key(key),
            "{path}.{key} is written but not in the schema"
        );
    }
    for required in schema["required"].as_array().expect("required") {
        let key = required.as_str().expect("name");
        assert!(
            map.contains_key(key),
            "{path}.{key} is required but not written"
        );
    }
    for (key, value) in map {
        let mut declared = &properties[key];
        if let Some(r) = declared.get("$ref").and_then(Value::as_str) {
            declared = &defs[r.trim_start_matches("#/$defs/")];
        }
        if let Some(allowed) = declared.get("enum").and_then(Value::as_array) {
            assert!(
                allowed.contains(value),
                "{path}.{key} = {value} not in {allowed:?}"
            );
        }
        if let Some(constant) = declared.get("const") {
            assert_eq!(value, constant, "{path}.{key}");
        }
        match declared.get("type").and_then(Value::as_str) {
            Some("string") => assert!(value.is_string(), "{path}.{key}"),
            Some("object") => {
                let inner = &declared["additionalProperties"]["type"];
                for (k, v) in value.as_object().expect("object") {
                    match inner.as_str() {
                        Some("string") => assert!(v.is_string(), "{path}.{key}.{k}"),
                        Some("number") => assert!(v.is_number(), "{path}.{key}.{k}"),
                        _ => {}
                    }
                }
            }
            Some("array") => {
                for (i, item) in value.as_array().expect("array").iter().enumerate() {
                    check(
                        item,
                        &declared["items"],
                        defs,
                        &format!("{path}.{key}[{i}]"),
                    );
                }
            }
            _ => {}
        }
    }
}

#[test]
fn batches_match_the_published_schema() {
    let schema = schema();
    let batch = serde_json::to_value(full_batch()).expect("encodes");
    check(&batch, &schema, &schema["$defs"], "batch");
    let fingerprint = batch["alerts"][0]["fingerprint"]
        .as_str()
        .expect("fingerprint");
    assert!(fingerprint.len() == 16 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        schema["properties"]["schemaVersion"]["const"],
        SCHEMA_VERSION
    );
}

#[test]
fn the_alarm_handler_page_shows_the_schema_file() {
    let page = include_str!("../../../docs/alarm-handler.md");
    let file = include_str!("../schema/alert-batch-v1.schema.json");
    assert!(
        page.contains(file.trim()),
        "docs/alarm-handler.md must contain crates/alert-model/schema/alert-batch-v1.schema.json verbatim"
    );
}

/// A batch read back has exactly the values written: serde_json's default float
/// reading may miss the last bit (9.188888888888889e49 came back as ...887e49; found
/// by fuzzing), so the workspace enables its `float_roundtrip`.
#[test]
fn values_read_back_to_the_same_bits() {
    let mut batch = full_batch();
    for (i, value) in [
        9.188888888888889e49,
        0.1 + 0.2,
        1e-300,
        2.2250738585072014e-308,
        1.7976931348623157e308,
    ]
    .into_iter()
    .enumerate()
    {
        batch.alerts[0].values.insert(format!("v{i}"), value);
    }
    let text = serde_json::to_string(&batch).expect("serialises");
    let again: AlertBatch = serde_json::from_str(&text).expect("reads back");
    for (name, value) in &batch.alerts[0].values {
        let read = again.alerts[0].values.get(name).copied();
        assert_eq!(
            read.map(f64::to_bits),
            Some(value.to_bits()),
            "{name}: {text}"
        );
    }
}
