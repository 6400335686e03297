//! The scraper's configuration: Prometheus' own `global`, `scrape_configs` and
//! `remote_write` YAML, accepted as users already write it, plus a `scraper` block for
//! what only a scheduled function needs. Validated up front: every error names the
//! field and the reason, so a broken config never reaches a scrape.

mod http;

use std::collections::{BTreeMap, BTreeSet};

use prom::relabel::{RelabelConfig, Relabeler};
use serde::Deserialize;

pub use http::{Authorization, BasicAuth, HttpClientSettings, TlsConfig};
pub use prom::duration::{parse_duration, PromDuration};

/// Why a configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config YAML: {0}")]
    Yaml(#[from] yaml_serde::Error),
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The whole configuration of one scraper invocation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub global: GlobalConfig,
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
    #[serde(default)]
    pub remote_write: Vec<RemoteWriteConfig>,
    #[serde(default)]
    pub scraper: ScraperSettings,
    /// A YACE config, as written for yet-another-cloudwatch-exporter.
    #[serde(default)]
    pub cloudwatch: Option<crate::cloudwatch::config::YaceConfigFile>,
    // Prometheus sections that have no meaning for a scheduled scrape-and-send run.
    #[serde(default)]
    rule_files: Option<yaml_serde::Value>,
    #[serde(default)]
    alerting: Option<yaml_serde::Value>,
    #[serde(default)]
    remote_read: Option<yaml_serde::Value>,
    #[serde(default)]
    storage: Option<yaml_serde::Value>,
    #[serde(default)]
    tracing: Option<yaml_serde::Value>,
}

/// Prometheus' `global` block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    #[serde(default = "default_scrape_timeout")]
    pub scrape_timeout: PromDuration,
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub sample_limit: u64,
    #[serde(default)]
    pub label_limit: u64,
    #[serde(default)]
    pub label_name_length_limit: u64,
    #[serde(default)]
    pub label_value_length_limit: u64,
    #[serde(default)]
    scrape_interval: Option<yaml_serde::Value>,
    #[serde(default)]
    evaluation_interval: Option<yaml_serde::Value>,
    #[serde(default)]
    query_log_file: Option<yaml_serde::Value>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        Self {
            scrape_timeout: default_scrape_timeout(),
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

fn default_scrape_timeout() -> PromDuration {
    PromDuration::from_secs(10)
}

/// One `scrape_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    pub job_name: String,
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    #[serde(default = "default_scheme")]
    pub scheme: String,
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub scrape_timeout: Option<PromDuration>,
    #[serde(default)]
    pub honor_labels: bool,
    #[serde(default = "default_true")]
    pub honor_timestamps: bool,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default)]
    pub authorization: Option<Authorization>,
    #[serde(default)]
    pub bearer_token: Option<String>,
    #[serde(default)]
    pub bearer_token_file: Option<String>,
    #[serde(default)]
    pub tls_config: TlsConfig,
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub sample_limit: Option<u64>,
    #[serde(default)]
    pub label_limit: Option<u64>,
    #[serde(default)]
    pub label_name_length_limit: Option<u64>,
    #[serde(default)]
    pub label_value_length_limit: Option<u64>,
    #[serde(default)]
    scrape_interval: Option<yaml_serde::Value>,
    #[serde(default)]
    follow_redirects: Option<yaml_serde::Value>,
    #[serde(default)]
    enable_http2: Option<yaml_serde::Value>,
}

fn default_metrics_path() -> String {
    "/metrics".into()
}
fn default_scheme() -> String {
    "http".into()
}
fn default_true() -> bool {
    true
}

impl ScrapeConfig {
    /// Authentication and TLS for this job's client.
    pub fn http_settings(&self) -> HttpClientSettings {
        HttpClientSettings::new(
            &self.basic_auth,
            &self.authorization,
            &self.bearer_token,
            &self.bearer_token_file,
            &self.tls_config,
        )
    }
}

/// One `static_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// One `remote_write` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    pub url: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_remote_timeout")]
    pub remote_timeout: PromDuration,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub sigv4: Option<SigV4Config>,
    #[serde(default)]
    pub queue_config: QueueConfig,
    #[serde(default)]
    pub metadata_config: MetadataConfig,
    #[serde(default)]
    pub write_relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default)]
    pub authorization: Option<Authorization>,
    #[serde(default)]
    pub bearer_token: Option<String>,
    #[serde(default)]
    pub bearer_token_file: Option<String>,
    #[serde(default)]
    pub tls_config: TlsConfig,
    /// Per-series limits of the receiver (AMP's defaults); offending series are dropped.
    #[serde(default)]
    pub series_limits: SeriesLimits,
    #[serde(default)]
    send_exemplars: Option<yaml_serde::Value>,
    #[serde(default)]
    send_native_histograms: Option<yaml_serde::Value>,
}

