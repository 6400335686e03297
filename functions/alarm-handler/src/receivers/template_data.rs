//! The data Alertmanager hands to notification templates, from a group.

use alert_model::Alert;
use chrono::{DateTime, SecondsFormat, Utc};
use notify_template::{notification_data, TemplateAlert};

use crate::grouping::Group;

/// Alertmanager prints an unset time as Go's zero time.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// RFC 3339 with Go's zero time for `None`, as Alertmanager's payloads show times.
pub fn format_time(time: Option<DateTime<Utc>>) -> String {
    time.map_or_else(
        || ZERO_TIME.to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    )
}

fn template_alert(alert: &Alert) -> TemplateAlert {
    TemplateAlert {
        status: alert.status.as_str().to_string(),
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        starts_at: format_time(alert.starts_at),
        ends_at: format_time(alert.ends_at),
        generator_url: alert.generator_url.clone().unwrap_or_default(),
        fingerprint: alert.fingerprint.clone(),
    }
}

/// `.Receiver`, `.Status`, `.Alerts`, `.GroupLabels`, `.CommonLabels`,
/// `.CommonAnnotations`, `.ExternalURL` for `group`.
pub fn template_data(group: &Group<'_>, external_url: &str) -> serde_json::Value {
    let alerts: Vec<TemplateAlert> = group.alerts.iter().map(|a| template_alert(a)).collect();
    notification_data(
        group.receiver,
        group.status().as_str(),
        &alerts,
        &group.labels,
        external_url,
    )
}
