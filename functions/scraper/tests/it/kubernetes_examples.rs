//! The example configs in `examples/kubernetes/` run as written (only the
//! remote_write URL points at the local Prometheus) against the local stack: EKS
//! DescribeCluster on moto (its endpoint and CA patched to the Kubernetes API
//! stand-in, `tests/moto/launcher.py`), EKS tokens signed with the function's
//! credentials and checked by the stand-in, the realistic cluster of
//! `tests/k8s_standin/discovery_cluster.json`, and a node whose kubelet is a real
//! node-exporter, scraped through the API server's node proxy (and, as a hostNetwork
//! pod, through the pod proxy). Prometheus' own Kubernetes example runs with only its
//! auth lines changed.

use std::collections::BTreeSet;

use serde_json::json;
use test_support::kubernetes_stack::{self as k8s, assert_within_rbac, StandIn};
use test_support::services::{self as support, Prometheus, Service};

use crate::harness::{self, Run};

const EXAMPLE_REMOTE_WRITE: &str =
    "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-EXAMPLE/api/v1/remote_write";

struct Stack {
    _certs: k8s::Certs,
    standin: StandIn,
    moto: Service,
    prometheus: Prometheus,
    _kubelet: Service,
    kubelet_port: u16,
    _overrides: tempfile::TempDir,
}

/// The stand-in with the realistic cluster plus node `node-d` (InternalIP
/// 127.0.0.61) whose "kubelet" is a node-exporter; moto answering DescribeCluster
/// `prod` with the stand-in's endpoint and CA; Prometheus as the receiver.
async fn stack() -> Stack {
    let certs = k8s::make_certs().expect("certs");
    let seed = support::workspace_root().join("tests/k8s_standin/discovery_cluster.json");
    let seed = seed.to_string_lossy().into_owned();
    let standin = k8s::start_standin_with(&certs, "prod", &["--seed", &seed])
        .await
        .expect("stand-in");
    let kubelet = support::start_node_exporter_on("127.0.0.61")
        .await
        .expect("node-exporter");
    let kubelet_port: u16 = kubelet
        .address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    standin
        .load(json!([{
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "node-d", "uid": "node-d-uid", "labels": {"kubernetes.io/os": "linux"}},
            "spec": {"providerID": "aws:///us-east-1a/i-0d"},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.61"}, {"type": "Hostname", "address": "node-d"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
                "conditions": [{"type": "Ready", "status": "True"}]
            }
        }]))
        .await
        .expect("node-d");
    let (moto, _aws, overrides) = k8s::moto_with_eks_cluster(&certs, &standin.url, "prod")
        .await
        .expect("moto");
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    standin.clear_requests().await.expect("clear");
    Stack {
        _certs: certs,
        standin,
        moto,
        prometheus,
        _kubelet: kubelet,
        kubelet_port,
        _overrides: overrides,
    }
}

