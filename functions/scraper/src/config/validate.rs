//! From the file as written ([`ConfigFile`]) to the validated [`Config`]: every check
//! Prometheus makes on the fields we use, plus ours. A refusal is a [`FieldError`]
//! naming the field's path (`scrape_configs[0].relabel_configs[1].regex`) and keeping
//! the underlying error (a relabel rule's, a URL's) as its source.

use std::collections::BTreeSet;

use config_error::FieldError;
use prom::relabel::{RelabelConfig, RelabelConfigError, Relabeler};

use super::error::ConfigError;
use super::file::{ConfigFile, RemoteWriteConfig, ScrapeConfig, ScraperSettings};
use super::http::HttpClientSettings;
use super::kubernetes_sd::KubernetesSdConfig;
use super::model::{Config, LoadedConfig};
use crate::cloudwatch::config::YaceConfig;

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

impl Config {
    /// Parses YAML (JSON is YAML too) and validates it.
    pub fn from_yaml(text: &str) -> Result<LoadedConfig, ConfigError> {
        let file: ConfigFile = config_error::from_yaml_str(text)?;
        validate(file)
    }

    /// Reads and validates a config file.
    pub fn from_file(path: &str) -> Result<LoadedConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_string(),
            source,
        })?;
        Self::from_yaml(&text)
    }
}

/// Checks every block, then keeps what a run uses.
fn validate(file: ConfigFile) -> Result<LoadedConfig, ConfigError> {
    for name in file.global.external_labels.keys() {
        label_name(name, "global.external_labels")?;
    }
    let mut jobs = BTreeSet::new();
    for (i, sc) in file.scrape_configs.iter().enumerate() {
        let at = format!("scrape_configs[{i}]");
        scrape_config(sc, &at)?;
        if !jobs.insert(sc.job_name.as_str()) {
            return Err(FieldError::new(
                format!("{at}.job_name"),
                format!(
                    "found multiple scrape configs with job name {:?}",
                    sc.job_name
                ),
            )
            .into());
        }
    }
    for (i, rw) in file.remote_write.iter().enumerate() {
        remote_write(rw, &format!("remote_write[{i}]"))?;
    }
    scraper_settings(&file.scraper)?;
    let mut warnings: Vec<String> = ignored_fields_warning(&file).into_iter().collect();
    let cloudwatch = match &file.cloudwatch {
        Some(written) => {
            let yace = YaceConfig::from_file(written, &crate::cloudwatch::services::resolve)
                .map_err(|e| e.under("cloudwatch"))?;
            warnings.extend(yace.warnings.iter().cloned());
            Some(yace)
        }
        None => None,
    };
    Ok(LoadedConfig {
        config: Config {
            global: file.global,
            scrape_configs: file.scrape_configs,
            remote_write: file.remote_write,
            scraper: file.scraper,
        },
        warnings,
        cloudwatch,
    })
}

fn label_name(name: &str, at: &str) -> Result<(), FieldError> {
    if prom::labels::is_valid_label_name(name) {
        Ok(())
    } else {
        Err(FieldError::new(
            at,
            format!("{name:?} is not a valid label name"),
        ))
    }
}

fn scrape_config(sc: &ScrapeConfig, at: &str) -> Result<(), FieldError> {
    let field = |name: &str| format!("{at}.{name}");
    if sc.job_name.is_empty() {
        return Err(FieldError::new(field("job_name"), "must not be empty"));
    }
    if !matches!(sc.scheme.as_str(), "http" | "https") {
        return Err(FieldError::new(
            field("scheme"),
            format!("{:?} is not http or https", sc.scheme),
        ));
    }
    if !sc.metrics_path.starts_with('/') {
        return Err(FieldError::new(
            field("metrics_path"),
            format!("{:?} must start with /", sc.metrics_path),
        ));
    }
    deprecated_bearer(
        &sc.authorization,
        &sc.bearer_token,
        &sc.bearer_token_file,
        at,
    )?;
    http_client(&sc.http_settings(), at)?;
    if let Some(eks) = &sc.eks {
        eks.validate(&field("eks"))?;
        let settings = sc.http_settings();
        if settings != HttpClientSettings::default() {
            return Err(FieldError::new(
                at,
                "with eks the token and CA come from EKS; remove authorization, basic_auth, bearer_token(_file) and tls_config",
            ));
        }
        if sc.scheme != "https" {
            return Err(FieldError::new(
                field("scheme"),
                "must be https with eks: the API server is only reached over TLS",
            ));
        }
    }
    for (j, st) in sc.static_configs.iter().enumerate() {
        let at = field(&format!("static_configs[{j}]"));
        for (k, target) in st.targets.iter().enumerate() {
            target_address(target).map_err(|reason| {
                FieldError::new(
                    format!("{at}.targets[{k}]"),
                    format!("{target:?}: {reason}"),
                )
            })?;
        }
        for name in st.labels.keys() {
            label_name(name, &format!("{at}.labels"))?;
        }
    }
    for (j, sd) in sc.kubernetes_sd_configs.iter().enumerate() {
        kubernetes_sd(sd, &field(&format!("kubernetes_sd_configs[{j}]")))?;
    }
    for (j, sd) in sc.ec2_sd_configs.iter().enumerate() {
        sd.validate(&field(&format!("ec2_sd_configs[{j}]")))?;
    }
    for (j, sd) in sc.aws_sd_configs.iter().enumerate() {
        sd.validate(&field(&format!("aws_sd_configs[{j}]")))?;
    }
    relabel_configs(&sc.relabel_configs, &field("relabel_configs"))?;
    relabel_configs(&sc.metric_relabel_configs, &field("metric_relabel_configs"))
}

