//! Every input format the alerts topic receives, decoded to the alert model.

use std::collections::BTreeMap;

use alert_model::{
    decode_event, decode_notification, fingerprint, Decoded, Format, Notification, Status,
};
use serde_json::json;

const TOPIC: &str = "arn:aws:sns:eu-central-1:111122223333:grafana-alerts";

fn decode_with(subject: Option<&str>, message: &str, attributes: &[(&str, &str)]) -> Decoded {
    let attributes: BTreeMap<String, String> = attributes
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    decode_notification(&Notification {
        subject,
        message,
        attributes: &attributes,
        topic_arn: Some(TOPIC),
        message_id: Some("4a1c8b3e-0000-4000-8000-000000000001"),
        timestamp: None,
    })
}

fn decode(subject: Option<&str>, message: &str) -> Decoded {
    decode_with(subject, message, &[])
}

fn label<'a>(d: &'a Decoded, i: usize, name: &str) -> Option<&'a str> {
    d.alerts
        .get(i)
        .and_then(|a| a.labels.get(name))
        .map(String::as_str)
}

fn annotation<'a>(d: &'a Decoded, i: usize, name: &str) -> Option<&'a str> {
    d.alerts
        .get(i)
        .and_then(|a| a.annotations.get(name))
        .map(String::as_str)
}

const METRIC_ALARM: &str = r#"{"AlarmName":"orders-queue-depth","AlarmDescription":null,"AWSAccountId":"123456789012","AlarmConfigurationUpdatedTimestamp":"2024-09-09T01:50:00.000+0000","NewStateValue":"ALARM","NewStateReason":"Threshold Crossed: 1 out of the last 1 datapoints [42.0 (09/09/24 01:58:00)] was greater than the threshold (30.0) (minimum 1 datapoint for OK -> ALARM transition).","StateChangeTime":"2024-09-09T01:59:07.423+0000","Region":"US East (N. Virginia)","AlarmArn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-queue-depth","OldStateValue":"OK","OKActions":[],"AlarmActions":["arn:aws:sns:us-east-1:123456789012:alerts"],"InsufficientDataActions":[],"Trigger":{"MetricName":"ApproximateNumberOfMessagesVisible","Namespace":"AWS/SQS","StatisticType":"Statistic","Statistic":"MAXIMUM","Unit":null,"Dimensions":[{"value":"orders","name":"QueueName"}],"Period":60,"EvaluationPeriods":1,"DatapointsToAlarm":1,"ComparisonOperator":"GreaterThanThreshold","Threshold":30.0,"TreatMissingData":"missing","EvaluateLowSampleCountPercentile":null}}"#;

#[test]
fn cloudwatch_metric_alarm() {
    let d = decode(
        Some("ALARM: \"orders-queue-depth\" in US East (N. Virginia)"),
        METRIC_ALARM,
    );
    assert_eq!(d.format, Format::CloudwatchAlarm);
    assert_eq!(d.alerts.len(), 1);
    let a = &d.alerts[0];
    let labels: Vec<(&str, &str)> = a
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("account_id", "123456789012"),
            ("alertname", "orders-queue-depth"),
            ("dimension_QueueName", "orders"),
            ("metric_name", "ApproximateNumberOfMessagesVisible"),
            ("namespace", "AWS/SQS"),
            // From the alarm ARN, not the topic's eu-central-1 nor the display name.
            ("region", "us-east-1"),
            ("source", "cloudwatch"),
        ]
    );
    assert_eq!(a.status, Status::Firing);
    assert_eq!(
        a.starts_at.map(|t| t.to_rfc3339()),
        Some("2024-09-09T01:59:07.423+00:00".into())
    );
    assert_eq!(a.ends_at, None);
    assert_eq!(annotation(&d, 0, "description"), None);
    assert_eq!(annotation(&d, 0, "alarm_state"), Some("ALARM"));
    assert_eq!(annotation(&d, 0, "previous_state"), Some("OK"));
    assert_eq!(annotation(&d, 0, "statistic"), Some("MAXIMUM"));
    assert_eq!(annotation(&d, 0, "threshold"), Some("30.0"));
    assert!(annotation(&d, 0, "summary").is_some_and(|s| s.starts_with("Threshold Crossed")));
    assert_eq!(
        a.generator_url.as_deref(),
        Some("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/orders-queue-depth")
    );
    assert_eq!(a.fingerprint, fingerprint(&a.labels));
}

