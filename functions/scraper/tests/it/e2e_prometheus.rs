//! End to end on real parts: Debian's node-exporter scraped, written with SigV4 to
//! Debian's Prometheus (the AMP stand-in), values read back through its query API;
//! the signature re-computed by botocore; two runs in a row accepted (no duplicate or
//! out-of-order samples across runs).

use crate::harness;
use test_support::fake_http;
use test_support::services as support;

use std::collections::BTreeMap;

/// The value and labels of the first line of `name{...} value` in an exposition.
fn exposed(text: &str, name: &str, must_contain: &str) -> (BTreeMap<String, String>, f64) {
    let mut found = None;
    prom::exposition::parse_all(
        text.as_bytes(),
        prom::exposition::Format::PrometheusText,
        &mut |entry| {
            if let prom::exposition::Entry::Series(s) = entry {
                let labels: BTreeMap<String, String> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let rendered = format!("{labels:?}");
                if found.is_none() && s.name == name && rendered.contains(must_contain) {
                    found = Some((labels, s.value));
                }
            }
        },
    )
    .expect("node-exporter output parses");
    found.unwrap_or_else(|| panic!("{name} with {must_contain} not exposed"))
}

async fn metrics_of(address: &str) -> String {
    reqwest::get(format!("http://{address}/metrics"))
        .await
        .expect("node-exporter answers")
        .text()
        .await
        .expect("body")
}

fn node_config(node: &str, write_url: &str) -> String {
    format!(
        r#"
global:
  external_labels: {{cluster: e2e}}
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ["{node}"]}}]
remote_write:
  - url: {write_url}
    sigv4: {{region: us-east-1}}
"#
    )
}

#[tokio::test]
async fn node_exporter_samples_land_in_prometheus() {
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let node = support::start_node_exporter().await.expect("node-exporter");
    let before = metrics_of(&node.address).await;
    let (_, cpu_before) = exposed(&before, "node_cpu_seconds_total", "\"mode\": \"idle\"");

    let run = harness::run_scraper(&node_config(&node.address, &prometheus.write_url), 60.0).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.count("targets_up"), 1, "{}", run.summary);
    assert_eq!(
        run.count("samples_rejected") + run.count("samples_unsent"),
        0,
        "{}",
        run.summary
    );

    let after = metrics_of(&node.address).await;
    let (_, cpu_after) = exposed(&after, "node_cpu_seconds_total", "\"mode\": \"idle\"");
    let (build_labels, build_value) = exposed(&after, "node_exporter_build_info", "version");

    // A stable gauge: same value, same labels, plus target and external labels.
    let got = prometheus
        .query_until_found("node_exporter_build_info")
        .await
        .expect("query");
    assert_eq!(got.len(), 1, "{got:?}");
    let (labels, value) = &got[0];
    assert_eq!(*value, build_value);
    for (k, v) in &build_labels {
        assert_eq!(labels.get(k), Some(v), "label {k} in {labels:?}");
    }
    assert_eq!(labels.get("job").map(String::as_str), Some("node"));
    assert_eq!(labels.get("instance"), Some(&node.address));
    assert_eq!(labels.get("cluster").map(String::as_str), Some("e2e"));

    // A counter: between what was served before and after the scrape.
    let cpu = prometheus
        .query_until_found("node_cpu_seconds_total{mode=\"idle\"}")
        .await
        .expect("query");
    let stored = cpu
        .iter()
        .find(|(l, _)| l.get("cpu").map(String::as_str) == Some(&build_cpu(&before)))
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("cpu counter stored: {cpu:?}"));
    assert!(
        cpu_before <= stored && stored <= cpu_after,
        "{cpu_before} <= {stored} <= {cpu_after}"
    );

    // Synthetic series and the count of stored series agree with the run.
    let up = prometheus
        .query_until_found("up{job=\"node\"}")
        .await
        .expect("query");
    assert_eq!(up.first().map(|s| s.1), Some(1.0));
    let report = run.target("node");
    let post = report["samples_post_metric_relabeling"]
        .as_f64()
        .unwrap_or(-1.0);
    let scraped = prometheus
        .query_until_found("scrape_samples_post_metric_relabeling{job=\"node\"}")
        .await
        .expect("query");
    assert_eq!(scraped.first().map(|s| s.1), Some(post));
    let stored_count = prometheus
        .query_until_found("count({job=\"node\", __name__!~\"up|scrape_.+\"})")
        .await
        .expect("query");
    assert_eq!(
        stored_count.first().map(|s| s.1),
        Some(post),
        "every scraped series stored"
    );

    // The pipeline's own series.
    let sent = prometheus
        .query_until_found("scraper_samples_sent")
        .await
        .expect("query");
    assert!(sent.first().is_some_and(|s| s.1 >= post), "{sent:?}");
}

