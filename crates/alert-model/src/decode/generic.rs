//! Anything no decoder recognises: one firing alert that carries the raw subject
//! and body, so it is routed (and seen) rather than dropped.

use std::collections::BTreeMap;

use super::{Decoded, Format};
use crate::alert::{Alert, Status};

const MAX_NAME_CHARS: usize = 200;
const MAX_BODY_CHARS: usize = 4096;

/// `alertname` is the subject's first line (or `UnknownNotification`),
/// `source="unknown"`; annotations `subject` and `message` (the body, cut to 4096
/// characters).
pub fn decode(subject: Option<&str>, body: &str, warning: Option<String>) -> Decoded {
    let name = subject
        .and_then(|s| s.lines().next())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or_else(
            || "UnknownNotification".to_string(),
            |s| s.chars().take(MAX_NAME_CHARS).collect(),
        );
    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_string(), name);
    labels.insert("source".to_string(), "unknown".to_string());
    let mut alert = Alert::new(labels, Status::Firing);
    if let Some(subject) = subject {
        alert
            .annotations
            .insert("subject".into(), subject.to_string());
    }
    let message: String = body.chars().take(MAX_BODY_CHARS).collect();
    let cut = message.len() < body.len();
    alert.annotations.insert("message".into(), message);
    let mut warnings =
        vec!["unrecognised notification format: routed as a generic alert".to_string()];
    if cut {
        warnings.push(format!(
            "the message annotation keeps the first {MAX_BODY_CHARS} characters"
        ));
    }
    warnings.extend(warning);
    Decoded {
        format: Format::Unknown,
        alerts: vec![alert],
        warnings,
    }
}
