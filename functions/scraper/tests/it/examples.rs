//! Every config and event under `examples/` is loaded through its function's own
//! validation by some test, and this module holds the list of who claims what: a file
//! added to `examples/` without a test fails `every_example_file_is_claimed`. The
//! scraper's examples load here through `Config::from_file`, the binary's path.

use std::collections::BTreeSet;
use std::path::Path;

use scraper::config::Config;
use test_support::services as support;

/// Every example file (relative to `examples/`) and the test that loads it.
const CLAIMED: &[(&str, &str)] = &[
    (
        "scraper/pods-with-staleness.yaml",
        "scraper examples::scraper_examples_validate",
    ),
    (
        "scraper/static-exporters.yaml",
        "scraper examples::scraper_examples_validate",
    ),
    (
        "scraper/cloudwatch-discovery.yaml",
        "scraper examples::scraper_examples_validate",
    ),
    (
        "scraper/ec2-node-exporter.yaml",
        "scraper aws_sd::the_example_ec2_and_fargate_setups_find_their_targets",
    ),
    (
        "setups/fargate-exporter-sidecars/scraper.yaml",
        "scraper aws_sd::the_example_ec2_and_fargate_setups_find_their_targets",
    ),
    (
        "setups/fargate-exporter-sidecars/task-definition.json",
        "scraper aws_sd::the_example_ec2_and_fargate_setups_find_their_targets",
    ),
    (
        "scraper/pipeline-figures.yaml",
        "pipeline-tests pipeline_figures (and scripts/demo_loop.py runs it)",
    ),
    (
        "scraper/sharded-shard-0.yaml",
        "scraper examples::shards_split_the_targets",
    ),
    (
        "scraper/sharded-shard-1.yaml",
        "scraper examples::shards_split_the_targets",
    ),
    (
        "setups/envoy-sidecars-eks/scraper.yaml",
        "scraper examples::scraper_examples_validate",
    ),
    (
        "setups/fargate-container-insights/scraper.yaml",
        "scraper examples::scraper_examples_validate",
    ),
    (
        "kubernetes/envoy-sidecars.yaml",
        "scraper kubernetes_examples",
    ),
    (
        "kubernetes/kube-state-metrics.yaml",
        "scraper kubernetes_examples",
    ),
    (
        "kubernetes/kubelet-through-proxy.yaml",
        "scraper kubernetes_examples",
    ),
    (
        "kubernetes/node-exporter.yaml",
        "scraper kubernetes_examples",
    ),
    (
        "kubernetes/pod-annotations.yaml",
        "scraper kubernetes_examples",
    ),
    (
        "kubernetes/pods-through-proxy.yaml",
        "scraper kubernetes_examples",
    ),
    (
        "kubernetes/prometheus-kubernetes.yaml",
        "scraper kubernetes_examples",
    ),
    ("alarm-handler/alertmanager.yaml", "alarm-handler examples"),
    (
        "alarm-handler/alertmanager-with-timers.yaml",
        "alarm-handler examples",
    ),
    (
        "alarm-handler/maintenance-silence.json",
        "alarm-handler examples",
    ),
    (
        "alarm-handler/events/grafana-alert.json",
        "alarm-handler examples",
    ),
    (
        "alarm-handler/events/amp-alert.json",
        "alarm-handler examples",
    ),
    (
        "alarm-handler/events/cloudwatch-alarm.json",
        "alarm-handler examples",
    ),
    (
        "setups/grafana-amp-alert-routing/alertmanager.yaml",
        "alarm-handler examples",
    ),
    (
        "setups/grafana-amp-alert-routing/events/grafana-alert.json",
        "alarm-handler examples",
    ),
    (
        "setups/grafana-amp-alert-routing/events/amp-alert.json",
        "alarm-handler examples",
    ),
    (
        "setups/queue-consumer-scaling/alarm-handler.yaml",
        "alarm-handler examples",
    ),
    (
        "setups/queue-consumer-scaling/events/alarm-notification.json",
        "alarm-handler examples, scaler examples",
    ),
    (
        "setups/queue-consumer-scaling/cloudwatch-alarm.json",
        "scaler examples",
    ),
    (
        "setups/queue-consumer-scaling/scaler.yaml",
        "scaler examples",
    ),
    ("scaler/config.yaml", "scaler examples"),
    ("scaler/events/scheduled-reconcile.json", "scaler examples"),
    ("scaler/events/alarm-state-change.json", "scaler examples"),
];

