//! Alertmanager's `sns_configs`: templated subject and message, plus message
//! attributes so subscribers can filter with SNS filter policies.

use std::collections::BTreeMap;

use notify_template::{TemplateError, Templates};
use serde_json::Value;

use crate::config::SnsConfig;
use crate::grouping::Group;

/// SNS refuses messages over 256 KiB (attributes included; we keep a margin).
const MAX_MESSAGE_BYTES: usize = 256 * 1024 - 8 * 1024;
/// SNS refuses subjects of 100 characters or more, with control characters.
const MAX_SUBJECT_CHARS: usize = 99;

/// What is published.
#[derive(Debug, Clone, PartialEq)]
pub struct SnsMessage {
    /// The rendered subject, cut to what SNS accepts; `None` when it renders empty.
    pub subject: Option<String>,
    /// The rendered body.
    pub message: String,
    /// The rendered message attributes.
    pub attributes: BTreeMap<String, String>,
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub(crate) fn truncate_bytes(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

/// Attributes every message carries (the user's `attributes` override them):
/// `status`, `receiver`, and `alertname`, `severity`, `source` when common to the
/// group.
fn default_attributes(group: &Group<'_>) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::new();
    attributes.insert("status".to_string(), group.status().as_str().to_string());
    attributes.insert("receiver".to_string(), group.receiver.to_string());
    for name in ["alertname", "severity", "source"] {
        let mut values = group.alerts.iter().map(|a| a.labels.get(name));
        if let Some(Some(first)) = values.next() {
            if values.all(|v| v == Some(first)) && !first.is_empty() {
                attributes.insert(name.to_string(), first.clone());
            }
        }
    }
    attributes
}

/// Renders the message for `group`.
pub fn sns_message(
    config: &SnsConfig,
    templates: &Templates,
    data: &Value,
    group: &Group<'_>,
) -> Result<SnsMessage, TemplateError> {
    let subject_template = config
        .subject
        .as_deref()
        .unwrap_or(r#"{{ template "sns.default.subject" . }}"#);
    let message_template = config
        .message
        .as_deref()
        .unwrap_or(r#"{{ template "sns.default.message" . }}"#);
    let mut attributes = default_attributes(group);
    for (key, value) in &config.attributes {
        attributes.insert(key.clone(), templates.render_str(value, data)?);
    }
    let subject: String = templates
        .render_str(subject_template, data)?
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let subject = subject.trim().to_string();
    let subject = if subject.chars().count() > MAX_SUBJECT_CHARS {
        attributes.insert("subject_truncated".into(), "true".into());
        subject.chars().take(MAX_SUBJECT_CHARS).collect()
    } else {
        subject
    };
    let mut message = templates.render_str(message_template, data)?;
    if truncate_bytes(&mut message, MAX_MESSAGE_BYTES) {
        attributes.insert("truncated".into(), "true".into());
    }
    if message.is_empty() {
        // SNS refuses an empty message.
        message = subject.clone();
    }
    Ok(SnsMessage {
        subject: (!subject.is_empty()).then_some(subject),
        message,
        attributes,
    })
}
