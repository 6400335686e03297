//! Turning `static_configs` and discovered targets into scrape targets with
//! Prometheus' target relabeling:
//! the `__address__`, `__scheme__`, `__metrics_path__` and `__param_*` labels, `instance`
//! defaulting to the address, and every `__`-prefixed label removed afterwards.

use std::collections::{BTreeMap, HashSet};

use prom::relabel::Relabeler;
use prom::Labels;
use reqwest::Url;

use crate::config::ScrapeConfig;
use crate::discovery::shard::Shard;
use crate::discovery::sink::TargetSink;

const ADDRESS: &str = "__address__";
const SCHEME: &str = "__scheme__";
const METRICS_PATH: &str = "__metrics_path__";
const PARAM_PREFIX: &str = "__param_";
const SCRAPE_TIMEOUT: &str = "__scrape_timeout__";

/// One endpoint to scrape, with the labels every series from it carries.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL scraped: scheme, address, metrics path and params after relabeling.
    pub url: Url,
    /// Public target labels (`job`, `instance`, static and relabeled ones).
    pub labels: Labels,
}

impl Target {
    /// The `instance` label, for logs.
    pub fn instance(&self) -> &str {
        self.labels.get("instance").unwrap_or("")
    }
}

/// A target that target relabeling left in a state that cannot be scraped.
#[derive(Debug, Clone, thiserror::Error)]
#[error("job {job:?}, target {address:?}: {reason}")]
pub struct TargetError {
    /// The job.
    pub job: String,
    /// The target's `__address__` (or what relabeling left of it).
    pub address: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Builds the targets of one job from its static groups and its `discovered` label
/// sets (from `*_sd_configs`), in that order: [`TargetBuilder`] over a slice.
pub fn build_targets(
    job: &ScrapeConfig,
    discovered: &[BTreeMap<String, String>],
    relabeler: &Relabeler,
    default_timeout_secs: f64,
    shard: Shard,
) -> Vec<Result<Target, TargetError>> {
    let mut builder = TargetBuilder::new(job, relabeler, default_timeout_secs, shard);
    for found in discovered {
        builder.add_discovered(found);
    }
    builder.finish()
}

/// Builds one job's targets as they come: its static groups first, then each
/// discovered label set the moment discovery produces it. Relabeling each one at
/// once is what keeps discovery small: a 10,000-pod cluster yields 30,000 label sets
/// of 40 meta labels each (about 200 MB held together), of which a job usually keeps
/// a few hundred targets with a handful of labels. Targets dropped by relabeling, or
/// belonging to another `shard`, are left out; broken ones are reported as errors so
/// they show up in the run summary. Targets that end up with the same URL and labels
/// are one target, as in Prometheus' scrape pool (e.g. every container port of a pod
/// relabeled to the port its `prometheus.io/port` annotation names).
pub struct TargetBuilder<'a> {
    job: &'a ScrapeConfig,
    relabeler: &'a Relabeler,
    timeout: String,
    shard: Shard,
    out: Vec<Result<Target, TargetError>>,
    seen: HashSet<(String, Vec<(String, String)>)>,
}

