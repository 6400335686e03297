//! Service discovery: the targets of a job that are not written down. At the start
//! of each run every `kubernetes_sd_configs`, `ec2_sd_configs` and `aws_sd_configs`
//! entry is listed afresh (a Lambda keeps
//! nothing between runs, so there is no watch); the targets found join the job's
//! static ones and go through the same target relabeling.
//!
//! - `aws/`: EC2 instances and ECS tasks (and their exporter containers);
//! - `eks.rs`: reaching an EKS cluster's API server (DescribeCluster, token);
//! - `kube_api.rs`: paginated LIST requests;
//! - `kubernetes.rs`: one `kubernetes_sd_configs` entry, role by role;
//! - `report.rs`: what each entry did, for the run summary;
//! - `shard.rs`: splitting a config's targets across invocations;
//! - `sink.rs`: where targets go as they are found (and how a failed entry's go away).

pub mod aws;
pub mod eks;
pub mod kube_api;
pub mod kubernetes;
pub mod report;
pub mod shard;
pub mod sink;

use std::time::Instant;

use crate::config::ScrapeConfig;
use report::SdReport;
use sink::TargetSink;

/// Runs every discovery entry of `job` (written at `at`), before `deadline`, handing
/// each target found (labels before relabeling) to `sink` at once, so a large
/// cluster's label sets are never all held together. An entry that fails contributes
/// no target. One report per entry.
pub async fn discover_job(
    job: &ScrapeConfig,
    at: String,
    deadline: Instant,
    sink: &mut (dyn TargetSink + Send),
) -> Vec<SdReport> {
    let mut reports = Vec::new();
    for (index, sd) in job.kubernetes_sd_configs.iter().enumerate() {
        let sd_at = format!("{at}.kubernetes_sd_configs[{index}]");
        reports.push(kubernetes::discover(sd, &sd_at, &job.job_name, deadline, sink).await);
    }
    for (index, sd) in job.ec2_sd_configs.iter().enumerate() {
        let sd_at = format!("{at}.ec2_sd_configs[{index}]");
        reports.push(aws::discover_ec2(sd, &sd_at, &job.job_name, deadline, sink).await);
    }
    for (index, sd) in job.aws_sd_configs.iter().enumerate() {
        let sd_at = format!("{at}.aws_sd_configs[{index}]");
        reports.push(aws::discover_aws(sd, &sd_at, &job.job_name, deadline, sink).await);
    }
    reports
}
