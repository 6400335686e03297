//! The config in SSM Parameter Store changes routing without a redeploy: the same warm
//! handler delivers to topic A, then (after `put-parameter`) to topic B; a broken new
//! config is refused with a warning in every summary while the last good one keeps
//! delivering; a deleted parameter keeps the last good config too. Real moto SNS, SQS
//! and SSM; deliveries observed through SQS subscriptions.

use test_support::services as support;

use test_support::sns_sqs as common;

use std::time::Duration;

use alarm_handler::{ReloadingHandler, StartupError};
use config_source::{ConfigReader, ConfigSource};
use serde_json::{json, Value};

const PARAMETER: &str = "/pipeline/alarm-handler/config";

async fn put_config(ssm: &aws_sdk_ssm::Client, yaml: &str) {
    ssm.put_parameter()
        .name(PARAMETER)
        .value(yaml)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("put parameter");
}

fn route_to(topic_arn: &str) -> String {
    format!("route: {{receiver: r, group_by: [alertname]}}\nreceivers:\n  - name: r\n    sns_configs: [{{topic_arn: '{topic_arn}'}}]\n")
}

fn alarm_event(message_id: &str, alarm: &str) -> Value {
    let message = json!({
        "AlarmName": alarm, "AlarmDescription": null, "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed",
        "StateChangeTime": "2026-11-23T10:00:07.423+0000", "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"),
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "SUM",
            "Unit": null, "Dimensions": [], "Period": 60, "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanThreshold", "Threshold": 0.0}
    })
    .to_string();
    json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:grafana-alerts:1",
        "Sns": {"Type": "Notification", "MessageId": message_id,
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:grafana-alerts",
            "Subject": format!("ALARM: \"{alarm}\""), "Message": message,
            "Timestamp": "2026-11-23T10:00:08.000Z", "SignatureVersion": "1", "Signature": "x",
            "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}}}]})
}

async fn alarm_names_in(sqs: &aws_sdk_sqs::Client, queue: &str, at_least: usize) -> Vec<String> {
    common::receive_sns_envelopes(sqs, queue, at_least, Duration::from_secs(5))
        .await
        .expect("receive")
        .iter()
        .map(|e| e.attributes.get("alertname").cloned().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_follows_the_ssm_parameter_and_a_broken_update_is_refused() {
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let topic_a = common::create_topic(&sns, "team-a").await.expect("topic");
    let topic_b = common::create_topic(&sns, "team-b").await.expect("topic");
    let queue_a = common::subscribe_new_queue(&sns, &sqs, &topic_a, "team-a-q")
        .await
        .expect("queue");
    let queue_b = common::subscribe_new_queue(&sns, &sqs, &topic_b, "team-b-q")
        .await
        .expect("queue");
    put_config(&ssm, &route_to(&topic_a)).await;

    // No cache window, so the test need not wait; the deployed default is 30 s.
    let reader: &'static ConfigReader = Box::leak(Box::new(
        ConfigReader::with_client(ssm.clone()).max_age(Duration::ZERO),
    ));
    let source = ConfigSource::SsmParameter(PARAMETER.into());
    let now = chrono::Utc::now();
    let mut handler = ReloadingHandler::start_with(source, aws.clone(), reader)
        .await
        .expect("starts");
    assert_eq!(handler.version(), Some(1));

    let summary = handler
        .handle(&alarm_event("m-1", "first"), now)
        .await
        .expect("delivered");
    assert_eq!(summary.deliveries.sent, 1, "{summary:?}");
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    assert_eq!(alarm_names_in(&sqs, &queue_a, 1).await, vec!["first"]);

    // A new config in SSM: the next invocation of the same handler routes to B.
    put_config(&ssm, &route_to(&topic_b)).await;
    let summary = handler
        .handle(&alarm_event("m-2", "second"), now)
        .await
        .expect("delivered");
    assert_eq!(summary.deliveries.sent, 1, "{summary:?}");
    assert_eq!(handler.version(), Some(2));
    assert_eq!(alarm_names_in(&sqs, &queue_b, 1).await, vec!["second"]);
    assert!(alarm_names_in(&sqs, &queue_a, 0).await.is_empty());

    // A broken update: refused, B keeps receiving, every summary says why.
    put_config(&ssm, "route: {receiver: nobody}\nreceivers: [{name: r}]\n").await;
    for (id, name) in [("m-3", "third"), ("m-4", "fourth")] {
        let summary = handler
            .handle(&alarm_event(id, name), now)
            .await
            .expect("delivered with the last good config");
        assert_eq!(summary.deliveries.sent, 1, "{summary:?}");
        assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
        let warning = &summary.warnings[0];
        assert!(
            warning.contains("SSM parameter /pipeline/alarm-handler/config (version 3) is refused")
                && warning.contains("undefined receiver \"nobody\""),
            "{warning}"
        );
    }
    assert_eq!(handler.version(), Some(2));
    assert_eq!(
        alarm_names_in(&sqs, &queue_b, 2).await,
        vec!["third", "fourth"]
    );

    // The parameter deleted: still the last good config, with a warning.
    ssm.delete_parameter()
        .name(PARAMETER)
        .send()
        .await
        .expect("delete");
    let summary = handler
        .handle(&alarm_event("m-5", "fifth"), now)
        .await
        .expect("delivered");
    assert_eq!(summary.deliveries.sent, 1, "{summary:?}");
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("does not exist") && w.contains(PARAMETER)),
        "{:?}",
        summary.warnings
    );
    assert_eq!(alarm_names_in(&sqs, &queue_b, 1).await, vec!["fifth"]);

    // Fixed again: the warning goes away.
    put_config(&ssm, &route_to(&topic_a)).await;
    let summary = handler
        .handle(&alarm_event("m-6", "sixth"), now)
        .await
        .expect("delivered");
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    assert_eq!(alarm_names_in(&sqs, &queue_a, 1).await, vec!["sixth"]);
}

#[tokio::test]
async fn a_missing_or_broken_first_config_stops_the_start() {
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let reader: &'static ConfigReader = Box::leak(Box::new(
        ConfigReader::with_client(ssm.clone()).max_age(Duration::ZERO),
    ));
    let source = ConfigSource::SsmParameter(PARAMETER.into());
    let err = match ReloadingHandler::start_with(source.clone(), aws.clone(), reader).await {
        Ok(_) => panic!("started without a config"),
        Err(e) => e,
    };
    assert!(matches!(err, StartupError::Source(_)), "{err:?}");
    assert!(err.to_string().contains(PARAMETER), "{err}");

    put_config(&ssm, "route: {receiver: r}\nreceivers: []\n").await;
    let err = match ReloadingHandler::start_with(source, aws, reader).await {
        Ok(_) => panic!("started with a broken config"),
        Err(e) => e,
    };
    assert!(err.to_string().contains("undefined receiver"), "{err}");
}
