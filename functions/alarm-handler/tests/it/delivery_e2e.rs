//! Routing and delivery against real local parts: moto's SNS (observed through SQS
//! subscriptions), DynamoDB (idempotency ledger and firing state) and SSM (a secret
//! reference), and a local webhook receiver. The handler runs in-process on Lambda
//! SNS events, as Lambda would call it.

use test_support::fake_http;

use test_support::services as support;

use test_support::sns_sqs as common;

use std::time::Duration;

use alarm_handler::{Config, Handler};
use alert_model::AlertBatch;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use chrono::{TimeZone, Utc};
use fake_http::{FakeServer, Reply};
use serde_json::{json, Value};

/// A DynamoDB table with string keys `pk` + `sk`, as the handler's tables are.
pub(crate) async fn create_table(aws: &aws_config::SdkConfig, name: &str) {
    let ddb = aws_sdk_dynamodb::Client::new(aws);
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .expect("key")
    };
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
}

/// A CloudWatch alarm notification as SNS delivers it.
fn cloudwatch_message(name: &str, state: &str, dimensions: Value) -> String {
    json!({
        "AlarmName": name,
        "AlarmDescription": null,
        "AWSAccountId": "123456789012",
        "AlarmConfigurationUpdatedTimestamp": "2026-11-20T10:00:00.000+0000",
        "NewStateValue": state,
        "NewStateReason": format!("Threshold Crossed: 1 datapoint [42.0 (23/11/26 10:00:00)] -> {state}"),
        "StateChangeTime": "2026-11-23T10:00:07.423+0000",
        "Region": "EU (Ireland)",
        "AlarmArn": format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}"),
        "OldStateValue": if state == "ALARM" { "OK" } else { "ALARM" },
        "OKActions": [],
        "AlarmActions": [],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "StatisticType": "Statistic",
            "Statistic": "MAXIMUM",
            "Unit": null,
            "Dimensions": dimensions,
            "Period": 60,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 30.0,
            "TreatMissingData": "missing",
            "EvaluateLowSampleCountPercentile": ""
        }
    })
    .to_string()
}

/// Grafana's webhook-JSON message with the given alerts `(alertname, severity, team, status)`.
fn grafana_message(alerts: &[(&str, &str, &str, &str)]) -> String {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|(name, severity, team, status)| {
            json!({
                "status": status,
                "labels": {"alertname": name, "severity": severity, "team": team, "cluster": "prod"},
                "annotations": {"summary": format!("{name} on prod")},
                "startsAt": "2026-11-23T09:58:00Z",
                "endsAt": if *status == "firing" { "0001-01-01T00:00:00Z" } else { "2026-11-23T10:05:00Z" },
                "generatorURL": "https://grafana.example/alerting/grafana/abc/view",
                "fingerprint": "0123456789abcdef",
                "silenceURL": "",
                "dashboardURL": "",
                "panelURL": "",
                "values": {"A": 97.5},
                "valueString": "[ var='A' labels={} value=97.5 ]"
            })
        })
        .collect();
    json!({
        "receiver": "sns", "status": "firing", "orgId": 1, "alerts": alerts,
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "https://grafana.example/", "version": "1",
        "groupKey": "{}:{}", "truncatedAlerts": 0, "title": "[FIRING]", "state": "alerting",
        "message": "..."
    })
    .to_string()
}