/// Prometheus' checks of a `kubernetes_sd_configs` entry, and ours for running
/// outside the cluster: an API server must be named (`api_server` or `eks`), and
/// what only makes sense inside a pod is refused with the reason.
fn kubernetes_sd(sd: &KubernetesSdConfig, at: &str) -> Result<(), FieldError> {
    let field = |name: &str| format!("{at}.{name}");
    let Some(role) = sd.role else {
        return Err(FieldError::new(
            field("role"),
            "missing (one of: pod, service, endpoints, endpointslice, node, ingress)",
        ));
    };
    if sd.kubeconfig_file.is_some() {
        return Err(FieldError::new(
            field("kubeconfig_file"),
            "not supported: a Lambda function has no kubeconfig; set api_server (with authorization and tls_config) or eks",
        ));
    }
    if sd.namespaces.own_namespace.is_some() {
        return Err(FieldError::new(
            field("namespaces.own_namespace"),
            "not supported: a Lambda function runs in no namespace; list the namespaces in names",
        ));
    }
    match (&sd.api_server, &sd.eks) {
        (Some(_), Some(_)) => {
            return Err(FieldError::new(
                at,
                "set either api_server or eks (endpoint and CA from DescribeCluster), not both",
            ))
        }
        (None, None) => {
            return Err(FieldError::new(
                at,
                "api_server or eks is required: the scraper runs outside the cluster, with no in-cluster service account",
            ))
        }
        (Some(url), None) => {
            let parsed = reqwest::Url::parse(url).map_err(|e| {
                FieldError::new(field("api_server"), format!("{url:?} is not a URL")).caused_by(e)
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(FieldError::new(
                    field("api_server"),
                    format!("{url:?} is not an http(s) URL with a host"),
                ));
            }
        }
        (None, Some(eks)) => {
            eks.validate(&field("eks"))?;
            if sd.has_client_fields() {
                return Err(FieldError::new(
                    at,
                    "with eks the token and CA come from EKS; authorization, basic_auth, bearer_token(_file) and tls_config go with api_server",
                ));
            }
        }
    }
    deprecated_bearer(
        &sd.authorization,
        &sd.bearer_token,
        &sd.bearer_token_file,
        at,
    )?;
    http_client(&sd.http_settings(), at)?;
    let mut seen = Vec::new();
    for (k, selector) in sd.selectors.iter().enumerate() {
        let at = field(&format!("selectors[{k}]"));
        let Some(selector_role) = selector.role else {
            return Err(FieldError::new(format!("{at}.role"), "missing"));
        };
        if !role.selector_roles().contains(&selector_role) {
            return Err(FieldError::new(
                format!("{at}.role"),
                format!(
                    "{} is not allowed for role {}: allowed are {}",
                    selector_role.as_str(),
                    role.as_str(),
                    role.selector_roles()
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if seen.contains(&selector_role) {
            return Err(FieldError::new(
                format!("{at}.role"),
                format!("duplicated selector role: {}", selector_role.as_str()),
            ));
        }
        seen.push(selector_role);
    }
    for (k, name) in sd.namespaces.names.iter().enumerate() {
        if name.is_empty() || name.contains('/') {
            return Err(FieldError::new(
                field(&format!("namespaces.names[{k}]")),
                format!("{name:?} is not a namespace name"),
            ));
        }
    }
    Ok(())
}

/// A target must be `host:port` or `host` with no scheme or path, as Prometheus
/// requires; the reason when it is not.
fn target_address(target: &str) -> Result<(), &'static str> {
    if target.is_empty() {
        return Err("empty target address");
    }
    if target.contains("://") {
        return Err("a target is host:port without a scheme; set scheme instead");
    }
    if target.contains('/') {
        return Err("a target is host:port without a path; set metrics_path instead");
    }
    Ok(())
}

/// Compiles each rule on its own so a refusal names the rule (and its `regex` when
/// that is what does not compile); the relabel error is kept as the cause.
fn relabel_configs(rules: &[RelabelConfig], at: &str) -> Result<(), FieldError> {
    for (i, rule) in rules.iter().enumerate() {
        if let Err(e) = Relabeler::new(std::slice::from_ref(rule)) {
            let (at, reason) = match e {
                RelabelConfigError::Regex { .. } => (
                    format!("{at}[{i}].regex"),
                    "is not a valid regular expression",
                ),
                _ => (format!("{at}[{i}]"), "is not a valid relabel rule"),
            };
            return Err(FieldError::new(at, reason).caused_by(e));
        }
    }
    Ok(())
}

fn remote_write(rw: &RemoteWriteConfig, at: &str) -> Result<(), FieldError> {
    let field = |name: &str| format!("{at}.{name}");
    if rw.url.is_empty() {
        return Err(FieldError::new(field("url"), "must be set"));
    }
    let url = reqwest::Url::parse(&rw.url).map_err(|e| {
        FieldError::new(field("url"), format!("{:?} is not a URL", rw.url)).caused_by(e)
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FieldError::new(
            field("url"),
            format!("{:?} is not http(s)", rw.url),
        ));
    }
    let q = &rw.queue_config;
    if q.max_samples_per_send == 0 {
        return Err(FieldError::new(
            field("queue_config.max_samples_per_send"),
            "must be at least 1",
        ));
    }
    if q.max_shards == 0 {
        return Err(FieldError::new(
            field("queue_config.max_shards"),
            "must be at least 1",
        ));
    }
    if q.min_backoff > q.max_backoff {
        return Err(FieldError::new(
            field("queue_config"),
            "min_backoff must not exceed max_backoff",
        ));
    }
    if let Some(s) = &rw.sigv4 {
        if s.access_key.is_some() != s.secret_key.is_some() {
            return Err(FieldError::new(
                field("sigv4"),
                "access_key and secret_key must be set together",
            ));
        }
        if rw.basic_auth.is_some()
            || rw.authorization.is_some()
            || rw.bearer_token.is_some()
            || rw.bearer_token_file.is_some()
        {
            return Err(FieldError::new(
                at,
                "at most one of basic_auth, authorization, bearer_token and sigv4 may be set",
            ));
        }
    }
    for header in rw.headers.keys() {
        if RESERVED_HEADERS.contains(&header.to_ascii_lowercase().as_str()) {
            return Err(FieldError::new(
                format!("{at}.headers.{header}"),
                "is a reserved header and cannot be set",
            ));
        }
    }
    http_client(&rw.http_settings(), at)?;
    relabel_configs(&rw.write_relabel_configs, &field("write_relabel_configs"))?;
    if rw.series_limits.max_labels == 0 {
        return Err(FieldError::new(
            field("series_limits.max_labels"),
            "must be at least 1",
        ));
    }
    Ok(())
}

/// Prometheus' checks of the deprecated `bearer_token(_file)` fields, before they are
/// folded into `authorization` (which [`http_client`] then checks).
fn deprecated_bearer(
    authorization: &Option<crate::config::Authorization>,
    bearer_token: &Option<String>,
    bearer_token_file: &Option<String>,
    at: &str,
) -> Result<(), FieldError> {
    if bearer_token.is_some() && bearer_token_file.is_some() {
        return Err(FieldError::new(
            at,
            "at most one of bearer_token and bearer_token_file may be set",
        ));
    }
    if authorization.is_some() && (bearer_token.is_some() || bearer_token_file.is_some()) {
        return Err(FieldError::new(
            at,
            "authorization is not compatible with bearer_token and bearer_token_file",
        ));
    }
    Ok(())
}

/// The client setting combinations Prometheus refuses; `at` names the config block.
fn http_client(settings: &HttpClientSettings, at: &str) -> Result<(), FieldError> {
    let field = |name: &str| format!("{at}.{name}");
    if settings.basic_auth.is_some() && settings.authorization.is_some() {
        return Err(FieldError::new(
            at,
            "at most one of basic_auth, authorization and bearer_token/bearer_token_file may be set",
        ));
    }
    if let Some(b) = &settings.basic_auth {
        if b.password.is_some() && b.password_file.is_some() {
            return Err(FieldError::new(
                field("basic_auth"),
                "at most one of password and password_file may be set",
            ));
        }
    }
    if let Some(a) = &settings.authorization {
        if a.credentials.is_some() && a.credentials_file.is_some() {
            return Err(FieldError::new(
                field("authorization"),
                "at most one of credentials and credentials_file may be set",
            ));
        }
        if a.auth_type.eq_ignore_ascii_case("basic") {
            return Err(FieldError::new(
                field("authorization.type"),
                "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
            ));
        }
    }
    let t = &settings.tls_config;
    for (inline, file, name) in [
        (&t.ca, &t.ca_file, "ca"),
        (&t.cert, &t.cert_file, "cert"),
        (&t.key, &t.key_file, "key"),
    ] {
        if inline.is_some() && file.is_some() {
            return Err(FieldError::new(
                field("tls_config"),
                format!("at most one of {name} and {name}_file may be set"),
            ));
        }
    }
    let has_cert = t.cert.is_some() || t.cert_file.is_some();
    let has_key = t.key.is_some() || t.key_file.is_some();
    if has_cert != has_key {
        return Err(FieldError::new(
            field("tls_config"),
            "client cert and key must be configured together",
        ));
    }
    if t.server_name.is_some() {
        return Err(FieldError::new(
            field("tls_config.server_name"),
            "not supported; the URL's host name is used for SNI and verification",
        ));
    }
    if let Some(v) = &t.min_version {
        if !matches!(v.as_str(), "TLS12" | "TLS13") {
            return Err(FieldError::new(
                field("tls_config.min_version"),
                format!("{v:?} is not supported (TLS12 or TLS13)"),
            ));
        }
    }
    Ok(())
}

fn scraper_settings(s: &ScraperSettings) -> Result<(), FieldError> {
    if s.max_concurrent_scrapes == 0 {
        return Err(FieldError::new(
            "scraper.max_concurrent_scrapes",
            "must be at least 1",
        ));
    }
    if !prom::labels::is_valid_metric_name(&s.self_metrics_prefix) {
        return Err(FieldError::new(
            "scraper.self_metrics_prefix",
            format!(
                "{:?} is not a valid metric name prefix",
                s.self_metrics_prefix
            ),
        ));
    }
    for (field, value) in [
        ("job", &s.self_metrics.job),
        ("instance", &s.self_metrics.instance),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(FieldError::new(
                format!("scraper.self_metrics.{field}"),
                "must not be empty (leave it out for the default)",
            ));
        }
    }
    if let Some(state) = &s.state {
        if state.s3.bucket.trim().is_empty() {
            return Err(FieldError::new(
                "scraper.state.s3.bucket",
                "must name a bucket",
            ));
        }
        if state.s3.prefix.starts_with('/') {
            return Err(FieldError::new(
                "scraper.state.s3.prefix",
                format!(
                    "{:?} starts with '/': S3 keys have no leading slash",
                    state.s3.prefix
                ),
            ));
        }
    }
    Ok(())
}

/// One warning naming every accepted field that a scheduled run ignores.
fn ignored_fields_warning(file: &ConfigFile) -> Option<String> {
    let g = &file.global;
    let mut present: Vec<(bool, String)> = vec![
        (file.rule_files.is_some(), "rule_files".into()),
        (file.alerting.is_some(), "alerting".into()),
        (file.remote_read.is_some(), "remote_read".into()),
        (file.storage.is_some(), "storage".into()),
        (file.tracing.is_some(), "tracing".into()),
        (g.scrape_interval.is_some(), "global.scrape_interval".into()),
        (
            g.evaluation_interval.is_some(),
            "global.evaluation_interval".into(),
        ),
        (g.query_log_file.is_some(), "global.query_log_file".into()),
    ];
    for (i, sc) in file.scrape_configs.iter().enumerate() {
        for (set, field) in [
            (sc.scrape_interval.is_some(), "scrape_interval"),
            (sc.follow_redirects.is_some(), "follow_redirects"),
            (sc.enable_http2.is_some(), "enable_http2"),
        ] {
            present.push((set, format!("scrape_configs[{i}].{field}")));
        }
        for (j, sd) in sc.ec2_sd_configs.iter().enumerate() {
            for (set, field) in [
                (sd.refresh_interval.is_some(), "refresh_interval"),
                (sd.follow_redirects.is_some(), "follow_redirects"),
                (sd.enable_http2.is_some(), "enable_http2"),
            ] {
                present.push((
                    set,
                    format!("scrape_configs[{i}].ec2_sd_configs[{j}].{field}"),
                ));
            }
        }
        for (j, sd) in sc.aws_sd_configs.iter().enumerate() {
            for (set, field) in [
                (sd.refresh_interval.is_some(), "refresh_interval"),
                (sd.follow_redirects.is_some(), "follow_redirects"),
                (sd.enable_http2.is_some(), "enable_http2"),
            ] {
                present.push((
                    set,
                    format!("scrape_configs[{i}].aws_sd_configs[{j}].{field}"),
                ));
            }
        }
    }
    for (i, rw) in file.remote_write.iter().enumerate() {
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
