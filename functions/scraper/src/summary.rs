//! What one invocation did, counted while it runs: the JSON log line and response, and
//! the same figures as series so users can alert on the pipeline itself.

use std::sync::atomic::{AtomicU64, Ordering};

use prom::Labels;
use serde::Serialize;

/// Counters updated concurrently by scrapes and senders.
#[derive(Debug, Default)]
pub struct RunCounters {
    pub targets_up: AtomicU64,
    pub targets_down: AtomicU64,
    pub samples_scraped: AtomicU64,
    pub samples_post_relabel: AtomicU64,
    pub samples_duplicate: AtomicU64,
    pub series_dropped_limits: AtomicU64,
    pub samples_sent: AtomicU64,
    pub samples_rejected: AtomicU64,
    pub samples_unsent: AtomicU64,
    pub metadata_sent: AtomicU64,
    pub requests: AtomicU64,
    pub requests_failed: AtomicU64,
    pub retries: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub errors: AtomicU64,
}

impl RunCounters {
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
        }
    }
}

/// Plain numbers of [`RunCounters`].
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct CountersSnapshot {
    pub targets_up: u64,
    pub targets_down: u64,
    pub samples_scraped: u64,
    pub samples_post_relabel: u64,
    pub samples_duplicate: u64,
    /// Series dropped before sending because they broke the receiver's limits.
    pub series_dropped_limits: u64,
    pub samples_sent: u64,
    /// Samples in requests the receiver refused with a non-retryable 4xx.
    pub samples_rejected: u64,
    /// Samples not delivered because retries ran out of time or attempts.
    pub samples_unsent: u64,
    pub metadata_sent: u64,
    pub requests: u64,
    pub requests_failed: u64,
    pub retries: u64,
    pub bytes_sent: u64,
    pub errors: u64,
}

/// One target's result, for the response.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub job: String,
    pub instance: String,
    pub url: String,
    pub up: bool,
    pub samples_scraped: u64,
    pub samples_post_metric_relabeling: u64,
    pub duration_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The invocation's response and log line.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub targets: u64,
    #[serde(flatten)]
    pub counters: CountersSnapshot,
    pub duration_seconds: f64,
    pub deadline_hit: bool,
    pub target_reports: Vec<TargetReport>,
    pub config_warnings: Vec<String>,
    /// CloudWatch collection, when the config has a `cloudwatch:` block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudwatch: Option<crate::cloudwatch::collect::CloudWatchReport>,
}

impl RunSummary {
    /// The run's own series (`<prefix>_<figure>`), gauges holding this run's values.
    pub fn self_metrics(&self, prefix: &str, instance: &str) -> Vec<(Labels, f64)> {
        let c = &self.counters;
        let figures: [(&str, f64); 17] = [
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
            ("run_duration_seconds", self.duration_seconds),
            ("deadline_hit", if self.deadline_hit { 1.0 } else { 0.0 }),
        ];
        figures
            .iter()
            .map(|(name, value)| {
                let labels = Labels::from_pairs([
                    (prom::METRIC_NAME, format!("{prefix}_{name}")),
                    ("job", prefix.to_string()),
                    ("instance", instance.to_string()),
                ]);
                (labels, *value)
            })
            .collect()
    }
}
