//! A deployed scraper's config lives in SSM Parameter Store: the schedule's event
//! names the parameter (`config_ssm_parameter`), the binary reads it (SecureString,
//! decrypted) from moto's SSM through the standard `AWS_ENDPOINT_URL`, scrapes Debian's
//! node-exporter and remote-writes to Debian's Prometheus. A missing parameter fails
//! the run with an error naming it.

use crate::harness;
use test_support::services as support;

async fn put_parameter(moto: &str, name: &str, value: &str) {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            harness::FAKE_ENV[0].1,
            harness::FAKE_ENV[1].1,
            None,
            None,
            "tests",
        ))
        .load()
        .await;
    aws_sdk_ssm::Client::new(&config)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .expect("put parameter");
}

#[tokio::test]
async fn the_event_names_an_ssm_parameter_and_the_run_uses_it() {
    let moto = support::start_moto().await.expect("moto");
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let node = support::start_node_exporter().await.expect("node-exporter");
    let config = format!(
        "global:\n  external_labels: {{config_from: ssm}}\nscrape_configs:\n  - job_name: node-ssm\n    static_configs: [{{targets: ['{}']}}]\nremote_write:\n  - url: {}\n    sigv4: {{region: us-east-1}}\n",
        node.address, prometheus.write_url
    );
    put_parameter(&moto.address, "/pipeline/scraper/node", &config).await;
    let env = [("AWS_ENDPOINT_URL", moto.address.as_str())];

    // What the template's EventBridge Scheduler schedule sends.
    let event = serde_json::json!({
        "config_ssm_parameter": "/pipeline/scraper/node",
        "time": harness::rfc3339(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)),
    });
    let run = harness::run_scraper_event(&event, 60.0, &env).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.count("targets_up"), 1, "{}", run.summary);
    assert_eq!(run.target("node-ssm")["up"], true, "{}", run.summary);
    let found = prometheus
        .query_until_found(r#"node_exporter_build_info{job="node-ssm",config_from="ssm"}"#)
        .await
        .expect("query");
    assert_eq!(found.len(), 1, "{found:?}");

    // The same parameter named inside an EventBridge event's detail.
    let run = harness::run_scraper_event(
        &serde_json::json!({"detail": {"config_ssm_parameter": "/pipeline/scraper/node"}}),
        60.0,
        &env,
    )
    .await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.count("targets_up"), 1, "{}", run.summary);

    // A parameter that does not exist: the run fails and says which one.
    let run = harness::run_scraper_event(
        &serde_json::json!({"config_ssm_parameter": "/pipeline/scraper/missing"}),
        60.0,
        &env,
    )
    .await;
    assert!(!run.success);
    assert!(
        run.stderr
            .contains("SSM parameter /pipeline/scraper/missing does not exist"),
        "{}",
        run.stderr
    );

    // The environment fallback (a schedule without input).
    let run = harness::run_scraper_event(
        &serde_json::json!({"detail-type": "Scheduled Event", "detail": {}}),
        60.0,
        &[
            env[0],
            ("SCRAPER_CONFIG_SSM_PARAMETER", "/pipeline/scraper/node"),
        ],
    )
    .await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.count("targets_up"), 1, "{}", run.summary);
}
