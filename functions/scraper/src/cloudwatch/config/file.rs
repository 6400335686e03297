//! The `cloudwatch:` block as written: YACE's config format (`apiVersion: v1alpha1`),
//! field for field, so a YACE config can be pasted as it is. Unknown fields are
//! refused. Field names and defaults are YACE's unless a field says otherwise;
//! `validate.rs` turns these into the model of `model.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The `cloudwatch:` block as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct YaceConfigFile {
    /// `apiVersion`: only `v1alpha1` is known. Default: unset (taken as `v1alpha1`).
    #[serde(rename = "apiVersion")]
    pub api_version: Option<String>,
    /// `sts-region`: the region of the STS endpoint used to assume job roles.
    /// Default: the function's region.
    #[serde(rename = "sts-region")]
    pub sts_region: Option<String>,
    /// `discovery`: jobs whose resources are found through the tagging API.
    pub discovery: DiscoveryFile,
    /// `static`: jobs on fixed dimensions. Default: none.
    #[serde(rename = "static")]
    pub static_jobs: Vec<StaticJobFile>,
    /// `customNamespace`: jobs on a namespace without taggable resources. Default:
    /// none.
    #[serde(rename = "customNamespace")]
    pub custom_namespace: Vec<CustomNamespaceFile>,
    /// `enable-feature`: YACE's `-enable-feature` command-line flags, written here
    /// because a Lambda has no command line; entries may be comma-separated as on
    /// YACE's command line. Known: `always-return-info-metrics` (info series for a
    /// job's resources even when the job got no metric data). Others are warned about
    /// and ignored. Default: none.
    #[serde(rename = "enable-feature")]
    pub enable_feature: Vec<String>,
}

/// `discovery`: tag-discovered jobs and the tags exported on their series.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct DiscoveryFile {
    /// Namespace -> tag keys exported as `tag_<Key>` labels on that namespace's
    /// series. Each namespace must be a discovery job's. Default: none.
    pub exported_tags_on_metrics: BTreeMap<String, Vec<String>>,
    /// The discovery jobs. Default: none.
    pub jobs: Vec<DiscoveryJobFile>,
}

/// `{key, value}`: for `searchTags` the value is a regex matched anywhere in the tag's value (unanchored, as in YACE: write `^prod$` for exactly `prod`), for
/// `customTags` a literal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagFile {
    /// The tag key (for `customTags`, the label name). Required.
    pub key: String,
    /// The tag value: a regex that must match the whole value for `searchTags`, the
    /// label value for `customTags`. Default: empty.
    #[serde(default)]
    pub value: String,
}

/// A role to assume for a job's API calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct RoleFile {
    /// The role's ARN. Default: empty = the function's own credentials.
    pub role_arn: String,
    /// The external id the role's trust policy asks for. Default: none; needs
    /// `roleArn`.
    pub external_id: String,
}

/// Settings a job gives its metrics; each metric may override them. A period or
/// length of 0 counts as unset (YACE's rule).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct MetricFields {
    /// Statistics requested (`Average`, `Sum`, `p99`...). Default: the job's; a
    /// metric must end up with at least one.
    pub statistics: Vec<String>,
    /// CloudWatch period in seconds (1, 5, 10, 30 or a multiple of 60). Default: 300.
    pub period: Option<u64>,
    /// How far back each query looks, seconds; at least the period. Default: 300.
    pub length: Option<u64>,
    /// Seconds the query window ends before now, for late data. Default: 0.
    pub delay: Option<u64>,
    /// Report 0 instead of no sample when CloudWatch has no data. Default: false.
    pub nil_to_zero: Option<bool>,
    /// Stamp samples with CloudWatch's timestamp rather than the run's. Default:
    /// false.
    pub add_cloudwatch_timestamp: Option<bool>,
    /// Send every data point of the window, not only the latest; needs
    /// `addCloudwatchTimestamp`. Default: false.
    pub export_all_data_points: Option<bool>,
}

/// One metric of a job.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct MetricFile {
    /// The CloudWatch metric name. Required (checked: must not be empty).
    pub name: String,
    /// The metric's own settings, over the job's.
    #[serde(flatten)]
    pub fields: MetricFields,
}