/// Runs `examples/kubernetes/<name>` as the function would, with the function's
/// credentials (the ones the stand-in's EKS tokens are checked against).
async fn run_example(stack: &Stack, name: &str) -> Run {
    let path = support::workspace_root()
        .join("examples/kubernetes")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("example");
    assert!(
        text.contains(EXAMPLE_REMOTE_WRITE),
        "{name}: remote_write URL changed"
    );
    let config = text.replace(EXAMPLE_REMOTE_WRITE, &stack.prometheus.write_url);
    let run = harness::run_scraper_with_env(
        &config,
        30.0,
        &[
            ("AWS_ENDPOINT_URL", stack.moto.address.as_str()),
            ("AWS_ACCESS_KEY_ID", k8s::ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", k8s::SECRET_KEY),
            ("AWS_SESSION_TOKEN", k8s::SESSION_TOKEN),
        ],
    )
    .await;
    assert!(run.success, "{name}: {}", run.stderr);
    for report in run.summary["discovery"]
        .as_array()
        .expect("discovery reports")
    {
        assert!(report.get("error").is_none(), "{name}: {report}");
    }
    run
}

/// `(job, url, up)` of every target a run scraped.
fn targets(run: &Run) -> BTreeSet<(String, String, bool)> {
    run.summary["target_reports"]
        .as_array()
        .expect("reports")
        .iter()
        .map(|t| {
            (
                t["job"].as_str().unwrap_or_default().to_string(),
                t["url"].as_str().unwrap_or_default().to_string(),
                t["up"].as_bool().unwrap_or_default(),
            )
        })
        .collect()
}

fn urls(run: &Run) -> BTreeSet<String> {
    targets(run).into_iter().map(|(_, url, _)| url).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn every_example_finds_its_targets_on_a_realistic_cluster() {
    let stack = stack().await;

    // prometheus.io annotations: running pods that ask, at the annotated port and
    // path; the pending pod (no IP) and the completed Job's pod are not scraped.
    let pods = run_example(&stack, "pod-annotations.yaml").await;
    assert_eq!(
        urls(&pods),
        set(&[
            "http://127.0.0.21:9102/metrics",
            "http://127.0.0.22:9102/metrics",
            "http://127.0.0.23:15020/stats/prometheus",
            "http://127.0.0.25:8080/metrics",
            "http://127.0.0.26:15020/stats/prometheus",
            "http://127.0.0.27:9102/metrics",
        ]),
        "{}",
        pods.summary
    );

    // Envoy sidecars: one target per meshed pod with an IP.
    let envoy = run_example(&stack, "envoy-sidecars.yaml").await;
    assert_eq!(
        urls(&envoy),
        set(&[
            "http://127.0.0.23:15090/stats/prometheus",
            "http://127.0.0.26:15090/stats/prometheus",
        ]),
        "{}",
        envoy.summary
    );

    // kube-state-metrics: the ready endpoint of its service's http-metrics port.
    let ksm = run_example(&stack, "kube-state-metrics.yaml").await;
    assert_eq!(
        urls(&ksm),
        set(&["http://127.0.0.25:8080/metrics"]),
        "{}",
        ksm.summary
    );

    // node-exporter: one target per DaemonSet pod, named after its node, with the
    // node's zone from attach_metadata.node.
    let node_exporter = run_example(&stack, "node-exporter.yaml").await;
    assert_eq!(
        urls(&node_exporter),
        set(&[
            "http://127.0.0.31:9100/metrics",
            "http://127.0.0.32:9100/metrics"
        ]),
        "{}",
        node_exporter.summary
    );
    let instances: BTreeSet<String> = node_exporter.summary["target_reports"]
        .as_array()
        .expect("reports")
        .iter()
        .filter_map(|t| t["instance"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        instances,
        set(&[
            "ip-10-0-1-31.eu-west-1.compute.internal",
            "ip-10-0-2-32.eu-west-1.compute.internal"
        ])
    );

    // Kubelet and cAdvisor through the API server's proxy: every node, at the EKS
    // endpoint from DescribeCluster, with the EKS token; node-d's "kubelet" answers.
    let proxy = run_example(&stack, "kubelet-through-proxy.yaml").await;
    let base = &stack.standin.url;
    let nodes = [
        "ip-10-0-1-31.eu-west-1.compute.internal",
        "ip-10-0-2-32.eu-west-1.compute.internal",
        "node-c",
        "node-d",
    ];
    let expected: BTreeSet<String> = nodes
        .iter()
        .flat_map(|n| {
            [
                format!("{base}/api/v1/nodes/{n}/proxy/metrics"),
                format!("{base}/api/v1/nodes/{n}/proxy/metrics/cadvisor"),
            ]
        })
        .collect();
    assert_eq!(urls(&proxy), expected, "{}", proxy.summary);
    let up: Vec<(String, String, bool)> = targets(&proxy).into_iter().filter(|t| t.2).collect();
    assert_eq!(
        up,
        [(
            "kubernetes-nodes".to_string(),
            format!("{base}/api/v1/nodes/node-d/proxy/metrics"),
            true
        )],
        "only node-d has a kubelet here: {}",
        proxy.summary
    );
    let cpu = stack
        .prometheus
        .query_until_found("count(node_cpu_seconds_total{job=\"kubernetes-nodes\", instance=\"node-d\", kubernetes_io_os=\"linux\"})")
        .await
        .expect("query");
    assert!(cpu.first().is_some_and(|(_, n)| *n > 0.0), "{cpu:?}");

    // Pods through the API server's pod proxy: the same pods as pod-annotations.yaml
    // plus a hostNetwork node-exporter pod on node-d (whose exporter answers), each
    // at /api/v1/namespaces/<ns>/pods/<pod>:<port>/proxy/<path> on the EKS endpoint,
    // with the pod's address as `instance`.
    stack
        .standin
        .load(json!([{
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "node-exporter-d", "namespace": "monitoring", "uid": "ne-d-uid",
                "labels": {"app": "node-exporter"},
                "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": stack.kubelet_port.to_string()}
            },
            "spec": {
                "nodeName": "node-d", "hostNetwork": true,
                "containers": [{"name": "node-exporter", "image": "prom/node-exporter:v1.5.0",
                                "ports": [{"name": "metrics", "containerPort": stack.kubelet_port, "protocol": "TCP"}]}]
            },
            "status": {"phase": "Running", "podIP": "127.0.0.61", "hostIP": "127.0.0.61"}
        }]))
        .await
        .expect("node-exporter-d pod");
    let proxied = run_example(&stack, "pods-through-proxy.yaml").await;
    let mut instances: BTreeSet<String> = urls(&pods)
        .iter()
        .filter_map(|url| url.strip_prefix("http://"))
        .filter_map(|rest| rest.split('/').next())
        .map(str::to_string)
        .collect();
    instances.insert(format!("127.0.0.61:{}", stack.kubelet_port));
    let reports = proxied.summary["target_reports"]
        .as_array()
        .expect("reports");
    let seen: BTreeSet<String> = reports
        .iter()
        .filter_map(|t| t["instance"].as_str().map(str::to_string))
        .collect();
    assert_eq!(seen, instances, "{}", proxied.summary);
    let pod_url = format!(
        "{base}/api/v1/namespaces/monitoring/pods/node-exporter-d:{}/proxy/metrics",
        stack.kubelet_port
    );
    let mut expected: BTreeSet<String> = [
        "default/pods/web-7d4b9c8f5-2xkqp:9102/proxy/metrics",
        "default/pods/web-7d4b9c8f5-h8wzt:9102/proxy/metrics",
        "default/pods/web-7d4b9c8f5-zr5mn:9102/proxy/metrics",
        "mesh/pods/api-6c8f7d9b4-9tqzl:15020/proxy/stats/prometheus",
        "mesh/pods/api-6c8f7d9b4-ck7vd:15020/proxy/stats/prometheus",
        "monitoring/pods/kube-state-metrics-84d9b6c7f-l2pgs:8080/proxy/metrics",
    ]
    .iter()
    .map(|path| format!("{base}/api/v1/namespaces/{path}"))
    .collect();
    expected.insert(pod_url.clone());
    assert_eq!(urls(&proxied), expected, "{}", proxied.summary);
    let up: Vec<(String, String, bool)> = targets(&proxied).into_iter().filter(|t| t.2).collect();
    assert_eq!(
        up,
        [("kubernetes-pods-proxy".to_string(), pod_url, true)],
        "only node-exporter-d answers here: {}",
        proxied.summary
    );
    let cpu = stack
        .prometheus
        .query_until_found("count(node_cpu_seconds_total{job=\"kubernetes-pods-proxy\", namespace=\"monitoring\", pod=\"node-exporter-d\", app=\"node-exporter\"})")
        .await
        .expect("query");
    assert!(cpu.first().is_some_and(|(_, n)| *n > 0.0), "{cpu:?}");

    // Every request carried a valid EKS token and is within the scraper's RBAC
    // (list for discovery, get on nodes/proxy and pods/proxy for the scrapes).
    let requests = stack.standin.requests().await.expect("requests");
    assert!(requests.len() > 10, "{requests:#?}");
    for r in &requests {
        assert_eq!(r["auth_ok"], true, "{r}");
    }
    assert_within_rbac(&stack.standin, "metrics-pipeline-scraper")
        .await
        .expect("rbac");
}

/// `url`s of the targets of `job` in a run.
fn job_urls(run: &Run, job: &str) -> BTreeSet<String> {
    targets(run)
        .into_iter()
        .filter(|(j, _, _)| j == job)
        .map(|(_, url, _)| url)
        .collect()
}

#[tokio::test]
async fn prometheus_own_kubernetes_example_runs_with_only_its_auth_lines_changed() {
    let stack = stack().await;
    // The API server's own service and endpoints, as every cluster has them.
    stack
        .standin
        .load(json!([
            {
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "kubernetes", "namespace": "default", "uid": "svc-k8s",
                             "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"type": "ClusterIP", "clusterIP": "172.20.0.1",
                         "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}]}
            },
            {
                "apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": "kubernetes", "namespace": "default", "uid": "ep-k8s",
                             "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                "subsets": [{"addresses": [{"ip": "127.0.0.71"}, {"ip": "127.0.0.72"}],
                             "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}]
            }
        ]))
        .await
        .expect("default/kubernetes");
    let run = run_example(&stack, "prometheus-kubernetes.yaml").await;
    let check = |job: &str, expected: BTreeSet<String>| {
        assert_eq!(job_urls(&run, job), expected, "{job}: {}", run.summary);
    };
    // Only the `https` port of default/kubernetes (443 is https' default port).
    check(
        "kubernetes-apiservers",
        set(&["https://127.0.0.71/metrics", "https://127.0.0.72/metrics"]),
    );
    // Every node at its address by Prometheus' precedence (InternalIP first; node-c
    // has only a Hostname) and its kubelet port.
    let kubelets = [
        "127.0.0.31:10250".to_string(),
        "127.0.0.32:10250".to_string(),
        format!("127.0.0.61:{}", stack.kubelet_port),
        "node-c:10250".to_string(),
    ];
    for (job, path) in [
        ("kubernetes-nodes", "/metrics"),
        ("kubernetes-cadvisor", "/metrics/cadvisor"),
    ] {
        check(
            job,
            kubelets
                .iter()
                .map(|k| format!("https://{k}{path}"))
                .collect(),
        );
    }
    // Every endpoint port, plus the container ports of backing pods no endpoint port
    // covers (Prometheus' endpoints role).
    check(
        "kubernetes-service-endpoints",
        [
            "127.0.0.21:5005",
            "127.0.0.21:8080",
            "127.0.0.21:9102",
            "127.0.0.22:5005",
            "127.0.0.22:8080",
            "127.0.0.22:9102",
            "127.0.0.23:15020",
            "127.0.0.23:15090",
            "127.0.0.23:9000",
            "127.0.0.23:9100",
            "127.0.0.25:8080",
            "127.0.0.25:8081",
            "127.0.0.26:15020",
            "127.0.0.26:15090",
            "127.0.0.26:9000",
            "127.0.0.26:9100",
            "127.0.0.28:8080",
            "127.0.0.29:8080",
            "127.0.0.31:9100",
            "127.0.0.32:9100",
            "127.0.0.71:443",
            "127.0.0.72:443",
        ]
        .iter()
        .map(|a| format!("http://{a}/metrics"))
        .collect(),
    );
    // Services and ingresses probed through the blackbox exporter, the probed URL as
    // the `target` parameter; the host-less ingress rule has no address, so its
    // `target` rule does not match (as in Prometheus).
    let probe = "http://blackbox-exporter.example.com:9115/probe?module=http_2xx";
    check(
        "kubernetes-services",
        [
            "api-headless.mesh.svc%3A15090",
            "api-headless.mesh.svc%3A9000",
            "external-db.default.svc%3A5432",
            "kube-state-metrics.monitoring.svc%3A8080",
            "kube-state-metrics.monitoring.svc%3A8081",
            "kubernetes.default.svc%3A443",
            "legacy.default.svc%3A8080",
            "node-exporter.monitoring.svc%3A9100",
            "web.default.svc%3A80",
            "web.default.svc%3A9102",
        ]
        .iter()
        .map(|t| format!("{probe}&target={t}"))
        .collect(),
    );
    let mut ingresses: BTreeSet<String> = [
        "http%3A%2F%2Fapi.shop.example.com%2Fv1",
        "https%3A%2F%2Fshop.example.com%2F",
        "https%3A%2F%2Fshop.example.com%2Fmetrics",
        "https%3A%2F%2Fwww.shop.example.com%2F",
    ]
    .iter()
    .map(|t| format!("{probe}&target={t}"))
    .collect();
    ingresses.insert(probe.to_string());
    check("kubernetes-ingresses", ingresses);
    // Every container port of every pod with an IP, and one port-less target per
    // container without ports (the completed Job's pod too: it still has its IP).
    check(
        "kubernetes-pods",
        [
            "127.0.0.21",
            "127.0.0.21:5005",
            "127.0.0.21:8080",
            "127.0.0.21:9102",
            "127.0.0.22",
            "127.0.0.22:5005",
            "127.0.0.22:8080",
            "127.0.0.22:9102",
            "127.0.0.23",
            "127.0.0.23:15020",
            "127.0.0.23:15090",
            "127.0.0.23:9000",
            "127.0.0.23:9100",
            "127.0.0.24:9091",
            "127.0.0.25:8080",
            "127.0.0.26",
            "127.0.0.26:15020",
            "127.0.0.26:15090",
            "127.0.0.26:9000",
            "127.0.0.26:9100",
            "127.0.0.27",
            "127.0.0.27:5005",
            "127.0.0.27:8080",
            "127.0.0.27:9102",
            "127.0.0.31:9100",
            "127.0.0.32:9100",
        ]
        .iter()
        .map(|a| format!("http://{a}/metrics"))
        .collect(),
    );
    // The relabeled labels reach Prometheus on every target's `up` series.
    for (query, expected) in [
        (
            "count(up{job=\"kubernetes-service-endpoints\", kubernetes_namespace=\"monitoring\", kubernetes_name=\"kube-state-metrics\"})",
            2.0,
        ),
        (
            "count(up{job=\"kubernetes-pods\", kubernetes_namespace=\"mesh\", kubernetes_pod_name=\"api-6c8f7d9b4-9tqzl\"})",
            5.0,
        ),
    ] {
        let found = stack
            .prometheus
            .query_until_found(query)
            .await
            .expect("query");
        assert_eq!(found.first().map(|(_, n)| *n), Some(expected), "{query}");
    }
    for r in stack.standin.requests().await.expect("requests") {
        assert_eq!(r["auth_ok"], true, "{r}");
    }
    assert_within_rbac(&stack.standin, "metrics-pipeline-scraper")
        .await
        .expect("rbac");
}
