//! YACE's configuration (`apiVersion: v1alpha1`), accepted as users write it for
//! yet-another-cloudwatch-exporter so they can paste it under `cloudwatch:`:
//! `sts-region`, `discovery` (`exportedTagsOnMetrics`, `jobs`), `static` and
//! `customNamespace` jobs. Job-level metric settings are inherited by each metric;
//! the older form (`region`, `awsDimensions`, `enableMetricData`) is accepted with a
//! deprecation warning; unknown fields are errors naming the field.

use serde::Deserialize;

/// YACE's defaults when neither the metric nor the job sets them.
pub const DEFAULT_PERIOD_SECONDS: u64 = 300;
pub const DEFAULT_LENGTH_SECONDS: u64 = 300;

/// The `cloudwatch:` block as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YaceConfigFile {
    #[serde(default, rename = "apiVersion")]
    pub api_version: Option<String>,
    #[serde(default, rename = "sts-region")]
    pub sts_region: Option<String>,
    #[serde(default)]
    pub discovery: DiscoveryFile,
    #[serde(default, rename = "static")]
    pub static_jobs: Vec<StaticJobFile>,
    #[serde(default, rename = "customNamespace")]
    pub custom_namespace: Vec<CustomNamespaceFile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiscoveryFile {
    /// Namespace -> tag keys exported as `tag_<Key>` labels on that namespace's series.
    #[serde(default)]
    pub exported_tags_on_metrics: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub jobs: Vec<DiscoveryJobFile>,
}

/// `{key, value}`: for `searchTags` the value is a regex (anchored), for
/// `customTags` a literal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagFile {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleFile {
    #[serde(default)]
    pub role_arn: String,
    #[serde(default)]
    pub external_id: String,
}

