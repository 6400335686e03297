//! What one invocation did, counted while it runs: the JSON log line and response, and
//! the same figures as series so users can alert on the pipeline itself.

use std::sync::atomic::{AtomicU64, Ordering};

use prom::Labels;
use serde::Serialize;

/// Counters updated concurrently by scrapes and senders.
#[derive(Debug, Default)]
pub struct RunCounters {
    /// Targets scraped successfully (`up` 1).
    pub targets_up: AtomicU64,
    /// Targets whose scrape failed or could not be set up (`up` 0).
    pub targets_down: AtomicU64,
    /// Samples parsed from the targets, before metric relabeling.
    pub samples_scraped: AtomicU64,
    /// Samples left after `metric_relabel_configs`.
    pub samples_post_relabel: AtomicU64,
    /// Samples dropped because their series repeated within one scrape.
    pub samples_duplicate: AtomicU64,
    /// Series dropped before sending because they broke the receiver's limits.
    pub series_dropped_limits: AtomicU64,
    /// Samples in requests the receivers accepted (counted once per endpoint).
    pub samples_sent: AtomicU64,
    /// Samples in requests the receiver refused with a non-retryable 4xx.
    pub samples_rejected: AtomicU64,
    /// Samples not delivered because retries ran out of time or attempts.
    pub samples_unsent: AtomicU64,
    /// Metric metadata entries (TYPE/HELP/UNIT) in accepted requests.
    pub metadata_sent: AtomicU64,
    /// Remote-write requests attempted, every retry included.
    pub requests: AtomicU64,
    /// Requests finally not accepted (rejected or unsent).
    pub requests_failed: AtomicU64,
    /// Retried attempts.
    pub retries: AtomicU64,
    /// Compressed request bytes accepted.
    pub bytes_sent: AtomicU64,
    /// Errors of any kind, each also logged.
    pub errors: AtomicU64,
    /// Discovery entries (`*_sd_configs`) that failed this run.
    pub discovery_failures: AtomicU64,
    /// Discovered objects skipped because they could not be decoded or used.
    pub discovery_objects_malformed: AtomicU64,
    /// Staleness markers written (one per series that ended, whatever the endpoints).
    pub stale_markers: AtomicU64,
    /// Run state that could not be read, decoded or written (`scraper.state`).
    pub state_errors: AtomicU64,
    /// Run state writes refused because another run wrote the object meanwhile.
    pub state_conflicts: AtomicU64,
    /// OpenMetrics rules broken by the expositions scraped (reported, or the scrape
    /// refused with `openmetrics_validation: strict`).
    pub openmetrics_violations: AtomicU64,
}

impl RunCounters {
    /// Adds `n` to one of this struct's counters (relaxed: only the final figures
    /// are read, after all work has finished).
    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A consistent-enough copy for reporting once all work has finished.
    pub fn snapshot(&self) -> CountersSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CountersSnapshot {
            targets_up: get(&self.targets_up),
            targets_down: get(&self.targets_down),
            samples_scraped: get(&self.samples_scraped),
            samples_post_relabel: get(&self.samples_post_relabel),
            samples_duplicate: get(&self.samples_duplicate),
            series_dropped_limits: get(&self.series_dropped_limits),
            samples_sent: get(&self.samples_sent),
            samples_rejected: get(&self.samples_rejected),
            samples_unsent: get(&self.samples_unsent),
            metadata_sent: get(&self.metadata_sent),
            requests: get(&self.requests),
            requests_failed: get(&self.requests_failed),
            retries: get(&self.retries),
            bytes_sent: get(&self.bytes_sent),
            errors: get(&self.errors),
            discovery_failures: get(&self.discovery_failures),
            discovery_objects_malformed: get(&self.discovery_objects_malformed),
            stale_markers: get(&self.stale_markers),
            state_errors: get(&self.state_errors),
            state_conflicts: get(&self.state_conflicts),
            openmetrics_violations: get(&self.openmetrics_violations),
        }
    }
}

