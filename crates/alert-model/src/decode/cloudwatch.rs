//! CloudWatch alarms, as SNS notifications (metric, metric-math and composite
//! alarms) and as EventBridge `CloudWatch Alarm State Change` events. Both give the
//! same labels for the same alarm, so its fingerprint does not depend on the path.
//!
//! Labels: `alertname` (alarm name), `source="cloudwatch"`, `region` and `account_id`
//! (from the alarm ARN; the notification's `Region` is a display name), and for a
//! single-metric alarm `namespace`, `metric_name` and `dimension_<Name>`.
//! Annotations: `description`, `summary` (the state reason), `alarm_state`,
//! `previous_state`, `alarm_arn`, and where sent `threshold`, `comparison_operator`,
//! `statistic`, `alarm_rule`, `triggering_children`. `ALARM` is firing; `OK` and
//! `INSUFFICIENT_DATA` are resolved.

use std::collections::BTreeMap;

use serde_json::Value;

use super::lenient_json::INCOMPLETE;
use super::time::parse_time;
use super::{arn_region_account, DecodeError, Decoded, Format};
use crate::alert::{Alert, Status};

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What both paths extract before building the alert.
#[derive(Default)]
struct Alarm {
    name: String,
    arn: Option<String>,
    account: Option<String>,
    region: Option<String>,
    state: String,
    previous: Option<String>,
    reason: Option<String>,
    description: Option<String>,
    changed: Option<String>,
    metric: Option<(String, String, BTreeMap<String, String>)>,
    extra: BTreeMap<&'static str, String>,
}

/// The alarm's page in the CloudWatch console; the name is a path segment, so every
/// byte but RFC 3986's unreserved ones is %XX-encoded.
fn console_url(region: &str, name: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(name, UNRESERVED);
    format!("https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{encoded}")
}

impl Alarm {
    fn into_alert(self) -> Alert {
        let mut labels = BTreeMap::new();
        labels.insert("alertname".to_string(), self.name.clone());
        labels.insert("source".to_string(), "cloudwatch".to_string());
        let from_arn = self.arn.as_deref().and_then(arn_region_account);
        let region = from_arn
            .map(|(r, _)| r.to_string())
            .or(self.region)
            .filter(|r| !r.is_empty());
        let account = self
            .account
            .or_else(|| from_arn.map(|(_, a)| a.to_string()))
            .filter(|a| !a.is_empty());
        if let Some(region) = &region {
            labels.insert("region".to_string(), region.clone());
        }
        if let Some(account) = account {
            labels.insert("account_id".to_string(), account);
        }
        if let Some((namespace, metric, dimensions)) = self.metric {
            labels.insert("namespace".to_string(), namespace);
            labels.insert("metric_name".to_string(), metric);
            for (name, value) in dimensions {
                labels.insert(
                    crate::label_name::sanitize_label_name(&format!("dimension_{name}")),
                    value,
                );
            }
        }
        let firing = self.state == "ALARM";
        let mut alert = Alert::new(
            labels,
            if firing {
                Status::Firing
            } else {
                Status::Resolved
            },
        );
        let changed = self.changed.as_deref().and_then(parse_time);
        if firing {
            alert.starts_at = changed;
        } else {
            alert.ends_at = changed;
        }
        let a = &mut alert.annotations;
        a.insert("alarm_state".into(), self.state);
        for (key, value) in [
            ("previous_state", self.previous),
            ("summary", self.reason),
            ("description", self.description),
            ("alarm_arn", self.arn),
        ] {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                a.insert(key.into(), value);
            }
        }
        for (key, value) in self.extra {
            a.insert(key.into(), value);
        }
        if let Some(region) = region {
            alert.generator_url = Some(console_url(&region, &self.name));
        }
        alert
    }
}