/// A `discovery.jobs` entry: resources of one service found by tags.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct DiscoveryJobFile {
    /// The service: its namespace (`AWS/SQS`) or YACE's deprecated alias (`sqs`).
    /// Required.
    #[serde(rename = "type")]
    pub job_type: String,
    /// Regions queried. Required (here or in `region`).
    pub regions: Vec<String>,
    /// Old form: one region. Deprecated (warned about); added to `regions`.
    pub region: Option<String>,
    /// Roles assumed, one pass each. Default: the function's own credentials.
    pub roles: Vec<RoleFile>,
    /// Only resources with all these tags (values unanchored regexes, as in YACE). Default: all.
    pub search_tags: Vec<TagFile>,
    /// Labels added to every series of the job. Default: none.
    pub custom_tags: Vec<TagFile>,
    /// Only metrics having exactly these dimensions. Default: any.
    pub dimension_name_requirements: Vec<String>,
    /// Old name of `dimensionNameRequirements`; deprecated (warned about).
    pub aws_dimensions: Vec<String>,
    /// Old switch; deprecated and ignored: GetMetricData is the only API used.
    pub enable_metric_data: Option<bool>,
    /// Only metrics with data in the last 3 hours (ListMetrics' `RecentlyActive`).
    /// Default: false.
    pub recently_active_only: bool,
    /// Also export `aws_<service>_info` series carrying the resources' tags.
    /// Default: false.
    pub include_context_on_info_metrics: bool,
    /// Deprecated in YACE; accepted and ignored (windows are always
    /// period-aligned).
    pub rounding_period: Option<u64>,
    /// The metrics. Required: at least one.
    pub metrics: Vec<MetricFile>,
    /// Settings every metric of the job inherits.
    #[serde(flatten)]
    pub fields: MetricFields,
}

/// A dimension of a static job.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DimensionFile {
    /// The dimension's name. Required.
    pub name: String,
    /// The dimension's value. Required.
    pub value: String,
}

/// A `static` entry: metrics of fixed dimensions, no ListMetrics call.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct StaticJobFile {
    /// The job's name (its `name` label). Required.
    pub name: String,
    /// The CloudWatch namespace. Required.
    pub namespace: String,
    /// Regions queried. Required (here or in `region`).
    pub regions: Vec<String>,
    /// Old form: one region. Deprecated (warned about).
    pub region: Option<String>,
    /// Roles assumed, one pass each. Default: the function's own credentials.
    pub roles: Vec<RoleFile>,
    /// Labels added to every series of the job. Default: none.
    pub custom_tags: Vec<TagFile>,
    /// The dimensions queried. Default: none.
    pub dimensions: Vec<DimensionFile>,
    /// The metrics; static jobs have no job-level metric settings (YACE's schema).
    pub metrics: Vec<MetricFile>,
}

/// A `customNamespace` entry: ListMetrics on a namespace without taggable
/// resources (an application's own metrics).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct CustomNamespaceFile {
    /// The job's name (its `name` label). Required.
    pub name: String,
    /// The CloudWatch namespace. Required.
    pub namespace: String,
    /// Regions queried. Required (here or in `region`).
    pub regions: Vec<String>,
    /// Old form: one region. Deprecated (warned about).
    pub region: Option<String>,
    /// Roles assumed, one pass each. Default: the function's own credentials.
    pub roles: Vec<RoleFile>,
    /// Labels added to every series of the job. Default: none.
    pub custom_tags: Vec<TagFile>,
    /// Only metrics having exactly these dimensions. Default: any.
    pub dimension_name_requirements: Vec<String>,
    /// Only metrics with data in the last 3 hours. Default: false.
    pub recently_active_only: bool,
    /// Deprecated in YACE; accepted and ignored (warned about).
    pub rounding_period: Option<u64>,
    /// The metrics. Required: at least one.
    pub metrics: Vec<MetricFile>,
    /// Settings every metric of the job inherits.
    #[serde(flatten)]
    pub fields: MetricFields,
}
