//! `ec2_sd_configs` and `aws_sd_configs` as Prometheus writes them (2.42's EC2 schema,
//! 3.8's unified AWS schema with `role: ec2` and `role: ecs`), plus the scraper's
//! `container_targets:` block, which turns an ECS task into one target per exporter
//! container (from its docker labels) instead of Prometheus' one target per task at
//! one port.
//!
//! Every entry is listed afresh at the start of each run (a Lambda keeps nothing
//! between runs), so `refresh_interval` is accepted and ignored.

use config_error::FieldError;
use serde::Deserialize;

/// One `ec2_sd_configs` entry, or the shared fields of an `aws_sd_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ec2SdConfig {
    /// The region whose instances are listed. Default: the function's own region
    /// (`AWS_REGION`).
    pub region: Option<String>,
    /// A custom EC2 API endpoint (`https://...`). Default: the region's.
    pub endpoint: Option<String>,
    /// A static access key id; with `secret_key`. Default: the function's role.
    pub access_key: Option<String>,
    /// The static secret key going with `access_key`. Default: none.
    pub secret_key: Option<String>,
    /// Refused: a Lambda function has no shared AWS config file; use `role_arn`.
    pub(super) profile: Option<String>,
    /// A role to assume for the calls (cross-account discovery). Default: none.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for (Prometheus 3.12). Needs
    /// `role_arn`. Default: none.
    pub external_id: Option<String>,
    /// The port of every target (`private_ip:port`). Default: 80.
    pub port: u16,
    /// DescribeInstances filters (`tag:env`, `instance-state-name` ...), passed as
    /// written: values within one filter are ORed, filters are ANDed. Default: none.
    pub filters: Vec<Ec2Filter>,
    /// Accepted and ignored: every run lists afresh.
    pub(super) refresh_interval: Option<yaml_serde::Value>,
    /// Accepted and ignored: the AWS SDK's own HTTPS client is used.
    pub(super) follow_redirects: Option<yaml_serde::Value>,
    /// Accepted and ignored: the AWS SDK's own HTTPS client is used.
    pub(super) enable_http2: Option<yaml_serde::Value>,
}

impl Default for Ec2SdConfig {
    fn default() -> Self {
        Self {
            region: None,
            endpoint: None,
            access_key: None,
            secret_key: None,
            profile: None,
            role_arn: None,
            external_id: None,
            port: 80,
            filters: Vec::new(),
            refresh_interval: None,
            follow_redirects: None,
            enable_http2: None,
        }
    }
}

/// One EC2 `filters` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ec2Filter {
    /// The filter's name (`tag:env`, `instance-state-name`, `vpc-id` ...). Required.
    pub name: String,
    /// The values, any of which matches. At least one.
    pub values: Vec<String>,
}

/// One `aws_sd_configs` entry (Prometheus 3.8 and later).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsSdConfig {
    /// `ec2` (instances, as `ec2_sd_configs`) or `ecs` (tasks). Prometheus' other
    /// roles (`lightsail`, `msk`, `elasticache`, `rds`) are refused by name.
    /// Required.
    pub role: Option<String>,
    /// The region. Default: the function's own region (`AWS_REGION`).
    pub region: Option<String>,
    /// A custom API endpoint (`https://...`) for the role's service. Default: the
    /// region's.
    pub endpoint: Option<String>,
    /// A static access key id; with `secret_key`. Default: the function's role.
    pub access_key: Option<String>,
    /// The static secret key going with `access_key`. Default: none.
    pub secret_key: Option<String>,
    /// Refused: a Lambda function has no shared AWS config file; use `role_arn`.
    pub(super) profile: Option<String>,
    /// A role to assume for the calls (cross-account discovery). Default: none.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for. Needs `role_arn`.
    /// Default: none.
    pub external_id: Option<String>,
    /// The port of every target (`ip:port`); with `container_targets` each
    /// container's own port is used instead. Default: 80.
    pub port: u16,
    /// `role: ec2`: DescribeInstances filters, as in `ec2_sd_configs`. Default: none.
    pub filters: Vec<Ec2Filter>,
    /// `role: ecs`: the clusters, by name or ARN. Default: every cluster of the
    /// region (ListClusters).
    pub clusters: Vec<String>,
    /// Ours, `role: ecs`: one target per container that carries the exporter docker
    /// labels (port, path, scheme), instead of one target per task at `port`.
    /// Default: off.
    pub container_targets: Option<ContainerTargets>,
    /// Accepted and ignored: every run lists afresh.
    pub(super) refresh_interval: Option<yaml_serde::Value>,
    /// Accepted and ignored: the AWS SDK's own HTTPS client is used.
    pub(super) follow_redirects: Option<yaml_serde::Value>,
    /// Accepted and ignored: the AWS SDK's own HTTPS client is used.
    pub(super) enable_http2: Option<yaml_serde::Value>,
}