#[test]
fn cloudwatch_ok_and_insufficient_data_resolve() {
    for state in ["OK", "INSUFFICIENT_DATA"] {
        let message = METRIC_ALARM.replace(
            "\"NewStateValue\":\"ALARM\"",
            &format!("\"NewStateValue\":\"{state}\""),
        );
        let d = decode(None, &message);
        assert_eq!(d.alerts[0].status, Status::Resolved, "{state}");
        assert_eq!(annotation(&d, 0, "alarm_state"), Some(state));
        assert!(d.alerts[0].ends_at.is_some() && d.alerts[0].starts_at.is_none());
        // Same alarm, same identity whatever its state.
        assert_eq!(
            d.alerts[0].fingerprint,
            decode(None, METRIC_ALARM).alerts[0].fingerprint
        );
    }
}

#[test]
fn cloudwatch_metric_math_alarm() {
    let message = json!({
        "AlarmName": "error-rate", "AlarmDescription": "5xx over 5%", "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed", "StateChangeTime": "2024-09-09T02:00:00.000+0000",
        "Region": "EU (Ireland)", "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:error-rate", "OldStateValue": "OK",
        "Trigger": {"Period": 60, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 5.0,
            "TreatMissingData": "missing", "EvaluateLowSampleCountPercentile": "",
            "Metrics": [
                {"Expression": "100*errors/requests", "Id": "rate", "Label": "rate", "ReturnData": true},
                {"Id": "errors", "MetricStat": {"Metric": {"Dimensions": [{"value": "api", "name": "ApiName"}], "MetricName": "5XXError", "Namespace": "AWS/ApiGateway"}, "Period": 60, "Stat": "Sum"}, "ReturnData": false}
            ]}
    })
    .to_string();
    let d = decode(None, &message);
    assert_eq!(d.format, Format::CloudwatchAlarm);
    assert_eq!(label(&d, 0, "alertname"), Some("error-rate"));
    assert_eq!(label(&d, 0, "region"), Some("eu-west-1"));
    assert_eq!(label(&d, 0, "metric_name"), None, "no single metric");
    assert_eq!(annotation(&d, 0, "expression"), Some("100*errors/requests"));
    assert_eq!(annotation(&d, 0, "description"), Some("5xx over 5%"));
}

#[test]
fn cloudwatch_composite_alarms_with_object_or_string_children() {
    let children_objects = json!([{"Arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high", "State": {"Value": "ALARM", "Timestamp": "2024-09-09T02:00:00.000+0000"}}]);
    let children_strings = json!(["arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high"]);
    for children in [children_objects, children_strings] {
        let message = json!({
            "AlarmName": "service-degraded", "AlarmDescription": null, "AWSAccountId": "123456789012",
            "NewStateValue": "ALARM", "NewStateReason": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high transitioned to ALARM",
            "StateChangeTime": "2024-09-09T02:00:01.000+0000", "Region": "US East (N. Virginia)",
            "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:service-degraded", "OldStateValue": "OK",
            "AlarmRule": "ALARM(cpu-high) AND ALARM(latency-high)", "TriggeringChildren": children
        })
        .to_string();
        let d = decode(None, &message);
        assert_eq!(d.format, Format::CloudwatchAlarm);
        assert_eq!(label(&d, 0, "alertname"), Some("service-degraded"));
        assert_eq!(
            annotation(&d, 0, "alarm_rule"),
            Some("ALARM(cpu-high) AND ALARM(latency-high)")
        );
        assert_eq!(
            annotation(&d, 0, "triggering_children"),
            Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high")
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }
}

fn eventbridge_event() -> serde_json::Value {
    json!({
        "version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "123456789012", "time": "2024-09-09T01:59:07Z", "region": "us-east-1",
        "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-queue-depth"],
        "detail": {
            "alarmName": "orders-queue-depth",
            "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2024-09-09T01:59:07.423+0000"},
            "previousState": {"value": "OK", "reason": "ok", "timestamp": "2024-09-09T01:00:00.000+0000"},
            "configuration": {"description": null, "metrics": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/SQS", "name": "ApproximateNumberOfMessagesVisible", "dimensions": {"QueueName": "orders"}}, "period": 60, "stat": "Maximum"}, "returnData": true}]}
        }
    })
}

