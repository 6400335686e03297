//! Slack incoming-webhook message with Alertmanager's `slack_configs` fields and
//! default templates.

use notify_template::{TemplateError, Templates};
use serde_json::{json, Map, Value};

use crate::config::SlackConfig;

const DEFAULT_COLOR: &str = r#"{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}"#;

/// The JSON body for Slack; template fields fall back to Alertmanager-like defaults.
pub fn slack_message(
    config: &SlackConfig,
    templates: &Templates,
    data: &Value,
) -> Result<Value, TemplateError> {
    let render = |field: &Option<String>, default: &str| -> Result<String, TemplateError> {
        match field {
            Some(text) => templates.render_str(text, data),
            None => templates.render_str(default, data),
        }
    };
    let mut attachment = Map::new();
    attachment.insert(
        "title".into(),
        json!(render(
            &config.title,
            r#"{{ template "slack.default.title" . }}"#
        )?),
    );
    attachment.insert(
        "text".into(),
        json!(render(
            &config.text,
            r#"{{ template "slack.default.text" . }}"#
        )?),
    );
    attachment.insert(
        "fallback".into(),
        json!(render(
            &config.fallback,
            r#"{{ template "slack.default.fallback" . }}"#
        )?),
    );
    attachment.insert("color".into(), json!(render(&config.color, DEFAULT_COLOR)?));
    for (key, field) in [
        ("title_link", &config.title_link),
        ("pretext", &config.pretext),
        ("footer", &config.footer),
    ] {
        if field.is_some() {
            attachment.insert(key.into(), json!(render(field, "")?));
        }
    }
    attachment.insert("mrkdwn_in".into(), json!(["fallback", "pretext", "text"]));
    let mut message = Map::new();
    for (key, field) in [
        ("channel", &config.channel),
        ("username", &config.username),
        ("icon_emoji", &config.icon_emoji),
        ("icon_url", &config.icon_url),
    ] {
        if field.is_some() {
            message.insert(key.into(), json!(render(field, "")?));
        }
    }
    message.insert("attachments".into(), json!([Value::Object(attachment)]));
    Ok(Value::Object(message))
}