impl Default for AwsSdConfig {
    fn default() -> Self {
        Self {
            role: None,
            region: None,
            endpoint: None,
            access_key: None,
            secret_key: None,
            profile: None,
            role_arn: None,
            external_id: None,
            port: 80,
            filters: Vec::new(),
            clusters: Vec::new(),
            container_targets: None,
            refresh_interval: None,
            follow_redirects: None,
            enable_http2: None,
        }
    }
}

impl AwsSdConfig {
    /// The fields an EC2 discovery reads, for `role: ec2`.
    pub fn as_ec2(&self) -> Ec2SdConfig {
        Ec2SdConfig {
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            profile: self.profile.clone(),
            role_arn: self.role_arn.clone(),
            external_id: self.external_id.clone(),
            port: self.port,
            filters: self.filters.clone(),
            refresh_interval: None,
            follow_redirects: None,
            enable_http2: None,
        }
    }

    /// Where and as whom the calls go.
    pub fn access(&self) -> AwsAccess {
        AwsAccess {
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            role_arn: self.role_arn.clone(),
            external_id: self.external_id.clone(),
        }
    }
}

impl Ec2SdConfig {
    /// Where and as whom the calls go.
    pub fn access(&self) -> AwsAccess {
        AwsAccess {
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            role_arn: self.role_arn.clone(),
            external_id: self.external_id.clone(),
        }
    }
}

/// The AWS fields shared by every discovery entry: region, endpoint, credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AwsAccess {
    /// The region; `None` = the function's own.
    pub region: Option<String>,
    /// A custom endpoint.
    pub endpoint: Option<String>,
    /// Static credentials: access key id.
    pub access_key: Option<String>,
    /// Static credentials: secret key.
    pub secret_key: Option<String>,
    /// A role to assume.
    pub role_arn: Option<String>,
    /// Its external id.
    pub external_id: Option<String>,
}

/// `container_targets:` (ours): which docker labels of a container definition make
/// the container a target. The defaults are the names of the community's ECS
/// discovery tools (prometheus-ecs-discovery), so task definitions labelled for
/// them need no change.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ContainerTargets {
    /// The label holding the exporter's container port; a container without it is
    /// not a target. Default: `PROMETHEUS_EXPORTER_PORT`.
    pub port_label: String,
    /// The label holding the metrics path (`__metrics_path__`). Default:
    /// `PROMETHEUS_EXPORTER_PATH`; without it the job's `metrics_path`.
    pub path_label: String,
    /// The label holding the scheme (`__scheme__`, `http` or `https`). Default:
    /// `PROMETHEUS_EXPORTER_SCHEME`; without it the job's `scheme`.
    pub scheme_label: String,
    /// The label holding a `job` label value for the container's series. Default:
    /// `PROMETHEUS_EXPORTER_JOB_NAME`; without it the scrape config's `job_name`.
    pub job_label: String,
}

impl Default for ContainerTargets {
    fn default() -> Self {
        Self {
            port_label: "PROMETHEUS_EXPORTER_PORT".into(),
            path_label: "PROMETHEUS_EXPORTER_PATH".into(),
            scheme_label: "PROMETHEUS_EXPORTER_SCHEME".into(),
            job_label: "PROMETHEUS_EXPORTER_JOB_NAME".into(),
        }
    }
}

/// The `aws_sd_configs` roles the scraper serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsRole {
    /// EC2 instances.
    Ec2,
    /// ECS tasks (and with `container_targets`, their exporter containers).
    Ecs,
}

impl AwsRole {
    /// The name as written in configs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            AwsRole::Ec2 => "ec2",
            AwsRole::Ecs => "ecs",
        }
    }
}

/// Prometheus' `aws_sd_configs` roles the scraper does not serve: refused by name.
const UNSERVED_ROLES: [&str; 4] = ["lightsail", "msk", "elasticache", "rds"];

