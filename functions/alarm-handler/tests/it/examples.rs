//! The alarm-handler's examples (`examples/alarm-handler/`, and the alarm-handler
//! configs and events of `examples/setups/`) load through `Config::parse` with the
//! config file's directory as base (as `ALARM_HANDLER_CONFIG_FILE` does), and the
//! sample events run through the handler with them against moto's SNS, SQS, SSM and
//! DynamoDB and a local HTTP receiver; only the Slack webhook's secret file is
//! rewritten to point at the local receiver.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alarm_handler::{Config, Handler};
use alert_model::AlertBatch;
use chrono::{TimeZone, Utc};
use serde_json::Value;
use test_support::fake_http::FakeServer;
use test_support::services as support;
use test_support::sns_sqs as common;

use crate::delivery_e2e::create_table;

fn examples() -> PathBuf {
    support::workspace_root().join("examples")
}

fn load(dir: &Path, file: &str) -> Config {
    let text = std::fs::read_to_string(dir.join(file)).expect("read config");
    Config::parse(&text, Some(dir)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn event(path: &str) -> Value {
    let text = std::fs::read_to_string(examples().join(path)).expect("read event");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The example's directory copied, with the Slack webhook's secret file pointing at
/// `url`.
fn copy_with_slack_url(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let source = examples().join("alarm-handler");
    std::fs::copy(
        source.join("alertmanager.yaml"),
        dir.path().join("alertmanager.yaml"),
    )
    .expect("copy");
    std::fs::create_dir_all(dir.path().join("templates")).expect("dir");
    std::fs::copy(
        source.join("templates/ops.tmpl"),
        dir.path().join("templates/ops.tmpl"),
    )
    .expect("copy");
    std::fs::create_dir_all(dir.path().join("secrets")).expect("dir");
    std::fs::write(dir.path().join("secrets/slack-webhook-url"), url).expect("write");
    dir
}

async fn put_secure(aws: &aws_config::SdkConfig, name: &str, value: &str) {
    aws_sdk_ssm::Client::new(aws)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("put parameter");
}

#[test]
fn every_alarm_handler_example_config_validates() {
    let config = load(&examples().join("alarm-handler"), "alertmanager.yaml");
    for receiver in ["ops", "db", "scaler"] {
        assert!(config.receiver(receiver).is_some(), "{receiver}");
    }
    assert_eq!(config.template_sources.len(), 1);
    let setups = examples().join("setups");
    let routing = load(
        &setups.join("grafana-amp-alert-routing"),
        "alertmanager.yaml",
    );
    for receiver in ["ops", "pager", "db", "web"] {
        assert!(routing.receiver(receiver).is_some(), "{receiver}");
    }
    let queue = load(&setups.join("queue-consumer-scaling"), "alarm-handler.yaml");
    assert!(queue.receiver("scaler").is_some());
}

/// The timers example loads with its timers on, and the maintenance silence is
/// taken by the Alertmanager API as it is written (pending until its window) and
/// then mutes a matching alert and not another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timers_example_and_its_silence_work() {
    let dir = examples().join("alarm-handler");
    let config = load(&dir, "alertmanager-with-timers.yaml");
    assert!(config.file.alarm_handler.timers);
    assert_eq!(
        alarm_handler::grouping::route_by_id(&config, config.route.id()).map(|r| r.group_wait),
        Some(std::time::Duration::from_secs(30))
    );
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    crate::delivery_e2e::create_table(&aws, "alarm-handler").await;
    let mut handler = alarm_handler::Handler::new(config, &aws).expect("handler");
    let body = std::fs::read(dir.join("maintenance-silence.json")).expect("silence");
    let before = chrono::DateTime::parse_from_rfc3339("2030-01-10T21:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let request = alarm_handler::api::ApiRequest {
        method: "POST".into(),
        path: "/api/v2/silences".into(),
        query: Vec::new(),
        body,
    };
    let created = alarm_handler::api::respond(&mut handler, &request, before).await;
    assert_eq!(created.status, 200, "{created:?}");
    let list = alarm_handler::api::ApiRequest {
        method: "GET".into(),
        path: "/api/v2/silences".into(),
        ..alarm_handler::api::ApiRequest::default()
    };
    let listed = alarm_handler::api::respond(&mut handler, &list, before).await;
    let silences = listed.body.expect("body");
    assert_eq!(silences[0]["status"]["state"], "pending", "{silences}");
    let during = before + chrono::Duration::hours(2);
    let silence: alarm_handler::silences::Silence = serde_json::from_value(serde_json::json!({
        "id": silences[0]["id"], "matchers": silences[0]["matchers"],
        "startsAt": silences[0]["startsAt"], "endsAt": silences[0]["endsAt"],
        "updatedAt": silences[0]["updatedAt"], "createdBy": "x", "comment": "y"
    }))
    .expect("silence");
    let labels = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert!(silence.mutes(
        &labels(&[("alertname", "KubeNodeNotReady"), ("cluster", "prod-eu")]),
        during
    ));
    assert!(!silence.mutes(
        &labels(&[("alertname", "KubeNodeNotReady"), ("cluster", "prod-us")]),
        during
    ));
    assert!(!silence.mutes(
        &labels(&[("alertname", "HighLatency"), ("cluster", "prod-eu")]),
        during
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_events_route_as_the_example_config_says() {
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let ops = common::create_topic(&sns, "ops-alerts")
        .await
        .expect("topic");
    let scaler = common::create_topic(&sns, "scaler").await.expect("topic");
    let ops_queue = common::subscribe_new_queue(&sns, &sqs, &ops, "ops-q")
        .await
        .expect("queue");
    let scaler_queue = common::subscribe_new_queue(&sns, &sqs, &scaler, "scaler-q")
        .await
        .expect("queue");
    create_table(&aws, "alarm-handler").await;
    let receiver = FakeServer::start().await;
    put_secure(
        &aws,
        "/alarm-handler/db-webhook",
        &format!("{}/db-hook", receiver.base_url()),
    )
    .await;
    let dir = copy_with_slack_url(&format!("{}/slack", receiver.base_url()));
    let mut handler = Handler::new(load(dir.path(), "alertmanager.yaml"), &aws).expect("handler");
    // A Monday: the db route's weekend mute is not active.
    let monday = Utc
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 10)
        .single()
        .expect("time");

    // AMP's alert manager: a web warning in cluster prod goes to the root receiver,
    // ops, with the subject from the example's template file. (It comes first: once
    // a critical alert fires in prod, the inhibit rule mutes it; see below.)
    let summary = handler
        .handle(&event("alarm-handler/events/amp-alert.json"), monday)
        .await
        .expect("amp");
    assert_eq!(
        summary.formats.get("alertmanager_json"),
        Some(&1),
        "{summary:?}"
    );
    assert_eq!(summary.inhibited, 0, "{summary:?}");
    assert_eq!(
        summary.deliveries.per_receiver.get("ops"),
        Some(&1),
        "{summary:?}"
    );
    let ops_messages = common::receive_sns_envelopes(&sqs, &ops_queue, 1, Duration::from_secs(10))
        .await
        .expect("ops");
    assert_eq!(
        ops_messages[0].subject.as_deref(),
        Some("[FIRING] HighErrorRate (alertmanager)")
    );
    assert_eq!(
        ops_messages[0].attributes.get("team").map(String::as_str),
        Some("web")
    );

    // Grafana: critical DiskFull and warning SlowQueries of team db; the warning is
    // inhibited (same cluster), DiskFull goes to db's Slack and webhook.
    let summary = handler
        .handle(&event("alarm-handler/events/grafana-alert.json"), monday)
        .await
        .expect("grafana");
    assert_eq!(summary.formats.get("grafana_json"), Some(&1), "{summary:?}");
    assert_eq!((summary.alerts, summary.inhibited), (2, 1), "{summary:?}");
    assert_eq!(
        summary.deliveries.per_receiver.get("db"),
        Some(&2),
        "{summary:?}"
    );
    assert_eq!(summary.deliveries.sent, 2, "{summary:?}");
    let mut paths: Vec<String> = receiver
        .captured()
        .iter()
        .map(|r| r.path_and_query.clone())
        .collect();
    paths.sort();
    assert_eq!(paths, ["/db-hook", "/slack"]);
    assert!(receiver
        .captured()
        .iter()
        .all(|r| String::from_utf8_lossy(&r.body).contains("DiskFull")
            && !String::from_utf8_lossy(&r.body).contains("SlowQueries")));

    // The same warning notified again (Alertmanager's repeat, a new SNS message) after
    // DiskFull fired: DiskFull is critical in the same cluster and recorded in the
    // state table, so the inhibit rule mutes the warning across invocations.
    let mut repeat = event("alarm-handler/events/amp-alert.json");
    repeat["Records"][0]["Sns"]["MessageId"] = Value::from("8a1f2c3d-amp-0002");
    let summary = handler.handle(&repeat, monday).await.expect("amp repeat");
    assert_eq!((summary.alerts, summary.inhibited), (1, 1), "{summary:?}");
    assert!(summary.deliveries.per_receiver.is_empty(), "{summary:?}");

    // CloudWatch: queue-orders-backlog goes to the scaler as an AlertBatch.
    let summary = handler
        .handle(&event("alarm-handler/events/cloudwatch-alarm.json"), monday)
        .await
        .expect("cloudwatch");
    assert_eq!(
        summary.formats.get("cloudwatch_alarm"),
        Some(&1),
        "{summary:?}"
    );
    assert_eq!(
        summary.deliveries.per_receiver.get("scaler"),
        Some(&1),
        "{summary:?}"
    );
    assert_eq!(
        summary.deliveries.per_receiver.get("ops"),
        None,
        "{summary:?}"
    );
    let scaled = common::receive_sns_envelopes(&sqs, &scaler_queue, 1, Duration::from_secs(10))
        .await
        .expect("scaler");
    let batch: AlertBatch = serde_json::from_str(&scaled[0].message).expect("batch");
    assert_eq!(batch.receiver, "scaler");
    assert_eq!(
        batch.alerts[0]
            .labels
            .get("dimension_QueueName")
            .map(String::as_str),
        Some("orders")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_events_route_by_team_and_severity_and_queue_alarms_reach_the_scaler() {
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    for topic in ["ops-alerts", "team-db", "team-web", "scaler"] {
        common::create_topic(&sns, topic).await.expect("topic");
    }
    let scaler_topic = common::create_topic(&sns, "scaler").await.expect("topic");
    let scaler_queue = common::subscribe_new_queue(&sns, &sqs, &scaler_topic, "scaler-q")
        .await
        .expect("queue");
    let pager = FakeServer::start().await;
    put_secure(
        &aws,
        "/alarm-handler/pager-webhook",
        &format!("{}/page", pager.base_url()),
    )
    .await;
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 10)
        .single()
        .expect("time");
    let setups = examples().join("setups");

    let config = load(
        &setups.join("grafana-amp-alert-routing"),
        "alertmanager.yaml",
    );
    let mut handler = Handler::new(config, &aws).expect("handler");
    let summary = handler
        .handle(
            &event("setups/grafana-amp-alert-routing/events/grafana-alert.json"),
            now,
        )
        .await
        .expect("grafana");
    // DiskFull (critical) pages and goes to db; SlowQueries (warning, another
    // alertname) goes to db only.
    assert_eq!(
        summary.deliveries.per_receiver.get("pager"),
        Some(&1),
        "{summary:?}"
    );
    assert_eq!(
        summary.deliveries.per_receiver.get("db"),
        Some(&2),
        "{summary:?}"
    );
    assert_eq!(
        summary.deliveries.per_receiver.get("ops"),
        None,
        "{summary:?}"
    );
    let pages = pager.captured();
    assert_eq!(pages.len(), 1);
    let page: Value = serde_json::from_slice(&pages[0].body).expect("webhook JSON");
    assert_eq!(page["receiver"], "pager");
    assert_eq!(page["alerts"][0]["labels"]["alertname"], "DiskFull");
    let summary = handler
        .handle(
            &event("setups/grafana-amp-alert-routing/events/amp-alert.json"),
            now,
        )
        .await
        .expect("amp");
    assert_eq!(
        summary.deliveries.per_receiver.get("web"),
        Some(&1),
        "{summary:?}"
    );
    assert_eq!(summary.deliveries.per_receiver.len(), 1, "{summary:?}");

    let config = load(&setups.join("queue-consumer-scaling"), "alarm-handler.yaml");
    let mut handler = Handler::new(config, &aws).expect("handler");
    let summary = handler
        .handle(
            &event("setups/queue-consumer-scaling/events/alarm-notification.json"),
            now,
        )
        .await
        .expect("alarm");
    assert_eq!(
        summary.deliveries.per_receiver.get("scaler"),
        Some(&1),
        "{summary:?}"
    );
    assert_eq!(summary.deliveries.per_receiver.len(), 1, "{summary:?}");
    let scaled = common::receive_sns_envelopes(&sqs, &scaler_queue, 1, Duration::from_secs(10))
        .await
        .expect("scaler");
    let batch: AlertBatch = serde_json::from_str(&scaled[0].message).expect("batch");
    assert_eq!(
        batch.alerts[0].labels.get("alertname").map(String::as_str),
        Some("queue-orders-backlog")
    );
}
