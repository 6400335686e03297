//! Slack and PagerDuty receivers against local HTTP endpoints: payload shapes,
//! Alertmanager-like default templates, user template files, `send_resolved`
//! defaults, PagerDuty trigger/resolve with one dedup key, secrets from a file.

use test_support::fake_http;

use test_support::sns_sqs as common;

use alarm_handler::{Config, Handler};
use fake_http::FakeServer;
use serde_json::{json, Value};

fn grafana_event(id: &str, status: &str) -> Value {
    let message = json!({
        "receiver": "sns", "status": status, "orgId": 1, "title": "t", "state": "alerting", "message": "",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "page"},
            "annotations": {"summary": "p99 above 2s", "description": "checkout p99 is 2.4s"},
            "startsAt": "2026-11-23T09:00:00Z",
            "endsAt": if status == "firing" { "0001-01-01T00:00:00Z" } else { "2026-11-23T09:30:00Z" },
            "generatorURL": "https://g.example/alerting/grafana/x/view", "fingerprint": "f", "values": {"B": 2.4}
        }],
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "https://g.example/", "version": "1",
        "groupKey": "k", "truncatedAlerts": 0
    })
    .to_string();
    json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:a:1",
        "Sns": {"Type": "Notification", "MessageId": id, "TopicArn": "arn:aws:sns:us-east-1:123456789012:grafana-alerts",
            "Subject": null, "Message": message, "Timestamp": "2026-11-23T09:00:01Z", "SignatureVersion": "1",
            "Signature": "x", "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}}}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_and_pagerduty_payloads() {
    let slack = FakeServer::start().await;
    let pagerduty = FakeServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("pd-key"), "R0UTINGKEY123\n").expect("write");
    std::fs::write(
        dir.path().join("custom.tmpl"),
        "{{ define \"slack.custom.text\" }}{{ range .Alerts }}{{ .Annotations.description }} ({{ .Labels.service }}){{ end }}{{ end }}",
    )
    .expect("write");
    let yaml = format!(
        r#"
global:
  slack_api_url: '{slack}/services/T000/B000/XXXX'
route:
  receiver: team
  group_by: [alertname, service]
receivers:
  - name: team
    slack_configs:
      - channel: '#checkout'
        text: '{{{{ template "slack.custom.text" . }}}}'
    pagerduty_configs:
      - routing_key_file: pd-key
        url: '{pd}/v2/enqueue'
        severity: '{{{{ .CommonLabels.severity | toLower }}}}'
templates: [custom.tmpl]
alarm_handler:
  external_url: https://g.example/
"#,
        slack = slack.base_url(),
        pd = pagerduty.base_url()
    );
    std::fs::write(dir.path().join("config.yml"), &yaml).expect("write");
    let config = Config::parse(&yaml, Some(dir.path())).expect("config");
    let aws = common::aws_config_for("http://127.0.0.1:9").await;
    let mut handler = Handler::new(config, &aws).expect("handler");

    let firing = handler
        .handle(&grafana_event("m1", "firing"), chrono::Utc::now())
        .await
        .expect("delivered");
    assert_eq!(firing.deliveries.sent, 2, "{firing:?}");
    let slack_calls = slack.captured();
    assert_eq!(slack_calls.len(), 1);
    assert_eq!(slack_calls[0].path_and_query, "/services/T000/B000/XXXX");
    let body: Value = serde_json::from_slice(&slack_calls[0].body).expect("JSON");
    assert_eq!(body["channel"], "#checkout");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["title"],
        "[FIRING:1] HighLatency checkout (123456789012 us-east-1 page grafana)"
    );
    assert_eq!(attachment["color"], "danger");
    assert_eq!(attachment["text"], "checkout p99 is 2.4s (checkout)");
    assert_eq!(
        attachment["fallback"],
        "[FIRING:1] HighLatency checkout (123456789012 us-east-1 page grafana) | https://g.example/"
    );

    let pd_calls = pagerduty.captured();
    assert_eq!(pd_calls.len(), 1);
    assert_eq!(pd_calls[0].path_and_query, "/v2/enqueue");
    let trigger: Value = serde_json::from_slice(&pd_calls[0].body).expect("JSON");
    assert_eq!(trigger["routing_key"], "R0UTINGKEY123");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(
        trigger["payload"]["summary"],
        "[FIRING:1] HighLatency checkout (123456789012 us-east-1 page grafana)"
    );
    assert_eq!(trigger["payload"]["severity"], "page");
    assert_eq!(trigger["payload"]["custom_details"]["num_firing"], "1");
    assert!(trigger["payload"]["custom_details"]["firing"]
        .as_str()
        .is_some_and(|t| t.contains(" - service = checkout")));
    assert_eq!(trigger["client_url"], "https://g.example/");
    let dedup_key = trigger["dedup_key"]
        .as_str()
        .expect("dedup key")
        .to_string();
    assert_eq!(dedup_key.len(), 16);

    // Resolved: PagerDuty resolves the same incident; Slack's send_resolved defaults
    // to false (as in Alertmanager), so Slack hears nothing.
    let resolved = handler
        .handle(&grafana_event("m2", "resolved"), chrono::Utc::now())
        .await
        .expect("delivered");
    assert_eq!(
        (
            resolved.deliveries.sent,
            resolved.deliveries.nothing_to_send
        ),
        (1, 1),
        "{resolved:?}"
    );
    assert_eq!(slack.captured().len(), 1);
    let resolve: Value = serde_json::from_slice(&pagerduty.captured()[1].body).expect("JSON");
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], dedup_key.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_errors_fail_the_delivery_with_the_receiver_named() {
    let hook = FakeServer::start().await;
    let yaml = format!(
        "route: {{receiver: r}}\nreceivers:\n  - name: r\n    slack_configs: [{{api_url: '{}/x', title: '{{{{ .Status | nosuchfunc }}}}'}}]\n",
        hook.base_url()
    );
    let config = Config::parse(&yaml, None).expect("config");
    let aws = common::aws_config_for("http://127.0.0.1:9").await;
    let mut handler = Handler::new(config, &aws).expect("handler");
    let err = handler
        .handle(&grafana_event("m1", "firing"), chrono::Utc::now())
        .await
        .expect_err("template error");
    assert!(err.to_string().contains("r/slack[0]: template"), "{err}");
    assert!(err.to_string().contains("nosuchfunc"), "{err}");
    assert!(hook.captured().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_errors_name_no_receiver_url_host_or_port() {
    // A closed port: the connection is refused, and the error must not say where to.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let url = format!("http://127.0.0.1:{port}/services/T000/B000/XXXXSECRETXXXX");
    let yaml = format!(
        "route: {{receiver: r}}\nreceivers:\n  - name: r\n    webhook_configs: [{{url: '{url}'}}]\n    slack_configs: [{{api_url: '{url}'}}]\n"
    );
    let config = Config::parse(&yaml, None).expect("config");
    let aws = common::aws_config_for("http://127.0.0.1:9").await;
    let mut handler = Handler::new(config, &aws).expect("handler");
    let err = handler
        .handle(&grafana_event("m1", "firing"), chrono::Utc::now())
        .await
        .expect_err("nothing listens");
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("r/webhook[0]") || text.contains("r/slack[0]"),
        "{text}"
    );
    for secret in [
        "127.0.0.1",
        &port.to_string(),
        "XXXXSECRETXXXX",
        "/services/",
    ] {
        assert!(!text.contains(secret), "{secret:?} in {text}");
    }
}