fn examples_dir() -> std::path::PathBuf {
    support::workspace_root().join("examples")
}

fn walk(dir: &Path, root: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("read examples dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, root, found);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            let relative = path.strip_prefix(root).expect("under examples");
            found.insert(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_example_file_is_claimed() {
    let root = examples_dir();
    let mut found = BTreeSet::new();
    walk(&root, &root, &mut found);
    let claimed: BTreeSet<String> = CLAIMED.iter().map(|(f, _)| f.to_string()).collect();
    let unclaimed: Vec<&String> = found.difference(&claimed).collect();
    assert!(
        unclaimed.is_empty(),
        "example files no test loads: {unclaimed:?}"
    );
    let missing: Vec<&String> = claimed.difference(&found).collect();
    assert!(
        missing.is_empty(),
        "claimed example files that do not exist: {missing:?}"
    );
    // Every setup has its README.
    for entry in std::fs::read_dir(root.join("setups")).expect("setups") {
        let dir = entry.expect("entry").path();
        let readme = std::fs::read_to_string(dir.join("README.md")).expect("README.md");
        let lines = readme.lines().count();
        assert!(
            (5..=20).contains(&lines),
            "{}: {lines} lines",
            dir.display()
        );
    }
}

fn load(name: &str) -> scraper::config::LoadedConfig {
    let path = examples_dir().join(name);
    Config::from_file(&path.to_string_lossy()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn scraper_examples_validate() {
    let static_exporters = load("scraper/static-exporters.yaml");
    assert!(
        static_exporters.warnings.is_empty(),
        "{:?}",
        static_exporters.warnings
    );
    let jobs: Vec<&str> = static_exporters
        .config
        .scrape_configs
        .iter()
        .map(|j| j.job_name.as_str())
        .collect();
    assert_eq!(jobs, ["node", "postgres"]);
    assert_eq!(static_exporters.config.remote_write.len(), 1);
    assert!(static_exporters.cloudwatch.is_none());

    let staleness = load("scraper/pods-with-staleness.yaml");
    assert!(staleness.warnings.is_empty(), "{:?}", staleness.warnings);
    let state = staleness.config.scraper.state.expect("state block");
    assert_eq!(
        state.s3.key(1, 4),
        "scraper-state/kubernetes-pods/shard-1-of-4.state"
    );

    let cloudwatch = load("scraper/cloudwatch-discovery.yaml");
    assert!(cloudwatch.warnings.is_empty(), "{:?}", cloudwatch.warnings);
    assert!(cloudwatch.cloudwatch.is_some());
    assert!(cloudwatch.config.scrape_configs.is_empty());

    let envoy = load("setups/envoy-sidecars-eks/scraper.yaml");
    assert!(envoy.warnings.is_empty(), "{:?}", envoy.warnings);
    let jobs: Vec<&str> = envoy
        .config
        .scrape_configs
        .iter()
        .map(|j| j.job_name.as_str())
        .collect();
    assert_eq!(jobs, ["envoy", "app"]);

    let fargate = load("setups/fargate-container-insights/scraper.yaml");
    assert!(fargate.warnings.is_empty(), "{:?}", fargate.warnings);
    assert!(fargate.cloudwatch.is_some());
}

#[test]
fn shards_split_the_targets() {
    for shard in [
        "scraper/sharded-shard-0.yaml",
        "scraper/sharded-shard-1.yaml",
    ] {
        let loaded = load(shard);
        assert!(loaded.warnings.is_empty(), "{shard}: {:?}", loaded.warnings);
        assert_eq!(loaded.config.scrape_configs.len(), 1, "{shard}");
    }
    // The two shards differ only in their shard number.
    let text = |n: &str| std::fs::read_to_string(examples_dir().join(n)).expect("read");
    let zero = text("scraper/sharded-shard-0.yaml");
    let one = text("scraper/sharded-shard-1.yaml");
    assert_eq!(
        zero.replace("shard_0", "shard_N")
            .replace("'0'", "'N'")
            .replace("Shard 0", "Shard N")
            .replace("hashes to 0", "hashes to N"),
        one.replace("shard_1", "shard_N")
            .replace("'1'", "'N'")
            .replace("Shard 1", "Shard N")
            .replace("hashes to 1", "hashes to N")
    );
}
