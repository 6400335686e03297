//! The scraper's configuration: Prometheus' own `global`, `scrape_configs` and
//! `remote_write` YAML, accepted as users already write it, plus a `scraper` block for
//! what only a scheduled function needs and a `cloudwatch` block in YACE's format.
//! Validated up front: every error names the field's path and the reason, so a broken
//! config never reaches a scrape.
//!
//! - `file.rs`: the shapes as written (serde), with their defaults;
//! - `http.rs`: the client authentication and TLS shapes shared by every block;
//! - `kubernetes_sd.rs`: `kubernetes_sd_configs`, with the scraper's `eks:` block;
//! - `aws_sd.rs`: `ec2_sd_configs` and `aws_sd_configs`, with `container_targets:`;
//! - `model.rs`: the validated [`Config`] the rest of the crate reads;
//! - `validate.rs`: the checks that turn the one into the other;
//! - `error.rs`: [`ConfigError`].

mod aws_sd;
mod error;
mod file;
mod http;
mod kubernetes_sd;
mod model;
mod state;
mod validate;

pub use aws_sd::{AwsAccess, AwsRole, AwsSdConfig, ContainerTargets, Ec2Filter, Ec2SdConfig};
pub use error::ConfigError;
pub use file::{
    ConfigFile, GlobalConfig, MetadataConfig, OpenMetricsValidation, QueueConfig,
    RemoteWriteConfig, ScrapeConfig, ScraperSettings, SelfMetricsSettings, SeriesLimits,
    SigV4Config, StaticConfig,
};
pub use http::{Authorization, BasicAuth, HttpClientSettings, TlsConfig};
pub use kubernetes_sd::{
    AttachMetadata, KubernetesSdConfig, NamespaceDiscovery, Role, SelectorConfig,
};
pub use model::{Config, LoadedConfig};
pub use prom::duration::{parse_duration, PromDuration};
pub use state::{S3StateLocation, StateSettings};

#[cfg(test)]
mod tests;
