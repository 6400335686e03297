//! PagerDuty Events API v2: `trigger` while the group fires, `resolve` once it has
//! resolved, with one `dedup_key` per group so PagerDuty folds them into one incident.

use notify_template::{TemplateError, Templates};
use serde_json::{json, Map, Value};

use crate::config::PagerdutyConfig;
use crate::grouping::Group;

/// Events API v2 endpoint.
pub const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// PagerDuty refuses summaries over 1024 characters.
const MAX_SUMMARY_CHARS: usize = 1024;

/// The event body. `dedup_key` is the fingerprint of the group key, stable across
/// firing and resolved notifications of the same group.
pub fn pagerduty_event(
    config: &PagerdutyConfig,
    templates: &Templates,
    data: &Value,
    group: &Group<'_>,
    routing_key: &str,
) -> Result<Value, TemplateError> {
    let render = |field: &Option<String>, default: &str| -> Result<String, TemplateError> {
        templates.render_str(field.as_deref().unwrap_or(default), data)
    };
    let firing = group.status() == alert_model::Status::Firing;
    let mut summary = render(
        &config.description,
        r#"{{ template "pagerduty.default.description" . }}"#,
    )?;
    if summary.chars().count() > MAX_SUMMARY_CHARS {
        summary = summary.chars().take(MAX_SUMMARY_CHARS - 1).collect();
        summary.push('…');
    }
    let mut details = Map::new();
    if config.details.is_empty() {
        let count = |status| group.alerts.iter().filter(|a| a.status == status).count();
        details.insert(
            "num_firing".into(),
            json!(count(alert_model::Status::Firing).to_string()),
        );
        details.insert(
            "num_resolved".into(),
            json!(count(alert_model::Status::Resolved).to_string()),
        );
        details.insert(
            "firing".into(),
            json!(templates
                .render_str(r#"{{ template "__text_alert_list" .Alerts.Firing }}"#, data)?),
        );
        details.insert(
            "resolved".into(),
            json!(templates.render_str(
                r#"{{ template "__text_alert_list" .Alerts.Resolved }}"#,
                data
            )?),
        );
    } else {
        for (key, text) in &config.details {
            details.insert(key.clone(), json!(templates.render_str(text, data)?));
        }
    }
    let mut payload = Map::new();
    payload.insert("summary".into(), json!(summary));
    payload.insert(
        "source".into(),
        json!(render(
            &config.source,
            r#"{{ template "pagerduty.default.client" . }}"#
        )?),
    );
    payload.insert("severity".into(), json!(render(&config.severity, "error")?));
    payload.insert("custom_details".into(), Value::Object(details));
    for (key, field) in [
        ("class", &config.class),
        ("component", &config.component),
        ("group", &config.group),
    ] {
        if field.is_some() {
            payload.insert(key.into(), json!(render(field, "")?));
        }
    }
    let mut event = Map::new();
    event.insert("routing_key".into(), json!(routing_key));
    event.insert("dedup_key".into(), json!(group.key_id()));
    event.insert(
        "event_action".into(),
        json!(if firing { "trigger" } else { "resolve" }),
    );
    if firing {
        event.insert("payload".into(), Value::Object(payload));
        event.insert(
            "client".into(),
            json!(render(
                &config.client,
                r#"{{ template "pagerduty.default.client" . }}"#
            )?),
        );
        event.insert(
            "client_url".into(),
            json!(render(
                &config.client_url,
                r#"{{ template "pagerduty.default.clientURL" . }}"#
            )?),
        );
    }
    Ok(Value::Object(event))
}
