//! One run's CloudWatch collection: for every job, region and role, discover
//! resources and metrics, fetch the owned windows with as few GetMetricData calls as
//! the 500-query limit allows, and build the series. A failing region or role is
//! reported and does not stop the others.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::associate::{
    matches_dimension_requirements, Association, Associator, MetricId, Resource,
};
use super::batch::{cost_usd, plan, QuerySpec};
use super::config::{Job, JobKind, MetricSpec, Role, Statistic, YaceConfig};
use super::fetch::{ApiCounters, DataQuery, FetchError, RegionClients};
use super::series::{info_series, metric_series, CloudWatchSeries, InfoContext, SeriesContext};
use super::services::lookup;
use super::window::window;

/// GetMetricData calls in flight at once per job, region and role.
const CONCURRENT_CALLS: usize = 5;
/// Attempts per API call (throttling and transient errors back off between them).
const MAX_ATTEMPTS: u32 = 5;

/// What the run reports about CloudWatch.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct CloudWatchReport {
    /// Jobs collected.
    pub jobs: usize,
    /// Series built.
    pub series: usize,
    /// Samples in those series.
    pub samples: usize,
    /// Tagging API `GetResources` calls (pages).
    pub get_resources_calls: u64,
    /// `ListMetrics` calls (pages).
    pub list_metrics_calls: u64,
    /// `GetMetricData` calls (pages).
    pub get_metric_data_calls: u64,
    /// STS `GetCallerIdentity` calls (one per region and role).
    pub get_caller_identity_calls: u64,
    /// Metrics GetMetricData bills: per call and metric, one per five statistics.
    pub metrics_requested: u64,
    /// GetMetricData list price of this run, USD.
    pub cost_usd: f64,
    /// Resources found by the discovery jobs.
    pub resources: usize,
    /// Metrics of discovery jobs skipped because no found resource owns them.
    pub metrics_skipped_no_resource: usize,
    /// Discovery job runs (job x region x role) that found no resource of their type
    /// through the tagging API: as in YACE, they export nothing (no `name="global"`
    /// series, no info series) and make no CloudWatch call.
    pub discovery_without_resources: u64,
    /// Tag, dimension and custom tag keys left out because their label name is invalid
    /// even after YACE's cleaning (`1st`, `größe`), as YACE leaves them out.
    pub labels_dropped: u64,
    /// Failed calls and jobs, each naming the API and region; the rest is still collected.
    pub errors: Vec<String>,
}

/// Everything collected.
#[derive(Debug, Default)]
pub struct Collected {
    /// The series to send.
    pub series: Vec<CloudWatchSeries>,
    /// What the collection did.
    pub report: CloudWatchReport,
}

async fn region_clients(region: &str, role: &Role, sts_region: Option<&str>) -> RegionClients {
    let base = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .load()
        .await;
    let config = match &role.role_arn {
        Some(arn) => {
            let sts_region = sts_region.unwrap_or(region);
            crate::assume_role::assume_role(
                base,
                arn,
                role.external_id.as_deref(),
                "serverless-pipeline-cloudwatch",
                sts_region,
            )
            .await
        }
        None => base,
    };
    RegionClients {
        region: region.to_string(),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
        tagging: aws_sdk_resourcegroupstagging::Client::new(&config),
        sts: aws_sdk_sts::Client::new(&config),
    }
}

/// One metric x statistic to fetch and where its series goes.
struct Wanted<'a> {
    metric: MetricId,
    spec: &'a MetricSpec,
    statistic: &'a Statistic,
    resource: Option<usize>,
}

