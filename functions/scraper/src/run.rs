//! One scraper run: build the targets, scrape them concurrently, send each target's
//! requests as soon as its scrape completes, then send metadata and the run's own
//! series, all before the deadline.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prom::relabel::RelabelConfigError;
use prom::remote_write::MetricMetadata;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::discovery::discover_job;
use crate::discovery::eks::outside_the_cluster;
use crate::discovery::shard::Shard;
use crate::job_setup::{eks_job_client, scrape_job};
use crate::outbox::{EndpointRules, Outbox, ReadyRequest, SendRules};
use crate::scrape::{now_millis, scrape_target, ScrapeJob, ScrapeResult, Tracking};
use crate::sender::{Delivery, RunEndpoints};
use crate::staleness::markers::mark_vanished_target;
use crate::staleness::run_state::TargetState;
use crate::staleness::series_set::{encode_labels, SeriesSet};
use crate::staleness::{StalenessTracker, TargetOutcome};
use crate::summary::{RunCounters, RunSummary, TargetReport};
use crate::target::{Target, TargetBuilder};
use crate::warm::{PreparedJob, RunInputs};
use function_cli::error_chain;

/// A run that could not start (an endpoint could not be set up).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A remote-write endpoint's client or signer could not be set up.
    #[error(transparent)]
    Sender(#[from] crate::sender::SenderError),
    /// Relabel rules do not compile. Not expected: the config's validation compiles
    /// them too; kept so a disagreement fails the run instead of panicking.
    #[error("{at}: relabel rules do not compile")]
    Relabel {
        /// The rules' field path (`remote_write[0].write_relabel_configs`).
        at: String,
        /// What is wrong with them.
        #[source]
        source: RelabelConfigError,
    },
}

