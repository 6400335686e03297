//! The scraper's config file as written: Prometheus' own `global`, `scrape_configs`
//! and `remote_write` blocks, field for field, plus the scraper's own `scraper:` and
//! `cloudwatch:` blocks. Unknown fields are refused (a typo must not silently become
//! a default); Prometheus fields that mean nothing to a scheduled run are accepted
//! and reported as ignored. Defaults are Prometheus' unless a field says otherwise.
//!
//! The Prometheus blocks are also the validated model's parts (see `model.rs`): once
//! `validate.rs` has checked them, the rest of the crate reads them as they are.

use std::collections::BTreeMap;

use prom::duration::PromDuration;
use prom::relabel::RelabelConfig;
use serde::Deserialize;

use super::aws_sd::{AwsSdConfig, Ec2SdConfig};
use super::http::{Authorization, BasicAuth, TlsConfig};
use super::kubernetes_sd::KubernetesSdConfig;
use super::state::StateSettings;
use crate::cloudwatch::config::YaceConfigFile;

/// The whole file as written. Turned into a validated [`super::Config`] by
/// [`super::Config::from_yaml`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    /// Prometheus' `global` block: defaults for every scrape config.
    pub global: GlobalConfig,
    /// Prometheus' `scrape_configs`: the exporter targets to scrape. Default: none.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Prometheus' `remote_write`: where the samples go. Default: none (the run then
    /// only scrapes, which is useful to test a config).
    pub remote_write: Vec<RemoteWriteConfig>,
    /// Ours: settings only a scheduled function needs.
    pub scraper: ScraperSettings,
    /// Ours: a YACE (yet-another-cloudwatch-exporter) config, pasted as written for
    /// YACE, to collect CloudWatch metrics. Default: none.
    pub cloudwatch: Option<YaceConfigFile>,
    /// Prometheus' `rule_files`: accepted and ignored (no rule evaluation here).
    pub(super) rule_files: Option<yaml_serde::Value>,
    /// Prometheus' `alerting`: accepted and ignored.
    pub(super) alerting: Option<yaml_serde::Value>,
    /// Prometheus' `remote_read`: accepted and ignored.
    pub(super) remote_read: Option<yaml_serde::Value>,
    /// Prometheus' `storage`: accepted and ignored (nothing is stored).
    pub(super) storage: Option<yaml_serde::Value>,
    /// Prometheus' `tracing`: accepted and ignored.
    pub(super) tracing: Option<yaml_serde::Value>,
}

/// Prometheus' `global` block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalConfig {
    /// How long a scrape may take, for jobs that do not set their own. Default: 10s.
    pub scrape_timeout: PromDuration,
    /// Labels added to every series sent (Prometheus adds them on remote write too).
    /// Default: none.
    pub external_labels: BTreeMap<String, String>,
    /// Most samples one scrape may return before it fails as a whole; 0 = no limit.
    /// Default: 0.
    pub sample_limit: u64,
    /// Most labels one series may have before its scrape fails; 0 = no limit.
    /// Default: 0.
    pub label_limit: u64,
    /// Longest label name a scrape may return; 0 = no limit. Default: 0.
    pub label_name_length_limit: u64,
    /// Longest label value a scrape may return; 0 = no limit. Default: 0.
    pub label_value_length_limit: u64,
    /// Accepted and ignored: the EventBridge schedule sets the interval.
    pub(super) scrape_interval: Option<yaml_serde::Value>,
    /// Accepted and ignored: no rules are evaluated.
    pub(super) evaluation_interval: Option<yaml_serde::Value>,
    /// Accepted and ignored: there is no query engine.
    pub(super) query_log_file: Option<yaml_serde::Value>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        Self {
            scrape_timeout: PromDuration::from_secs(10),
            external_labels: BTreeMap::new(),
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            scrape_interval: None,
            evaluation_interval: None,
            query_log_file: None,
        }
    }
}