/// The Lambda event SNS delivers for one message (one record).
pub(crate) fn sns_event(
    message_id: &str,
    topic: &str,
    subject: Option<&str>,
    message: &str,
) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"),
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic,
            "Subject": subject,
            "Message": message,
            "Timestamp": "2026-11-23T10:00:08.123Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService.pem",
            "UnsubscribeUrl": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {}
        }
    }]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_to_sns_webhook_and_scaler_once_per_receiver() {
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let db_topic = common::create_topic(&sns, "team-db").await.expect("topic");
    let web_topic = common::create_topic(&sns, "team-web").await.expect("topic");
    let scaler_topic = common::create_topic(&sns, "scaler").await.expect("topic");
    let db_queue = common::subscribe_new_queue(&sns, &sqs, &db_topic, "team-db-q")
        .await
        .expect("queue");
    let web_queue = common::subscribe_new_queue(&sns, &sqs, &web_topic, "team-web-q")
        .await
        .expect("queue");
    let scaler_queue = common::subscribe_new_queue(&sns, &sqs, &scaler_topic, "scaler-q")
        .await
        .expect("queue");
    create_table(&aws, "alarm-handler").await;
    // The webhook URL comes from SSM, as a deployed config would keep it.
    let webhook = FakeServer::start().await;
    aws_sdk_ssm::Client::new(&aws)
        .put_parameter()
        .name("/alarm-handler/webhook-url")
        .value(format!("{}/hook", webhook.base_url()))
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("put parameter");

    let config = Config::parse(
        &format!(
            r#"
route:
  receiver: web
  group_by: [alertname]
  routes:
    - matchers: ['source="cloudwatch"', 'alertname=~"queue-.*"']
      receiver: scaler
      continue: true
    - matchers: [team="db"]
      receiver: db
      continue: true
    - matchers: [team="db", severity="warning"]
      receiver: db-office-hours
      active_time_intervals: [office]
receivers:
  - name: web
    sns_configs: [{{topic_arn: '{web_topic}'}}]
  - name: db
    sns_configs:
      - topic_arn: '{db_topic}'
        attributes: {{team: '{{{{ .CommonLabels.team }}}}'}}
    webhook_configs: [{{url: 'ssm:/alarm-handler/webhook-url'}}]
  - name: db-office-hours
    sns_configs: [{{topic_arn: '{db_topic}'}}]
  - name: scaler
    scaler_configs: [{{topic_arn: '{scaler_topic}'}}]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster, team]
time_intervals:
  - name: office
    time_intervals: [{{weekdays: ['monday:friday'], times: [{{start_time: '09:00', end_time: '17:00'}}]}}]
alarm_handler:
  external_url: https://grafana.example/
  idempotency_table: alarm-handler
  state_table: alarm-handler
"#
        ),
        None,
    )
    .expect("config");
    let mut handler = Handler::new(config, &aws).expect("handler");
    // Saturday: the office-hours route is outside its active interval.
    let saturday = Utc
        .with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
        .single()
        .expect("time");
    let alerts_topic = "arn:aws:sns:eu-west-1:123456789012:grafana-alerts";

    // 1. Grafana: a critical db alert (to db: SNS + webhook), a warning db alert
    //    inhibited by it, and a web alert (to the root receiver).
    let grafana = sns_event(
        "m-grafana-1",
        alerts_topic,
        Some("[FIRING:3]  (prod)"),
        &grafana_message(&[
            ("DiskFull", "critical", "db", "firing"),
            ("SlowQueries", "warning", "db", "firing"),
            ("HighLatency", "warning", "web", "firing"),
        ]),
    );
    let summary = handler.handle(&grafana, saturday).await.expect("delivered");
    assert_eq!(summary.formats.get("grafana_json"), Some(&1), "{summary:?}");
    assert_eq!((summary.alerts, summary.inhibited), (3, 1), "{summary:?}");
    assert_eq!(summary.deliveries.sent, 3, "{summary:?}");
    assert_eq!(summary.deliveries.per_receiver.get("db"), Some(&2));
    assert_eq!(summary.deliveries.per_receiver.get("web"), Some(&1));

    let db = common::receive_sns_envelopes(&sqs, &db_queue, 1, Duration::from_secs(10))
        .await
        .expect("db");
    assert_eq!(db.len(), 1);
    assert!(
        db[0]
            .subject
            .as_deref()
            .is_some_and(|s| s.starts_with("[FIRING:1] DiskFull")),
        "{:?}",
        db[0].subject
    );
    assert!(
        db[0].message.contains("DiskFull on prod"),
        "{}",
        db[0].message
    );
    assert!(
        !db[0].message.contains("SlowQueries"),
        "inhibited alert was sent: {}",
        db[0].message
    );
    assert_eq!(db[0].attributes.get("team").map(String::as_str), Some("db"));
    assert_eq!(
        db[0].attributes.get("status").map(String::as_str),
        Some("firing")
    );
    let web = common::receive_sns_envelopes(&sqs, &web_queue, 1, Duration::from_secs(10))
        .await
        .expect("web");
    assert!(web[0].message.contains("HighLatency"), "{}", web[0].message);
    let hooks = webhook.captured();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].path_and_query, "/hook");
    let payload: Value = serde_json::from_slice(&hooks[0].body).expect("webhook JSON");
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["receiver"], "db");
    assert_eq!(payload["groupLabels"], json!({"alertname": "DiskFull"}));
    assert_eq!(payload["alerts"][0]["labels"]["alertname"], "DiskFull");
    assert_eq!(payload["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(payload["externalURL"], "https://grafana.example/");

    // 2. SNS redelivers the same message: nothing is sent again.
    let again = handler
        .handle(&grafana, saturday)
        .await
        .expect("redelivery");
    assert_eq!(
        (again.deliveries.sent, again.deliveries.duplicates),
        (0, 3),
        "{again:?}"
    );
    assert_eq!(webhook.captured().len(), 1);

    // 3. A later message with only the warning db alert: still inhibited, because the
    //    critical one is recorded as firing in the state table.
    let later = sns_event(
        "m-grafana-2",
        alerts_topic,
        None,
        &grafana_message(&[("SlowQueries", "warning", "db", "firing")]),
    );
    let summary = handler.handle(&later, saturday).await.expect("handled");
    assert_eq!(
        (summary.inhibited, summary.deliveries.sent),
        (1, 0),
        "{summary:?}"
    );

    // 4. The critical alert resolves; now the warning one goes through, except to the
    //    office-hours route (muted on a Saturday).
    let resolved = sns_event(
        "m-grafana-3",
        alerts_topic,
        None,
        &grafana_message(&[
            ("DiskFull", "critical", "db", "resolved"),
            ("SlowQueries", "warning", "db", "firing"),
        ]),
    );
    let summary = handler.handle(&resolved, saturday).await.expect("handled");
    assert_eq!(summary.inhibited, 0, "{summary:?}");
    assert_eq!(summary.muted, 1, "{summary:?}");
    // db: DiskFull (resolved) and SlowQueries groups, each to SNS and the webhook.
    assert_eq!(
        summary.deliveries.per_receiver.get("db"),
        Some(&4),
        "{summary:?}"
    );
    assert_eq!(summary.deliveries.per_receiver.get("db-office-hours"), None);
    let db = common::receive_sns_envelopes(&sqs, &db_queue, 2, Duration::from_secs(10))
        .await
        .expect("db");
    let mut subjects: Vec<String> = db.iter().filter_map(|e| e.subject.clone()).collect();
    subjects.sort();
    assert!(
        subjects[0].starts_with("[FIRING:1] SlowQueries"),
        "{subjects:?}"
    );
    assert!(
        subjects[1].starts_with("[RESOLVED] DiskFull"),
        "{subjects:?}"
    );

    // 5. A CloudWatch alarm: to the scaler topic as a schema-v1 batch (and to web).
    let alarm = sns_event(
        "m-cw-1",
        alerts_topic,
        Some("ALARM: \"queue-backlog\" in EU (Ireland)"),
        &cloudwatch_message(
            "queue-backlog",
            "ALARM",
            json!([{"value": "orders", "name": "QueueName"}]),
        ),
    );
    let summary = handler.handle(&alarm, saturday).await.expect("handled");
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
    let scaled = common::receive_sns_envelopes(&sqs, &scaler_queue, 1, Duration::from_secs(10))
        .await
        .expect("scaler");
    let batch: AlertBatch = serde_json::from_str(&scaled[0].message).expect("schema v1 batch");
    assert_eq!(batch.schema_version, "1");
    assert_eq!(batch.source_format, "cloudwatch_alarm");
    assert_eq!(batch.source_message_id.as_deref(), Some("m-cw-1"));
    let alert = &batch.alerts[0];
    assert_eq!(
        alert.labels.get("alertname").map(String::as_str),
        Some("queue-backlog")
    );
    assert_eq!(
        alert.labels.get("region").map(String::as_str),
        Some("eu-west-1")
    );
    assert_eq!(
        alert.labels.get("dimension_QueueName").map(String::as_str),
        Some("orders")
    );
    assert_eq!(
        alert.annotations.get("alarm_state").map(String::as_str),
        Some("ALARM")
    );
    assert_eq!(
        scaled[0]
            .attributes
            .get("schema_version")
            .map(String::as_str),
        Some("1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_receiver_fails_the_invocation_and_only_it_is_retried() {
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let topic = common::create_topic(&sns, "ops").await.expect("topic");
    let queue = common::subscribe_new_queue(&sns, &sqs, &topic, "ops-q")
        .await
        .expect("queue");
    create_table(&aws, "ledger").await;
    let webhook = FakeServer::start().await;
    webhook.script([Reply::status(503)]);
    std::env::set_var(
        "ALARM_HANDLER_E2E_HOOK",
        format!("{}/alerts", webhook.base_url()),
    );
    let config = Config::parse(
        &format!(
            r#"
route:
  receiver: ops
receivers:
  - name: ops
    sns_configs: [{{topic_arn: '{topic}'}}]
    webhook_configs: [{{url: 'env:ALARM_HANDLER_E2E_HOOK'}}]
alarm_handler:
  idempotency_table: ledger
"#
        ),
        None,
    )
    .expect("config");
    let mut handler = Handler::new(config, &aws).expect("handler");
    let event = sns_event(
        "m-1",
        "arn:aws:sns:us-east-1:123456789012:alerts",
        Some("ALARM: \"orders-5xx\""),
        &cloudwatch_message("orders-5xx", "ALARM", json!([])),
    );
    let now = Utc::now();
    let failed = handler
        .handle(&event, now)
        .await
        .expect_err("webhook answered 503");
    assert_eq!(
        (
            failed.summary.deliveries.sent,
            failed.summary.deliveries.failed
        ),
        (1, 1)
    );
    assert!(
        failed.to_string().contains("ops/webhook[0]: HTTP 503"),
        "{failed}"
    );
    assert!(
        !failed.to_string().contains("/alerts"),
        "the secret URL leaked: {failed}"
    );
    // Lambda retries the event: only the webhook is sent, SNS is not repeated.
    let retried = handler.handle(&event, now).await.expect("retry succeeds");
    assert_eq!(
        (retried.deliveries.sent, retried.deliveries.duplicates),
        (1, 1),
        "{retried:?}"
    );
    let hooks = webhook.captured();
    assert_eq!(
        hooks.iter().map(|c| c.answered).collect::<Vec<_>>(),
        vec![Some(503), Some(204)]
    );
    let published = common::receive_sns_envelopes(&sqs, &queue, 1, Duration::from_secs(10))
        .await
        .expect("sqs");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let more = common::receive_sns_envelopes(&sqs, &queue, 0, Duration::from_secs(1))
        .await
        .expect("sqs");
    assert_eq!(published.len() + more.len(), 1, "SNS got a duplicate");
}

/// `ssm:/aws/reference/secretsmanager/<id>` reads a Secrets Manager secret through
/// SSM: moto's Secrets Manager holds the webhook URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_references_resolve_through_ssm() {
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    let webhook = FakeServer::start().await;
    let create = reqwest::Client::new()
        .post(&moto.address)
        .header("X-Amz-Target", "secretsmanager.CreateSecret")
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(json!({"Name": "alerting/webhook", "SecretString": format!("{}/from-secret", webhook.base_url())}).to_string())
        .send()
        .await
        .expect("CreateSecret");
    assert!(create.status().is_success(), "{:?}", create.text().await);
    let config = Config::parse(
        "route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs: [{url: 'ssm:/aws/reference/secretsmanager/alerting/webhook'}]\n",
        None,
    )
    .expect("config");
    let mut handler = Handler::new(config, &aws).expect("handler");
    let event = sns_event(
        "m-secret",
        "arn:aws:sns:us-east-1:123456789012:alerts",
        None,
        "plain text alert",
    );
    let summary = handler.handle(&event, Utc::now()).await.expect("delivered");
    assert_eq!(summary.deliveries.sent, 1, "{summary:?}");
    assert_eq!(webhook.captured()[0].path_and_query, "/from-secret");
    // An unknown parameter fails the delivery, naming the reference, not a value.
    let config = Config::parse(
        "route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs: [{url: 'ssm:/missing/param'}]\n",
        None,
    )
    .expect("config");
    let mut handler = Handler::new(config, &aws).expect("handler");
    let err = handler
        .handle(&event, Utc::now())
        .await
        .expect_err("missing parameter");
    assert!(
        err.to_string()
            .contains("r/webhook[0].url: cannot read SSM parameter /missing/param"),
        "{err}"
    );
}