/// Runs one invocation until `deadline` (the Lambda deadline); work stops
/// `scraper.deadline_margin` before it so the summary is always reported.
/// `scheduled` (epoch seconds) is the time the run is scheduled for: CloudWatch
/// query windows derive from it. `shard` picks this invocation's share of the
/// targets; CloudWatch is collected by the first shard only.
/// `inputs` are the config and what was built from it (kept by a warm container);
/// `warnings` are the config's, reported in the summary.
pub async fn run(
    inputs: RunInputs,
    warnings: Vec<String>,
    deadline: Instant,
    instance: &str,
    scheduled: i64,
    shard: Shard,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let RunInputs {
        loaded,
        relabelers,
        endpoints,
        jobs,
        report: _,
    } = inputs;
    let config = &loaded.config;
    let margin = config.scraper.deadline_margin.0;
    let work_deadline = deadline.checked_sub(margin).unwrap_or(started);
    let final_deadline = deadline.checked_sub(margin / 4).unwrap_or(started);
    let counters = Arc::new(RunCounters::default());

    let senders = Arc::new(RunEndpoints::new(endpoints, counters.clone()));
    let mut endpoint_rules = Vec::new();
    for (index, rw) in config.remote_write.iter().enumerate() {
        endpoint_rules.push(EndpointRules::new(rw).map_err(|source| RunError::Relabel {
            at: format!("remote_write[{index}].write_relabel_configs"),
            source,
        })?);
    }
    let rules = Arc::new(SendRules::new(
        &config.global.external_labels,
        endpoint_rules,
        counters.clone(),
    ));

    // Discovery may use at most half the time left, so the scrapes keep the rest.
    // Each job's targets are relabeled (and sharded) as discovery produces them.
    let discovery_deadline = started + work_deadline.saturating_duration_since(started) / 2;
    let default_timeout = config.global.scrape_timeout.0;
    let discovering = futures_util::future::join_all(
        config
            .scrape_configs
            .iter()
            .zip(relabelers.iter())
            .enumerate()
            .map(|(index, (sc, relabeler))| async move {
                let mut builder =
                    TargetBuilder::new(sc, relabeler, default_timeout.as_secs_f64(), shard);
                let reports = discover_job(
                    sc,
                    format!("scrape_configs[{index}]"),
                    discovery_deadline,
                    &mut builder,
                )
                .await;
                (builder.finish(), reports)
            }),
    );
    // The run state is read while discovery runs: neither waits for the other.
    let state_loading = async {
        match &config.scraper.state {
            Some(settings) => Some(
                StalenessTracker::load(settings, shard, discovery_deadline, counters.clone()).await,
            ),
            None => None,
        }
    };
    let (discovered, mut tracker) = futures_util::future::join(discovering, state_loading).await;
    // Jobs whose targets are not known this run (discovery or setup failed): their
    // remembered targets are kept, not marked gone.
    let mut unsettled_jobs: BTreeSet<String> = BTreeSet::new();
    let mut discovery_reports = Vec::new();
    let mut reports: Vec<TargetReport> = Vec::new();
    let mut work: Vec<(Arc<ScrapeJob>, Target)> = Vec::new();
    for (((index, sc), (targets, found_reports)), prepared) in config
        .scrape_configs
        .iter()
        .enumerate()
        .zip(discovered)
        .zip(jobs)
    {
        for report in &found_reports {
            if report.error.is_some() {
                unsettled_jobs.insert(sc.job_name.clone());
                counters.add(&counters.errors, 1);
                counters.add(&counters.discovery_failures, 1);
            }
            counters.add(
                &counters.discovery_objects_malformed,
                report.objects_malformed,
            );
        }
        discovery_reports.extend(found_reports);
        let prepared = match prepared {
            PreparedJob::Eks => match eks_job_client(sc, index)
                .await
                .and_then(|client| scrape_job(sc, index, &config.global, default_timeout, client))
            {
                Ok(job) => Ok(Arc::new(job)),
                Err(error) => Err(error_chain(&error)),
            },
            PreparedJob::Ready(job) => Ok(job),
            PreparedJob::Refused(error) => Err(error),
        };
        let job = match prepared {
            Ok(job) => job,
            Err(error) => {
                tracing::error!(job = %sc.job_name, error = %error, "job cannot be scraped");
                unsettled_jobs.insert(sc.job_name.clone());
                for target in targets {
                    let (instance, url) = match &target {
                        Ok(t) => (t.instance().to_string(), t.url.to_string()),
                        Err(e) => (e.address.clone(), String::new()),
                    };
                    counters.add(&counters.targets_down, 1);
                    counters.add(&counters.errors, 1);
                    reports.push(down_report(&sc.job_name, instance, url, error.clone()));
                }
                continue;
            }
        };
        for target in targets {
            match target {
                Ok(mut target) => {
                    if let Some(endpoint) = &job.api_server {
                        target.url = outside_the_cluster(&target.url, endpoint);
                    }
                    work.push((job.clone(), target))
                }
                Err(error) => {
                    tracing::error!(error = %error, "invalid target");
                    counters.add(&counters.targets_down, 1);
                    counters.add(&counters.errors, 1);
                    reports.push(down_report(
                        &error.job,
                        error.address.clone(),
                        String::new(),
                        error.reason.clone(),
                    ));
                }
            }
        }
    }
    let target_count = (work.len() + reports.len()) as u64;

    let limit = Arc::new(Semaphore::new(config.scraper.max_concurrent_scrapes));
    let mut tasks = JoinSet::new();
    for (job, target) in work {
        let limit = limit.clone();
        let rules = rules.clone();
        let senders = senders.clone();
        let remembered = tracker.as_mut().map(|tracker| {
            let key = encode_labels(&target.labels);
            let previous = tracker.claim(&key);
            (key, previous)
        });
        tasks.spawn(async move {
            let permit = limit.acquire_owned().await.ok();
            let tracking = match &remembered {
                Some((_, previous)) => Tracking::On {
                    previous: previous.as_ref().map(|p| &p.series),
                },
                None => Tracking::Off,
            };
            let mut result = scrape_target(&job, &target, &rules, work_deadline, tracking).await;
            // The permit bounds scrapes, not deliveries: held while a slow or refusing
            // receiver is retried, it would keep the other targets from being scraped
            // until the deadline, and they would be reported down for a scrape that
            // never ran.
            drop(permit);
            let sent = deliver(&senders, &result.requests, work_deadline).await;
            // The next state is settled here, in parallel across targets: comparing and
            // compressing a big target's series is the costly part of staleness.
            let outcome = remembered.map(|(key, previous)| {
                TargetOutcome::settle(
                    key,
                    job.config.job_name.clone(),
                    result.scrape_ms,
                    previous,
                    result.previous_series.take(),
                    std::mem::take(&mut result.series),
                    sent,
                )
            });
            (result, outcome)
        });
    }
    let mut metadata: Vec<MetricMetadata> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((result, outcome)) => {
                if let (Some(tracker), Some(outcome)) = (tracker.as_mut(), outcome) {
                    tracker.count_markers(result.stale_markers);
                    tracker.record(outcome);
                }
                record(&counters, &mut reports, &mut metadata, result)
            }
            Err(e) => {
                counters.add(&counters.errors, 1);
                tracing::error!(error = %e, "scrape task failed");
            }
        }
    }
    if let Some(tracker) = tracker.as_mut() {
        mark_vanished_targets(tracker, &unsettled_jobs, &rules, &senders, work_deadline).await;
    }

    let cloudwatch = match &loaded.cloudwatch {
        Some(yace) if shard.is_first() => Some(
            collect_cloudwatch(
                yace,
                scheduled,
                config.scraper.schedule_interval.0,
                &rules,
                &senders,
                work_deadline,
            )
            .await,
        ),
        _ => None,
    };

    let state = match tracker {
        Some(tracker) => Some(tracker.save(final_deadline).await),
        None => None,
    };
    let mut summary = RunSummary {
        discovery: discovery_reports,
        targets: target_count,
        counters: counters.snapshot(),
        duration_seconds: started.elapsed().as_secs_f64(),
        deadline_seconds: deadline.saturating_duration_since(started).as_secs_f64(),
        deadline_hit: Instant::now() >= work_deadline || deadline_cut_sends(&senders),
        target_reports: reports,
        config_warnings: warnings,
        cloudwatch,
        state,
    };
    let mut outbox = Outbox::new(&rules);
    let mut encode_error = None;
    for meta in &metadata {
        if let Err(e) = outbox.add_metadata(&rules, meta) {
            encode_error = Some(e);
        }
    }
    let own = &config.scraper.self_metrics;
    if own.enabled {
        let self_ms = now_millis();
        let prefix = &config.scraper.self_metrics_prefix;
        let job = own.job.as_deref().unwrap_or(prefix);
        let instance = own.instance.as_deref().unwrap_or(instance);
        for (labels, value) in summary.self_metrics(prefix, job, instance) {
            if let Err(e) = outbox.add(&rules, labels, value, self_ms) {
                encode_error = Some(e);
            }
        }
    }
    match outbox.finish(&rules) {
        Ok(requests) => {
            deliver(&senders, &requests, final_deadline).await;
        }
        Err(e) => encode_error = Some(e),
    }
    if let Some(e) = encode_error {
        counters.add(&counters.errors, 1);
        tracing::error!(error = %e, "run metrics not sent");
    }
    summary.counters = counters.snapshot();
    summary.duration_seconds = started.elapsed().as_secs_f64();
    summary.deadline_hit |= deadline_cut_sends(&senders);
    Ok(summary)
}