/// Plain numbers of [`RunCounters`].
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Targets scraped successfully (`up` 1).
    pub targets_up: u64,
    /// Targets whose scrape failed or could not be set up (`up` 0).
    pub targets_down: u64,
    /// Samples parsed from the targets, before metric relabeling.
    pub samples_scraped: u64,
    /// Samples left after `metric_relabel_configs`.
    pub samples_post_relabel: u64,
    /// Samples dropped because their series repeated within one scrape.
    pub samples_duplicate: u64,
    /// Series dropped before sending because they broke the receiver's limits.
    pub series_dropped_limits: u64,
    /// Samples in requests the receivers accepted (counted once per endpoint).
    pub samples_sent: u64,
    /// Samples in requests the receiver refused with a non-retryable 4xx.
    pub samples_rejected: u64,
    /// Samples not delivered because retries ran out of time or attempts.
    pub samples_unsent: u64,
    /// Metric metadata entries (TYPE/HELP/UNIT) in accepted requests.
    pub metadata_sent: u64,
    /// Remote-write requests attempted, every retry included.
    pub requests: u64,
    /// Requests finally not accepted (rejected or unsent).
    pub requests_failed: u64,
    /// Retried attempts.
    pub retries: u64,
    /// Compressed request bytes accepted.
    pub bytes_sent: u64,
    /// Errors of any kind, each also logged.
    pub errors: u64,
    /// Discovery entries that failed.
    pub discovery_failures: u64,
    /// Discovered objects skipped as malformed.
    pub discovery_objects_malformed: u64,
    /// Staleness markers written.
    pub stale_markers: u64,
    /// Run state not read, decoded or written.
    pub state_errors: u64,
    /// Run state writes refused by a concurrent run's write.
    pub state_conflicts: u64,
    /// OpenMetrics rules broken by the expositions scraped.
    pub openmetrics_violations: u64,
}

/// One target's result, for the response.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    /// The scrape config's `job_name`.
    pub job: String,
    /// The target's `instance` label.
    pub instance: String,
    /// The URL scraped (empty when the target could not be built).
    pub url: String,
    /// Whether the scrape succeeded, as the `up` series says.
    pub up: bool,
    /// Samples parsed (`scrape_samples_scraped`).
    pub samples_scraped: u64,
    /// Samples left after metric relabeling
    /// (`scrape_samples_post_metric_relabeling`).
    pub samples_post_metric_relabeling: u64,
    /// How long the scrape took (`scrape_duration_seconds`).
    pub duration_seconds: f64,
    /// Why the scrape failed, causes included, worded as Prometheus words it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// OpenMetrics rules the exposition broke (the first 20, `rule: where and what`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub openmetrics_violations: Vec<String>,
}

/// The invocation's response and log line.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Targets found (after target relabeling), up or down.
    pub targets: u64,
    /// The run's figures, flattened into the JSON.
    #[serde(flatten)]
    pub counters: CountersSnapshot,
    /// Wall-clock time of the run.
    pub duration_seconds: f64,
    /// Time the invocation had, from the run's start to its deadline: the line
    /// `duration_seconds` must stay under.
    pub deadline_seconds: f64,
    /// Whether work was cut short by the invocation deadline.
    pub deadline_hit: bool,
    /// One report per target.
    pub target_reports: Vec<TargetReport>,
    /// One report per discovery entry (`kubernetes_sd_configs`...): objects listed,
    /// targets found, API calls, time, error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub discovery: Vec<crate::discovery::report::SdReport>,
    /// The config's warnings (ignored and deprecated fields), repeated here so the
    /// response shows them.
    pub config_warnings: Vec<String>,
    /// CloudWatch collection, when the config has a `cloudwatch:` block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudwatch: Option<crate::cloudwatch::collect::CloudWatchReport>,
    /// The run state behind staleness markers, when `scraper.state` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<crate::staleness::StateReport>,
}

/// The run's health as EMF on the summary line. The scraper also writes its own series
/// (`scraper_*`, `up`, `scrape_*`) to AMP, but those go to the AMP that may be the
/// thing failing; these reach CloudWatch through the log group alone, and the
/// template alarms on `SamplesUnsent` and `TargetsDown`.
impl function_cli::Figures for RunSummary {
    fn figures(&self) -> Vec<function_cli::MetricSet> {
        let c = &self.counters;
        let duration_ms = (self.duration_seconds * 1000.0).round();
        vec![function_cli::MetricSet::new()
            .count("Invocations", 1)
            .count("Targets", self.targets)
            .count("TargetsUp", c.targets_up)
            .count("TargetsDown", c.targets_down)
            .count("SamplesScraped", c.samples_scraped)
            .count("SamplesSent", c.samples_sent)
            .count("SamplesRejected", c.samples_rejected)
            .count("SamplesUnsent", c.samples_unsent)
            .count("RequestsFailed", c.requests_failed)
            .count("Retries", c.retries)
            .count("DiscoveryFailures", c.discovery_failures)
            .count("StaleMarkers", c.stale_markers)
            .count("StateErrors", c.state_errors)
            .count("DeadlineHit", u64::from(self.deadline_hit))
            .milliseconds("DurationMs", duration_ms as u64)]
    }

