//! The scaler's examples (`examples/scaler/` and the queue-consumer setup) load
//! through `Config::parse` and run as written against moto (CloudWatch alarms, EKS
//! DescribeCluster answering cluster `prod` with the Kubernetes stand-in's endpoint
//! and CA, `tests/moto/launcher.py`) and the stand-in.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use scaler::{Config, Scaler};
use serde_json::{json, Value};
use test_support::kubernetes_stack::{self as k8s, hpa, set_alarm, workload};
use test_support::services as support;

fn examples() -> PathBuf {
    support::workspace_root().join("examples")
}

fn load(file: &str) -> Config {
    let text = std::fs::read_to_string(examples().join(file)).expect("read config");
    Config::parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn event(file: &str) -> Value {
    let text = std::fs::read_to_string(examples().join(file)).expect("read event");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn every_scaler_example_config_validates() {
    let config = load("scaler/config.yaml");
    assert_eq!(
        config.alarm_names().into_iter().collect::<Vec<_>>(),
        ["orders-queue-depth-high"]
    );
    let setup = load("setups/queue-consumer-scaling/scaler.yaml");
    assert_eq!(
        setup.alarm_names().into_iter().collect::<Vec<_>>(),
        ["queue-orders-backlog"]
    );
}

/// Creates the alarm described by a `put-metric-alarm --cli-input-json` file in moto.
async fn put_alarm_from(cw: &aws_sdk_cloudwatch::Client, file: &str) -> String {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
    let alarm = event(file);
    let text = |k: &str| alarm[k].as_str().expect(k).to_string();
    let int = |k: &str| i32::try_from(alarm[k].as_i64().expect(k)).expect(k);
    let mut put = cw
        .put_metric_alarm()
        .alarm_name(text("AlarmName"))
        .namespace(text("Namespace"))
        .metric_name(text("MetricName"))
        .statistic(Statistic::from(text("Statistic").as_str()))
        .period(int("Period"))
        .evaluation_periods(int("EvaluationPeriods"))
        .threshold(alarm["Threshold"].as_f64().expect("Threshold"))
        .comparison_operator(ComparisonOperator::from(
            text("ComparisonOperator").as_str(),
        ));
    for d in alarm["Dimensions"].as_array().expect("Dimensions") {
        put = put.dimensions(
            Dimension::builder()
                .name(d["Name"].as_str().expect("Name"))
                .value(d["Value"].as_str().expect("Value"))
                .build(),
        );
    }
    put.send().await.expect("put alarm");
    text("AlarmName")
}

struct Stack {
    _certs: k8s::Certs,
    standin: k8s::StandIn,
    _moto: support::Service,
    aws: aws_config::SdkConfig,
    _overrides: tempfile::TempDir,
}

async fn stack() -> Stack {
    let certs = k8s::make_certs().expect("certs");
    let standin = k8s::start_standin(&certs, "prod").await.expect("stand-in");
    let (moto, aws, overrides) = k8s::moto_with_eks_cluster(&certs, &standin.url, "prod")
        .await
        .expect("moto");
    Stack {
        _certs: certs,
        standin,
        _moto: moto,
        aws,
        _overrides: overrides,
    }
}

async fn max_replicas(standin: &k8s::StandIn) -> i64 {
    let object = standin
        .get("horizontalpodautoscalers", "orders", "consumer")
        .await
        .expect("hpa");
    object["spec"]["maxReplicas"].as_i64().expect("maxReplicas")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_events_raise_the_hpa_and_reconcile_keeps_it() {
    let stack = stack().await;
    stack
        .standin
        .put(
            "horizontalpodautoscalers",
            "orders",
            "consumer",
            hpa("consumer", "orders", "consumer", 2, 10),
        )
        .await
        .expect("hpa");
    // The web-errors policy's Deployment: a reconcile runs every policy, and a
    // target that does not exist is an error.
    stack
        .standin
        .put(
            "deployments",
            "web",
            "web",
            workload("Deployment", "web", "web", 3),
        )
        .await
        .expect("deployment");
    let cw = aws_sdk_cloudwatch::Client::new(&stack.aws);
    k8s::put_alarm(&cw, "orders-queue-depth-high")
        .await
        .expect("alarm");
    set_alarm(&cw, "orders-queue-depth-high", "ALARM")
        .await
        .expect("state");
    let scaler = Scaler::new(load("scaler/config.yaml"), &stack.aws);
    let at = Utc
        .with_ymd_and_hms(2026, 12, 1, 10, 0, 5)
        .single()
        .expect("time");

    scaler
        .handle(&event("scaler/events/alarm-state-change.json"), at)
        .await
        .expect("alarm event");
    assert_eq!(max_replicas(&stack.standin).await, 15);
    // The scheduled reconcile a minute later: still firing, step 1, nothing to write;
    // no Web5xx alert, so the web Deployment keeps its 3.
    let summary = scaler
        .handle(
            &event("scaler/events/scheduled-reconcile.json"),
            at + chrono::Duration::minutes(1),
        )
        .await
        .expect("reconcile");
    assert_eq!(
        (
            summary.trigger.as_str(),
            summary.policies_run,
            summary.changes
        ),
        ("reconcile", 2, 0),
        "{summary:?}"
    );
    assert_eq!(max_replicas(&stack.standin).await, 15);
    let web = stack
        .standin
        .get("deployments", "web", "web")
        .await
        .expect("web");
    assert_eq!(web["spec"]["replicas"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_consumer_setup_raises_max_replicas_to_its_bound() {
    let stack = stack().await;
    stack
        .standin
        .put(
            "horizontalpodautoscalers",
            "orders",
            "consumer",
            hpa("consumer", "orders", "consumer", 2, 10),
        )
        .await
        .expect("hpa");
    let cw = aws_sdk_cloudwatch::Client::new(&stack.aws);
    let name = put_alarm_from(&cw, "setups/queue-consumer-scaling/cloudwatch-alarm.json").await;
    set_alarm(&cw, &name, "ALARM").await.expect("state");
    let scaler = Scaler::new(
        load("setups/queue-consumer-scaling/scaler.yaml"),
        &stack.aws,
    );
    let at = Utc
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 10)
        .single()
        .expect("time");
    scaler
        .handle(
            &event("setups/queue-consumer-scaling/events/alarm-notification.json"),
            at,
        )
        .await
        .expect("notification");
    assert_eq!(max_replicas(&stack.standin).await, 15);
    // Escalation is not configured and the ceiling is 15: a later reconcile keeps 15.
    scaler
        .handle(
            &json!({"reconcile": true}),
            at + chrono::Duration::minutes(30),
        )
        .await
        .expect("reconcile");
    assert_eq!(max_replicas(&stack.standin).await, 15);
    // OK for the cooldown (10m) restores the original 10.
    set_alarm(&cw, &name, "OK").await.expect("ok");
    scaler
        .handle(
            &json!({"reconcile": true}),
            at + chrono::Duration::minutes(31),
        )
        .await
        .expect("ok reconcile");
    assert_eq!(max_replicas(&stack.standin).await, 15);
    scaler
        .handle(
            &json!({"reconcile": true}),
            at + chrono::Duration::minutes(42),
        )
        .await
        .expect("restore");
    assert_eq!(max_replicas(&stack.standin).await, 10);
}