/// Collects CloudWatch (bounded by the work deadline), logs the run's API calls and
/// cost, and sends the series.
async fn collect_cloudwatch(
    yace: &crate::cloudwatch::config::YaceConfig,
    scheduled: i64,
    interval: Duration,
    rules: &SendRules,
    senders: &RunEndpoints,
    work_deadline: Instant,
) -> crate::cloudwatch::collect::CloudWatchReport {
    // Boxed: the collection future is deep, and the runtime's future holds it.
    let collecting = Box::pin(crate::cloudwatch::collect::collect(
        yace, scheduled, interval,
    ));
    let collected = match tokio::time::timeout_at(work_deadline.into(), collecting).await {
        Ok(collected) => collected,
        Err(_) => {
            let mut report = crate::cloudwatch::collect::CloudWatchReport::default();
            report
                .errors
                .push("deadline reached before CloudWatch collection finished".into());
            return report;
        }
    };
    let report = collected.report;
    tracing::info!(
        get_metric_data_calls = report.get_metric_data_calls,
        list_metrics_calls = report.list_metrics_calls,
        get_resources_calls = report.get_resources_calls,
        metrics_requested = report.metrics_requested,
        cost_usd = report.cost_usd,
        series = report.series,
        "CloudWatch collection"
    );
    let mut outbox = Outbox::new(rules);
    let mut report = report;
    for series in collected.series {
        let mut labels = prom::labels::Labels::new();
        labels.set("__name__", series.name);
        for (name, value) in series.labels {
            // Prometheus drops empty labels; so do we.
            if !value.is_empty() {
                labels.set(name, value);
            }
        }
        for (timestamp_ms, value) in series.samples {
            if let Err(e) = outbox.add(rules, labels.clone(), value, timestamp_ms) {
                report.errors.push(e.to_string());
            }
        }
    }
    match outbox.finish(rules) {
        Ok(requests) => {
            deliver(senders, &requests, work_deadline).await;
        }
        Err(e) => report.errors.push(e.to_string()),
    }
    report
}