impl<'a> TargetBuilder<'a> {
    /// A builder for `job`, holding its static targets already.
    pub fn new(
        job: &'a ScrapeConfig,
        relabeler: &'a Relabeler,
        default_timeout_secs: f64,
        shard: Shard,
    ) -> TargetBuilder<'a> {
        let timeout = job
            .scrape_timeout
            .map(|d| d.0.as_secs_f64())
            .unwrap_or(default_timeout_secs);
        let mut builder = TargetBuilder {
            job,
            relabeler,
            timeout: format_seconds(timeout),
            shard,
            out: Vec::new(),
            seen: HashSet::new(),
        };
        for group in &job.static_configs {
            for address in &group.targets {
                let mut labels = builder.defaults(group.labels.len());
                for (name, value) in &group.labels {
                    labels.set(name.as_str(), value.as_str());
                }
                labels.set(ADDRESS, address.as_str());
                builder.finish_one(labels, address);
            }
        }
        builder
    }

    /// Relabels one discovered label set into a target (or nothing).
    pub fn add_discovered(&mut self, found: &BTreeMap<String, String>) {
        let mut labels = self.defaults(found.len());
        for (name, value) in found {
            labels.set(name.as_str(), value.as_str());
        }
        let address = found.get(ADDRESS).map(String::as_str).unwrap_or("");
        self.finish_one(labels, address);
    }

    /// The targets built, static ones first.
    pub fn finish(self) -> Vec<Result<Target, TargetError>> {
        self.out
    }

    /// The job's labels every target starts from (`job`, scheme, path, params).
    fn defaults(&self, extra: usize) -> Labels {
        let job = self.job;
        let mut labels = Labels::with_capacity(8 + extra);
        labels.set("job", job.job_name.as_str());
        labels.set(SCRAPE_TIMEOUT, self.timeout.as_str());
        labels.set(METRICS_PATH, job.metrics_path.as_str());
        labels.set(SCHEME, job.scheme.as_str());
        for (name, values) in &job.params {
            if let Some(first) = values.first() {
                labels.set(format!("{PARAM_PREFIX}{name}"), first.as_str());
            }
        }
        labels
    }

    fn finish_one(&mut self, mut labels: Labels, original_address: &str) {
        if !self.relabeler.apply(&mut labels) {
            return;
        }
        if !self.shard.keeps(labels.get(ADDRESS).unwrap_or("")) {
            return;
        }
        let target = finish_target(self.job, original_address, labels);
        if let Ok(t) = &target {
            if !self.seen.insert(identity(t)) {
                return;
            }
        }
        self.out.push(target);
    }
}

/// What makes two targets the same target: URL and labels.
fn identity(target: &Target) -> (String, Vec<(String, String)>) {
    (
        target.url.to_string(),
        target
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect(),
    )
}

impl TargetSink for TargetBuilder<'_> {
    /// Takes the label set over: its strings move into the target's labels instead of
    /// being copied (tens of thousands of label sets of ~40 labels in a large cluster).
    fn add(&mut self, found: BTreeMap<String, String>) {
        let mut labels = self.defaults(found.len());
        let address = found.get(ADDRESS).cloned().unwrap_or_default();
        for (name, value) in found {
            labels.set(name, value);
        }
        self.finish_one(labels, &address);
    }

    fn checkpoint(&self) -> usize {
        self.out.len()
    }

    /// Drops the targets built since `mark`. Each one's identity was first seen after
    /// the mark (a duplicate of an earlier target is never pushed), so forgetting those
    /// identities leaves `seen` as it was at the mark.
    fn rollback(&mut self, mark: usize) {
        for target in self.out.drain(mark.min(self.out.len())..).flatten() {
            self.seen.remove(&identity(&target));
        }
    }
}

fn finish_target(
    job: &ScrapeConfig,
    original_address: &str,
    mut labels: Labels,
) -> Result<Target, TargetError> {
    let fail = |reason: String| TargetError {
        job: job.job_name.clone(),
        address: original_address.to_string(),
        reason,
    };
    let address = labels
        .get(ADDRESS)
        .map(str::to_owned)
        .ok_or_else(|| fail("no address (__address__ removed by relabeling)".into()))?;
    if address.contains('/') {
        return Err(fail(format!(
            "invalid address {address:?} after relabeling"
        )));
    }
    let scheme = labels.get(SCHEME).unwrap_or("http").to_string();
    let path = labels.get(METRICS_PATH).unwrap_or("/metrics").to_string();
    let mut query: BTreeMap<String, Vec<String>> = job.params.clone();
    for label in labels.iter() {
        if let Some(name) = label.name.strip_prefix(PARAM_PREFIX) {
            let values = query.entry(name.to_string()).or_default();
            match values.first_mut() {
                Some(first) => *first = label.value.clone(),
                None => values.push(label.value.clone()),
            }
        }
    }
    let mut url = Url::parse(&format!("{scheme}://{address}"))
        .map_err(|e| fail(format!("cannot build URL from {scheme}://{address}: {e}")))?;
    url.set_path(&path);
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, values) in &query {
            for value in values {
                pairs.append_pair(name, value);
            }
        }
    }
    if !labels.contains("instance") {
        labels.set("instance", address.as_str());
    }
    labels.retain(|l| !l.name.starts_with("__"));
    for label in labels.iter() {
        if !prom::labels::is_valid_label_name(&label.name) {
            return Err(fail(format!("invalid label name {:?}", label.name)));
        }
    }
    Ok(Target { url, labels })
}

