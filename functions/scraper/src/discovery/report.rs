//! What one discovery entry did, for the run summary: per `*_sd_configs` entry, the
//! objects listed, the targets produced, the API calls made, the time spent and
//! the error that stopped it.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::sink::TargetSink;

/// Malformed objects named in a report, at most: the count is always exact.
const MALFORMED_NAMED: usize = 10;

/// One discovery entry's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SdReport {
    /// The scrape job.
    pub job: String,
    /// The entry's field path (`scrape_configs[0].kubernetes_sd_configs[1]`).
    pub sd: String,
    /// The role (`pod`, `endpoints`...).
    pub role: String,
    /// Objects listed, of every kind the role reads.
    pub objects_listed: u64,
    /// Objects skipped because they could not be decoded or used.
    pub objects_malformed: u64,
    /// Targets produced, before relabeling.
    pub targets: u64,
    /// HTTP requests made to the API server (AWS: calls, pages counted one each).
    pub api_calls: u64,
    /// AWS discovery: calls per operation (`ecs:DescribeTasks` ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub calls: BTreeMap<String, u64>,
    /// Time spent.
    pub duration_seconds: f64,
    /// The first malformed objects, each with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub malformed: Vec<String>,
    /// Why the entry found nothing, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SdReport {
    /// An empty report for an entry.
    pub fn new(job: &str, sd: &str, role: &str) -> SdReport {
        SdReport {
            job: job.to_string(),
            sd: sd.to_string(),
            role: role.to_string(),
            objects_listed: 0,
            objects_malformed: 0,
            targets: 0,
            api_calls: 0,
            calls: BTreeMap::new(),
            duration_seconds: 0.0,
            malformed: Vec::new(),
            error: None,
        }
    }

    /// Counts an object that was skipped, naming the first few.
    pub fn note_malformed(&mut self, reason: String) {
        self.objects_malformed += 1;
        tracing::warn!(job = %self.job, sd = %self.sd, object = %reason, "skipped a malformed object");
        if self.malformed.len() < MALFORMED_NAMED {
            self.malformed.push(reason);
        }
    }

    /// Ends an entry's report: on `failure`, the error with its causes is logged and
    /// kept, and the targets the entry handed to `sink` since `mark` are dropped (half
    /// a listing scraped as if it were all of it would hide the failure); the time
    /// since `started` either way.
    pub fn settle(
        &mut self,
        failure: Option<&dyn std::error::Error>,
        sink: &mut dyn TargetSink,
        mark: usize,
        started: Instant,
    ) {
        if let Some(error) = failure {
            let text = function_cli::error_chain(error);
            tracing::error!(job = %self.job, sd = %self.sd, role = %self.role, error = %text, "discovery failed");
            self.error = Some(text);
            self.targets = 0;
            sink.rollback(mark);
        }
        self.duration_seconds = started.elapsed().as_secs_f64();
    }

    /// Counts a related object the lookup refused (no name or namespace).
    pub fn add_insert<E: std::fmt::Display>(&mut self, result: Result<(), E>) {
        if let Err(error) = result {
            self.note_malformed(error.to_string());
        }
    }
}
