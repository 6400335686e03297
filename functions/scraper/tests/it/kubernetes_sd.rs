//! Kubernetes discovery against the API stand-in (HTTPS, EKS tokens checked as EKS
//! checks them): pods found by LIST are scraped at their IPs (real node-exporters on
//! 127.0.0.0/8 addresses), written to Prometheus with `namespace`/`pod`/`container`
//! from relabeling; a pod deleted between two runs is not scraped in the second;
//! every request carried a valid token and is within the scraper's RBAC; a failed
//! LIST fails its entry only; malformed objects are skipped and counted.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{json, Value};
use test_support::fake_http::FakeServer;
use test_support::kubernetes_stack::{self as k8s, assert_within_rbac, StandIn};
use test_support::services as support;

use crate::harness;

/// A fresh EKS token for `cluster`, signed with the stand-in's credentials, in a
/// file (as a projected token would be).
pub fn token_file(dir: &Path, cluster: &str) -> PathBuf {
    let credentials = aws_credential_types::Credentials::new(
        k8s::ACCESS_KEY,
        k8s::SECRET_KEY,
        Some(k8s::SESSION_TOKEN.to_string()),
        None,
        "test",
    );
    let token =
        aws_signing::presign_eks_token(cluster, k8s::REGION, &credentials, SystemTime::now())
            .expect("token");
    let path = dir.join("token");
    std::fs::write(&path, token).expect("write token");
    path
}

/// A running pod as the API server returns it, with one container exposing `port`.
pub(crate) fn pod(namespace: &str, name: &str, ip: &str, port: u16, scrape: bool) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": format!("uid-{name}"),
            "labels": {"app": "web"},
            "annotations": {"prometheus.io/scrape": scrape.to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4b", "uid": "rs-1", "controller": true}]
        },
        "spec": {
            "nodeName": "node-1",
            "containers": [{
                "name": "node-exporter",
                "image": "quay.io/prometheus/node-exporter:v1.5.0",
                "ports": [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
            }]
        },
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "hostIP": "127.0.0.31",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "node-exporter", "ready": true, "restartCount": 0,
                                   "image": "quay.io/prometheus/node-exporter:v1.5.0", "imageID": "",
                                   "containerID": format!("containerd://{name}"), "state": {"running": {}}}]
        }
    })
}

pub(crate) fn port_of(address: &str) -> u16 {
    address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("host:port")
}

pub(crate) fn pods_job(standin: &StandIn, ca: &Path, token: &Path) -> String {
    format!(
        r#"
  - job_name: pods
    kubernetes_sd_configs:
      - role: pod
        api_server: {url}
        namespaces: {{names: [shop]}}
        tls_config: {{ca_file: {ca}}}
        bearer_token_file: {token}
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        regex: "true"
        action: keep
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_container_name]
        target_label: container
"#,
        url = standin.url,
        ca = ca.display(),
        token = token.display(),
    )
}

