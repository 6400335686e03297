//! From the `cloudwatch:` block as written ([`YaceConfigFile`]) to the validated
//! [`YaceConfig`], with YACE's checks and inheritance rules. A refusal is a
//! [`FieldError`] whose path starts inside the block (`discovery.jobs[0].regions`);
//! the scraper's config puts it `under("cloudwatch")`.

use config_error::FieldError;

use super::file::{MetricFields, MetricFile, RoleFile, TagFile, YaceConfigFile};
use super::model::{
    Job, JobKind, MetricSpec, Role, SearchTag, Statistic, YaceConfig, DEFAULT_LENGTH_SECONDS,
    DEFAULT_PERIOD_SECONDS,
};

/// YACE's feature flag for info series of resources without metric data.
const ALWAYS_RETURN_INFO_METRICS: &str = "always-return-info-metrics";

fn roles(written: &[RoleFile], at: &str) -> Result<Vec<Role>, FieldError> {
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
                return Err(FieldError::new(
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
) -> Result<Vec<String>, FieldError> {
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
        return Err(FieldError::new(
            format!("{at}.regions"),
            "should not be empty",
        ));
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
) -> Result<MetricSpec, FieldError> {
    let at = format!("{at}.metrics[{index}]");
    if m.name.is_empty() {
        return Err(FieldError::new(format!("{at}.name"), "should not be empty"));
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
        return Err(FieldError::new(
            format!("{at}.statistics"),
            "should not be empty",
        ));
    }
    let mut statistics = Vec::new();
    for s in &statistics_text {
        let parsed = Statistic::parse(s).ok_or_else(|| {
            FieldError::new(
                format!("{at}.statistics"),
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
        return Err(FieldError::new(
            format!("{at}.exportAllDataPoints"),
            "exportAllDataPoints can only be enabled if addCloudwatchTimestamp is enabled",
        ));
    }
    if length < period {
        return Err(FieldError::new(
            at,
            format!("length({length}) is smaller than period({period}); the data requested would not be ready"),
        ));
    }
    // CloudWatch periods: 1, 5, 10, 30 (high resolution) or a multiple of 60 seconds.
    if !(matches!(period, 1 | 5 | 10 | 30) || period % 60 == 0) {
        return Err(FieldError::new(
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
    ) -> Result<YaceConfig, FieldError> {
        if let Some(version) = file.api_version.as_deref().filter(|v| *v != "v1alpha1") {
            return Err(FieldError::new(
                "apiVersion",
                format!("unknown apiVersion value {version:?}"),
            ));
        }
        if file.discovery.jobs.is_empty()
            && file.static_jobs.is_empty()
            && file.custom_namespace.is_empty()
        {
            return Err(FieldError::new(
                "",
                "at least 1 discovery job, 1 static or 1 customNamespace job must be defined",
            ));
        }
        let mut config = YaceConfig {
            sts_region: file.sts_region.clone(),
            ..YaceConfig::default()
        };
        let warnings = &mut config.warnings;
        for feature in file
            .enable_feature
            .iter()
            .flat_map(|entry| entry.split(','))
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            match feature {
                ALWAYS_RETURN_INFO_METRICS => config.always_return_info_metrics = true,
                other => warnings.push(format!(
                    "enable-feature: {other:?} is not a feature this scraper knows (known: {ALWAYS_RETURN_INFO_METRICS}); ignored"
                )),
            }
        }
        let mut discovery_namespaces = Vec::new();
        for (i, job) in file.discovery.jobs.iter().enumerate() {
            let at = format!("discovery.jobs[{i}]");
            if job.job_type.is_empty() {
                return Err(FieldError::new(format!("{at}.type"), "should not be empty"));
            }
            let (namespace, alias) = resolve(&job.job_type).ok_or_else(|| {
                FieldError::new(
                    format!("{at}.type"),
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
                return Err(FieldError::new(
                    format!("{at}.metrics"),
                    "should not be empty",
                ));
            }
            let mut search_tags = Vec::new();
            for (t, tag) in job.search_tags.iter().enumerate() {
                // Unanchored, as YACE matches search tags: `prod` selects `prod-eu` too;
                // `^prod$` selects exactly `prod`.
                let value = regex::Regex::new(&tag.value).map_err(|e| {
                    FieldError::new(
                        format!("{at}.searchTags[{t}].value"),
                        format!("invalid regex {:?}", tag.value),
                    )
                    .caused_by(e)
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
                return Err(FieldError::new(
                    format!("discovery.exportedTagsOnMetrics.{key}"),
                    "does not match any discovery job type",
                ));
            }
        }
        for (i, job) in file.static_jobs.iter().enumerate() {
            let at = format!("static[{i}]");
            if job.name.is_empty() {
                return Err(FieldError::new(format!("{at}.name"), "should not be empty"));
            }
            if job.namespace.is_empty() {
                return Err(FieldError::new(
                    format!("{at}.namespace"),
                    "should not be empty",
                ));
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
            let at = format!("customNamespace[{i}]");
            if job.name.is_empty() {
                return Err(FieldError::new(format!("{at}.name"), "should not be empty"));
            }
            if job.namespace.is_empty() {
                return Err(FieldError::new(
                    format!("{at}.namespace"),
                    "should not be empty",
                ));
            }
            if job.metrics.is_empty() {
                return Err(FieldError::new(
                    format!("{at}.metrics"),
                    "should not be empty",
                ));
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