    /// The run's counts without the per-target, per-discovery and CloudWatch reports:
    /// the response with a report per target can pass the 256 KB a log event may
    /// hold, and Logs Insights queries the counts.
    fn logged_summary(&self) -> Option<serde_json::Value> {
        let mut logged = match serde_json::to_value(self.counters) {
            Ok(serde_json::Value::Object(counters)) => counters,
            _ => serde_json::Map::new(),
        };
        logged.insert("targets".into(), self.targets.into());
        logged.insert("duration_seconds".into(), self.duration_seconds.into());
        logged.insert("deadline_seconds".into(), self.deadline_seconds.into());
        logged.insert("deadline_hit".into(), self.deadline_hit.into());
        logged.insert("config_warnings".into(), self.config_warnings.len().into());
        Some(serde_json::Value::Object(logged))
    }
}

impl RunSummary {
    /// The run's own series (`<prefix>_<figure>{job, instance}`), gauges holding this
    /// run's values; with a `cloudwatch:` block also `<prefix>_cloudwatch_<figure>`
    /// (API calls and the GetMetricData list price), the figures that make a
    /// CloudWatch bill.
    pub fn self_metrics(&self, prefix: &str, job: &str, instance: &str) -> Vec<(Labels, f64)> {
        let c = &self.counters;
        let mut figures: Vec<(&str, f64)> = vec![
            ("targets", self.targets as f64),
            ("targets_up", c.targets_up as f64),
            ("targets_down", c.targets_down as f64),
            ("samples_scraped", c.samples_scraped as f64),
            ("samples_post_relabel", c.samples_post_relabel as f64),
            ("samples_duplicate", c.samples_duplicate as f64),
            ("series_dropped_limits", c.series_dropped_limits as f64),
            ("samples_sent", c.samples_sent as f64),
            ("samples_rejected", c.samples_rejected as f64),
            ("samples_unsent", c.samples_unsent as f64),
            ("requests", c.requests as f64),
            ("requests_failed", c.requests_failed as f64),
            ("retries", c.retries as f64),
            ("bytes_sent", c.bytes_sent as f64),
            ("errors", c.errors as f64),
            ("discovery_failures", c.discovery_failures as f64),
            ("openmetrics_violations", c.openmetrics_violations as f64),
            (
                "discovery_objects_malformed",
                c.discovery_objects_malformed as f64,
            ),
            ("run_duration_seconds", self.duration_seconds),
            ("deadline_seconds", self.deadline_seconds),
            ("deadline_hit", if self.deadline_hit { 1.0 } else { 0.0 }),
        ];
        if self.state.is_some() {
            figures.extend([
                ("stale_markers", c.stale_markers as f64),
                ("state_errors", c.state_errors as f64),
                ("state_conflicts", c.state_conflicts as f64),
            ]);
        }
        if let Some(cw) = &self.cloudwatch {
            figures.extend([
                ("cloudwatch_series", cw.series as f64),
                ("cloudwatch_samples", cw.samples as f64),
                (
                    "cloudwatch_get_resources_calls",
                    cw.get_resources_calls as f64,
                ),
                (
                    "cloudwatch_list_metrics_calls",
                    cw.list_metrics_calls as f64,
                ),
                (
                    "cloudwatch_get_metric_data_calls",
                    cw.get_metric_data_calls as f64,
                ),
                ("cloudwatch_metrics_requested", cw.metrics_requested as f64),
                ("cloudwatch_cost_usd", cw.cost_usd),
                ("cloudwatch_errors", cw.errors.len() as f64),
            ]);
        }
        figures
            .iter()
            .map(|(name, value)| {
                let labels = Labels::from_pairs([
                    (prom::METRIC_NAME, format!("{prefix}_{name}")),
                    ("job", job.to_string()),
                    ("instance", instance.to_string()),
                ]);
                (labels, *value)
            })
            .collect()
    }
}
