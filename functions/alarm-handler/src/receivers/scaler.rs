//! The scaler receiver: publishes the routed alerts as a versioned
//! [`AlertBatch`] (the documented JSON schema), so the scaler never parses
//! Grafana, Alertmanager or CloudWatch formats itself.

use std::collections::BTreeMap;

use alert_model::{AlertBatch, SCHEMA_VERSION};

use super::sns::SnsMessage;
use super::Origin;
use crate::grouping::Group;

/// The batch for `group`.
pub fn scaler_batch(group: &Group<'_>, origin: Origin<'_>) -> AlertBatch {
    let alerts: Vec<_> = group.alerts.iter().map(|a| (*a).clone()).collect();
    let common_labels = match alerts.split_first() {
        Some((first, rest)) => first
            .labels
            .iter()
            .filter(|(k, v)| rest.iter().all(|a| a.labels.get(*k) == Some(*v)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        None => BTreeMap::new(),
    };
    AlertBatch {
        schema_version: SCHEMA_VERSION.to_string(),
        receiver: group.receiver.to_string(),
        status: group.status(),
        group_labels: group.labels.clone(),
        common_labels,
        source_format: origin.format.to_string(),
        source_message_id: origin.message_id.map(str::to_string),
        alerts,
    }
}

/// The SNS message: the batch as JSON, attributes `schema_version`, `status` and
/// (when common) `alertname` for filter policies.
pub(super) fn scaler_message(
    group: &Group<'_>,
    origin: Origin<'_>,
) -> Result<SnsMessage, serde_json::Error> {
    let batch = scaler_batch(group, origin);
    let message = serde_json::to_string(&batch)?;
    let mut attributes = BTreeMap::new();
    attributes.insert("schema_version".to_string(), SCHEMA_VERSION.to_string());
    attributes.insert("status".to_string(), batch.status.as_str().to_string());
    if let Some(name) = batch.common_labels.get("alertname") {
        attributes.insert("alertname".to_string(), name.clone());
    }
    Ok(SnsMessage {
        subject: None,
        message,
        attributes,
    })
}