/// One `scrape_configs` entry: a job and its targets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScrapeConfig {
    /// The `job` label of the job's series; unique among the scrape configs. Required.
    pub job_name: String,
    /// The targets, each `host:port`, with labels for their series. Default: none.
    pub static_configs: Vec<StaticConfig>,
    /// Targets discovered from a Kubernetes API at the start of each run.
    /// Default: none.
    pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
    /// EC2 instances discovered at the start of each run (DescribeInstances).
    /// Default: none.
    pub ec2_sd_configs: Vec<Ec2SdConfig>,
    /// EC2 instances or ECS tasks discovered at the start of each run (Prometheus
    /// 3.8's unified AWS discovery). Default: none.
    pub aws_sd_configs: Vec<AwsSdConfig>,
    /// The HTTP path scraped on each target. Default: `/metrics`.
    pub metrics_path: String,
    /// `http` or `https`. Default: `http`.
    pub scheme: String,
    /// URL query parameters added to each scrape. Default: none.
    pub params: BTreeMap<String, Vec<String>>,
    /// How long a scrape of this job may take. Default: `global.scrape_timeout`.
    pub scrape_timeout: Option<PromDuration>,
    /// On a clash between a scraped label and a target label, keep the scraped one
    /// (`true`) or rename it `exported_<name>` (`false`). Default: false.
    pub honor_labels: bool,
    /// Keep the timestamps the target exposes (`true`) or stamp samples with the
    /// scrape time. Default: true.
    pub honor_timestamps: bool,
    /// HTTP basic authentication for the targets. Default: none.
    pub basic_auth: Option<BasicAuth>,
    /// An `Authorization` header for the targets. Default: none.
    pub authorization: Option<Authorization>,
    /// Deprecated Prometheus spelling of `authorization.credentials`. Default: none.
    pub bearer_token: Option<String>,
    /// Deprecated Prometheus spelling of `authorization.credentials_file`.
    /// Default: none.
    pub bearer_token_file: Option<String>,
    /// TLS settings for `https` targets. Default: the compiled-in Mozilla roots, verified.
    pub tls_config: TlsConfig,
    /// Ours: scrape through this EKS cluster's API server (its proxy paths: kubelet,
    /// cAdvisor, pods) with a fresh EKS token and the cluster's CA from
    /// DescribeCluster, in place of an in-cluster service account's token and CA. A
    /// target address `kubernetes.default.svc[:443]` (as in Prometheus' example
    /// configs) means the cluster's endpoint. Default: none.
    pub eks: Option<eks_access::EksCluster>,
    /// Rules applied to each target's labels before it is scraped (a target whose
    /// rules drop it is not scraped). Default: none.
    pub relabel_configs: Vec<RelabelConfig>,
    /// Rules applied to each scraped series before it is sent. Default: none.
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// This job's sample limit. Default: `global.sample_limit`.
    pub sample_limit: Option<u64>,
    /// This job's label count limit. Default: `global.label_limit`.
    pub label_limit: Option<u64>,
    /// This job's label name length limit. Default: `global.label_name_length_limit`.
    pub label_name_length_limit: Option<u64>,
    /// This job's label value length limit. Default:
    /// `global.label_value_length_limit`.
    pub label_value_length_limit: Option<u64>,
    /// Ours: what an OpenMetrics exposition that breaks the specification's rules
    /// (counter totals, bucket order, `+Inf` and count, metadata order, exemplars,
    /// name clashes, units, state sets, info) gets. `lenient` (as Prometheus): scraped,
    /// each broken rule in the target's report and counted; `strict`: the scrape is
    /// refused, naming the rule, as OpenMetrics 1.0 requires. Default: `lenient`.
    pub openmetrics_validation: OpenMetricsValidation,
    /// Accepted and ignored: the EventBridge schedule sets the interval.
    pub(super) scrape_interval: Option<yaml_serde::Value>,
    /// Accepted and ignored: redirects are always followed.
    pub(super) follow_redirects: Option<yaml_serde::Value>,
    /// Accepted and ignored: HTTP/2 is negotiated when the target offers it.
    pub(super) enable_http2: Option<yaml_serde::Value>,
}

impl Default for ScrapeConfig {
    fn default() -> Self {
        Self {
            job_name: String::new(),
            static_configs: Vec::new(),
            kubernetes_sd_configs: Vec::new(),
            ec2_sd_configs: Vec::new(),
            aws_sd_configs: Vec::new(),
            metrics_path: "/metrics".into(),
            scheme: "http".into(),
            params: BTreeMap::new(),
            scrape_timeout: None,
            honor_labels: false,
            honor_timestamps: true,
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            tls_config: TlsConfig::default(),
            eks: None,
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            sample_limit: None,
            label_limit: None,
            label_name_length_limit: None,
            label_value_length_limit: None,
            openmetrics_validation: OpenMetricsValidation::default(),
            scrape_interval: None,
            follow_redirects: None,
            enable_http2: None,
        }
    }
}