/// Seconds as Prometheus prints durations in `__scrape_timeout__` (e.g. `10s`).
fn format_seconds(secs: f64) -> String {
    let ms = (secs * 1000.0).round() as u64;
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn job(yaml: &str) -> ScrapeConfig {
        let loaded = Config::from_yaml(yaml).expect("valid config");
        loaded.config.scrape_configs[0].clone()
    }

    fn targets(yaml: &str) -> Vec<Result<Target, TargetError>> {
        let job = job(yaml);
        let relabeler = Relabeler::new(&job.relabel_configs).expect("valid relabel");
        build_targets(&job, &[], &relabeler, 10.0, Shard::ALL)
    }

    #[test]
    fn default_labels_and_url() {
        let t = targets(
            "scrape_configs:\n- job_name: node\n  static_configs:\n  - targets: ['127.0.0.1:9100']\n    labels: {env: prod}\n",
        );
        let t = t[0].as_ref().expect("target");
        assert_eq!(t.url.as_str(), "http://127.0.0.1:9100/metrics");
        let labels: Vec<_> = t
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("env", "prod"),
                ("instance", "127.0.0.1:9100"),
                ("job", "node")
            ]
        );
    }

    #[test]
    fn relabeling_sets_scheme_path_params_and_drops() {
        let t = targets(
            r#"
scrape_configs:
- job_name: blackbox
  metrics_path: /probe
  params: {module: [http_2xx], extra: [a, b]}
  static_configs:
  - targets: ['example.com', 'drop.me']
  relabel_configs:
  - source_labels: [__address__]
    regex: drop\.me
    action: drop
  - source_labels: [__address__]
    target_label: __param_target
  - source_labels: [__param_target]
    target_label: instance
  - target_label: __address__
    replacement: 127.0.0.1:9115
  - target_label: __scheme__
    replacement: https
"#,
        );
        assert_eq!(t.len(), 1);
        let t = t[0].as_ref().expect("target");
        assert_eq!(
            t.url.as_str(),
            "https://127.0.0.1:9115/probe?extra=a&extra=b&module=http_2xx&target=example.com"
        );
        assert_eq!(t.labels.get("instance"), Some("example.com"));
        assert!(t.labels.iter().all(|l| !l.name.starts_with("__")));
    }

    #[test]
    fn removing_address_is_an_error() {
        let t = targets(
            "scrape_configs:\n- job_name: x\n  static_configs:\n  - targets: ['a:1']\n  relabel_configs:\n  - action: labeldrop\n    regex: __address__\n",
        );
        let err = t[0].as_ref().expect_err("must fail");
        assert!(err.to_string().contains("no address"), "{err}");
    }

    #[test]
    fn a_rollback_forgets_the_targets_and_their_identities_since_the_checkpoint() {
        let job = job("scrape_configs:\n  - job_name: k8s\n    static_configs: [{targets: ['static:9100']}]\n");
        let relabeler = Relabeler::new(&job.relabel_configs).expect("relabeler");
        let found =
            |address: &str| BTreeMap::from([("__address__".to_string(), address.to_string())]);
        let mut builder = TargetBuilder::new(&job, &relabeler, 10.0, Shard::ALL);
        builder.add(found("a:1"));
        let mark = builder.checkpoint();
        builder.add(found("b:2"));
        builder.add(found("a:1"));
        builder.rollback(mark);
        // b:2 is forgotten, so it is a new target when found again; a:1 (before the
        // mark) is still known, so it stays one target.
        builder.add(found("b:2"));
        builder.add(found("a:1"));
        let urls: Vec<String> = builder
            .finish()
            .into_iter()
            .map(|t| t.expect("valid").url.to_string())
            .collect();
        assert_eq!(
            urls,
            [
                "http://static:9100/metrics",
                "http://a:1/metrics",
                "http://b:2/metrics"
            ]
        );
    }

    #[test]
    fn discovered_targets_are_relabeled_and_sharded_after_relabeling() {
        let job = job(r#"
scrape_configs:
- job_name: pods
  relabel_configs:
  - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
    regex: "true"
    action: keep
  - source_labels: [__meta_kubernetes_pod_name]
    target_label: pod
"#);
        let relabeler = Relabeler::new(&job.relabel_configs).expect("valid relabel");
        let pod = |name: &str, ip: &str, scrape: &str| {
            BTreeMap::from([
                ("__address__".to_string(), format!("{ip}:8080")),
                ("__meta_kubernetes_pod_name".to_string(), name.to_string()),
                (
                    "__meta_kubernetes_pod_annotation_prometheus_io_scrape".to_string(),
                    scrape.to_string(),
                ),
            ])
        };
        let found: Vec<_> = (0..40)
            .map(|i| pod(&format!("web-{i}"), &format!("10.0.0.{i}"), "true"))
            .chain([pod("quiet", "10.0.1.1", "false")])
            .collect();
        let all = build_targets(&job, &found, &relabeler, 10.0, Shard::ALL);
        assert_eq!(all.len(), 40, "the pod without the annotation is dropped");
        let first = all[0].as_ref().expect("target");
        assert_eq!(first.url.as_str(), "http://10.0.0.0:8080/metrics");
        assert_eq!(first.labels.get("pod"), Some("web-0"));
        assert_eq!(first.labels.get("job"), Some("pods"));
        assert!(first.labels.iter().all(|l| !l.name.starts_with("__")));
        let mut per_shard = 0;
        for index in 0..3 {
            let shard = Shard { index, count: 3 };
            let kept = build_targets(&job, &found, &relabeler, 10.0, shard);
            for t in &kept {
                let t = t.as_ref().expect("target");
                let address = t.url.host_str().unwrap_or("").to_string() + ":8080";
                assert!(shard.keeps(&address));
            }
            per_shard += kept.len();
        }
        assert_eq!(per_shard, 40, "each target is in exactly one shard");
    }

    #[test]
    fn targets_with_the_same_url_and_labels_are_one() {
        let job = job(r#"
scrape_configs:
- job_name: pods
  relabel_configs:
  - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
    regex: ([^:]+)(?::\d+)?;(\d+)
    replacement: $1:$2
    target_label: __address__
"#);
        let relabeler = Relabeler::new(&job.relabel_configs).expect("valid relabel");
        let port = |p: &str| {
            BTreeMap::from([
                ("__address__".to_string(), format!("10.0.0.1:{p}")),
                (
                    "__meta_kubernetes_pod_annotation_prometheus_io_port".to_string(),
                    "9102".to_string(),
                ),
            ])
        };
        let found = [port("8080"), port("9102"), port("5005")];
        let built = build_targets(&job, &found, &relabeler, 10.0, Shard::ALL);
        assert_eq!(built.len(), 1, "{built:?}");
        let only = built[0].as_ref().expect("target");
        assert_eq!(only.url.as_str(), "http://10.0.0.1:9102/metrics");
    }
}