/// The `cpu` label of the first idle CPU counter.
fn build_cpu(text: &str) -> String {
    let (labels, _) = exposed(text, "node_cpu_seconds_total", "\"mode\": \"idle\"");
    labels.get("cpu").cloned().unwrap_or_default()
}

#[tokio::test]
async fn consecutive_runs_are_all_accepted_and_a_bad_target_fails_alone() {
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let node = support::start_node_exporter().await.expect("node-exporter");
    let bad = fake_http::FakeServer::start().await;
    bad.serve("/metrics", "text/plain", "fine 1\nbroken{ 2\n");
    let config = format!(
        r#"
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ["{node}"]}}]
  - job_name: bad
    static_configs: [{{targets: ["{bad}"]}}]
remote_write:
  - url: {write_url}
    sigv4: {{region: us-east-1}}
"#,
        node = node.address,
        bad = bad.target(),
        write_url = prometheus.write_url,
    );
    for round in 0..2 {
        let run = harness::run_scraper(&config, 60.0).await;
        assert!(run.success, "{}", run.stderr);
        assert_eq!(
            run.count("samples_rejected"),
            0,
            "round {round}: {}",
            run.summary
        );
        assert_eq!(
            run.count("samples_unsent"),
            0,
            "round {round}: {}",
            run.summary
        );
        assert_eq!(run.target("bad")["up"], false);
        assert_eq!(run.target("node")["up"], true);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let up_bad = prometheus
        .query_until_found("up{job=\"bad\"}")
        .await
        .expect("query");
    assert_eq!(up_bad.first().map(|s| s.1), Some(0.0));
    let bad_series = prometheus
        .query_until_found("count({job=\"bad\"})")
        .await
        .expect("query");
    assert_eq!(
        bad_series.first().map(|s| s.1),
        Some(5.0),
        "only the 5 synthetic series"
    );
    let samples = prometheus
        .query_until_found("count_over_time(up{job=\"node\"}[5m])")
        .await
        .expect("query");
    assert_eq!(samples.first().map(|s| s.1), Some(2.0), "both runs stored");
}

