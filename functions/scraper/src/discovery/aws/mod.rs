//! AWS service discovery: `ec2_sd_configs`, and `aws_sd_configs` with `role: ec2`
//! or `role: ecs`. Each entry is listed afresh at the start of every run, with the
//! entry's region and credentials (`role_arn` assumed through STS), before the
//! run's discovery deadline. A failed entry contributes no target; its error, its
//! calls per operation and what it skipped are in its report.
//!
//! - `client.rs`: the SDK configuration of an entry;
//! - `calls.rs`: calls per operation, for the report;
//! - `ec2.rs`: instances and their `__meta_ec2_*` labels;
//! - `ecs.rs`: tasks and their `__meta_ecs_*` labels;
//! - `ecs_containers.rs`: ours, one target per exporter container (docker labels).

pub mod calls;
pub mod client;
pub mod ec2;
pub mod ecs;
pub mod ecs_containers;

use std::time::Instant;

use kubernetes_sd::Target;

use super::report::SdReport;
use super::sink::TargetSink;
use crate::config::{AwsAccess, AwsRole, AwsSdConfig, Ec2SdConfig};
use calls::ApiCalls;

/// Why an AWS discovery entry found nothing.
#[derive(Debug, thiserror::Error)]
enum AwsSdError {
    #[error(transparent)]
    Client(#[from] client::AwsClientError),
    #[error(transparent)]
    Ec2(#[from] ec2::Ec2Error),
    #[error(transparent)]
    Ecs(#[from] ecs::EcsError),
    #[error("the run's discovery deadline passed")]
    Deadline,
}

/// What an entry lists.
enum Listing<'a> {
    Ec2(&'a Ec2SdConfig),
    Ecs(&'a AwsSdConfig),
}

/// One `ec2_sd_configs` entry.
pub async fn discover_ec2(
    sd: &Ec2SdConfig,
    at: &str,
    job: &str,
    deadline: Instant,
    sink: &mut (dyn TargetSink + Send),
) -> SdReport {
    run_entry(
        Listing::Ec2(sd),
        &sd.access(),
        "ec2",
        at,
        job,
        deadline,
        sink,
    )
    .await
}

/// One `aws_sd_configs` entry (validated: its role is served).
pub async fn discover_aws(
    sd: &AwsSdConfig,
    at: &str,
    job: &str,
    deadline: Instant,
    sink: &mut (dyn TargetSink + Send),
) -> SdReport {
    match sd.role() {
        Some(AwsRole::Ecs) => {
            run_entry(
                Listing::Ecs(sd),
                &sd.access(),
                "ecs",
                at,
                job,
                deadline,
                sink,
            )
            .await
        }
        _ => {
            let ec2 = sd.as_ec2();
            run_entry(
                Listing::Ec2(&ec2),
                &sd.access(),
                "ec2",
                at,
                job,
                deadline,
                sink,
            )
            .await
        }
    }
}

async fn run_entry(
    listing: Listing<'_>,
    access: &AwsAccess,
    role: &str,
    at: &str,
    job: &str,
    deadline: Instant,
    sink: &mut (dyn TargetSink + Send),
) -> SdReport {
    let started = Instant::now();
    let mut report = SdReport::new(job, at, role);
    let mark = sink.checkpoint();
    let mut produced = 0u64;
    let mut counting = |target: Target| {
        produced += 1;
        sink.add(target);
    };
    let mut calls = ApiCalls::default();
    let mut skipped = Vec::new();
    let mut objects = 0u64;
    let work = list(
        listing,
        access,
        &mut calls,
        &mut objects,
        &mut skipped,
        &mut counting,
    );
    let outcome = match tokio::time::timeout_at(deadline.into(), work).await {
        Ok(outcome) => outcome,
        Err(_) => Err(AwsSdError::Deadline),
    };
    report.targets = produced;
    report.objects_listed = objects;
    report.api_calls = calls.total();
    report.calls = calls.by_operation();
    for reason in skipped {
        report.note_malformed(reason);
    }
    let failure = outcome.err();
    report.settle(
        failure.as_ref().map(|e| e as &dyn std::error::Error),
        sink,
        mark,
        started,
    );
    report
}

async fn list(
    listing: Listing<'_>,
    access: &AwsAccess,
    calls: &mut ApiCalls,
    objects: &mut u64,
    skipped: &mut Vec<String>,
    sink: &mut (dyn FnMut(Target) + Send),
) -> Result<(), AwsSdError> {
    let (config, region) = client::sdk_config(access).await?;
    let ec2_client = aws_sdk_ec2::Client::new(&config);
    match listing {
        Listing::Ec2(sd) => {
            ec2::discover(&ec2_client, sd, &region, calls, objects, sink).await?;
        }
        Listing::Ecs(sd) => {
            let ecs_client = aws_sdk_ecs::Client::new(&config);
            let mut discovery = ecs::EcsDiscovery {
                ecs: &ecs_client,
                ec2: &ec2_client,
                sd,
                region: &region,
                calls,
                objects: 0,
                skipped: Vec::new(),
            };
            let outcome = discovery.discover(sink).await;
            *objects = discovery.objects;
            skipped.append(&mut discovery.skipped);
            outcome?;
        }
    }
    Ok(())
}