impl AwsAccess {
    /// Checks shared by every AWS discovery entry at `at`.
    fn validate(&self, profile: &Option<String>, at: &str) -> Result<(), FieldError> {
        let field = |name: &str| format!("{at}.{name}");
        if profile.is_some() {
            return Err(FieldError::new(
                field("profile"),
                "not supported: a Lambda function has no shared AWS config file; use its role, or role_arn",
            ));
        }
        match (&self.access_key, &self.secret_key) {
            (Some(_), None) => {
                return Err(FieldError::new(
                    field("secret_key"),
                    "missing: access_key is set",
                ))
            }
            (None, Some(_)) => {
                return Err(FieldError::new(
                    field("access_key"),
                    "missing: secret_key is set",
                ))
            }
            _ => {}
        }
        if self.external_id.is_some() && self.role_arn.is_none() {
            return Err(FieldError::new(
                field("external_id"),
                "needs role_arn: it is sent when assuming that role",
            ));
        }
        if let Some(region) = &self.region {
            if region.is_empty() {
                return Err(FieldError::new(field("region"), "empty"));
            }
        }
        if let Some(endpoint) = &self.endpoint {
            let parsed = reqwest::Url::parse(endpoint).map_err(|e| {
                FieldError::new(field("endpoint"), format!("{endpoint:?} is not a URL"))
                    .caused_by(e)
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(FieldError::new(
                    field("endpoint"),
                    format!("{endpoint:?} is not an http(s) URL with a host"),
                ));
            }
        }
        Ok(())
    }
}

/// Prometheus' check of EC2 filters, and ours that each has a name.
fn validate_filters(filters: &[Ec2Filter], at: &str) -> Result<(), FieldError> {
    for (i, filter) in filters.iter().enumerate() {
        if filter.name.is_empty() {
            return Err(FieldError::new(
                format!("{at}.filters[{i}].name"),
                "missing",
            ));
        }
        if filter.values.is_empty() {
            return Err(FieldError::new(
                format!("{at}.filters[{i}].values"),
                "filter values cannot be empty",
            ));
        }
    }
    Ok(())
}

impl Ec2SdConfig {
    /// Prometheus' checks of an `ec2_sd_configs` entry at `at`, and ours.
    pub fn validate(&self, at: &str) -> Result<(), FieldError> {
        self.access().validate(&self.profile, at)?;
        validate_filters(&self.filters, at)
    }
}

impl AwsSdConfig {
    /// The role; `None` before validation.
    pub fn role(&self) -> Option<AwsRole> {
        match self.role.as_deref() {
            Some("ec2") => Some(AwsRole::Ec2),
            Some("ecs") => Some(AwsRole::Ecs),
            _ => None,
        }
    }

    /// Prometheus' checks of an `aws_sd_configs` entry at `at`, and ours: a role we
    /// serve, and no field of the other role (it would silently do nothing).
    pub fn validate(&self, at: &str) -> Result<(), FieldError> {
        let field = |name: &str| format!("{at}.{name}");
        let role = match (self.role(), self.role.as_deref()) {
            (Some(role), _) => role,
            (None, None) => {
                return Err(FieldError::new(field("role"), "missing (one of: ec2, ecs)"))
            }
            (None, Some(name)) if UNSERVED_ROLES.contains(&name) => {
                return Err(FieldError::new(
                    field("role"),
                    format!(
                    "{name:?} is a Prometheus role the scraper does not serve (served: ec2, ecs)"
                ),
                ))
            }
            (None, Some(name)) => {
                return Err(FieldError::new(
                    field("role"),
                    format!("unknown AWS SD role {name:?} (one of: ec2, ecs)"),
                ))
            }
        };
        self.access().validate(&self.profile, at)?;
        match role {
            AwsRole::Ec2 => {
                if !self.clusters.is_empty() {
                    return Err(FieldError::new(field("clusters"), "only for role ecs"));
                }
                if self.container_targets.is_some() {
                    return Err(FieldError::new(
                        field("container_targets"),
                        "only for role ecs",
                    ));
                }
                validate_filters(&self.filters, at)
            }
            AwsRole::Ecs => {
                if !self.filters.is_empty() {
                    return Err(FieldError::new(field("filters"), "only for role ec2"));
                }
                for (i, cluster) in self.clusters.iter().enumerate() {
                    if cluster.is_empty() {
                        return Err(FieldError::new(format!("{at}.clusters[{i}]"), "empty"));
                    }
                }
                if let Some(labels) = &self.container_targets {
                    for (name, value) in [
                        ("port_label", &labels.port_label),
                        ("path_label", &labels.path_label),
                        ("scheme_label", &labels.scheme_label),
                        ("job_label", &labels.job_label),
                    ] {
                        if value.is_empty() {
                            return Err(FieldError::new(
                                format!("{at}.container_targets.{name}"),
                                "empty",
                            ));
                        }
                    }
                }
                Ok(())
            }
        }
    }
}