#[tokio::test]
async fn botocore_recomputes_the_same_signature() {
    let receiver = fake_http::FakeServer::start().await;
    receiver.serve("/metrics", "text/plain", "signed_metric 1\n");
    let config = format!(
        "scrape_configs:\n  - job_name: s\n    static_configs: [{{targets: ['{}']}}]\nremote_write:\n  - url: {}//api/v1/./write\n    sigv4: {{region: eu-west-1}}\n",
        receiver.target(),
        receiver.base_url()
    );
    let run = harness::run_scraper(&config, 30.0).await;
    assert!(run.success, "{}", run.stderr);
    let post = receiver
        .captured()
        .into_iter()
        .find(|c| c.method == "POST")
        .expect("a remote-write request");
    assert_eq!(
        post.path_and_query, "/api/v1/write",
        "path cleaned before signing and sending"
    );
    let auth = post.header("authorization").unwrap_or_default().to_string();
    assert!(auth.contains("/eu-west-1/aps/aws4_request"), "{auth}");
    assert!(
        post.header("x-amz-security-token").is_some(),
        "session token sent"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let hex = hex::encode(&post.body);
    let headers: BTreeMap<String, String> = post.headers.iter().cloned().collect();
    let captured = serde_json::json!({
        "method": "POST",
        "url": format!("{}{}", receiver.base_url(), post.path_and_query),
        "headers": headers,
        "body_hex": hex,
    });
    let file = dir.path().join("captured.json");
    std::fs::write(&file, captured.to_string()).expect("write capture");
    let check = |path: &std::path::Path| {
        std::process::Command::new(support::venv_python())
            .arg(support::workspace_root().join("scripts/sigv4_verify.py"))
            .arg(path)
            .envs(harness::FAKE_ENV)
            .output()
            .expect("python with botocore (run scripts/setup.sh)")
    };
    let output = check(&file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("sigv4 ok"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The same check must fail when the body is changed after signing.
    let mut tampered = captured.clone();
    tampered["body_hex"] = serde_json::json!(format!("00{hex}"));
    let bad_file = dir.path().join("tampered.json");
    std::fs::write(&bad_file, tampered.to_string()).expect("write tampered");
    let output = check(&bad_file);
    assert!(!output.status.success(), "a tampered body must not verify");
}

/// `sigv4.role_arn`: credentials from the default chain assume the role through STS
/// (moto), and the request is signed with the temporary credentials it returns.
#[tokio::test]
async fn role_arn_signs_with_assumed_role_credentials() {
    let moto = support::start_moto().await.expect("moto server");
    let receiver = fake_http::FakeServer::start().await;
    receiver.serve("/metrics", "text/plain", "assumed_metric 1\n");
    let config = format!(
        "scrape_configs:\n  - job_name: r\n    static_configs: [{{targets: ['{}']}}]\nremote_write:\n  - url: {}/api/v1/write\n    sigv4: {{region: us-east-1, role_arn: 'arn:aws:iam::123456789012:role/amp-writer'}}\n",
        receiver.target(),
        receiver.base_url()
    );
    let run = harness::run_scraper_with_env(
        &config,
        30.0,
        &[("AWS_ENDPOINT_URL", moto.address.as_str())],
    )
    .await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(
        run.count("samples_unsent"),
        0,
        "{}\n{}",
        run.summary,
        run.stderr
    );
    let post = receiver
        .captured()
        .into_iter()
        .find(|c| c.method == "POST")
        .expect("a remote-write request");
    let auth = post.header("authorization").unwrap_or_default();
    let key_id = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or_default();
    assert!(
        !key_id.is_empty() && key_id != "AKIDEXAMPLE",
        "signed with the assumed role's key, got {auth}"
    );
    let token = post.header("x-amz-security-token").unwrap_or_default();
    assert!(
        !token.is_empty() && token != "test-session-token",
        "assumed role's session token: {token:?}"
    );
}

#[tokio::test]
async fn the_run_s_own_series_take_the_configured_job_and_instance_or_stay_off() {
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let node = support::start_node_exporter().await.expect("node-exporter");
    let config = |own: &str| {
        format!(
            "{}scraper: {own}\n",
            node_config(&node.address, &prometheus.write_url)
        )
    };
    let labelled = harness::run_scraper(
        &config(
            "{self_metrics_prefix: own_a, self_metrics: {job: pipeline, instance: eu-scraper}}",
        ),
        60.0,
    )
    .await;
    assert!(labelled.success, "{}", labelled.stderr);
    let off = harness::run_scraper(
        &config("{self_metrics_prefix: own_b, self_metrics: {enabled: false}}"),
        60.0,
    )
    .await;
    assert!(off.success, "{}", off.stderr);
    assert_eq!(off.count("samples_unsent"), 0, "{}", off.summary);
    let sent = prometheus
        .query_until_found("own_a_samples_sent")
        .await
        .expect("query");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0.get("job").map(String::as_str), Some("pipeline"));
    assert_eq!(
        sent[0].0.get("instance").map(String::as_str),
        Some("eu-scraper")
    );
    // The second run sent its target's samples, but none of its own series.
    assert!(off.count("samples_sent") > 0, "{}", off.summary);
    let own = prometheus
        .query("{__name__=~\"own_b_.+\"}")
        .await
        .expect("query");
    assert!(own.is_empty(), "{own:?}");
}
