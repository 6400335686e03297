//! Service discovery: the targets of a job that are not written down. At the start
//! of each run every `kubernetes_sd_configs` entry is listed afresh (a Lambda keeps
//! nothing between runs, so there is no watch); the targets found join the job's
//! static ones and go through the same target relabeling.
//!
//! - `eks.rs`: reaching an EKS cluster's API server (DescribeCluster, token);
//! - `kube_api.rs`: paginated LIST requests;
//! - `kubernetes.rs`: one `kubernetes_sd_configs` entry, role by role;
//! - `report.rs`: what each entry did, for the run summary;
//! - `shard.rs`: splitting a config's targets across invocations.

pub mod eks;
pub mod kube_api;
pub mod kubernetes;
pub mod report;
pub mod shard;

use std::time::Instant;

use kubernetes_sd::Target;

use crate::config::ScrapeConfig;
use report::SdReport;

/// A job's discovered targets and the report of each of its discovery entries.
#[derive(Debug, Default)]
pub struct JobDiscovery {
    /// Targets found by all the job's entries, labels before relabeling.
    pub targets: Vec<Target>,
    /// One report per entry.
    pub reports: Vec<SdReport>,
}

/// Runs every discovery entry of `job` (written at `at`), before `deadline`.
pub async fn discover_job(job: &ScrapeConfig, at: String, deadline: Instant) -> JobDiscovery {
    let mut found = JobDiscovery::default();
    for (index, sd) in job.kubernetes_sd_configs.iter().enumerate() {
        let sd_at = format!("{at}.kubernetes_sd_configs[{index}]");
        let discovered = kubernetes::discover(sd, &sd_at, &job.job_name, deadline).await;
        found.targets.extend(discovered.targets);
        found.reports.push(discovered.report);
    }
    found
}