#[test]
fn eventbridge_and_sns_give_the_same_alert_identity() {
    let direct = decode_event(&eventbridge_event()).expect("alarm event");
    assert_eq!(direct.format, Format::EventbridgeAlarm);
    let via_sns = decode(None, METRIC_ALARM);
    assert_eq!(direct.alerts[0].labels, via_sns.alerts[0].labels);
    assert_eq!(direct.alerts[0].fingerprint, via_sns.alerts[0].fingerprint);
    assert_eq!(direct.alerts[0].starts_at, via_sns.alerts[0].starts_at);
    // An EventBridge event forwarded through SNS is recognised too.
    let wrapped = decode(None, &eventbridge_event().to_string());
    assert_eq!(wrapped.format, Format::EventbridgeAlarm);
    assert_eq!(wrapped.alerts[0].fingerprint, via_sns.alerts[0].fingerprint);
    // Composite alarm events.
    let mut composite = eventbridge_event();
    composite["detail"]["configuration"] =
        json!({"alarmRule": "ALARM(a) OR ALARM(b)", "description": "composite"});
    composite["detail"]["state"]["value"] = json!("OK");
    let d = decode_event(&composite).expect("composite");
    assert_eq!(d.alerts[0].status, Status::Resolved);
    assert_eq!(
        annotation(&d, 0, "alarm_rule"),
        Some("ALARM(a) OR ALARM(b)")
    );
    assert_eq!(label(&d, 0, "namespace"), None);
    // Not an alarm event.
    let err = decode_event(
        &json!({"detail-type": "EC2 Instance State-change Notification", "detail": {}}),
    )
    .expect_err("not an alarm");
    assert!(err.to_string().contains("detail-type"), "{err}");
}

const GRAFANA_JSON: &str = r#"{"receiver":"sns","status":"firing","orgId":1,"alerts":[{"status":"firing","labels":{"alertname":"HighCPU","grafana_folder":"infra","instance":"web-1","severity":"critical"},"annotations":{"summary":"CPU above 90%"},"startsAt":"2024-09-09T01:58:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"https://g.example/alerting/grafana/abc/view?orgId=1","fingerprint":"1a2b3c4d5e6f7a8b","silenceURL":"https://g.example/alerting/silence/new?matcher=alertname%3DHighCPU","dashboardURL":"","panelURL":"","values":{"A":97.5,"C":1},"valueString":"[ var='A' labels={instance=web-1} value=97.5 ]"},{"status":"resolved","labels":{"alertname":"HighCPU","grafana_folder":"infra","instance":"web-2","severity":"critical"},"annotations":{"summary":"CPU above 90%"},"startsAt":"2024-09-09T01:40:00Z","endsAt":"2024-09-09T01:57:00Z","generatorURL":"https://g.example/alerting/grafana/abc/view?orgId=1","fingerprint":"9a8b7c6d5e4f3a2b","silenceURL":"","dashboardURL":"","panelURL":"","values":null,"valueString":""}],"groupLabels":{"alertname":"HighCPU"},"commonLabels":{"alertname":"HighCPU","grafana_folder":"infra","severity":"critical"},"commonAnnotations":{"summary":"CPU above 90%"},"externalURL":"https://g.example/","version":"1","groupKey":"{}/{}:{alertname=\"HighCPU\"}","truncatedAlerts":0,"title":"[FIRING:1, RESOLVED:1] HighCPU (infra critical)","state":"alerting","message":"**Firing**\n..."}"#;