fn default_remote_timeout() -> PromDuration {
    PromDuration::from_secs(30)
}

impl RemoteWriteConfig {
    /// A name for logs and self-metrics: `name`, else the URL.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.url)
    }

    /// Authentication and TLS for this endpoint's client.
    pub fn http_settings(&self) -> HttpClientSettings {
        HttpClientSettings::new(
            &self.basic_auth,
            &self.authorization,
            &self.bearer_token,
            &self.bearer_token_file,
            &self.tls_config,
        )
    }
}

/// `sigv4` as Prometheus writes it; credentials come from the default chain unless
/// static keys or a profile are named.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigV4Config {
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub access_key: Option<String>,
    #[serde(default)]
    pub secret_key: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub role_arn: Option<String>,
}

/// `queue_config`: only the fields that shape a single run's sending are used.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    #[serde(default = "default_max_samples_per_send")]
    pub max_samples_per_send: usize,
    /// Requests in flight at once to this endpoint.
    #[serde(default = "default_max_shards")]
    pub max_shards: usize,
    #[serde(default = "default_min_backoff")]
    pub min_backoff: PromDuration,
    #[serde(default = "default_max_backoff")]
    pub max_backoff: PromDuration,
    #[serde(default = "default_true")]
    pub retry_on_http_429: bool,
    #[serde(default)]
    capacity: Option<yaml_serde::Value>,
    #[serde(default)]
    min_shards: Option<yaml_serde::Value>,
    #[serde(default)]
    batch_send_deadline: Option<yaml_serde::Value>,
    #[serde(default)]
    sample_age_limit: Option<yaml_serde::Value>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            max_samples_per_send: default_max_samples_per_send(),
            max_shards: default_max_shards(),
            min_backoff: default_min_backoff(),
            max_backoff: default_max_backoff(),
            retry_on_http_429: true,
            capacity: None,
            min_shards: None,
            batch_send_deadline: None,
            sample_age_limit: None,
        }
    }
}

fn default_max_samples_per_send() -> usize {
    2000
}
fn default_max_shards() -> usize {
    4
}
fn default_min_backoff() -> PromDuration {
    PromDuration::from_millis(30)
}
fn default_max_backoff() -> PromDuration {
    PromDuration::from_secs(5)
}

/// `metadata_config`: whether TYPE/HELP/UNIT are sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    #[serde(default = "default_true")]
    pub send: bool,
    #[serde(default)]
    send_interval: Option<yaml_serde::Value>,
    #[serde(default)]
    max_samples_per_send: Option<yaml_serde::Value>,
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

/// Per-series limits the receiver enforces; AMP's defaults. A series over a limit is
/// dropped before sending (counted and logged) so it cannot fail a whole request.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SeriesLimits {
    #[serde(default = "default_max_labels")]
    pub max_labels: usize,
    #[serde(default = "default_max_label_name_length")]
    pub max_label_name_length: usize,
    #[serde(default = "default_max_label_value_length")]
    pub max_label_value_length: usize,
}

impl Default for SeriesLimits {
    fn default() -> Self {
        Self {
            max_labels: default_max_labels(),
            max_label_name_length: default_max_label_name_length(),
            max_label_value_length: default_max_label_value_length(),
        }
    }
}

fn default_max_labels() -> usize {
    70
}
fn default_max_label_name_length() -> usize {
    1024
}
fn default_max_label_value_length() -> usize {
    7 * 1024
}

/// Settings only a scheduled scraper needs (not part of Prometheus' format).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScraperSettings {
    /// Targets scraped at once.
    #[serde(default = "default_max_concurrent_scrapes")]
    pub max_concurrent_scrapes: usize,
    /// Prefix of the run's own series (`<prefix>_samples_sent` ...).
    #[serde(default = "default_self_metrics_prefix")]
    pub self_metrics_prefix: String,
    /// Time kept free before the invocation deadline to finish and report.
    #[serde(default = "default_deadline_margin")]
    pub deadline_margin: PromDuration,
    /// The EventBridge schedule's rate: consecutive runs own consecutive
    /// CloudWatch windows of this length.
    #[serde(default = "default_schedule_interval")]
    pub schedule_interval: PromDuration,
}

impl Default for ScraperSettings {
    fn default() -> Self {
        Self {
            max_concurrent_scrapes: default_max_concurrent_scrapes(),
            self_metrics_prefix: default_self_metrics_prefix(),
            deadline_margin: default_deadline_margin(),
            schedule_interval: default_schedule_interval(),
        }
    }
}

fn default_max_concurrent_scrapes() -> usize {
    16
}
fn default_self_metrics_prefix() -> String {
    "scraper".into()
}
fn default_schedule_interval() -> PromDuration {
    PromDuration::from_secs(60)
}
fn default_deadline_margin() -> PromDuration {
    PromDuration::from_millis(1500)
}

