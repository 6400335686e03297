//! CloudWatch through YACE-style discovery on the local stack: moto serves the
//! tagging API, ListMetrics, GetMetricData and STS (seeded with tagged ECS services
//! and an SQS queue, and Container Insights / SQS datapoints); Debian's Prometheus
//! receives the remote writes. Two consecutive scheduled runs each write their own
//! window's datapoints once, with CloudWatch timestamps.

use crate::harness;
use test_support::services as support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovered_metrics_reach_prometheus_once_per_window() {
    let moto = support::start_moto().await.expect("moto server");
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let base = now / 60 * 60 - 240;
    let seed = std::process::Command::new(support::venv_python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/seed_cloudwatch.py"
        ))
        .arg(&moto.address)
        .arg(base.to_string())
        .output()
        .expect("python runs");
    assert!(
        seed.status.success(),
        "seeding failed: {}",
        String::from_utf8_lossy(&seed.stderr)
    );

    let config = format!(
        r#"
remote_write: [{{url: '{}'}}]
scraper: {{schedule_interval: 1m}}
cloudwatch:
  apiVersion: v1alpha1
  discovery:
    exportedTagsOnMetrics:
      ECS/ContainerInsights: [env]
    jobs:
      - type: ECS/ContainerInsights
        regions: [eu-west-1]
        searchTags: [{{key: env, value: prod}}]
        customTags: [{{key: stack, value: local}}]
        period: 60
        length: 60
        statistics: [Average]
        metrics:
          - {{name: CpuUtilized}}
          - {{name: CpuReserved}}
          - {{name: MemoryUtilized}}
          - {{name: MemoryReserved}}
          - {{name: RunningTaskCount}}
          - {{name: PendingTaskCount}}
      - type: AWS/SQS
        regions: [eu-west-1]
        period: 60
        length: 60
        metrics: [{{name: ApproximateNumberOfMessagesVisible, statistics: [Maximum]}}]
      - type: AWS/EC2
        regions: [eu-west-1]
        searchTags: [{{key: env, value: prod}}]
        period: 60
        length: 60
        metrics: [{{name: CPUUtilization, statistics: [Average]}}]
      - type: AWS/AutoScaling
        regions: [eu-west-1]
        period: 60
        length: 60
        metrics: [{{name: GroupInServiceInstances, statistics: [Average]}}]
      - type: AWS/DynamoDB
        regions: [eu-west-1]
        period: 60
        length: 60
        metrics: [{{name: AccountProvisionedReadCapacityUtilization, statistics: [Maximum]}}]
  static:
    - name: orders-queue
      namespace: AWS/SQS
      regions: [eu-west-1]
      dimensions: [{{name: QueueName, value: orders}}]
      metrics: [{{name: ApproximateNumberOfMessagesVisible, statistics: [Minimum], period: 60, length: 60}}]
  customNamespace:
    - name: shop
      namespace: Shop
      regions: [eu-west-1]
      period: 60
      length: 60
      metrics: [{{name: Orders, statistics: [Sum, Maximum]}}]
"#,
        prometheus.write_url
    );
    let env = [("AWS_ENDPOINT_URL", moto.address.as_str())];
    for run_at in [base + 60, base + 120] {
        let run =
            harness::run_scraper_scheduled(&config, 60.0, &env, Some(&harness::rfc3339(run_at)))
                .await;
        assert!(run.success, "{}\n{}", run.summary, run.stderr);
        let cw = &run.summary["cloudwatch"];
        assert_eq!(cw["errors"], serde_json::json!([]), "{}", run.summary);
        // 6 metrics x 2 prod services + 1 queue + 1 instance + 1 group + 1 static + 1
        // custom metric = 17 billed metrics (the custom metric's two statistics share
        // a request and bill as one: 18 queries), one call per job; the DynamoDB job
        // found no table, so it exports nothing and makes no CloudWatch call (YACE's
        // behaviour).
        assert_eq!(cw["metrics_requested"], 17, "{cw}");
        assert_eq!(cw["get_metric_data_calls"], 6, "{cw}");
        assert_eq!(cw["discovery_without_resources"], 1, "{cw}");
        assert_eq!(
            cw["metrics_skipped_no_resource"], 6,
            "staging is not tagged env=prod: {cw}"
        );
        assert!(
            cw["cost_usd"]
                .as_f64()
                .is_some_and(|c| (c - 0.00017).abs() < 1e-9),
            "{cw}"
        );
        assert_eq!(run.count("samples_rejected"), 0, "{}", run.summary);
        assert!(run.count("samples_sent") >= 17, "{}", run.summary);
    }

    // The bill's figures are series too, for the pipeline's dashboard.
    for (series, want) in [
        ("scraper_cloudwatch_metrics_requested", 17.0),
        ("scraper_cloudwatch_get_metric_data_calls", 6.0),
        ("scraper_cloudwatch_cost_usd", 0.00017),
        ("scraper_cloudwatch_errors", 0.0),
    ] {
        let found = prometheus.query_until_found(series).await.expect("query");
        assert_eq!(found.len(), 1, "{series}: {found:?}");
        assert!((found[0].1 - want).abs() < 1e-9, "{series}: {found:?}");
    }
    let deadline = prometheus
        .query_until_found("scraper_deadline_seconds")
        .await
        .expect("query");
    assert!(
        deadline.iter().all(|(_, v)| *v > 55.0 && *v <= 60.0),
        "the 60 s timeout: {deadline:?}"
    );

    let ratio = prometheus
        .query_until_found(
            "avg by (dimension_ServiceName)(aws_ecs_containerinsights_memory_utilized_average / aws_ecs_containerinsights_memory_reserved_average)",
        )
        .await
        .expect("query");
    let mut got: Vec<(String, f64)> = ratio
        .iter()
        .map(|(l, v)| {
            (
                l.get("dimension_ServiceName").cloned().unwrap_or_default(),
                *v,
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![("cart".to_string(), 0.5), ("checkout".to_string(), 0.4)]
    );

    let pending = prometheus
        .query_until_found("aws_ecs_containerinsights_pending_task_count_average > 0")
        .await
        .expect("query");
    assert_eq!(pending.len(), 1, "{pending:?}");
    let (labels, value) = &pending[0];
    assert_eq!(value, &1.0);
    for (name, want) in [
        (
            "name",
            "arn:aws:ecs:eu-west-1:123456789012:service/prod/checkout",
        ),
        ("dimension_ClusterName", "prod"),
        ("tag_env", "prod"),
        ("custom_tag_stack", "local"),
        ("region", "eu-west-1"),
        ("account_id", "123456789012"),
    ] {
        assert_eq!(
            labels.get(name).map(String::as_str),
            Some(want),
            "{labels:?}"
        );
    }

    // Each window's datapoint exactly once, at its CloudWatch timestamp.
    let counted = prometheus
        .query_until_found("count_over_time(aws_ecs_containerinsights_cpu_utilized_average{dimension_ServiceName=\"checkout\"}[15m])")
        .await
        .expect("query");
    assert_eq!(counted.len(), 1);
    assert_eq!(counted[0].1, 2.0, "one sample per run");
    let stamps = prometheus
        .query_until_found("timestamp(aws_ecs_containerinsights_cpu_utilized_average{dimension_ServiceName=\"checkout\"})")
        .await
        .expect("query");
    assert_eq!(
        stamps[0].1,
        (base + 60) as f64,
        "the second window's period start"
    );
    let sqs = prometheus
        .query_until_found("aws_sqs_approximate_number_of_messages_visible_maximum")
        .await
        .expect("query");
    assert_eq!(sqs.len(), 1);
    assert_eq!(sqs[0].1, 18.0);
    assert_eq!(
        sqs[0].0.get("dimension_QueueName").map(String::as_str),
        Some("orders")
    );
    let instance = String::from_utf8_lossy(&seed.stdout).trim().to_string();
    let ec2 = prometheus
        .query_until_found("aws_ec2_cpuutilization_average")
        .await
        .expect("query");
    assert_eq!(ec2.len(), 1, "{ec2:?}");
    assert_eq!(ec2[0].1, 56.0);
    assert_eq!(ec2[0].0.get("dimension_InstanceId"), Some(&instance));
    assert_eq!(
        ec2[0].0.get("name").map(String::as_str),
        Some(format!("arn:aws:ec2:eu-west-1:123456789012:instance/{instance}").as_str())
    );
    // Auto Scaling groups are not listed by the tagging API: global series.
    let groups = prometheus
        .query_until_found("aws_autoscaling_group_in_service_instances_average")
        .await
        .expect("query");
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].0.get("name").map(String::as_str), Some("global"));
    assert_eq!(
        groups[0]
            .0
            .get("dimension_AutoScalingGroupName")
            .map(String::as_str),
        Some("web")
    );
    assert_eq!(groups[0].1, 4.0);
    let fixed = prometheus
        .query_until_found("aws_sqs_approximate_number_of_messages_visible_minimum")
        .await
        .expect("query");
    assert_eq!(fixed.len(), 1, "{fixed:?}");
    assert_eq!(
        fixed[0].0.get("name").map(String::as_str),
        Some("orders-queue")
    );
    assert_eq!(fixed[0].1, 18.0);
    let info = prometheus
        .query_until_found("aws_ecs_containerinsights_info")
        .await
        .expect("query");
    assert_eq!(info.len(), 3, "prod cluster and its two services: {info:?}");
    let ec2_info = prometheus
        .query_until_found("aws_ec2_info")
        .await
        .expect("query");
    assert_eq!(
        ec2_info[0].0.get("tag_Name").map(String::as_str),
        Some("web-1")
    );
    // A custom namespace job's series are named after the job, as in YACE.
    let shop = prometheus
        .query_until_found("aws_shop_orders_sum")
        .await
        .expect("query");
    assert_eq!(shop.len(), 1, "{shop:?}");
    assert_eq!(shop[0].0.get("name").map(String::as_str), Some("shop"));
    assert_eq!(
        shop[0].0.get("dimension_Store").map(String::as_str),
        Some("eu")
    );
    let shop_max = prometheus
        .query_until_found("aws_shop_orders_maximum")
        .await
        .expect("query");
    assert_eq!(
        shop_max.len(),
        1,
        "the second statistic was fetched: {shop_max:?}"
    );
    // The DynamoDB job found no table: no global series (sent with the ones above
    // if it had been built).
    let dynamodb = prometheus
        .query(r#"{__name__=~"aws_dynamodb.*"}"#)
        .await
        .expect("query");
    assert!(dynamodb.is_empty(), "{dynamodb:?}");
}