#[test]
fn grafana_webhook_json() {
    let d = decode(
        Some("[FIRING:1, RESOLVED:1] HighCPU (infra critical)"),
        GRAFANA_JSON,
    );
    assert_eq!(d.format, Format::GrafanaJson);
    assert_eq!(d.alerts.len(), 2);
    assert_eq!(label(&d, 0, "instance"), Some("web-1"));
    assert_eq!(label(&d, 0, "severity"), Some("critical"));
    assert_eq!(label(&d, 0, "source"), Some("grafana"));
    // Grafana does not say the region: the topic's.
    assert_eq!(label(&d, 0, "region"), Some("eu-central-1"));
    assert_eq!(label(&d, 0, "account_id"), Some("111122223333"));
    assert_eq!(d.alerts[0].status, Status::Firing);
    assert_eq!(d.alerts[0].ends_at, None, "Go's zero time means unset");
    assert_eq!(d.alerts[0].values.get("A"), Some(&97.5));
    assert_eq!(
        annotation(&d, 0, "silence_url"),
        Some("https://g.example/alerting/silence/new?matcher=alertname%3DHighCPU")
    );
    assert_eq!(annotation(&d, 0, "dashboard_url"), None);
    assert_eq!(
        annotation(&d, 0, "source_fingerprint"),
        Some("1a2b3c4d5e6f7a8b")
    );
    assert_eq!(d.alerts[1].status, Status::Resolved);
    assert_eq!(
        d.alerts[1].ends_at.map(|t| t.to_rfc3339()),
        Some("2024-09-09T01:57:00+00:00".into())
    );
    assert!(d.alerts[1].values.is_empty());
}

const GRAFANA_TEXT: &str = "**Firing**\n\nValue: A=97.5, C=1\nLabels:\n - alertname = HighCPU\n - grafana_folder = infra\n - instance = web-1\nAnnotations:\n - summary = CPU above 90%\nSource: https://g.example/alerting/grafana/abc/view?orgId=1\nSilence: https://g.example/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DHighCPU\nDashboard: https://g.example/d/abc\nPanel: https://g.example/d/abc?viewPanel=2\n\n\n**Resolved**\n\nValue: [no value]\nLabels:\n - alertname = HighCPU\n - grafana_folder = infra\n - instance = web-2\nAnnotations:\n - summary = CPU above 90%\nSource: https://g.example/alerting/grafana/abc/view?orgId=1\nSilence: https://g.example/alerting/silence/new\n";

#[test]
fn grafana_default_text() {
    let d = decode(
        Some("[FIRING:1, RESOLVED:1]  (HighCPU infra)"),
        GRAFANA_TEXT,
    );
    assert_eq!(d.format, Format::GrafanaText);
    assert_eq!(d.alerts.len(), 2);
    assert_eq!(
        (d.alerts[0].status, d.alerts[1].status),
        (Status::Firing, Status::Resolved)
    );
    assert_eq!(label(&d, 0, "instance"), Some("web-1"));
    assert_eq!(label(&d, 1, "instance"), Some("web-2"));
    assert_eq!(d.alerts[0].values.get("A"), Some(&97.5));
    assert_eq!(d.alerts[0].values.get("C"), Some(&1.0));
    assert!(d.alerts[1].values.is_empty());
    assert_eq!(annotation(&d, 0, "summary"), Some("CPU above 90%"));
    assert_eq!(
        annotation(&d, 0, "panel_url"),
        Some("https://g.example/d/abc?viewPanel=2")
    );
    assert_eq!(
        d.alerts[0].generator_url.as_deref(),
        Some("https://g.example/alerting/grafana/abc/view?orgId=1")
    );
    // The same alert as JSON and as text has one fingerprint.
    let json = decode(None, GRAFANA_JSON);
    let mut text_labels = d.alerts[0].labels.clone();
    text_labels.insert("severity".into(), "critical".into());
    assert_eq!(fingerprint(&text_labels), json.alerts[0].fingerprint);
}

