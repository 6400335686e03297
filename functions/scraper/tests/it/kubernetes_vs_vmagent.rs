//! Kubernetes discovery compared with a real agent's: Debian's `vmagent` (its own
//! implementation of Prometheus' `kubernetes_sd_configs` and meta labels) and the
//! scraper discover the same realistic cluster (`tests/k8s_standin/discovery_cluster.json`:
//! multi-container pods, init and sidecar containers, pods without ports or IPs,
//! headless and ExternalName services, endpoints without pods, nodes with several
//! address types) through the API stand-in, one job per role. Every target and every
//! `__address__` / `__meta_kubernetes_*` label must be the same, except where vmagent
//! 1.79 and Prometheus differ: there Prometheus decides, and each such case is listed
//! below with the Prometheus source that decides it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use scraper::config::Config;
use scraper::discovery::discover_job;
use test_support::kubernetes_stack as k8s;
use test_support::services as support;

use crate::kubernetes_sd::token_file;

type LabelSet = BTreeMap<String, String>;

const ROLES: [&str; 6] = [
    "node",
    "pod",
    "service",
    "endpoints",
    "endpointslice",
    "ingress",
];

/// Where vmagent 1.79 and Prometheus v3.14.0 differ, Prometheus decides (its
/// `discovery/kubernetes/*.go`); the comparison leaves these out, and the
/// `kubernetes-sd` crate's own tests, which follow Prometheus' tests, check them.
///
/// Labels Prometheus sets and vmagent 1.79 does not (by name prefix):
const PROMETHEUS_ONLY_LABELS: &[(&str, &str)] = &[
    (
        "__meta_kubernetes_node_condition_",
        "node.go: every node condition",
    ),
    (
        "__meta_kubernetes_pod_container_id",
        "pod.go: from the container status",
    ),
    (
        "__meta_kubernetes_pod_container_image",
        "pod.go, endpoints.go, endpointslice.go",
    ),
    (
        "__meta_kubernetes_pod_container_init",
        "pod.go, endpoints.go: init containers",
    ),
    ("__meta_kubernetes_service_port_number", "service.go"),
    (
        "__meta_kubernetes_endpointslice_endpoint_conditions_serving",
        "endpointslice.go",
    ),
    (
        "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
        "endpointslice.go",
    ),
    (
        "__meta_kubernetes_endpointslice_endpoint_node_name",
        "endpointslice.go",
    ),
    (
        "__meta_kubernetes_endpointslice_endpoint_zone",
        "endpointslice.go",
    ),
];

/// Labels vmagent adds to endpoints and endpointslice targets that Prometheus does
/// not: service.go's `serviceLabels` (which endpoints.go and endpointslice.go merge)
/// holds only the namespace and the service's name, labels and annotations.
const VMAGENT_ONLY_ENDPOINTS_LABELS: &[&str] = &[
    "__meta_kubernetes_service_cluster_ip",
    "__meta_kubernetes_service_type",
    "__meta_kubernetes_service_external_name",
    "__meta_kubernetes_service_loadbalancer_ip",
];

