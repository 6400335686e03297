//! Across functions, on real local parts: a CloudWatch alarm notification reaches the
//! alarm-handler (as SNS delivers it), which routes it to its `scaler` receiver; the
//! AlertBatch it publishes to moto's SNS is read back through an SQS subscription and
//! handed to the scaler as Lambda would, which raises the HPA on the Kubernetes
//! stand-in; the OK notification takes the same path and, after the cooldown, the
//! scaler's reconcile restores the original. This pins the contract between the two
//! functions: the scaler reads exactly what the alarm-handler writes.

use test_support::kubernetes_stack as scaler_common;

use test_support::sns_sqs as handler_common;

use std::time::Duration;

use chrono::Utc;
use scaler_common::*;
use serde_json::{json, Value};

const ALARM: &str = "orders-queue-depth-high";

fn cloudwatch_notification(state: &str, old: &str) -> Value {
    let message = json!({
        "AlarmName": ALARM, "AlarmDescription": null, "AWSAccountId": "123456789012",
        "NewStateValue": state, "NewStateReason": "Threshold Crossed", "OldStateValue": old,
        "StateChangeTime": Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
        "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:{REGION}:123456789012:alarm:{ALARM}"),
        "Trigger": {"MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS",
                    "Statistic": "AVERAGE", "Period": 60, "EvaluationPeriods": 1,
                    "ComparisonOperator": "GreaterThanThreshold", "Threshold": 30.0,
                    "Dimensions": [{"name": "QueueName", "value": "orders"}]}
    });
    sns_event(&message.to_string(), Some(&format!("{state}: \"{ALARM}\"")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_routed_by_the_alarm_handler_scales_and_its_recovery_restores(
) -> Result<(), String> {
    let stack = start_stack().await?;
    let aws = &stack.aws;
    stack
        .standin
        .put(
            "horizontalpodautoscalers",
            "orders",
            "consumer",
            hpa("consumer", "orders", "consumer", 2, 10),
        )
        .await?;
    stack
        .standin
        .put(
            "deployments",
            "orders",
            "consumer",
            workload("Deployment", "consumer", "orders", 8),
        )
        .await?;
    stack.alarm(ALARM, "ALARM").await?;
    let sns = aws_sdk_sns::Client::new(aws);
    let sqs = aws_sdk_sqs::Client::new(aws);
    let topic = handler_common::create_topic(&sns, "scaler").await?;
    let queue = handler_common::subscribe_new_queue(&sns, &sqs, &topic, "scaler-q").await?;
    let handler_config = alarm_handler::Config::parse(
        &format!(
            "route:\n  receiver: ops\n  group_by: [alertname]\n  routes:\n    \
             - matchers: ['source=\"cloudwatch\"', 'alertname=~\"orders-.*\"']\n      receiver: scaler\n\
             receivers:\n  - name: ops\n  - name: scaler\n    scaler_configs: [{{topic_arn: '{topic}'}}]\n"
        ),
        None,
    )
    .map_err(|e| e.to_string())?;
    let mut handler =
        alarm_handler::Handler::new(handler_config, aws).map_err(|e| e.to_string())?;
    let scaler_config = stack.config_with(&format!(
        "  - name: orders-backlog\n    triggers: {{alarms: [{ALARM}]}}\n    \
         target: {{cluster: prod, namespace: orders, kind: HorizontalPodAutoscaler, name: consumer}}\n    \
         while_firing: {{max_replicas: {{add: 5}}}}\n    ceiling: 40\n    cooldown: 15m\n"
    ));
    let scaler = scaler::Scaler::new(
        scaler::Config::parse(&scaler_config).map_err(|e| e.to_string())?,
        aws,
    );
    let start = Utc::now();

    // ALARM: CloudWatch -> SNS -> alarm-handler -> scaler topic -> scaler.
    handler
        .handle(&cloudwatch_notification("ALARM", "OK"), start)
        .await
        .map_err(|e| format!("alarm-handler: {e}"))?;
    let published =
        handler_common::receive_sns_envelopes(&sqs, &queue, 1, Duration::from_secs(10)).await?;
    assert_eq!(published.len(), 1, "{published:?}");
    let batch: Value = serde_json::from_str(&published[0].message).map_err(|e| e.to_string())?;
    assert_eq!(batch["schemaVersion"], "1");
    let summary = scaler
        .handle(&handler_common::sns_lambda_event(&published), start)
        .await
        .map_err(|e| format!("scaler: {e}: {:?}", e.summary))?;
    assert_eq!(summary.formats, ["alert_batch"]);
    assert_eq!(summary.changes, 1, "{summary:?}");
    let hpa_now = stack
        .standin
        .get("horizontalpodautoscalers", "orders", "consumer")
        .await?;
    assert_eq!(hpa_now["spec"]["maxReplicas"], 15);

    // OK: the resolved batch starts the cooldown; the reconcile after it restores.
    stack.alarm(ALARM, "OK").await?;
    handler
        .handle(
            &cloudwatch_notification("OK", "ALARM"),
            start + chrono::Duration::minutes(5),
        )
        .await
        .map_err(|e| format!("alarm-handler: {e}"))?;
    let published =
        handler_common::receive_sns_envelopes(&sqs, &queue, 1, Duration::from_secs(10)).await?;
    assert_eq!(published.len(), 1, "{published:?}");
    let summary = scaler
        .handle(
            &handler_common::sns_lambda_event(&published),
            start + chrono::Duration::minutes(5),
        )
        .await
        .map_err(|e| format!("scaler: {e}"))?;
    assert_eq!(
        summary.policies.first().map(|p| p.action.as_str()),
        Some("cooldown_started"),
        "{summary:?}"
    );
    let summary = scaler
        .handle(
            &json!({"reconcile": true}),
            start + chrono::Duration::minutes(21),
        )
        .await
        .map_err(|e| format!("scaler: {e}"))?;
    assert_eq!(
        summary.policies.first().map(|p| p.action.as_str()),
        Some("restore")
    );
    let hpa_now = stack
        .standin
        .get("horizontalpodautoscalers", "orders", "consumer")
        .await?;
    assert_eq!(hpa_now["spec"]["maxReplicas"], 10);
    Ok(())
}
