//! YACE's configuration (`apiVersion: v1alpha1`), accepted as users write it for
//! yet-another-cloudwatch-exporter so they can paste it under `cloudwatch:`:
//! `sts-region`, `discovery` (`exportedTagsOnMetrics`, `jobs`), `static` and
//! `customNamespace` jobs. Job-level metric settings are inherited by each metric;
//! the older form (`region`, `awsDimensions`, `enableMetricData`) is accepted with a
//! deprecation warning; unknown fields are errors naming the field.
//!
//! - `file.rs`: the block as written ([`YaceConfigFile`]);
//! - `model.rs`: the validated [`YaceConfig`] the collector reads;
//! - `validate.rs`: [`YaceConfig::from_file`], YACE's checks and inheritance.

mod file;
mod model;
mod validate;

pub use file::{
    CustomNamespaceFile, DimensionFile, DiscoveryFile, DiscoveryJobFile, MetricFields, MetricFile,
    RoleFile, StaticJobFile, TagFile, YaceConfigFile,
};
pub use model::{
    Job, JobKind, MetricSpec, Role, SearchTag, Statistic, YaceConfig, DEFAULT_LENGTH_SECONDS,
    DEFAULT_PERIOD_SECONDS,
};
pub use validate::ResolveService;

#[cfg(test)]
mod tests;