#[tokio::test]
async fn discovered_pods_are_scraped_at_their_ips_and_a_deleted_pod_is_not() {
    let certs = k8s::make_certs().expect("certs");
    let standin = k8s::start_standin(&certs, "prod").await.expect("stand-in");
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let web_a = support::start_node_exporter_on("127.0.0.41")
        .await
        .expect("exporter a");
    let web_b = support::start_node_exporter_on("127.0.0.42")
        .await
        .expect("exporter b");
    standin
        .load(json!([
            pod("shop", "web-a", "127.0.0.41", port_of(&web_a.address), true),
            pod("shop", "web-b", "127.0.0.42", port_of(&web_b.address), true),
            pod("shop", "quiet", "127.0.0.43", 9100, false),
            pod("other", "elsewhere", "127.0.0.44", 9100, true),
        ]))
        .await
        .expect("seed pods");
    let dir = tempfile::tempdir().expect("dir");
    let token = token_file(dir.path(), "prod");
    let config = format!(
        "scrape_configs:{}remote_write:\n  - url: {}\n",
        pods_job(&standin, &certs.ca(), &token),
        prometheus.write_url
    );
    standin.clear_requests().await.expect("clear");

    let first = harness::run_scraper(&config, 30.0).await;
    assert!(first.success, "{}", first.stderr);
    let discovery = &first.summary["discovery"][0];
    assert_eq!(discovery["role"], "pod", "{}", first.summary);
    assert_eq!(
        discovery["objects_listed"], 3,
        "only namespace shop: {discovery}"
    );
    assert_eq!(discovery["targets"], 3, "{discovery}");
    assert!(discovery["api_calls"].as_u64() >= Some(1), "{discovery}");
    assert!(discovery.get("error").is_none(), "{discovery}");
    assert_eq!(first.count("targets_up"), 2, "{}", first.summary);
    assert_eq!(first.count("targets_down"), 0, "{}", first.summary);

    let up = prometheus
        .query_until_found("up{job=\"pods\"}")
        .await
        .expect("up series");
    let mut pods: Vec<(String, String, String, String)> = up
        .iter()
        .map(|(labels, _)| {
            let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
            (
                get("namespace"),
                get("pod"),
                get("container"),
                get("instance"),
            )
        })
        .collect();
    pods.sort();
    assert_eq!(
        pods,
        [
            (
                "shop".into(),
                "web-a".into(),
                "node-exporter".into(),
                web_a.address.clone()
            ),
            (
                "shop".into(),
                "web-b".into(),
                "node-exporter".into(),
                web_b.address.clone()
            ),
        ]
    );
    let cpu = prometheus
        .query("count(node_cpu_seconds_total{job=\"pods\", pod=\"web-a\", namespace=\"shop\"})")
        .await
        .expect("query");
    assert!(cpu.first().is_some_and(|(_, n)| *n > 0.0), "{cpu:?}");

    // A rollout removes web-b: the next run neither lists nor scrapes it.
    standin
        .delete("pods", "shop", "web-b")
        .await
        .expect("delete");
    let second = harness::run_scraper(&config, 30.0).await;
    assert!(second.success, "{}", second.stderr);
    assert_eq!(
        second.summary["discovery"][0]["targets"], 2,
        "{}",
        second.summary
    );
    let instances: Vec<&str> = second.summary["target_reports"]
        .as_array()
        .expect("reports")
        .iter()
        .filter_map(|t| t["instance"].as_str())
        .collect();
    assert_eq!(instances, [web_a.address.as_str()]);

    // Every request: a LIST of pods in shop with a valid EKS token, within RBAC.
    let requests = standin.requests().await.expect("requests");
    assert_eq!(requests.len(), 2, "one LIST per run: {requests:#?}");
    for r in &requests {
        assert_eq!(r["auth_ok"], true, "{r}");
        assert_eq!(r["method"], "GET", "{r}");
        assert_eq!(r["path"], "/api/v1/namespaces/shop/pods", "{r}");
    }
    assert_eq!(
        assert_within_rbac(&standin, "metrics-pipeline-scraper")
            .await
            .expect("rbac"),
        2
    );
}

