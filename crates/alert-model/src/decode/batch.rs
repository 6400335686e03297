//! Our own [`AlertBatch`] (what the alarm-handler publishes for the scaler), so a
//! routed batch sent back through a topic decodes to the same alerts.

use serde_json::Value;

use super::{generic, Decoded, Format, Notification};
use crate::alert::{AlertBatch, SCHEMA_VERSION};

/// Decodes a batch; another major schema version is refused into a generic alert.
pub fn decode(json: &Value, n: &Notification<'_>) -> Decoded {
    let version = json
        .get("schemaVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let major = version.split('.').next().unwrap_or("");
    if major != SCHEMA_VERSION {
        return generic::decode(
            n.subject,
            n.message,
            Some(format!(
                "alert batch schema version {version:?} is not supported (want {SCHEMA_VERSION})"
            )),
        );
    }
    match serde_json::from_value::<AlertBatch>(json.clone()) {
        Ok(batch) => Decoded {
            format: Format::AlertBatch,
            alerts: batch.alerts,
            warnings: Vec::new(),
        },
        Err(e) => generic::decode(
            n.subject,
            n.message,
            Some(format!("invalid alert batch: {e}")),
        ),
    }
}