/// The labels compared: `__address__` and `__meta_kubernetes_*`, without the ones
/// above. An empty value counts as absent, as in Prometheus' target labels.
fn comparable(labels: &LabelSet) -> LabelSet {
    labels
        .iter()
        .filter(|(name, value)| {
            !value.is_empty()
                && (name.as_str() == "__address__" || name.starts_with("__meta_kubernetes_"))
                && !PROMETHEUS_ONLY_LABELS
                    .iter()
                    .any(|(prefix, _)| name.starts_with(prefix))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether an endpoints-role target is one of the extra targets for a backing pod's
/// container port that no endpoint port covers (it has no endpoint port labels).
fn is_extra_pod_port(labels: &LabelSet) -> bool {
    !labels.contains_key("__meta_kubernetes_endpoint_port_name")
        && !labels.contains_key("__meta_kubernetes_endpoint_ready")
        && !labels.contains_key("__meta_kubernetes_endpointslice_port")
        && !labels.contains_key("__meta_kubernetes_endpointslice_endpoint_conditions_ready")
}

/// Our endpoints-role target as vmagent 1.79 would show it, for what Prometheus
/// decides otherwise (endpoints.go and endpointslice.go, v3.14.0):
/// - init containers (sidecars) are matched and give extra targets (`containers :=
///   append(pod.Spec.Containers, pod.Spec.InitContainers...)`); vmagent looks at
///   regular containers only, so those are left out here;
/// - the extra pod-port targets carry the group's labels (the endpoints object's and
///   its service's metadata), as every target of a target group does; vmagent sets
///   only the pod's, so the group's are left out of the comparison for them.
fn as_vmagent_shows_endpoints(labels: &LabelSet) -> Option<LabelSet> {
    let init = labels
        .get("__meta_kubernetes_pod_container_init")
        .map(String::as_str)
        == Some("true");
    let extra = is_extra_pod_port(labels);
    if init && extra {
        return None;
    }
    let mut shown = labels.clone();
    if init {
        shown.retain(|name, _| !name.starts_with("__meta_kubernetes_pod_container_"));
    }
    if extra {
        shown.retain(|name, _| {
            !name.starts_with("__meta_kubernetes_endpoints_")
                && !name.starts_with("__meta_kubernetes_endpointslice_")
                && !name.starts_with("__meta_kubernetes_service_")
        });
    }
    Some(shown)
}

/// vmagent's endpoints-role target without the labels Prometheus does not set.
fn as_prometheus_shows_endpoints(labels: &LabelSet) -> LabelSet {
    let mut shown = labels.clone();
    shown.retain(|name, _| !VMAGENT_ONLY_ENDPOINTS_LABELS.contains(&name.as_str()));
    if is_extra_pod_port(&shown) {
        shown.retain(|name, _| {
            !name.starts_with("__meta_kubernetes_endpoints_")
                && !name.starts_with("__meta_kubernetes_endpointslice_")
                && !name.starts_with("__meta_kubernetes_service_")
        });
    }
    shown
}

/// `name: ours != vmagent's` for each label that differs.
fn label_differences(ours: &LabelSet, vm: &LabelSet) -> String {
    let names: BTreeSet<&String> = ours.keys().chain(vm.keys()).collect();
    names
        .into_iter()
        .filter(|name| ours.get(*name) != vm.get(*name))
        .map(|name| format!("{name}: {:?} != {:?}", ours.get(name), vm.get(name)))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn vmagent_targets(
    port: &str,
    ca: &std::path::Path,
    token: &std::path::Path,
) -> BTreeMap<String, Vec<LabelSet>> {
    let script = support::workspace_root().join("tests/k8s_standin/vmagent_targets.py");
    let output = tokio::process::Command::new(support::venv_python())
        .arg(&script)
        .args(["--port", port, "--ca-file"])
        .arg(ca)
        .arg("--token-file")
        .arg(token)
        .args(["--timeout", "60"])
        .output()
        .await
        .expect("vmagent_targets.py runs");
    assert!(
        output.status.success(),
        "vmagent_targets.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("vmagent_targets.py prints JSON")
}

#[tokio::test]
async fn every_role_finds_the_targets_and_labels_vmagent_finds() {
    let certs = k8s::make_certs().expect("certs");
    let seed = support::workspace_root().join("tests/k8s_standin/discovery_cluster.json");
    let seed = seed.to_string_lossy().into_owned();
    let standin = k8s::start_standin_with(&certs, "prod", &["--seed", &seed])
        .await
        .expect("stand-in");
    let dir = tempfile::tempdir().expect("dir");
    let token = token_file(dir.path(), "prod");
    let port = standin.url.rsplit(':').next().expect("port").to_string();

    let jobs: String = ROLES
        .iter()
        .map(|role| {
            format!(
                "  - job_name: k8s-{role}\n    kubernetes_sd_configs:\n      - role: {role}\n        api_server: {url}\n        tls_config: {{ca_file: {ca}}}\n        bearer_token_file: {token}\n",
                url = standin.url,
                ca = certs.ca().display(),
                token = token.display(),
            )
        })
        .collect();
    let config = Config::from_yaml(&format!("scrape_configs:\n{jobs}")).expect("config");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ours: BTreeMap<String, Vec<LabelSet>> = BTreeMap::new();
    for (index, job) in config.config.scrape_configs.iter().enumerate() {
        let mut found_targets: Vec<std::collections::BTreeMap<String, String>> = Vec::new();
        let reports = discover_job(
            job,
            format!("scrape_configs[{index}]"),
            deadline,
            &mut found_targets,
        )
        .await;
        for report in &reports {
            assert!(report.error.is_none(), "{report:?}");
            assert_eq!(report.objects_malformed, 0, "{report:?}");
        }
        let endpoints_role = job.job_name.starts_with("k8s-endpoint");
        let mut targets: Vec<LabelSet> = found_targets
            .iter()
            // Prometheus' ingress.go makes a target of a rule without a host (an
            // empty __address__, which the scrape then refuses); vmagent drops it.
            .filter(|t| t.get("__address__").is_some_and(|a| !a.is_empty()))
            .filter_map(|t| {
                if endpoints_role {
                    as_vmagent_shows_endpoints(t)
                } else {
                    Some(t.clone())
                }
            })
            .map(|t| comparable(&t))
            .collect();
        targets.sort();
        ours.insert(job.job_name.clone(), targets);
    }

    let theirs = vmagent_targets(&port, &certs.ca(), &token).await;
    let mut differences = Vec::new();
    let mut compared = 0;
    for role in ROLES {
        let job = format!("k8s-{role}");
        let endpoints_role = role.starts_with("endpoint");
        let mut vm: Vec<LabelSet> = theirs
            .get(&job)
            .map(|targets| {
                targets
                    .iter()
                    .map(comparable)
                    .map(|t| {
                        if endpoints_role {
                            as_prometheus_shows_endpoints(&t)
                        } else {
                            t
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        vm.sort();
        let ours = ours.get(&job).cloned().unwrap_or_default();
        assert!(!ours.is_empty(), "{job}: we found nothing");
        assert!(!vm.is_empty(), "{job}: vmagent found nothing");
        compared += ours.len();
        let ours_set: BTreeSet<&LabelSet> = ours.iter().collect();
        let vm_set: BTreeSet<&LabelSet> = vm.iter().collect();
        let only_vm: Vec<&LabelSet> = vm_set.difference(&ours_set).copied().collect();
        let mut matched = BTreeSet::new();
        for only in ours_set.difference(&vm_set) {
            // Show the nearest of vmagent's unmatched targets, label by label.
            let nearest = only_vm
                .iter()
                .enumerate()
                .max_by_key(|(_, vm)| only.iter().filter(|(k, v)| vm.get(*k) == Some(*v)).count());
            match nearest {
                Some((i, vm)) if vm.get("__address__") == only.get("__address__") => {
                    matched.insert(i);
                    differences.push(format!(
                        "{job} {}: {}",
                        only.get("__address__").map_or("", String::as_str),
                        label_differences(only, vm)
                    ));
                }
                _ => differences.push(format!("{job}: only ours: {only:?}")),
            }
        }
        for (i, only) in only_vm.iter().enumerate() {
            if !matched.contains(&i) {
                differences.push(format!("{job}: only vmagent's: {only:?}"));
            }
        }
    }
    // 3 nodes, 10 pods and their services, endpoints and ingresses: dozens of targets.
    assert!(compared > 60, "only {compared} targets compared");
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