#[test]
fn grafana_legacy_channel() {
    let d = decode(
        Some("State: ALERTING"),
        "State: alerting\nCPU usage is above 90% on web-1",
    );
    assert_eq!(d.format, Format::GrafanaLegacy);
    assert_eq!(d.alerts[0].status, Status::Firing);
    assert_eq!(
        label(&d, 0, "alertname"),
        Some("CPU usage is above 90% on web-1")
    );
    assert_eq!(
        annotation(&d, 0, "message"),
        Some("CPU usage is above 90% on web-1")
    );
    let ok = decode(Some("[OK] High CPU"), "State: ok\nCPU back to normal");
    assert_eq!(
        (ok.alerts[0].status, label(&ok, 0, "alertname")),
        (Status::Resolved, Some("High CPU"))
    );
    let json = decode(
        Some("State: ALERTING"),
        r#"{"body":"CPU usage is above 90%","state":"alerting","ruleName":"High CPU","team":"infra","severity":"page"}"#,
    );
    assert_eq!(json.format, Format::GrafanaLegacy);
    assert_eq!(label(&json, 0, "alertname"), Some("High CPU"));
    assert_eq!(label(&json, 0, "team"), Some("infra"));
    assert_eq!(label(&json, 0, "severity"), Some("page"));
    assert_eq!(label(&json, 0, "source"), Some("grafana_legacy"));
}

const AM_TEXT: &str = "Database is down\n\nAlerts Firing:\nLabels:\n - alertname = PostgresDown\n - instance = db-1:9187\n - job = postgres\n - severity = critical\nAnnotations:\n - description = Postgres on db-1 has been down\nfor more than 1 minute.\n - summary = Database is down\nSource: http://prometheus:9090/graph?g0.expr=pg_up+%3D%3D+0\n\n\n\nAlerts Resolved:\nLabels:\n - alertname = PostgresDown\n - instance = db-2:9187\n - job = postgres\n - severity = critical\nAnnotations:\n - summary = Database is down\nSource: http://prometheus:9090/graph\n\n";

#[test]
fn alertmanager_default_text() {
    let d = decode(Some("[FIRING:1] PostgresDown (postgres critical)"), AM_TEXT);
    assert_eq!(d.format, Format::AlertmanagerText);
    assert_eq!(d.alerts.len(), 2);
    assert_eq!(label(&d, 0, "instance"), Some("db-1:9187"));
    assert_eq!(label(&d, 0, "source"), Some("alertmanager"));
    assert_eq!(label(&d, 0, "severity"), Some("critical"));
    assert_eq!(
        annotation(&d, 0, "description"),
        Some("Postgres on db-1 has been down\nfor more than 1 minute.")
    );
    assert_eq!(d.alerts[1].status, Status::Resolved);
    assert_eq!(
        d.alerts[0].generator_url.as_deref(),
        Some("http://prometheus:9090/graph?g0.expr=pg_up+%3D%3D+0")
    );
}

/// The AWS "send as JSON" template prints values unescaped.
const AM_JSON_BROKEN: &str = "{\"receiver\": \"sns\",\"status\": \"firing\",\"alerts\": [{\"status\": \"firing\",\"labels\": {\"alertname\": \"DiskFull\", \"instance\": \"db-1\", \"severity\": \"warning\"},\"annotations\": {\"description\": \"Disk \"/data\" is 95% full\nclean up\", \"summary\": \"Disk full\"},\"startsAt\": \"2025-03-14 09:26:53.589 +0000 UTC\",\"endsAt\": \"0001-01-01 00:00:00 +0000 UTC\",\"generatorURL\": \"http://prometheus/graph?g0.expr=x\",\"fingerprint\": \"b6b1d3d4f3e2a1c0\"}],\"groupLabels\": {\"alertname\": \"DiskFull\"},\"commonLabels\": {\"alertname\": \"DiskFull\"}}";