fn dimensions_from_list(list: Option<&Value>) -> BTreeMap<String, String> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|d| {
                    Some((
                        text(d.get("name"))?,
                        text(d.get("value")).unwrap_or_default(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An SNS alarm notification; `None` if it lacks the alarm name or state.
pub fn decode_sns(json: &Value) -> Option<Decoded> {
    let name = text(json.get("AlarmName"))?;
    let state = text(json.get("NewStateValue"))?;
    let mut alarm = Alarm {
        name,
        state,
        arn: text(json.get("AlarmArn")),
        account: text(json.get("AWSAccountId")),
        previous: text(json.get("OldStateValue")),
        reason: text(json.get("NewStateReason")),
        description: text(json.get("AlarmDescription")),
        changed: text(json.get("StateChangeTime")),
        ..Alarm::default()
    };
    let mut warnings = Vec::new();
    if let Some(trigger) = json.get("Trigger").filter(|t| t.is_object()) {
        if let (Some(namespace), Some(metric)) = (
            text(trigger.get("Namespace")),
            text(trigger.get("MetricName")),
        ) {
            alarm.metric = Some((
                namespace,
                metric,
                dimensions_from_list(trigger.get("Dimensions")),
            ));
        }
        for (field, key) in [
            ("Threshold", "threshold"),
            ("ComparisonOperator", "comparison_operator"),
            ("Statistic", "statistic"),
            ("ExtendedStatistic", "statistic"),
        ] {
            if let Some(value) = text(trigger.get(field)) {
                alarm.extra.insert(key, value);
            }
        }
        if let Some([single]) = trigger
            .get("Metrics")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            if let Some(stat) = single.get("MetricStat") {
                let metric = stat.get("Metric");
                if let (Some(namespace), Some(name)) = (
                    metric.and_then(|m| text(m.get("Namespace"))),
                    metric.and_then(|m| text(m.get("MetricName"))),
                ) {
                    alarm.metric = Some((
                        namespace,
                        name,
                        dimensions_from_list(metric.and_then(|m| m.get("Dimensions"))),
                    ));
                }
                if let Some(value) = text(stat.get("Stat")) {
                    alarm.extra.insert("statistic", value);
                }
            }
        }
        if let Some(metrics) = trigger.get("Metrics").and_then(Value::as_array) {
            let expressions: Vec<String> = metrics
                .iter()
                .filter(|m| {
                    m.get("ReturnData")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                })
                .filter_map(|m| text(m.get("Expression")).or_else(|| text(m.get("Id"))))
                .collect();
            if !expressions.is_empty() {
                alarm.extra.insert("expression", expressions.join(", "));
            }
        }
    } else if let Some(rule) = text(json.get("AlarmRule")) {
        alarm.extra.insert("alarm_rule", rule);
        let children: Vec<String> = json
            .get("TriggeringChildren")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|c| match c {
                        Value::String(s) => Some(s.clone()),
                        Value::Object(_) => text(c.get("Arn")).or_else(|| text(c.get("arn"))),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !children.is_empty() {
            alarm
                .extra
                .insert("triggering_children", children.join(", "));
        }
    } else {
        warnings.push("CloudWatch alarm without Trigger or AlarmRule".to_string());
    }
    Some(Decoded {
        format: Format::CloudwatchAlarm,
        alerts: vec![alarm.into_alert()],
        warnings,
    })
}

/// An EventBridge `CloudWatch Alarm State Change` event.
pub fn decode_eventbridge(event: &Value) -> Result<Decoded, DecodeError> {
    let invalid = |field: &'static str, reason: &str| DecodeError::Invalid {
        field,
        reason: reason.to_string(),
    };
    let detail_type = event
        .get("detail-type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if detail_type != "CloudWatch Alarm State Change" {
        return Err(invalid(
            "detail-type",
            &format!("{detail_type:?} is not \"CloudWatch Alarm State Change\""),
        ));
    }
    let detail = event
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or_else(|| invalid("detail", "missing"))?;
    let name =
        text(detail.get("alarmName")).ok_or_else(|| invalid("detail.alarmName", "missing"))?;
    let state = detail
        .get("state")
        .ok_or_else(|| invalid("detail.state", "missing"))?;
    let value = text(state.get("value")).ok_or_else(|| invalid("detail.state.value", "missing"))?;
    let arn = event
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .find(|a| a.contains(":alarm:"))
        })
        .map(str::to_string)
        .or_else(|| text(detail.get("alarmArn")));
    let configuration = detail.get("configuration");
    let mut alarm = Alarm {
        name,
        state: value,
        arn,
        account: text(event.get("account")),
        region: text(event.get("region")),
        previous: detail
            .get("previousState")
            .and_then(|p| text(p.get("value"))),
        reason: text(state.get("reason")),
        description: configuration.and_then(|c| text(c.get("description"))),
        changed: text(state.get("timestamp")).or_else(|| text(event.get("time"))),
        ..Alarm::default()
    };
    if let Some(configuration) = configuration {
        let metrics = configuration
            .get("metrics")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let [single] = metrics.as_slice() {
            if let Some(metric) = single.get("metricStat").and_then(|s| s.get("metric")) {
                if let (Some(namespace), Some(metric_name)) =
                    (text(metric.get("namespace")), text(metric.get("name")))
                {
                    let dimensions = metric.get("dimensions").and_then(Value::as_object);
                    // A dimension map the input ended inside of is unknown: no labels
                    // rather than a partial identity.
                    if !dimensions.is_some_and(|d| d.contains_key(INCOMPLETE)) {
                        let dimensions = dimensions
                            .map(|d| {
                                d.iter()
                                    .map(|(k, v)| (k.clone(), text(Some(v)).unwrap_or_default()))
                                    .collect()
                            })
                            .unwrap_or_default();
                        alarm.metric = Some((namespace, metric_name, dimensions));
                    }
                }
                if let Some(stat) = single.get("metricStat").and_then(|s| text(s.get("stat"))) {
                    alarm.extra.insert("statistic", stat);
                }
            }
        }
        let expressions: Vec<String> = metrics
            .iter()
            .filter(|m| {
                m.get("returnData")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            })
            .filter_map(|m| text(m.get("expression")))
            .collect();
        if !expressions.is_empty() {
            alarm.extra.insert("expression", expressions.join(", "));
        }
        if let Some(rule) = text(configuration.get("alarmRule")) {
            alarm.extra.insert("alarm_rule", rule);
            let reason_data =
                text(state.get("reasonData")).and_then(|r| serde_json::from_str::<Value>(&r).ok());
            let children: Vec<String> = reason_data
                .as_ref()
                .and_then(|r| r.get("triggeringAlarms"))
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|c| text(c.get("arn")).or_else(|| text(Some(c))))
                        .collect()
                })
                .unwrap_or_default();
            if !children.is_empty() {
                alarm
                    .extra
                    .insert("triggering_children", children.join(", "));
            }
        }
    }
    Ok(Decoded {
        format: Format::EventbridgeAlarm,
        alerts: vec![alarm.into_alert()],
        warnings: Vec::new(),
    })
}