/// Writes staleness markers for the remembered targets that left discovery (all of
/// their series and their synthetic series, at the current time) in one batch.
async fn mark_vanished_targets(
    tracker: &mut StalenessTracker,
    unsettled_jobs: &BTreeSet<String>,
    rules: &SendRules,
    senders: &RunEndpoints,
    deadline: Instant,
) {
    let vanished: Vec<(Vec<u8>, TargetState)> =
        tracker.take_vanished(|job| !unsettled_jobs.contains(job));
    if vanished.is_empty() {
        return;
    }
    let at_ms = now_millis();
    let mut outbox = Outbox::new(rules);
    let mut markers = 0;
    let mut encoded = true;
    for (key, target) in &vanished {
        let series = match target.series.expand() {
            Ok(series) => series,
            Err(error) => {
                // Its synthetic series are still marked; its own cannot be.
                tracing::warn!(error = %error, "remembered series unreadable");
                SeriesSet::new()
            }
        };
        match mark_vanished_target(&mut outbox, rules, key, &series, at_ms) {
            Ok(marked) => markers += marked.markers,
            Err(error) => {
                encoded = false;
                tracing::error!(error = %error, "staleness markers not encoded");
            }
        }
    }
    let sent = match outbox.finish(rules) {
        Ok(requests) => encoded && deliver(senders, &requests, deadline).await,
        Err(error) => {
            tracing::error!(error = %error, "staleness markers not encoded");
            false
        }
    };
    tracker.count_markers(markers);
    for (key, target) in vanished {
        tracker.record_vanished(key, target, sent, at_ms);
    }
}

/// Whether an endpoint gave up a request for lack of time: retries that stop short of
/// the deadline (the next wait would pass it) end every task before it, yet the run
/// was cut short.
fn deadline_cut_sends(senders: &RunEndpoints) -> bool {
    senders.deadline_reached()
}

/// Sends requests concurrently (each endpoint bounds its own requests in flight).
/// True when every request reached its receiver (accepted, or refused for good: a
/// retry of a refused request would be refused again).
async fn deliver(senders: &RunEndpoints, requests: &[ReadyRequest], deadline: Instant) -> bool {
    let sends = requests
        .iter()
        .map(|ready| senders.send(ready.endpoint, &ready.request, deadline));
    futures_util::future::join_all(sends)
        .await
        .iter()
        .all(|delivery| !matches!(delivery, Delivery::Unsent { .. }))
}

fn record(
    counters: &RunCounters,
    reports: &mut Vec<TargetReport>,
    metadata: &mut Vec<MetricMetadata>,
    result: ScrapeResult,
) {
    let report = result.report;
    if report.up {
        counters.add(&counters.targets_up, 1);
    } else {
        counters.add(&counters.targets_down, 1);
    }
    counters.add(&counters.samples_scraped, report.samples_scraped);
    counters.add(
        &counters.samples_post_relabel,
        report.samples_post_metric_relabeling,
    );
    counters.add(&counters.samples_duplicate, result.samples_duplicate);
    merge_metadata(metadata, result.metadata);
    reports.push(report);
}

/// Merges a target's metadata (sorted by family name, one entry per family, as a
/// scrape gives it) into the run's (the same shape): a family already there keeps its
/// first target's entry. Entries are moved, not copied, and the run holds one entry
/// per family however many targets expose it.
fn merge_metadata(run: &mut Vec<MetricMetadata>, target: Vec<MetricMetadata>) {
    if run.is_empty() {
        *run = target;
        return;
    }
    let earlier = std::mem::take(run);
    run.reserve(earlier.len().max(target.len()));
    let mut earlier = earlier.into_iter().peekable();
    let mut target = target.into_iter().peekable();
    loop {
        let order = match (earlier.peek(), target.peek()) {
            (Some(a), Some(b)) => a.metric_family_name.cmp(&b.metric_family_name),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => break,
        };
        match order {
            std::cmp::Ordering::Less => run.extend(earlier.next()),
            std::cmp::Ordering::Greater => run.extend(target.next()),
            std::cmp::Ordering::Equal => {
                run.extend(earlier.next());
                target.next();
            }
        }
    }
}

fn down_report(job: &str, instance: String, url: String, error: String) -> TargetReport {
    TargetReport {
        openmetrics_violations: Vec::new(),
        job: job.to_string(),
        instance,
        url,
        up: false,
        samples_scraped: 0,
        samples_post_metric_relabeling: 0,
        duration_seconds: 0.0,
        error: Some(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, help: &str) -> MetricMetadata {
        MetricMetadata {
            r#type: 0,
            metric_family_name: name.to_string(),
            help: help.to_string(),
            unit: String::new(),
        }
    }

    #[test]
    fn merged_metadata_keeps_the_first_targets_entry_per_family() {
        let mut run = Vec::new();
        merge_metadata(&mut run, vec![meta("b", "first"), meta("d", "first")]);
        merge_metadata(
            &mut run,
            vec![
                meta("a", "second"),
                meta("b", "second"),
                meta("e", "second"),
            ],
        );
        merge_metadata(&mut run, vec![meta("c", "third"), meta("e", "third")]);
        let seen: Vec<(&str, &str)> = run
            .iter()
            .map(|m| (m.metric_family_name.as_str(), m.help.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("a", "second"),
                ("b", "first"),
                ("c", "third"),
                ("d", "first"),
                ("e", "second"),
            ]
        );
    }
}
