//! Alertmanager's webhook payload, version 4, so existing webhook consumers work
//! unchanged.

use std::collections::BTreeMap;

use alert_model::Alert;
use serde_json::{json, Value};

use super::template_data::format_time;
use crate::grouping::Group;

fn common<'a>(
    alerts: &[&'a Alert],
    pick: fn(&'a Alert) -> &'a BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let Some((first, rest)) = alerts.split_first() else {
        return BTreeMap::new();
    };
    pick(first)
        .iter()
        .filter(|(k, v)| rest.iter().all(|a| pick(a).get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The payload for `group`; with `max_alerts > 0` only the first `max_alerts`
/// alerts are listed and the rest counted in `truncatedAlerts`.
pub fn webhook_payload(group: &Group<'_>, external_url: &str, max_alerts: usize) -> Value {
    let shown = if max_alerts == 0 {
        group.alerts.len()
    } else {
        max_alerts.min(group.alerts.len())
    };
    let alerts: Vec<Value> = group.alerts[..shown]
        .iter()
        .map(|a| {
            json!({
                "status": a.status.as_str(),
                "labels": a.labels,
                "annotations": a.annotations,
                "startsAt": format_time(a.starts_at),
                "endsAt": format_time(a.ends_at),
                "generatorURL": a.generator_url.clone().unwrap_or_default(),
                "fingerprint": a.fingerprint,
            })
        })
        .collect();
    json!({
        "version": "4",
        "groupKey": group.key,
        "truncatedAlerts": group.alerts.len() - shown,
        "status": group.status().as_str(),
        "receiver": group.receiver,
        "groupLabels": group.labels,
        "commonLabels": common(&group.alerts, |a| &a.labels),
        "commonAnnotations": common(&group.alerts, |a| &a.annotations),
        "externalURL": external_url,
        "alerts": alerts,
    })
}