/// Collects every job for a run scheduled at `scheduled` (epoch seconds) on a
/// schedule of `interval`.
pub async fn collect(config: &YaceConfig, scheduled: i64, interval: Duration) -> Collected {
    let counters = ApiCounters::default();
    let mut collected = Collected::default();
    // ListMetrics results are shared by jobs with the same region, role and namespace.
    let mut listed: HashMap<(String, Option<String>, String, bool), Vec<MetricId>> = HashMap::new();
    for job in &config.jobs {
        collected.report.jobs += 1;
        for role in &job.roles {
            for region in &job.regions {
                let clients = region_clients(region, role, config.sts_region.as_deref()).await;
                let one = Box::pin(collect_one(
                    config,
                    job,
                    role,
                    &clients,
                    scheduled,
                    interval,
                    &counters,
                    &mut listed,
                    &mut collected,
                ));
                if let Err(e) = one.await {
                    tracing::error!(namespace = %job.namespace, region = %region, error = %e, "CloudWatch job failed");
                    collected.report.errors.push(format!(
                        "{} ({}): {e}",
                        job.namespace,
                        role.role_arn.as_deref().unwrap_or("own role")
                    ));
                }
            }
        }
    }
    let r = &mut collected.report;
    r.get_resources_calls = counters.get_resources.load(Ordering::Relaxed);
    r.list_metrics_calls = counters.list_metrics.load(Ordering::Relaxed);
    r.get_metric_data_calls = counters.get_metric_data.load(Ordering::Relaxed);
    r.get_caller_identity_calls = counters.get_caller_identity.load(Ordering::Relaxed);
    r.metrics_requested = counters.metrics_requested.load(Ordering::Relaxed);
    r.cost_usd = cost_usd(r.metrics_requested as usize);
    r.series = collected.series.len();
    r.samples = collected.series.iter().map(|s| s.samples.len()).sum();
    collected
}