#[tokio::test]
async fn a_failed_list_fails_its_entry_only_and_malformed_objects_are_counted() {
    let certs = k8s::make_certs().expect("certs");
    let standin = k8s::start_standin(&certs, "prod").await.expect("stand-in");
    let node = support::start_node_exporter().await.expect("node-exporter");
    let dir = tempfile::tempdir().expect("dir");
    let bad_token = dir.path().join("bad-token");
    std::fs::write(&bad_token, "k8s-aws-v1.bm90LWEtdG9rZW4").expect("write");
    let closed = format!("https://127.0.0.1:{}", support::free_port());
    // A server that answers with a list holding one pod that is not a pod.
    let fake = FakeServer::start().await;
    let good = pod("shop", "fine", "127.0.0.51", 9100, true);
    let list = json!({
        "kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
        "items": [good, {"metadata": {"name": "broken", "namespace": "shop"}, "spec": {"containers": "not a list"}}]
    });
    fake.serve("/api/v1/pods", "application/json", list.to_string());
    // Namespace `shop` lists; namespace `gone` fails (404), after `shop`'s pods were
    // turned into targets: the entry must take them back.
    fake.serve(
        "/api/v1/namespaces/shop/pods",
        "application/json",
        list.to_string(),
    );
    let config = format!(
        r#"
scrape_configs:
  - job_name: unauthorized
    kubernetes_sd_configs:
      - {{role: pod, api_server: {standin}, tls_config: {{ca_file: {ca}}}, bearer_token_file: {bad}}}
  - job_name: unreachable
    kubernetes_sd_configs:
      - {{role: node, api_server: {closed}}}
  - job_name: malformed
    kubernetes_sd_configs:
      - {{role: pod, api_server: {fake}}}
    relabel_configs:
      - {{source_labels: [__meta_kubernetes_pod_name], regex: fine, action: drop}}
  - job_name: partly
    kubernetes_sd_configs:
      - {{role: pod, api_server: {fake}, namespaces: {{names: [shop, gone]}}}}
  - job_name: static
    static_configs: [{{targets: ["{node}"]}}]
"#,
        standin = standin.url,
        ca = certs.ca().display(),
        bad = bad_token.display(),
        fake = fake.base_url(),
        node = node.address,
    );
    let run = harness::run_scraper(&config, 30.0).await;
    assert!(
        run.success,
        "a failed discovery does not fail the run: {}",
        run.stderr
    );
    let reports = run.summary["discovery"].as_array().expect("reports");
    let by_job = |job: &str| {
        reports
            .iter()
            .find(|r| r["job"] == job)
            .unwrap_or_else(|| panic!("no report for {job}: {reports:#?}"))
    };
    let unauthorized = by_job("unauthorized");
    let error = unauthorized["error"].as_str().unwrap_or_default();
    assert!(error.contains("HTTP 401"), "{unauthorized}");
    assert!(error.contains("/api/v1/pods"), "names the request: {error}");
    assert_eq!(unauthorized["targets"], 0);
    let unreachable = by_job("unreachable");
    assert!(
        unreachable["error"]
            .as_str()
            .unwrap_or_default()
            .contains("request failed"),
        "{unreachable}"
    );
    let malformed = by_job("malformed");
    assert!(malformed.get("error").is_none(), "{malformed}");
    assert_eq!(malformed["objects_listed"], 2, "{malformed}");
    assert_eq!(malformed["objects_malformed"], 1, "{malformed}");
    assert_eq!(
        malformed["targets"], 1,
        "the good pod's target: {malformed}"
    );
    let named = malformed["malformed"].to_string();
    assert!(named.contains("shop/broken"), "{named}");
    // A failure after some targets were found: none of them is kept, and what was
    // listed before the failure is still counted.
    let partly = by_job("partly");
    let error = partly["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("HTTP 404") && error.contains("/api/v1/namespaces/gone/pods"),
        "{partly}"
    );
    assert_eq!(partly["targets"], 0, "{partly}");
    assert_eq!(partly["objects_listed"], 2, "{partly}");
    assert_eq!(partly["api_calls"], 2, "{partly}");
    let scraped_partly = run.summary["target_reports"]
        .as_array()
        .expect("reports")
        .iter()
        .filter(|t| t["job"] == "partly")
        .count();
    assert_eq!(scraped_partly, 0, "{}", run.summary);
    assert_eq!(run.count("discovery_failures"), 3, "{}", run.summary);
    assert_eq!(
        run.count("discovery_objects_malformed"),
        2,
        "{}",
        run.summary
    );
    // The static job is scraped regardless.
    assert_eq!(run.count("targets_up"), 1, "{}", run.summary);
    assert_eq!(run.target("static")["up"], true);
}

#[tokio::test]
async fn a_shard_scrapes_its_share_and_the_shards_cover_every_target() {
    // Eight targets: node-exporters at eight loopback addresses.
    let mut exporters = Vec::new();
    for i in 1..=8 {
        exporters.push(
            support::start_node_exporter_on(&format!("127.0.1.{i}"))
                .await
                .expect("exporter"),
        );
    }
    let targets: Vec<String> = exporters
        .iter()
        .map(|e| format!("\"{}\"", e.address))
        .collect();
    let config = format!(
        "scrape_configs:\n  - job_name: fleet\n    static_configs: [{{targets: [{}]}}]\n",
        targets.join(", ")
    );
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("scraper.yaml");
    std::fs::write(&path, &config).expect("write");
    let mut seen = Vec::new();
    for index in 0..3 {
        let event = json!({"config_file": path, "shard": {"index": index, "count": 3}});
        let run = harness::run_scraper_event(&event, 30.0, &[]).await;
        assert!(run.success, "{}", run.stderr);
        let instances: Vec<String> = run.summary["target_reports"]
            .as_array()
            .expect("reports")
            .iter()
            .filter_map(|t| t["instance"].as_str().map(str::to_string))
            .collect();
        assert!(instances.len() < 8, "shard {index} scraped everything");
        seen.extend(instances);
    }
    seen.sort();
    let mut all: Vec<String> = exporters.iter().map(|e| e.address.clone()).collect();
    all.sort();
    assert_eq!(seen, all, "each target in exactly one shard");
    let bad = harness::run_scraper_event(
        &json!({"config_file": path, "shard": {"index": 3, "count": 3}}),
        30.0,
        &[],
    )
    .await;
    assert!(!bad.success);
    assert!(
        bad.stderr
            .contains("shard.index 3 is not below shard.count 3"),
        "{}",
        bad.stderr
    );
}