/// Settings a job gives its metrics (each metric may override them).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricFields {
    #[serde(default)]
    pub statistics: Vec<String>,
    #[serde(default)]
    pub period: Option<u64>,
    #[serde(default)]
    pub length: Option<u64>,
    #[serde(default)]
    pub delay: Option<u64>,
    #[serde(default)]
    pub nil_to_zero: Option<bool>,
    #[serde(default)]
    pub add_cloudwatch_timestamp: Option<bool>,
    #[serde(default)]
    pub export_all_data_points: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricFile {
    #[serde(default)]
    pub name: String,
    #[serde(flatten)]
    pub fields: MetricFields,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiscoveryJobFile {
    #[serde(default, rename = "type")]
    pub job_type: String,
    #[serde(default)]
    pub regions: Vec<String>,
    /// Old form: one region.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub roles: Vec<RoleFile>,
    #[serde(default)]
    pub search_tags: Vec<TagFile>,
    #[serde(default)]
    pub custom_tags: Vec<TagFile>,
    #[serde(default)]
    pub dimension_name_requirements: Vec<String>,
    /// Old name of `dimensionNameRequirements`.
    #[serde(default)]
    pub aws_dimensions: Vec<String>,
    /// Old switch; GetMetricData is the only API used.
    #[serde(default)]
    pub enable_metric_data: Option<bool>,
    #[serde(default)]
    pub recently_active_only: bool,
    #[serde(default)]
    pub include_context_on_info_metrics: bool,
    /// Deprecated in YACE; accepted and ignored (windows are always period-aligned).
    #[serde(default)]
    pub rounding_period: Option<u64>,
    #[serde(default)]
    pub metrics: Vec<MetricFile>,
    #[serde(flatten)]
    pub fields: MetricFields,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DimensionFile {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StaticJobFile {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub roles: Vec<RoleFile>,
    #[serde(default)]
    pub custom_tags: Vec<TagFile>,
    #[serde(default)]
    pub dimensions: Vec<DimensionFile>,
    #[serde(default)]
    pub metrics: Vec<MetricFile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomNamespaceFile {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub roles: Vec<RoleFile>,
    #[serde(default)]
    pub custom_tags: Vec<TagFile>,
    #[serde(default)]
    pub dimension_name_requirements: Vec<String>,
    #[serde(default)]
    pub recently_active_only: bool,
    #[serde(default)]
    pub rounding_period: Option<u64>,
    #[serde(default)]
    pub metrics: Vec<MetricFile>,
    #[serde(flatten)]
    pub fields: MetricFields,
}

/// A CloudWatch statistic: the five plain ones, or an extended statistic
/// (`p99`, `p99.9`, `tm90`, `wm99`, `tc90`, `ts90`, `IQM`) that GetMetricData takes as
/// its `Stat`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Statistic(String);

impl Statistic {
    /// Parses a statistic as YACE users write it; `None` when CloudWatch would not
    /// know it.
    pub fn parse(text: &str) -> Option<Statistic> {
        if matches!(
            text,
            "Average" | "Sum" | "Minimum" | "Maximum" | "SampleCount" | "IQM"
        ) {
            return Some(Statistic(text.to_string()));
        }
        let (prefix, number) = ["p", "tm", "wm", "tc", "ts"]
            .iter()
            .find_map(|p| text.strip_prefix(p).map(|rest| (*p, rest)))?;
        let value: f64 = number.parse().ok()?;
        let valid = !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && (0.0..=100.0).contains(&value);
        valid.then(|| Statistic(format!("{prefix}{number}")))
    }

    /// As GetMetricData and YACE's metric names spell it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One metric of a job, with every setting resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    pub name: String,
    pub statistics: Vec<Statistic>,
    pub period: u64,
    pub length: u64,
    pub delay: u64,
    pub nil_to_zero: bool,
    pub add_cloudwatch_timestamp: bool,
    pub export_all_data_points: bool,
}

/// Role to assume for a job (`None` = the function's own credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
}

/// Search tag: key exact, value an anchored regex.
#[derive(Debug, Clone)]
pub struct SearchTag {
    pub key: String,
    pub value: regex::Regex,
}

/// What a job is.
#[derive(Debug, Clone)]
pub enum JobKind {
    /// Resources from the tagging API, metrics from ListMetrics, associated by the
    /// service's ARN rules.
    Discovery {
        search_tags: Vec<SearchTag>,
        exported_tags: Vec<String>,
        include_context_on_info_metrics: bool,
    },
    /// Fixed dimensions; no ListMetrics.
    Static {
        name: String,
        dimensions: Vec<(String, String)>,
    },
    /// ListMetrics on a namespace without resources (`name="global"`).
    CustomNamespace { name: String },
}

/// A validated job.
#[derive(Debug, Clone)]
pub struct Job {
    pub kind: JobKind,
    pub namespace: String,
    pub regions: Vec<String>,
    pub roles: Vec<Role>,
    pub custom_tags: Vec<(String, String)>,
    pub dimension_name_requirements: Vec<String>,
    pub recently_active_only: bool,
    pub metrics: Vec<MetricSpec>,
}

/// The validated `cloudwatch:` block.
#[derive(Debug, Clone, Default)]
pub struct YaceConfig {
    pub sts_region: Option<String>,
    pub jobs: Vec<Job>,
    /// Deprecated spellings seen; logged once at load.
    pub warnings: Vec<String>,
}

/// A config YACE would reject (or that we cannot honour), naming where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cloudwatch: {at}: {reason}")]
pub struct YaceConfigError {
    pub at: String,
    pub reason: String,
}

fn fail(at: impl Into<String>, reason: impl Into<String>) -> YaceConfigError {
    YaceConfigError {
        at: at.into(),
        reason: reason.into(),
    }
}

fn roles(written: &[RoleFile], at: &str) -> Result<Vec<Role>, YaceConfigError> {
    if written.is_empty() {
        return Ok(vec![Role {
            role_arn: None,
            external_id: None,
        }]);
    }
    written
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.role_arn.is_empty() && !r.external_id.is_empty() {
                return Err(fail(
                    format!("{at}.roles[{i}]"),
                    "roleArn should not be empty",
                ));
            }
            Ok(Role {
                role_arn: (!r.role_arn.is_empty()).then(|| r.role_arn.clone()),
                external_id: (!r.external_id.is_empty()).then(|| r.external_id.clone()),
            })
        })
        .collect()
}

fn regions(
    list: &[String],
    single: &Option<String>,
    at: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, YaceConfigError> {
    let mut out = list.to_vec();
    if let Some(region) = single {
        warnings.push(format!(
            "{at}: `region` is deprecated, use `regions: [{region}]`"
        ));
        if !out.contains(region) {
            out.push(region.clone());
        }
    }
    if out.is_empty() {
        return Err(fail(at, "regions should not be empty"));
    }
    Ok(out)
}

fn custom_tags(tags: &[TagFile]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// Resolves a metric against its job's settings, YACE's way (metric, then job, then
/// default), and checks it.
fn metric(
    index: usize,
    m: &MetricFile,
    job: Option<&MetricFields>,
    at: &str,
) -> Result<MetricSpec, YaceConfigError> {
    let at = format!("{at}.metrics[{index}] ({})", m.name);
    if m.name.is_empty() {
        return Err(fail(at, "name should not be empty"));
    }
    let pick = |mine: Option<u64>, theirs: Option<u64>| {
        mine.filter(|v| *v != 0).or(theirs.filter(|v| *v != 0))
    };
    let flag = |mine: Option<bool>, theirs: Option<bool>| mine.or(theirs).unwrap_or(false);
    let statistics_text = if m.fields.statistics.is_empty() {
        job.map(|j| j.statistics.clone()).unwrap_or_default()
    } else {
        m.fields.statistics.clone()
    };
    if statistics_text.is_empty() {
        return Err(fail(at, "statistics should not be empty"));
    }
    let mut statistics = Vec::new();
    for s in &statistics_text {
        let parsed = Statistic::parse(s).ok_or_else(|| {
            fail(
                &at,
                format!("unknown statistic {s:?} (Average, Sum, Minimum, Maximum, SampleCount, IQM, pNN, tmNN, wmNN, tcNN, tsNN)"),
            )
        })?;
        if !statistics.contains(&parsed) {
            statistics.push(parsed);
        }
    }
    let period =
        pick(m.fields.period, job.and_then(|j| j.period)).unwrap_or(DEFAULT_PERIOD_SECONDS);
    let length =
        pick(m.fields.length, job.and_then(|j| j.length)).unwrap_or(DEFAULT_LENGTH_SECONDS);
    let delay = m.fields.delay.or(job.and_then(|j| j.delay)).unwrap_or(0);
    let add_cloudwatch_timestamp = flag(
        m.fields.add_cloudwatch_timestamp,
        job.and_then(|j| j.add_cloudwatch_timestamp),
    );
    let export_all_data_points = flag(
        m.fields.export_all_data_points,
        job.and_then(|j| j.export_all_data_points),
    );
    if export_all_data_points && !add_cloudwatch_timestamp {
        return Err(fail(
            at,
            "exportAllDataPoints can only be enabled if addCloudwatchTimestamp is enabled",
        ));
    }
    if length < period {
        return Err(fail(
            at,
            format!("length({length}) is smaller than period({period}); the data requested would not be ready"),
        ));
    }
    // CloudWatch periods: 1, 5, 10, 30 (high resolution) or a multiple of 60 seconds.
    if !(matches!(period, 1 | 5 | 10 | 30) || period % 60 == 0) {
        return Err(fail(
            at,
            format!("period {period} must be 1, 5, 10, 30 or a multiple of 60 seconds"),
        ));
    }
    Ok(MetricSpec {
        name: m.name.clone(),
        statistics,
        period,
        length,
        delay,
        nil_to_zero: flag(m.fields.nil_to_zero, job.and_then(|j| j.nil_to_zero)),
        add_cloudwatch_timestamp,
        export_all_data_points,
    })
}

/// A namespace or alias from `type`: the namespace, and whether an alias was used.
pub type ResolveService = dyn Fn(&str) -> Option<(String, bool)>;

impl YaceConfig {
    /// Validates the written block. `resolve` maps a discovery job's `type` (namespace
    /// or alias) to its namespace, or `None` for an unknown service.
    pub fn from_file(
        file: &YaceConfigFile,
        resolve: &ResolveService,
    ) -> Result<YaceConfig, YaceConfigError> {
        if let Some(version) = file.api_version.as_deref().filter(|v| *v != "v1alpha1") {
            return Err(fail(
                "apiVersion",
                format!("unknown apiVersion value {version:?}"),
            ));
        }
        if file.discovery.jobs.is_empty()
            && file.static_jobs.is_empty()
            && file.custom_namespace.is_empty()
        {
            return Err(fail(
                "cloudwatch",
                "at least 1 discovery job, 1 static or 1 customNamespace job must be defined",
            ));
        }
        let mut config = YaceConfig {
            sts_region: file.sts_region.clone(),
            ..YaceConfig::default()
        };
        let warnings = &mut config.warnings;
        let mut discovery_namespaces = Vec::new();
        for (i, job) in file.discovery.jobs.iter().enumerate() {
            let at = format!("discovery.jobs[{i}] ({})", job.job_type);
            if job.job_type.is_empty() {
                return Err(fail(at, "type should not be empty"));
            }
            let (namespace, alias) = resolve(&job.job_type).ok_or_else(|| {
                fail(
                    &at,
                    format!("service is not in the known list: {}", job.job_type),
                )
            })?;
            if alias {
                warnings.push(format!(
                    "{at}: type alias {:?} is deprecated, use namespace {namespace:?}",
                    job.job_type
                ));
            }
            discovery_namespaces.push(namespace.clone());
            let mut requirements = job.dimension_name_requirements.clone();
            if !job.aws_dimensions.is_empty() {
                warnings.push(format!(
                    "{at}: `awsDimensions` is deprecated, use `dimensionNameRequirements`"
                ));
                requirements.extend(job.aws_dimensions.iter().cloned());
            }
            if job.enable_metric_data.is_some() {
                warnings.push(format!("{at}: `enableMetricData` is deprecated and ignored (GetMetricData is always used)"));
            }
            if job.rounding_period.is_some() {
                warnings.push(format!("{at}: `roundingPeriod` is deprecated and ignored (windows are aligned to the period)"));
            }
            if job.metrics.is_empty() {
                return Err(fail(at, "metrics should not be empty"));
            }
            let mut search_tags = Vec::new();
            for (t, tag) in job.search_tags.iter().enumerate() {
                let value = regex::Regex::new(&format!("^(?:{})$", tag.value)).map_err(|e| {
                    fail(
                        format!("{at}.searchTags[{t}] ({})", tag.key),
                        format!("invalid regex {:?}: {e}", tag.value),
                    )
                })?;
                search_tags.push(SearchTag {
                    key: tag.key.clone(),
                    value,
                });
            }
            config.jobs.push(Job {
                kind: JobKind::Discovery {
                    search_tags,
                    exported_tags: file
                        .discovery
                        .exported_tags_on_metrics
                        .get(&namespace)
                        .or_else(|| file.discovery.exported_tags_on_metrics.get(&job.job_type))
                        .cloned()
                        .unwrap_or_default(),
                    include_context_on_info_metrics: job.include_context_on_info_metrics,
                },
                regions: regions(&job.regions, &job.region, &at, warnings)?,
                roles: roles(&job.roles, &at)?,
                custom_tags: custom_tags(&job.custom_tags),
                dimension_name_requirements: requirements,
                recently_active_only: job.recently_active_only,
                metrics: job
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(i, m)| metric(i, m, Some(&job.fields), &at))
                    .collect::<Result<_, _>>()?,
                namespace,
            });
        }
        for key in file.discovery.exported_tags_on_metrics.keys() {
            let known = resolve(key).map(|(ns, _)| ns);
            if !known
                .as_ref()
                .is_some_and(|ns| discovery_namespaces.contains(ns))
            {
                return Err(fail(
                    format!("discovery.exportedTagsOnMetrics.{key}"),
                    "does not match any discovery job type",
                ));
            }
        }
        for (i, job) in file.static_jobs.iter().enumerate() {
            let at = format!("static[{i}] ({})", job.name);
            if job.name.is_empty() {
                return Err(fail(at, "name should not be empty"));
            }
            if job.namespace.is_empty() {
                return Err(fail(at, "namespace should not be empty"));
            }
            config.jobs.push(Job {
                kind: JobKind::Static {
                    name: job.name.clone(),
                    dimensions: job
                        .dimensions
                        .iter()
                        .map(|d| (d.name.clone(), d.value.clone()))
                        .collect(),
                },
                namespace: job.namespace.clone(),
                regions: regions(&job.regions, &job.region, &at, warnings)?,
                roles: roles(&job.roles, &at)?,
                custom_tags: custom_tags(&job.custom_tags),
                dimension_name_requirements: Vec::new(),
                recently_active_only: false,
                metrics: job
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(i, m)| metric(i, m, None, &at))
                    .collect::<Result<_, _>>()?,
            });
        }
        for (i, job) in file.custom_namespace.iter().enumerate() {
            let at = format!("customNamespace[{i}] ({})", job.name);
            if job.name.is_empty() {
                return Err(fail(at, "name should not be empty"));
            }
            if job.namespace.is_empty() {
                return Err(fail(at, "namespace should not be empty"));
            }
            if job.metrics.is_empty() {
                return Err(fail(at, "metrics should not be empty"));
            }
            if job.rounding_period.is_some() {
                warnings.push(format!("{at}: `roundingPeriod` is deprecated and ignored"));
            }
            config.jobs.push(Job {
                kind: JobKind::CustomNamespace {
                    name: job.name.clone(),
                },
                namespace: job.namespace.clone(),
                regions: regions(&job.regions, &job.region, &at, warnings)?,
                roles: roles(&job.roles, &at)?,
                custom_tags: custom_tags(&job.custom_tags),
                dimension_name_requirements: job.dimension_name_requirements.clone(),
                recently_active_only: job.recently_active_only,
                metrics: job
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(i, m)| metric(i, m, Some(&job.fields), &at))
                    .collect::<Result<_, _>>()?,
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(t: &str) -> Option<(String, bool)> {
        match t {
            "AWS/ECS" | "ECS/ContainerInsights" | "AWS/SQS" | "AWS/EC2" => {
                Some((t.to_string(), false))
            }
            "ecs-containerinsights" => Some(("ECS/ContainerInsights".into(), true)),
            "sqs" => Some(("AWS/SQS".into(), true)),
            _ => None,
        }
    }

    fn load(yaml: &str) -> Result<YaceConfig, YaceConfigError> {
        let file: YaceConfigFile =
            yaml_serde::from_str(yaml).map_err(|e| fail("yaml", e.to_string()))?;
        YaceConfig::from_file(&file, &resolve)
    }

    #[test]
    fn a_yace_config_as_written() {
        let config = load(
            r#"
apiVersion: v1alpha1
sts-region: eu-west-1
discovery:
  exportedTagsOnMetrics:
    ECS/ContainerInsights: [team]
  jobs:
    - type: ECS/ContainerInsights
      regions: [eu-west-1, us-east-1]
      roles: [{roleArn: 'arn:aws:iam::123456789012:role/yace', externalId: x}]
      searchTags: [{key: env, value: 'prod|staging'}]
      customTags: [{key: cluster_kind, value: fargate}]
      dimensionNameRequirements: [ServiceName, ClusterName]
      recentlyActiveOnly: true
      statistics: [Average]
      period: 60
      length: 120
      delay: 60
      nilToZero: true
      metrics:
        - name: CpuUtilized
        - name: MemoryUtilized
          statistics: [Average, p99, p99.9]
          period: 300
          length: 600
          addCloudwatchTimestamp: true
          exportAllDataPoints: true
static:
  - name: asg
    namespace: AWS/AutoScaling
    regions: [eu-west-1]
    dimensions: [{name: AutoScalingGroupName, value: web}]
    metrics: [{name: GroupInServiceInstances, statistics: [Minimum]}]
customNamespace:
  - name: app
    namespace: MyApp
    regions: [eu-west-1]
    statistics: [Sum]
    metrics: [{name: Orders}]
"#,
        )
        .expect("valid");
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        assert_eq!(config.sts_region.as_deref(), Some("eu-west-1"));
        assert_eq!(config.jobs.len(), 3);
        let ecs = &config.jobs[0];
        assert_eq!(ecs.namespace, "ECS/ContainerInsights");
        assert_eq!(ecs.regions, vec!["eu-west-1", "us-east-1"]);
        assert_eq!(ecs.roles[0].external_id.as_deref(), Some("x"));
        let cpu = &ecs.metrics[0];
        assert_eq!(
            (cpu.period, cpu.length, cpu.delay, cpu.nil_to_zero),
            (60, 120, 60, true)
        );
        assert_eq!(cpu.statistics, vec![Statistic("Average".into())]);
        let memory = &ecs.metrics[1];
        assert_eq!((memory.period, memory.length, memory.delay), (300, 600, 60));
        assert_eq!(
            memory
                .statistics
                .iter()
                .map(Statistic::as_str)
                .collect::<Vec<_>>(),
            vec!["Average", "p99", "p99.9"]
        );
        assert!(memory.add_cloudwatch_timestamp && memory.export_all_data_points);
        match &ecs.kind {
            JobKind::Discovery {
                search_tags,
                exported_tags,
                ..
            } => {
                assert!(search_tags[0].value.is_match("staging"));
                assert!(!search_tags[0].value.is_match("prod-eu"), "anchored");
                assert_eq!(exported_tags, &vec!["team".to_string()]);
            }
            other => panic!("{other:?}"),
        }
        // Defaults: no job settings for static jobs; role = own credentials.
        let asg = &config.jobs[1];
        assert_eq!(
            (
                asg.metrics[0].period,
                asg.metrics[0].length,
                asg.metrics[0].delay
            ),
            (300, 300, 0)
        );
        assert_eq!(
            asg.roles,
            vec![Role {
                role_arn: None,
                external_id: None
            }]
        );
        assert_eq!(config.jobs[2].metrics[0].statistics[0].as_str(), "Sum");
    }

    #[test]
    fn the_older_form_is_accepted_with_warnings() {
        let config = load(
            "discovery:\n  jobs:\n    - type: sqs\n      region: us-east-1\n      awsDimensions: [QueueName]\n      enableMetricData: true\n      metrics: [{name: NumberOfMessagesSent, statistics: [Sum]}]\n",
        )
        .expect("valid");
        let job = &config.jobs[0];
        assert_eq!(job.namespace, "AWS/SQS");
        assert_eq!(job.regions, vec!["us-east-1"]);
        assert_eq!(job.dimension_name_requirements, vec!["QueueName"]);
        assert_eq!(config.warnings.len(), 4, "{:?}", config.warnings);
        assert!(config
            .warnings
            .iter()
            .any(|w| w.contains("`awsDimensions` is deprecated")));
    }

    #[test]
    fn errors_name_the_job_and_field() {
        let job = |body: &str| {
            format!("discovery:\n  jobs:\n    - type: AWS/EC2\n      regions: [us-east-1]\n{body}")
        };
        let metric = |fields: &str| {
            job(&format!(
                "      metrics: [{{name: C, statistics: [Sum]{fields}}}]\n"
            ))
        };
        let cases: Vec<(String, &str)> = vec![
            ("apiVersion: v2\nstatic: []\n".into(), "unknown apiVersion"),
            ("{}".into(), "at least 1 discovery job"),
            (
                "discovery:\n  jobs:\n    - type: AWS/Nope\n      regions: [x]\n      metrics: [{name: a, statistics: [Sum]}]\n".into(),
                "service is not in the known list: AWS/Nope",
            ),
            (
                job("      metrics: [{name: CPUUtilization}]\n"),
                "discovery.jobs[0] (AWS/EC2).metrics[0] (CPUUtilization): statistics should not be empty",
            ),
            (job("      metrics: [{name: C, statistics: [Median]}]\n"), "unknown statistic \"Median\""),
            (metric(", period: 300, length: 60"), "length(60) is smaller than period(300)"),
            (metric(", period: 45, length: 60"), "period 45 must be"),
            (metric(", exportAllDataPoints: true"), "addCloudwatchTimestamp"),
            (metric(", bogus: 1"), "unknown field `bogus`"),
            (
                job("      searchTags: [{key: env, value: '('}]\n      metrics: [{name: C, statistics: [Sum]}]\n"),
                "searchTags[0] (env): invalid regex",
            ),
            (
                job("      roles: [{externalId: x}]\n      metrics: [{name: C, statistics: [Sum]}]\n"),
                "roles[0]: roleArn should not be empty",
            ),
            (
                "discovery:\n  exportedTagsOnMetrics: {AWS/SQS: [a]}\n  jobs:\n    - type: AWS/EC2\n      regions: [x]\n      metrics: [{name: C, statistics: [Sum]}]\n".into(),
                "exportedTagsOnMetrics.AWS/SQS: does not match any discovery job type",
            ),
            ("static:\n  - name: s\n    metrics: []\n".into(), "static[0] (s): namespace should not be empty"),
        ];
        for (yaml, want) in cases {
            let got = load(&yaml).expect_err(&yaml).to_string();
            assert!(got.contains(want), "{yaml}\ngot: {got}\nwant: {want}");
        }
    }

    #[test]
    fn statistics_parse_like_cloudwatch() {
        for good in [
            "Average",
            "Sum",
            "Minimum",
            "Maximum",
            "SampleCount",
            "IQM",
            "p50",
            "p99.9",
            "tm90",
            "wm99",
            "tc10",
            "ts95",
            "p100",
        ] {
            assert!(Statistic::parse(good).is_some(), "{good}");
        }
        for bad in ["average", "p", "p101", "p9x", "tm", "Median", "p-1", ""] {
            assert!(Statistic::parse(bad).is_none(), "{bad}");
        }
    }
}