#[allow(clippy::too_many_arguments)]
async fn collect_one(
    config: &YaceConfig,
    job: &Job,
    role: &Role,
    clients: &RegionClients,
    scheduled: i64,
    interval: Duration,
    counters: &ApiCounters,
    listed: &mut HashMap<(String, Option<String>, String, bool), Vec<MetricId>>,
    collected: &mut Collected,
) -> Result<(), FetchError> {
    let account_id = clients.account_id(counters).await?;
    let mut resources: Vec<Resource> = Vec::new();
    let mut wanted: Vec<Wanted<'_>> = Vec::new();
    let names: Vec<&str> = job.metrics.iter().map(|m| m.name.as_str()).collect();
    match &job.kind {
        JobKind::Static { dimensions, .. } => {
            for spec in &job.metrics {
                for statistic in &spec.statistics {
                    wanted.push(Wanted {
                        metric: MetricId {
                            name: spec.name.clone(),
                            dimensions: dimensions.clone(),
                        },
                        spec,
                        statistic,
                        resource: None,
                    });
                }
            }
        }
        JobKind::Discovery { .. } | JobKind::CustomNamespace { .. } => {
            let service = match &job.kind {
                JobKind::Discovery { .. } => lookup(&job.namespace).map(|(s, _)| s),
                _ => None,
            };
            if let Some(service) = service.filter(|s| !s.spec.resource_types.is_empty()) {
                resources = clients
                    .resources(service.spec.resource_types, search_tags_of(job), counters)
                    .await?;
                if resources.is_empty() {
                    // YACE: "expected to discover resources but none were found"; the
                    // job exports nothing rather than global series.
                    tracing::warn!(namespace = %job.namespace, region = %clients.region, "no tagged resources of this type made it through the search tags: nothing exported for this job");
                    collected.report.discovery_without_resources += 1;
                    return Ok(());
                }
            }
            let key = (
                clients.region.clone(),
                role.role_arn.clone(),
                job.namespace.clone(),
                job.recently_active_only,
            );
            let metrics = match listed.get(&key) {
                Some(metrics) => metrics.clone(),
                None => {
                    let metrics = clients
                        .list_metrics(&job.namespace, job.recently_active_only, counters)
                        .await?;
                    listed.insert(key, metrics.clone());
                    metrics
                }
            };
            // Services whose resources cannot be listed through the tagging API (no
            // resource types) have nothing to associate with: all their metrics are
            // global, as in YACE.
            let associator = service
                .filter(|s| !s.spec.resource_types.is_empty())
                .map(|s| Associator::new(s, &resources));
            for metric in metrics {
                if !names.contains(&metric.name.as_str())
                    || !matches_dimension_requirements(&metric, &job.dimension_name_requirements)
                {
                    continue;
                }
                let resource = match associator.as_ref().map(|a| a.associate(&metric)) {
                    Some(Association::Resource(r)) => {
                        resources.iter().position(|x| std::ptr::eq(x, r))
                    }
                    Some(Association::Skip) => {
                        collected.report.metrics_skipped_no_resource += 1;
                        continue;
                    }
                    Some(Association::Global) | None => None,
                };
                for spec in job.metrics.iter().filter(|s| s.name == metric.name) {
                    for statistic in &spec.statistics {
                        wanted.push(Wanted {
                            metric: metric.clone(),
                            spec,
                            statistic,
                            resource,
                        });
                    }
                }
            }
        }
    }
    collected.report.resources += resources.len();

    // Each distinct metric gets a number: its statistics are billed together.
    let mut metric_numbers: HashMap<&MetricId, usize> = HashMap::new();
    let specs: Vec<QuerySpec> = wanted
        .iter()
        .enumerate()
        .map(|(key, w)| QuerySpec {
            key,
            metric: {
                let next = metric_numbers.len();
                *metric_numbers.entry(&w.metric).or_insert(next)
            },
            period: w.spec.period,
            length: w.spec.length,
            delay: w.spec.delay,
        })
        .collect();
    let calls = plan(&specs);
    let namespace = job.namespace.as_str();
    let fetches = calls.iter().map(|call| {
        let queries: Vec<DataQuery<'_>> = call
            .queries
            .iter()
            .filter_map(|(id, key)| {
                let w = wanted.get(*key)?;
                Some(DataQuery {
                    id,
                    namespace,
                    metric: &w.metric,
                    statistic: w.statistic.as_str(),
                    period: w.spec.period,
                })
            })
            .collect();
        let range = window(
            scheduled,
            interval,
            Duration::from_secs(call.period),
            Duration::from_secs(call.length),
            Duration::from_secs(call.delay),
        );
        async move {
            let Some(range) = range else {
                return (call, Ok(HashMap::new()));
            };
            (
                call,
                clients
                    .get_metric_data(
                        &queries,
                        call.billed_metrics,
                        range.query_start,
                        range.own_end,
                        counters,
                    )
                    .await,
            )
        }
    });
    let results: Vec<_> = stream::iter(fetches)
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await;
    let (exported_tags, static_name): (&[String], Option<&str>) = match &job.kind {
        JobKind::Discovery { exported_tags, .. } => (exported_tags, None),
        JobKind::Static { name, .. } => (&[], Some(name.as_str())),
        // YACE names a custom namespace job's series after the job, as a static job's.
        JobKind::CustomNamespace { name } => (&[], Some(name.as_str())),
    };
    let mut dropped = 0;
    let mut answered = false;
    for (call, result) in results {
        let points = match result {
            Ok(points) => {
                answered |= !points.is_empty();
                points
            }
            Err(e) => {
                collected.report.errors.push(e.to_string());
                continue;
            }
        };
        for (id, key) in &call.queries {
            let Some(w) = wanted.get(*key) else {
                continue;
            };
            let Some(owned) = window(
                scheduled,
                interval,
                Duration::from_secs(w.spec.period),
                Duration::from_secs(w.spec.length),
                Duration::from_secs(w.spec.delay),
            ) else {
                continue;
            };
            let context = SeriesContext {
                namespace,
                region: &clients.region,
                account_id: &account_id,
                resource: w.resource.and_then(|i| resources.get(i)),
                static_name,
                exported_tags,
                custom_tags: &job.custom_tags,
            };
            let datapoints = points.get(id).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(series) = metric_series(
                &context,
                &w.metric,
                w.spec,
                w.statistic,
                datapoints,
                &owned,
                &mut dropped,
            ) {
                collected.series.push(series);
            }
        }
    }
    // YACE writes a job's info series only when the job got metric data (any query
    // answered), or for every resource found with `always-return-info-metrics`.
    if answered || config.always_return_info_metrics {
        let info_context = match &job.kind {
            JobKind::Discovery {
                include_context_on_info_metrics: true,
                ..
            } => Some(InfoContext {
                region: &clients.region,
                account_id: &account_id,
                custom_tags: &job.custom_tags,
            }),
            _ => None,
        };
        for resource in &resources {
            collected.series.push(info_series(
                namespace,
                resource,
                scheduled * 1000,
                info_context,
                &mut dropped,
            ));
        }
    }
    if dropped > 0 {
        tracing::warn!(namespace = %job.namespace, dropped, "tag, dimension or custom tag keys that are not label names were left out");
    }
    collected.report.labels_dropped += dropped as u64;
    Ok(())
}

fn search_tags_of(job: &Job) -> &[super::config::SearchTag] {
    match &job.kind {
        JobKind::Discovery { search_tags, .. } => search_tags,
        _ => &[],
    }
}
