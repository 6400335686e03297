//! The CloudWatch-side AWS calls: resources from the Resource Groups Tagging API,
//! metrics from ListMetrics, datapoints from GetMetricData, the account from STS.
//! Every call is counted; pagination is followed; throttling is retried by the SDK's
//! standard retry mode (exponential backoff with jitter), configured where the
//! clients are built.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_cloudwatch::error::DisplayErrorContext;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, RecentlyActive};

use super::associate::{MetricId, Resource};
use super::config::SearchTag;

/// API calls made and metrics requested in a run.
#[derive(Debug, Default)]
pub struct ApiCounters {
    /// Tagging API `GetResources` calls.
    pub get_resources: AtomicU64,
    /// `ListMetrics` calls.
    pub list_metrics: AtomicU64,
    /// `GetMetricData` calls.
    pub get_metric_data: AtomicU64,
    /// STS `GetCallerIdentity` calls.
    pub get_caller_identity: AtomicU64,
    /// Metric x statistic queries sent to GetMetricData (what it bills).
    pub metrics_requested: AtomicU64,
}

impl ApiCounters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A failed call, naming the API and region.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{api} in {region}: {reason}")]
pub struct FetchError {
    /// The API (`cloudwatch:GetMetricData`).
    pub api: &'static str,
    /// The region called.
    pub region: String,
    /// The SDK's error with its context (what AWS said).
    pub reason: String,
}

/// The clients for one (region, role).
pub struct RegionClients {
    /// The clients' region.
    pub region: String,
    /// CloudWatch (ListMetrics, GetMetricData).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// Resource Groups Tagging API (GetResources).
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// STS (GetCallerIdentity).
    pub sts: aws_sdk_sts::Client,
}

impl RegionClients {
    fn fail(&self, api: &'static str, e: impl std::error::Error) -> FetchError {
        FetchError {
            api,
            region: self.region.clone(),
            reason: DisplayErrorContext(e).to_string(),
        }
    }

    /// The account the credentials belong to.
    pub async fn account_id(&self, counters: &ApiCounters) -> Result<String, FetchError> {
        ApiCounters::add(&counters.get_caller_identity, 1);
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| self.fail("sts:GetCallerIdentity", e))?;
        Ok(out.account().unwrap_or_default().to_string())
    }

    /// Tagged resources of `resource_types` carrying every search tag.
    pub async fn resources(
        &self,
        resource_types: &[&str],
        search_tags: &[SearchTag],
        counters: &ApiCounters,
    ) -> Result<Vec<Resource>, FetchError> {
        let mut resources = Vec::new();
        let mut token: Option<String> = None;
        loop {
            ApiCounters::add(&counters.get_resources, 1);
            let out = self
                .tagging
                .get_resources()
                .set_resource_type_filters(Some(
                    resource_types.iter().map(|t| t.to_string()).collect(),
                ))
                .set_pagination_token(token.clone())
                .send()
                .await
                .map_err(|e| self.fail("tag:GetResources", e))?;
            for mapping in out.resource_tag_mapping_list() {
                let Some(arn) = mapping.resource_arn() else {
                    continue;
                };
                let resource = Resource {
                    arn: arn.to_string(),
                    tags: mapping
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_string(), t.value().to_string()))
                        .collect(),
                };
                if super::associate::matches_search_tags(&resource, search_tags) {
                    resources.push(resource);
                }
            }
            match out.pagination_token().filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
        }
        Ok(resources)
    }

    /// Every metric of `namespace` (the last 3 hours only with `recently_active`).
    pub async fn list_metrics(
        &self,
        namespace: &str,
        recently_active: bool,
        counters: &ApiCounters,
    ) -> Result<Vec<MetricId>, FetchError> {
        let mut metrics = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut token: Option<String> = None;
        loop {
            ApiCounters::add(&counters.list_metrics, 1);
            let mut request = self
                .cloudwatch
                .list_metrics()
                .namespace(namespace)
                .set_next_token(token.clone());
            if recently_active {
                request = request.recently_active(RecentlyActive::Pt3H);
            }
            let out = request
                .send()
                .await
                .map_err(|e| self.fail("cloudwatch:ListMetrics", e))?;
            for metric in out.metrics() {
                let Some(name) = metric.metric_name() else {
                    continue;
                };
                let mut dimensions: Vec<(String, String)> = metric
                    .dimensions()
                    .iter()
                    .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
                    .collect();
                dimensions.sort();
                // A metric listed twice (pages overlapping, or a stand-in listing
                // one entry per datapoint) is fetched once.
                let id = MetricId {
                    name: name.to_string(),
                    dimensions,
                };
                if seen.insert(id.clone()) {
                    metrics.push(id);
                }
            }
            match out.next_token().filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
        }
        Ok(metrics)
    }

    /// One planned GetMetricData call over `[start, end)` (epoch seconds), following
    /// NextToken; datapoints by query id. `billed_metrics` is what AWS bills for it
    /// (counted in `metrics_requested`).
    pub async fn get_metric_data(
        &self,
        queries: &[DataQuery<'_>],
        billed_metrics: usize,
        start: i64,
        end: i64,
        counters: &ApiCounters,
    ) -> Result<HashMap<String, Vec<(i64, f64)>>, FetchError> {
        let built = queries
            .iter()
            .map(DataQuery::build)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.fail("cloudwatch:GetMetricData", e))?;
        ApiCounters::add(&counters.metrics_requested, billed_metrics as u64);
        let mut results: HashMap<String, Vec<(i64, f64)>> = HashMap::new();
        let mut token: Option<String> = None;
        loop {
            ApiCounters::add(&counters.get_metric_data, 1);
            let out = self
                .cloudwatch
                .get_metric_data()
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .set_metric_data_queries(Some(built.clone()))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| self.fail("cloudwatch:GetMetricData", e))?;
            for result in out.metric_data_results() {
                let Some(id) = result.id() else {
                    continue;
                };
                let points = results.entry(id.to_string()).or_default();
                for (t, v) in result.timestamps().iter().zip(result.values()) {
                    points.push((t.secs(), *v));
                }
            }
            match out.next_token().filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
        }
        Ok(results)
    }
}

/// A period GetMetricData cannot take (it is a 32-bit number of seconds).
#[derive(Debug, thiserror::Error)]
#[error("period {0} too large")]
pub struct PeriodTooLong(pub u64);

/// One metric x statistic of a GetMetricData call.
#[derive(Debug, Clone, Copy)]
pub struct DataQuery<'a> {
    /// The query id, unique within the call (`q<n>`).
    pub id: &'a str,
    /// The CloudWatch namespace.
    pub namespace: &'a str,
    /// The metric and its dimensions.
    pub metric: &'a MetricId,
    /// The statistic, as GetMetricData spells it.
    pub statistic: &'a str,
    /// The period, seconds.
    pub period: u64,
}

impl DataQuery<'_> {
    fn build(&self) -> Result<MetricDataQuery, PeriodTooLong> {
        let dimensions = self
            .metric
            .dimensions
            .iter()
            .map(|(n, v)| Dimension::builder().name(n).value(v).build())
            .collect();
        let metric = Metric::builder()
            .namespace(self.namespace)
            .metric_name(&self.metric.name)
            .set_dimensions(Some(dimensions))
            .build();
        let stat = MetricStat::builder()
            .metric(metric)
            .period(i32::try_from(self.period).map_err(|_| PeriodTooLong(self.period))?)
            .stat(self.statistic)
            .build();
        Ok(MetricDataQuery::builder()
            .id(self.id)
            .metric_stat(stat)
            .return_data(true)
            .build())
    }
}