/// A parsed and validated configuration, with warnings about accepted-but-ignored fields.
#[derive(Debug)]
pub struct LoadedConfig {
    pub config: Config,
    pub warnings: Vec<String>,
    /// The validated `cloudwatch:` block.
    pub cloudwatch: Option<crate::cloudwatch::config::YaceConfig>,
}

impl Config {
    /// Parses YAML (JSON is YAML too) and validates it.
    pub fn from_yaml(text: &str) -> Result<LoadedConfig, ConfigError> {
        let config: Config = yaml_serde::from_str(text)?;
        config.validate()?;
        let mut warnings: Vec<String> = config.ignored_fields_warning().into_iter().collect();
        let cloudwatch = match &config.cloudwatch {
            Some(file) => {
                let yace = crate::cloudwatch::config::YaceConfig::from_file(
                    file,
                    &crate::cloudwatch::services::resolve,
                )
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
                warnings.extend(yace.warnings.iter().cloned());
                Some(yace)
            }
            None => None,
        };
        Ok(LoadedConfig {
            config,
            warnings,
            cloudwatch,
        })
    }

    /// Reads and validates a config file.
    pub fn from_file(path: &str) -> Result<LoadedConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_string(),
            source,
        })?;
        Self::from_yaml(&text)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = ConfigError::Invalid;
        for name in self.global.external_labels.keys() {
            if !prom::labels::is_valid_label_name(name) {
                return Err(invalid(format!(
                    "global.external_labels: {name:?} is not a valid label name"
                )));
            }
        }
        let mut jobs = BTreeSet::new();
        for (i, sc) in self.scrape_configs.iter().enumerate() {
            let at = format!("scrape_configs[{i}] (job_name {:?})", sc.job_name);
            if sc.job_name.is_empty() {
                return Err(invalid(format!(
                    "scrape_configs[{i}].job_name: must not be empty"
                )));
            }
            if !jobs.insert(sc.job_name.as_str()) {
                return Err(invalid(format!(
                    "{at}.job_name: found multiple scrape configs with job name {:?}",
                    sc.job_name
                )));
            }
            if !matches!(sc.scheme.as_str(), "http" | "https") {
                return Err(invalid(format!(
                    "{at}.scheme: {:?} is not http or https",
                    sc.scheme
                )));
            }
            if !sc.metrics_path.starts_with('/') {
                return Err(invalid(format!(
                    "{at}.metrics_path: {:?} must start with /",
                    sc.metrics_path
                )));
            }
            if sc.bearer_token.is_some() && sc.bearer_token_file.is_some() {
                return Err(invalid(format!(
                    "{at}: at most one of bearer_token and bearer_token_file may be set"
                )));
            }
            if sc.authorization.is_some()
                && (sc.bearer_token.is_some() || sc.bearer_token_file.is_some())
            {
                return Err(invalid(format!(
                    "{at}: authorization is not compatible with bearer_token and bearer_token_file"
                )));
            }
            sc.http_settings().validate(&at).map_err(invalid)?;
            for (j, st) in sc.static_configs.iter().enumerate() {
                for target in &st.targets {
                    validate_target_address(target).map_err(|reason| {
                        invalid(format!(
                            "{at}.static_configs[{j}].targets: {target:?}: {reason}"
                        ))
                    })?;
                }
                for name in st.labels.keys() {
                    if !prom::labels::is_valid_label_name(name) {
                        return Err(invalid(format!(
                            "{at}.static_configs[{j}].labels: {name:?} is not a valid label name"
                        )));
                    }
                }
            }
            Relabeler::new(&sc.relabel_configs)
                .map_err(|e| invalid(format!("{at}.relabel_configs: {e}")))?;
            Relabeler::new(&sc.metric_relabel_configs)
                .map_err(|e| invalid(format!("{at}.metric_relabel_configs: {e}")))?;
        }
        for (i, rw) in self.remote_write.iter().enumerate() {
            let at = format!("remote_write[{i}]");
            let url = reqwest::Url::parse(&rw.url)
                .map_err(|e| invalid(format!("{at}.url: {:?}: {e}", rw.url)))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(invalid(format!("{at}.url: {:?} is not http(s)", rw.url)));
            }
            if rw.queue_config.max_samples_per_send == 0 {
                return Err(invalid(format!(
                    "{at}.queue_config.max_samples_per_send: must be at least 1"
                )));
            }
            if rw.queue_config.max_shards == 0 {
                return Err(invalid(format!(
                    "{at}.queue_config.max_shards: must be at least 1"
                )));
            }
            if rw.queue_config.min_backoff > rw.queue_config.max_backoff {
                return Err(invalid(format!(
                    "{at}.queue_config: min_backoff must not exceed max_backoff"
                )));
            }
            if let Some(s) = &rw.sigv4 {
                if s.access_key.is_some() != s.secret_key.is_some() {
                    return Err(invalid(format!(
                        "{at}.sigv4: access_key and secret_key must be set together"
                    )));
                }
                if rw.basic_auth.is_some()
                    || rw.authorization.is_some()
                    || rw.bearer_token.is_some()
                    || rw.bearer_token_file.is_some()
                {
                    return Err(invalid(format!(
                        "{at}: at most one of basic_auth, authorization, bearer_token and sigv4 may be set"
                    )));
                }
            }
            for header in rw.headers.keys() {
                let lower = header.to_ascii_lowercase();
                if RESERVED_HEADERS.contains(&lower.as_str()) {
                    return Err(invalid(format!(
                        "{at}.headers: {header:?} is a reserved header and cannot be set"
                    )));
                }
            }
            rw.http_settings().validate(&at).map_err(invalid)?;
            Relabeler::new(&rw.write_relabel_configs)
                .map_err(|e| invalid(format!("{at}.write_relabel_configs: {e}")))?;
            if rw.series_limits.max_labels == 0 {
                return Err(invalid(format!(
                    "{at}.series_limits.max_labels: must be at least 1"
                )));
            }
        }
        let s = &self.scraper;
        if s.max_concurrent_scrapes == 0 {
            return Err(invalid(
                "scraper.max_concurrent_scrapes: must be at least 1".into(),
            ));
        }
        if !prom::labels::is_valid_metric_name(&s.self_metrics_prefix) {
            return Err(invalid(format!(
                "scraper.self_metrics_prefix: {:?} is not a valid metric name prefix",
                s.self_metrics_prefix
            )));
        }
        Ok(())
    }

    /// One warning naming every accepted field that a scheduled run ignores.
    fn ignored_fields_warning(&self) -> Option<String> {
        let g = &self.global;
        let mut present: Vec<(bool, String)> = vec![
            (self.rule_files.is_some(), "rule_files".into()),
            (self.alerting.is_some(), "alerting".into()),
            (self.remote_read.is_some(), "remote_read".into()),
            (self.storage.is_some(), "storage".into()),
            (self.tracing.is_some(), "tracing".into()),
            (g.scrape_interval.is_some(), "global.scrape_interval".into()),
            (
                g.evaluation_interval.is_some(),
                "global.evaluation_interval".into(),
            ),
            (g.query_log_file.is_some(), "global.query_log_file".into()),
        ];
        for (i, sc) in self.scrape_configs.iter().enumerate() {
            for (set, field) in [
                (sc.scrape_interval.is_some(), "scrape_interval"),
                (sc.follow_redirects.is_some(), "follow_redirects"),
                (sc.enable_http2.is_some(), "enable_http2"),
            ] {
                present.push((set, format!("scrape_configs[{i}].{field}")));
            }
        }
        for (i, rw) in self.remote_write.iter().enumerate() {
            let (q, m) = (&rw.queue_config, &rw.metadata_config);
            for (set, field) in [
                (q.capacity.is_some(), "queue_config.capacity"),
                (q.min_shards.is_some(), "queue_config.min_shards"),
                (
                    q.batch_send_deadline.is_some(),
                    "queue_config.batch_send_deadline",
                ),
                (
                    q.sample_age_limit.is_some(),
                    "queue_config.sample_age_limit",
                ),
                (m.send_interval.is_some(), "metadata_config.send_interval"),
                (
                    m.max_samples_per_send.is_some(),
                    "metadata_config.max_samples_per_send",
                ),
                (rw.send_exemplars.is_some(), "send_exemplars"),
                (
                    rw.send_native_histograms.is_some(),
                    "send_native_histograms",
                ),
            ] {
                present.push((set, format!("remote_write[{i}].{field}")));
            }
        }
        let ignored: Vec<String> = present
            .into_iter()
            .filter_map(|(set, name)| set.then_some(name))
            .collect();
        (!ignored.is_empty()).then(|| {
            format!(
                "config fields accepted but ignored by a scheduled scraper (each invocation is one scrape and one send): {}",
                ignored.join(", ")
            )
        })
    }
}

/// Headers the remote-write client sets itself; Prometheus refuses them in `headers`.
const RESERVED_HEADERS: [&str; 7] = [
    "host",
    "authorization",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "x-prometheus-remote-write-version",
];

/// A target must be `host:port` or `host` with no scheme or path, as Prometheus requires.
fn validate_target_address(target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err("empty target address".into());
    }
    if target.contains("://") {
        return Err("a target is host:port without a scheme; set scheme instead".into());
    }
    if target.contains('/') {
        return Err("a target is host:port without a path; set metrics_path instead".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
