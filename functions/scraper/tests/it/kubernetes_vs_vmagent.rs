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

/// Labels Prometheus (v3, `discovery/kubernetes/*.go`) sets that vmagent 1.79 does
/// not: they are kept out of the comparison, and checked on our side by the
/// `kubernetes-sd` crate's own tests, which follow Prometheus' tests.
const PROMETHEUS_ONLY_LABELS: &[(&str, &str)] = &[];

/// Targets only vmagent or only Prometheus produce, by role, with why.
fn comparable(labels: &LabelSet) -> LabelSet {
    labels
        .iter()
        .filter(|(name, _)| {
            (name.as_str() == "__address__" || name.starts_with("__meta_kubernetes_"))
                && !PROMETHEUS_ONLY_LABELS.iter().any(|(n, _)| n == name)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
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
        let found = discover_job(job, format!("scrape_configs[{index}]"), deadline).await;
        for report in &found.reports {
            assert!(report.error.is_none(), "{report:?}");
            assert_eq!(report.objects_malformed, 0, "{report:?}");
        }
        let mut targets: Vec<LabelSet> = found.targets.iter().map(comparable).collect();
        targets.sort();
        ours.insert(job.job_name.clone(), targets);
    }

    let theirs = vmagent_targets(&port, &certs.ca(), &token).await;
    let mut differences = Vec::new();
    for role in ROLES {
        let job = format!("k8s-{role}");
        let mut vm: Vec<LabelSet> = theirs
            .get(&job)
            .map(|targets| targets.iter().map(comparable).collect())
            .unwrap_or_default();
        vm.sort();
        let ours = ours.get(&job).cloned().unwrap_or_default();
        assert!(!ours.is_empty(), "{job}: we found nothing");
        let ours_set: BTreeSet<&LabelSet> = ours.iter().collect();
        let vm_set: BTreeSet<&LabelSet> = vm.iter().collect();
        for only in ours_set.difference(&vm_set) {
            differences.push(format!("{job}: only ours: {only:?}"));
        }
        for only in vm_set.difference(&ours_set) {
            differences.push(format!("{job}: only vmagent's: {only:?}"));
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
