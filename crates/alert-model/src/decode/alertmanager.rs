//! Alertmanager / AMP alert manager SNS messages written with the AWS-documented
//! "send as JSON" template: webhook-shaped, but values unescaped and times in Go's
//! `2025-03-14 09:26:53.589 +0000 UTC` form (both handled by the callers' lenient
//! read and [`super::time::parse_time`]).

use serde_json::Value;

use super::grafana::webhook_alerts;
use super::{Decoded, Format};

/// Decodes the JSON template's output.
pub fn decode_json(json: &Value) -> Decoded {
    let mut warnings = Vec::new();
    let alerts = webhook_alerts(json, "alertmanager", &mut warnings);
    Decoded {
        format: Format::AlertmanagerJson,
        alerts,
        warnings,
    }
}