/// `openmetrics_validation` of a scrape config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenMetricsValidation {
    /// Scrape what Prometheus scrapes; report the broken rules.
    #[default]
    Lenient,
    /// Refuse an exposition that breaks a rule.
    Strict,
}

/// One `static_configs` entry: targets that share labels.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaticConfig {
    /// Target addresses, `host:port` (or `host`), without scheme or path.
    /// Default: none.
    pub targets: Vec<String>,
    /// Labels given to every series of these targets. Default: none.
    pub labels: BTreeMap<String, String>,
}

/// One `remote_write` entry: a receiver of the samples.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteConfig {
    /// The receiver's remote-write URL (`http` or `https`). Required.
    pub url: String,
    /// A name for logs and self-metrics. Default: the URL.
    pub name: Option<String>,
    /// How long one request may take. Default: 30s.
    pub remote_timeout: PromDuration,
    /// Extra HTTP headers on every request (not those the client sets itself).
    /// Default: none.
    pub headers: BTreeMap<String, String>,
    /// Sign requests with AWS SigV4 (for AMP). Default: unsigned.
    pub sigv4: Option<SigV4Config>,
    /// How the samples are batched and retried.
    pub queue_config: QueueConfig,
    /// Whether metric metadata is sent.
    pub metadata_config: MetadataConfig,
    /// Rules applied to each series before it goes to this receiver. Default: none.
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// HTTP basic authentication. Default: none.
    pub basic_auth: Option<BasicAuth>,
    /// An `Authorization` header. Default: none.
    pub authorization: Option<Authorization>,
    /// Deprecated Prometheus spelling of `authorization.credentials`. Default: none.
    pub bearer_token: Option<String>,
    /// Deprecated Prometheus spelling of `authorization.credentials_file`.
    /// Default: none.
    pub bearer_token_file: Option<String>,
    /// TLS settings for an `https` URL. Default: the compiled-in Mozilla roots, verified.
    pub tls_config: TlsConfig,
    /// Ours: per-series limits of the receiver (AMP's by default); offending series
    /// are dropped before sending so they cannot fail a whole request.
    pub series_limits: SeriesLimits,
    /// Accepted and ignored: exemplars are not scraped.
    pub(super) send_exemplars: Option<yaml_serde::Value>,
    /// Accepted and ignored: native histograms are not scraped.
    pub(super) send_native_histograms: Option<yaml_serde::Value>,
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            name: None,
            remote_timeout: PromDuration::from_secs(30),
            headers: BTreeMap::new(),
            sigv4: None,
            queue_config: QueueConfig::default(),
            metadata_config: MetadataConfig::default(),
            write_relabel_configs: Vec::new(),
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            tls_config: TlsConfig::default(),
            series_limits: SeriesLimits::default(),
            send_exemplars: None,
            send_native_histograms: None,
        }
    }
}

impl RemoteWriteConfig {
    /// A name for logs and self-metrics: `name`, else the URL.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.url)
    }
}

/// `sigv4` as Prometheus writes it. Credentials come from the default AWS chain (the
/// function's role) unless static keys or a profile are named.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigV4Config {
    /// The signing region. Default: the environment's region.
    pub region: Option<String>,
    /// A static access key id; set together with `secret_key`. Default: none.
    pub access_key: Option<String>,
    /// The static secret key for `access_key`. Default: none.
    pub secret_key: Option<String>,
    /// A named profile of the shared AWS config. Default: none.
    pub profile: Option<String>,
    /// A role assumed (through STS) to sign with. Default: none.
    pub role_arn: Option<String>,
}

