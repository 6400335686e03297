//! Real Alertmanager payloads: Debian's Prometheus fires two rules, Debian's
//! Alertmanager 0.25 publishes them to moto's SNS (SigV4 with static keys) once with
//! its default SNS templates and once with the AWS-documented "send as JSON" style
//! template (values unescaped), the messages are collected through an SQS
//! subscription, and the handler decodes and routes them to a webhook.

use test_support::fake_http;

use test_support::services as support;

use test_support::sns_sqs as common;

use std::time::Duration;

use alarm_handler::{Config, Handler};
use fake_http::FakeServer;
use serde_json::Value;

/// Like the AMP documentation's JSON message template: label and annotation values
/// are printed as they are, so a quote or a newline makes the JSON invalid.
const JSON_TEMPLATE: &str = r#"{{ define "sns.json.message" }}{"receiver": "{{ .Receiver }}","status": "{{ .Status }}","alerts": [{{ range $i, $a := .Alerts }}{{ if $i }}, {{ end }}{"status": "{{ $a.Status }}","labels": { {{- range $j, $l := $a.Labels.SortedPairs }}{{ if $j }}, {{ end }}"{{ $l.Name }}": "{{ $l.Value }}"{{ end -}} },"annotations": { {{- range $j, $l := $a.Annotations.SortedPairs }}{{ if $j }}, {{ end }}"{{ $l.Name }}": "{{ $l.Value }}"{{ end -}} },"startsAt": "{{ $a.StartsAt }}","endsAt": "{{ $a.EndsAt }}","generatorURL": "{{ $a.GeneratorURL }}","fingerprint": "{{ $a.Fingerprint }}"}{{ end }}]}{{ end }}"#;

const RULES: &str = r#"
groups:
  - name: handler-test
    interval: 1s
    rules:
      - alert: QueueBacklog
        expr: vector(1)
        labels: {severity: critical, team: orders}
        annotations:
          summary: Queue backlog growing
          description: "The orders queue has 42 messages\nand grows"
      - alert: DiskAlmostFull
        expr: vector(1)
        labels: {severity: warning, format: json}
        annotations:
          summary: 'Disk "/data" almost full'
          description: "line one\nline two"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_alertmanager_sns_payloads_are_decoded_and_routed() {
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let topic = common::create_topic(&sns, "grafana-alerts")
        .await
        .expect("topic");
    let queue = common::subscribe_new_queue(&sns, &sqs, &topic, "captured")
        .await
        .expect("queue");

    let sns_config = |extra: &str| {
        format!(
            "    sns_configs:\n      - api_url: '{}'\n        topic_arn: '{topic}'\n        sigv4: {{region: us-east-1, access_key: {}, secret_key: '{}'}}\n{extra}",
            moto.address,
            common::ACCESS_KEY,
            common::SECRET_KEY
        )
    };
    let am_config = format!(
        "route:\n  receiver: default\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n  routes:\n    - matchers: [format=\"json\"]\n      receiver: json\nreceivers:\n  - name: default\n{}  - name: json\n{}templates: [json.tmpl]\n",
        sns_config(""),
        sns_config("        message: '{{ template \"sns.json.message\" . }}'\n"),
    );
    let alertmanager = support::start_alertmanager(&am_config, &[("json.tmpl", JSON_TEMPLATE)])
        .await
        .expect("alertmanager");
    let prometheus = support::start_prometheus_with_rules(RULES, &alertmanager.address)
        .await
        .expect("prometheus");

    let envelopes = common::receive_sns_envelopes(&sqs, &queue, 2, Duration::from_secs(60))
        .await
        .expect("SNS messages from Alertmanager");
    let log = |s: &support::Service| {
        std::fs::read_to_string(s.dir.path().join("stderr.log")).unwrap_or_default()
    };
    assert!(
        envelopes.len() >= 2,
        "got {envelopes:?}\nalertmanager log:\n{}\nprometheus log:\n{}",
        log(&alertmanager),
        log(&prometheus)
    );
    let default = envelopes
        .iter()
        .find(|e| e.message.contains("QueueBacklog"))
        .expect("default-template message");
    let json = envelopes
        .iter()
        .find(|e| e.message.contains("DiskAlmostFull"))
        .expect("JSON-template message");
    // What Alertmanager really sends.
    assert_eq!(
        default.subject.as_deref(),
        Some("[FIRING:1] QueueBacklog (critical orders)")
    );
    assert!(
        default
            .message
            .contains("Alerts Firing:\nLabels:\n - alertname = QueueBacklog\n"),
        "{}",
        default.message
    );
    assert!(
        json.message.starts_with("{\"receiver\": \"json\""),
        "{}",
        json.message
    );
    assert!(
        json.message
            .contains("\"summary\": \"Disk \"/data\" almost full\""),
        "{}",
        json.message
    );
    assert!(
        serde_json::from_str::<Value>(&json.message).is_err(),
        "unescaped values make it invalid JSON"
    );
    assert!(
        json.message.contains(" +0000 UTC\""),
        "Go time format: {}",
        json.message
    );

    // Through the handler, routed to a webhook.
    let webhook = FakeServer::start().await;
    let config = Config::parse(
        &format!("route:\n  receiver: hook\n  group_by: [alertname]\nreceivers:\n  - name: hook\n    webhook_configs: [{{url: '{}/hook'}}]\n", webhook.base_url()),
        None,
    )
    .expect("config");
    let mut handler = Handler::new(config, &aws).expect("handler");
    let event = common::sns_lambda_event(&[default.clone(), json.clone()]);
    let summary = handler
        .handle(&event, chrono::Utc::now())
        .await
        .expect("delivered");
    assert_eq!(
        summary.formats.get("alertmanager_text"),
        Some(&1),
        "{summary:?}"
    );
    assert_eq!(
        summary.formats.get("alertmanager_json"),
        Some(&1),
        "{summary:?}"
    );
    assert_eq!(
        (summary.alerts, summary.deliveries.sent),
        (2, 2),
        "{summary:?}"
    );

    let mut delivered: Vec<Value> = webhook
        .captured()
        .iter()
        .map(|c| serde_json::from_slice::<Value>(&c.body).expect("webhook JSON"))
        .flat_map(|p| p["alerts"].as_array().cloned().unwrap_or_default())
        .collect();
    delivered.sort_by_key(|a| a["labels"]["alertname"].as_str().unwrap_or("").to_string());
    let disk = &delivered[0];
    assert_eq!(disk["labels"]["alertname"], "DiskAlmostFull");
    assert_eq!(disk["labels"]["severity"], "warning");
    assert_eq!(disk["labels"]["source"], "alertmanager");
    assert_eq!(disk["labels"]["region"], "us-east-1");
    assert_eq!(disk["annotations"]["summary"], "Disk \"/data\" almost full");
    assert_eq!(disk["annotations"]["description"], "line one\nline two");
    assert_eq!(disk["status"], "firing");
    assert_ne!(
        disk["startsAt"], "0001-01-01T00:00:00Z",
        "startsAt parsed from Go's format"
    );
    assert_eq!(disk["endsAt"], "0001-01-01T00:00:00Z");
    let queue_alert = &delivered[1];
    assert_eq!(queue_alert["labels"]["alertname"], "QueueBacklog");
    assert_eq!(queue_alert["labels"]["team"], "orders");
    assert_eq!(
        queue_alert["annotations"]["description"],
        "The orders queue has 42 messages\nand grows"
    );
    assert!(
        queue_alert["generatorURL"]
            .as_str()
            .is_some_and(|u| u.contains("/graph?g0.expr=vector")),
        "{queue_alert}"
    );
}