#[test]
fn alertmanager_json_template_with_unescaped_values() {
    assert!(
        serde_json::from_str::<serde_json::Value>(AM_JSON_BROKEN).is_err(),
        "fixture must be invalid JSON"
    );
    let d = decode_with(
        Some("[FIRING:1] DiskFull"),
        AM_JSON_BROKEN,
        &[("modified", "true")],
    );
    assert_eq!(d.format, Format::AlertmanagerJson);
    assert_eq!(d.alerts.len(), 1);
    assert_eq!(label(&d, 0, "instance"), Some("db-1"));
    assert_eq!(
        annotation(&d, 0, "description"),
        Some("Disk \"/data\" is 95% full\nclean up")
    );
    assert_eq!(annotation(&d, 0, "modified"), Some("true"));
    assert_eq!(
        d.alerts[0].starts_at.map(|t| t.to_rfc3339()),
        Some("2025-03-14T09:26:53.589+00:00".into())
    );
    assert_eq!(d.alerts[0].ends_at, None);
    assert!(
        d.warnings.iter().any(|w| w.contains("not valid JSON")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn truncated_grafana_json_keeps_complete_alerts() {
    // Cut inside the second alert, in the middle of a two-byte character.
    let with_accent = GRAFANA_JSON.replace("web-2", "wéb-2");
    let cut = with_accent.find("wéb-2").map(|i| i + 2).expect("fixture");
    let truncated = String::from_utf8_lossy(&with_accent.as_bytes()[..cut]).into_owned();
    assert!(truncated.ends_with('\u{fffd}'));
    let d = decode_with(None, &truncated, &[("truncated", "true")]);
    assert_eq!(d.format, Format::GrafanaJson);
    assert_eq!(d.alerts.len(), 1, "only the complete alert");
    assert_eq!(label(&d, 0, "instance"), Some("web-1"));
    assert_eq!(annotation(&d, 0, "truncated"), Some("true"));
}

#[test]
fn anything_else_becomes_one_generic_alert() {
    for (subject, body) in [
        (None, ""),
        (Some("Disk alert\nsecond line"), "something happened"),
        (None, "{\"foo\": 1}"),
        (None, "{not json at all"),
        (Some("[FIRING:1] X"), "Alerts Firing:\nno labels here"),
    ] {
        let d = decode(subject, body);
        assert_eq!(d.format, Format::Unknown, "{body}");
        assert_eq!(d.alerts.len(), 1);
        assert_eq!(label(&d, 0, "source"), Some("unknown"));
        assert_eq!(annotation(&d, 0, "message"), Some(body));
        assert_eq!(d.alerts[0].status, Status::Firing);
    }
    let d = decode(Some("Disk alert\nsecond line"), "x");
    assert_eq!(label(&d, 0, "alertname"), Some("Disk alert"));
    assert_eq!(
        label(&decode(None, "x"), 0, "alertname"),
        Some("UnknownNotification")
    );
}

#[test]
fn alert_batches_round_trip_and_unknown_versions_are_refused() {
    let source = decode(None, GRAFANA_JSON);
    let batch = alert_model::AlertBatch {
        schema_version: "1".into(),
        receiver: "scaler".into(),
        status: Status::Firing,
        group_labels: BTreeMap::new(),
        common_labels: BTreeMap::new(),
        source_format: "grafana_json".into(),
        source_message_id: Some("m1".into()),
        alerts: source.alerts.clone(),
    };
    let text = serde_json::to_string(&batch).expect("encodes");
    let d = decode(None, &text);
    assert_eq!(d.format, Format::AlertBatch);
    assert_eq!(d.alerts, source.alerts);
    let d = decode(
        None,
        &text.replace("\"schemaVersion\":\"1\"", "\"schemaVersion\":\"2\""),
    );
    assert_eq!(d.format, Format::Unknown);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("schema version \"2\"")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn no_prefix_of_any_fixture_panics_or_loses_the_notification() {
    let event = eventbridge_event().to_string();
    let fixtures = [
        METRIC_ALARM,
        GRAFANA_JSON,
        GRAFANA_TEXT,
        AM_TEXT,
        AM_JSON_BROKEN,
        event.as_str(),
    ];
    for fixture in fixtures {
        for end in 0..=fixture.len() {
            if fixture.is_char_boundary(end) {
                let d = decode_with(
                    Some("[FIRING:1] x"),
                    &fixture[..end],
                    &[("truncated", "true")],
                );
                assert!(
                    !d.alerts.is_empty(),
                    "prefix {end} of a fixture produced no alert"
                );
                assert!(
                    d.alerts
                        .iter()
                        .all(|a| a.labels.contains_key("alertname")
                            && a.labels.contains_key("source"))
                );
            }
        }
    }
}