/// `queue_config`: only the fields that shape a single run's sending are used.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Samples in one request. Default: 2000.
    pub max_samples_per_send: usize,
    /// Requests in flight at once to this endpoint. Default: 4 (Prometheus' is 50,
    /// sized for a long-running queue; one run sends far less).
    pub max_shards: usize,
    /// First wait before retrying a failed request. Default: 30ms.
    pub min_backoff: PromDuration,
    /// Longest wait between retries (the wait doubles up to it). Default: 5s.
    pub max_backoff: PromDuration,
    /// Retry requests answered 429 Too Many Requests. Default: true.
    pub retry_on_http_429: bool,
    /// Accepted and ignored: there is no long-lived queue.
    pub(super) capacity: Option<yaml_serde::Value>,
    /// Accepted and ignored: there is no long-lived queue.
    pub(super) min_shards: Option<yaml_serde::Value>,
    /// Accepted and ignored: every run sends everything before returning.
    pub(super) batch_send_deadline: Option<yaml_serde::Value>,
    /// Accepted and ignored: samples are never older than the run.
    pub(super) sample_age_limit: Option<yaml_serde::Value>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            max_samples_per_send: 2000,
            max_shards: 4,
            min_backoff: PromDuration::from_millis(30),
            max_backoff: PromDuration::from_secs(5),
            retry_on_http_429: true,
            capacity: None,
            min_shards: None,
            batch_send_deadline: None,
            sample_age_limit: None,
        }
    }
}

/// `metadata_config`: whether TYPE/HELP/UNIT are sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataConfig {
    /// Send each metric family's TYPE, HELP and UNIT with the samples. Default: true.
    pub send: bool,
    /// Accepted and ignored: metadata goes with every run's samples.
    pub(super) send_interval: Option<yaml_serde::Value>,
    /// Accepted and ignored: metadata is batched with the samples.
    pub(super) max_samples_per_send: Option<yaml_serde::Value>,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        Self {
            send: true,
            send_interval: None,
            max_samples_per_send: None,
        }
    }
}

/// Ours: per-series limits the receiver enforces; AMP's by default. A series over a
/// limit is dropped before sending (counted and logged) so it cannot fail a whole
/// request.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SeriesLimits {
    /// Most labels (the metric name included) a series may have. Default: 70.
    pub max_labels: usize,
    /// Longest label name, in bytes. Default: 1024.
    pub max_label_name_length: usize,
    /// Longest label value, in bytes. Default: 7168 (7 KiB).
    pub max_label_value_length: usize,
}

impl Default for SeriesLimits {
    fn default() -> Self {
        Self {
            max_labels: 70,
            max_label_name_length: 1024,
            max_label_value_length: 7 * 1024,
        }
    }
}

/// `scraper.self_metrics`: the run's own series (`<prefix>_samples_sent`,
/// `<prefix>_targets_down` ...). Users who watch the pipeline through CloudWatch (the
/// summary line) can turn them off; users whose AMP rules expect every series to carry
/// a target's `job` and `instance` can set those.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelfMetricsSettings {
    /// Write the run's own series with each run. Default: true.
    pub enabled: bool,
    /// Their `job` label. Default: the `self_metrics_prefix` (`scraper`).
    pub job: Option<String>,
    /// Their `instance` label. Default: the function's name
    /// (`AWS_LAMBDA_FUNCTION_NAME`, `lambda` outside Lambda).
    pub instance: Option<String>,
}

impl Default for SelfMetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            job: None,
            instance: None,
        }
    }
}

/// Ours: the `scraper:` block, settings only a scheduled scraper needs (not part of
/// Prometheus' format).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScraperSettings {
    /// Targets scraped at once. Default: 16.
    pub max_concurrent_scrapes: usize,
    /// Prefix of the run's own series (`<prefix>_samples_sent` ...). Default:
    /// `scraper`.
    pub self_metrics_prefix: String,
    /// Whether and under which `job` and `instance` the run writes its own series.
    /// Default: written, `job` = the prefix, `instance` = the function's name.
    pub self_metrics: SelfMetricsSettings,
    /// Time kept free before the invocation deadline to finish and report.
    /// Default: 1.5s.
    pub deadline_margin: PromDuration,
    /// The EventBridge schedule's rate: consecutive runs own consecutive CloudWatch
    /// windows of this length, so it must match the schedule. Default: 60s.
    pub schedule_interval: PromDuration,
    /// Where runs keep what they scraped, so the next run writes Prometheus'
    /// staleness markers for series and targets that went away. Default: none (no
    /// markers).
    pub state: Option<StateSettings>,
}

impl Default for ScraperSettings {
    fn default() -> Self {
        Self {
            max_concurrent_scrapes: 16,
            self_metrics_prefix: "scraper".into(),
            self_metrics: SelfMetricsSettings::default(),
            deadline_margin: PromDuration::from_millis(1500),
            schedule_interval: PromDuration::from_secs(60),
            state: None,
        }
    }
}
