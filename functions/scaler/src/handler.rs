//! One invocation: decode the event, find the policies it concerns (all of them for a
//! reconcile), read the authoritative alarm states, and converge each policy's target:
//! read the object, decide, write with `resourceVersion` as precondition, re-read and
//! decide again on a 409 (bounded), and leave an Event on the object for each change.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use alert_model::Alert;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::alarms::{self, AlarmsError};
use crate::cluster::Clusters;
use crate::config::{Config, Policy};
use crate::decide::{decide, Action, Signal};
use crate::event::{alarm_claim, parse_invocation, EventError, Invocation};
use crate::kubernetes::{self, EventType, KubeError};
use crate::live::LoadError;
use crate::signal::{policy_signal, record_alerts, AlarmState};
use crate::state::ScalerState;
use crate::summary::{PolicyReport, Summary};
use crate::values::Kind;
use crate::write_plan::{self, Record};
use function_cli::error_chain;

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The config could not be read or is refused (through [`crate::LiveScaler`]).
    #[error(transparent)]
    Config(#[from] LoadError),
    /// The event is not one the scaler understands.
    #[error(transparent)]
    Event(#[from] EventError),
    /// DescribeAlarms failed, so no alarm state is known.
    #[error(transparent)]
    Alarms(#[from] AlarmsError),
    /// Some policies failed; each one's report in the summary says why.
    #[error("{failed} of {run} policies failed: {}", .errors.join("; "))]
    Policies {
        /// Policies that failed.
        failed: usize,
        /// Policies run.
        run: usize,
        /// Each failed policy's error.
        errors: Vec<String>,
    },
}

/// A failed invocation, with what was done before it failed. Its text is the
/// failure with all its causes, because Lambda records only the text.
#[derive(Debug)]
pub struct HandleError {
    /// Why the invocation failed.
    pub failure: Failure,
    /// What was done before, for the invocation log line.
    pub summary: Box<Summary>,
}

impl std::fmt::Display for HandleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&error_chain(&self.failure))
    }
}

/// No `source`: the text already holds the whole chain.
impl std::error::Error for HandleError {}

/// The scaler with its config and clients; reused across warm invocations.
pub struct Scaler {
    config: Config,
    clusters: Clusters,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Scaler {
    /// Clients are built lazily: a cluster is contacted when a policy needs it.
    pub fn new(config: Config, aws: &aws_config::SdkConfig) -> Scaler {
        Scaler {
            clusters: Clusters::new(config.clusters.clone(), aws.clone()),
            cloudwatch: aws_sdk_cloudwatch::Client::new(aws),
            config,
        }
    }

    /// The config in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// DescribeCluster calls made by this instance (cached per warm container).
    pub fn describe_cluster_calls(&self) -> u64 {
        self.clusters.describe_calls()
    }

    /// Handles one event at `now`. Fails (so Lambda retries, then dead-letters) on an
    /// event it cannot read, on DescribeAlarms failing, and when any policy failed.
    pub async fn handle(&self, event: &Value, now: DateTime<Utc>) -> Result<Summary, HandleError> {
        let started = Instant::now();
        let mut summary = Summary::default();
        let result = self.run(event, now, &mut summary).await;
        summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Err(failure) => {
                summary.errors += 1;
                Err(HandleError {
                    failure,
                    summary: Box::new(summary),
                })
            }
            Ok(()) if summary.errors > 0 => Err(HandleError {
                failure: Failure::Policies {
                    failed: summary.errors,
                    run: summary.policies_run,
                    errors: summary
                        .policies
                        .iter()
                        .filter_map(|p| p.error.clone())
                        .collect(),
                },
                summary: Box::new(summary),
            }),
            Ok(()) => Ok(summary),
        }
    }

    async fn run(
        &self,
        event: &Value,
        now: DateTime<Utc>,
        summary: &mut Summary,
    ) -> Result<(), Failure> {
        let invocation = parse_invocation(event)?;
        let reconcile = matches!(invocation, Invocation::Reconcile);
        let (selected, alerts, claims) = match invocation {
            Invocation::Reconcile => {
                summary.trigger = "reconcile".into();
                let all: Vec<&Policy> = self.config.policies.iter().collect();
                (all, Vec::new(), Vec::new())
            }
            Invocation::Alerts {
                alerts,
                formats,
                warnings,
            } => {
                summary.trigger = "alerts".into();
                summary.formats = formats.iter().map(|f| f.as_str().to_string()).collect();
                summary.alerts_received = alerts.len();
                summary.warnings.extend(warnings);
                let claims: Vec<(String, AlarmState)> = alerts
                    .iter()
                    .filter_map(alarm_claim)
                    .map(|(name, state)| (name.to_string(), state))
                    .collect();
                let selected: Vec<&Policy> = self
                    .config
                    .policies
                    .iter()
                    .filter(|p| {
                        claims.iter().any(|(name, _)| p.alarms.contains(name))
                            || alerts.iter().any(|a| crate::signal::matches(p, a))
                    })
                    .collect();
                if selected.is_empty() && !alerts.is_empty() {
                    summary.warnings.push(format!(
                        "none of the {} alerts concerns a policy (alarm names: {:?})",
                        alerts.len(),
                        claims.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
                    ));
                }
                (selected, alerts, claims)
            }
        };
        let names: BTreeSet<String> = selected
            .iter()
            .flat_map(|p| p.alarms.iter().cloned())
            .collect();
        let states = if names.is_empty() {
            BTreeMap::new()
        } else {
            let lookup = alarms::describe(&self.cloudwatch, &names).await?;
            summary.describe_alarms_calls = lookup.calls;
            for name in names.iter().filter(|n| !lookup.states.contains_key(*n)) {
                summary.warnings.push(format!(
                    "alarm {name:?} does not exist (DescribeAlarms); its policies hold"
                ));
            }
            lookup.states
        };
        // An event whose claimed state is not the alarm's current state is old news
        // (or raced a newer change): it is not acted on. Alarms no policy names are
        // not looked up, so their claims are neither fresh nor stale.
        let mut fresh_alarms = BTreeSet::new();
        for (name, claimed) in claims.iter().filter(|(n, _)| names.contains(n)) {
            match states.get(name) {
                Some(current) if current == claimed => {
                    fresh_alarms.insert(name.clone());
                }
                current => {
                    summary.stale_alarm_events += 1;
                    summary.warnings.push(format!(
                        "alarm {name:?}: event says {}, DescribeAlarms says {}; event not acted on",
                        claimed.as_str(),
                        current.map_or("nothing (no such alarm)", |s| s.as_str())
                    ));
                }
            }
        }
        for policy in selected {
            let by_alarm = policy.alarms.iter().any(|a| fresh_alarms.contains(a));
            let by_alert = alerts.iter().any(|a| crate::signal::matches(policy, a));
            if !reconcile && !by_alarm && !by_alert {
                continue;
            }
            let report = self.converge(policy, &states, &alerts, now, summary).await;
            summary.policies_run += 1;
            if report.error.is_some() {
                summary.errors += 1;
            }
            summary.policies.push(report);
        }
        Ok(())
    }

    /// Brings one policy's target to what the policy wants now.
    async fn converge(
        &self,
        policy: &Policy,
        states: &BTreeMap<String, AlarmState>,
        alerts: &[Alert],
        now: DateTime<Utc>,
        summary: &mut Summary,
    ) -> PolicyReport {
        let target = &policy.target;
        let mut report = PolicyReport {
            policy: policy.name.clone(),
            target: target.to_string(),
            dry_run: policy.dry_run,
            action: "skipped".into(),
            signal: "unknown".into(),
            ..PolicyReport::default()
        };
        let client = match self.clusters.client(&target.cluster).await {
            Ok(client) => client,
            Err(e) => {
                report.error = Some(e.to_string());
                return report;
            }
        };
        if target.kind != Kind::HorizontalPodAutoscaler {
            match kubernetes::owning_hpas(&client, target).await {
                Ok(owners) if !owners.is_empty() => {
                    let covered: Vec<&str> = self
                        .config
                        .policies
                        .iter()
                        .filter(|p| {
                            p.target.kind == Kind::HorizontalPodAutoscaler
                                && p.target.cluster == target.cluster
                                && p.target.namespace == target.namespace
                                && owners.contains(&p.target.name)
                        })
                        .map(|p| p.name.as_str())
                        .collect();
                    let message = format!(
                        "{target} is managed by HPA {owners:?}, which would undo a direct scale; \
                         not scaled{}",
                        if covered.is_empty() {
                            "; write a HorizontalPodAutoscaler policy for it instead".to_string()
                        } else {
                            format!(" (policy {covered:?} scales the HPA)")
                        }
                    );
                    tracing::warn!(policy = %policy.name, "{message}");
                    report.warnings.push(message);
                    return report;
                }
                Ok(_) => {}
                Err(e) => {
                    report.error = Some(e.to_string());
                    return report;
                }
            }
        }
        let attempts = self.config.conflict_retries.saturating_add(1);
        let mut last_incomplete: Option<String> = None;
        for _ in 0..attempts {
            let observed = match kubernetes::read(&client, target).await {
                Ok(o) => o,
                Err(e) => {
                    report.error = Some(e.to_string());
                    return report;
                }
            };
            let state = match ScalerState::from_annotations(&observed.annotations) {
                Ok(s) => s,
                Err(e) => {
                    report.error = Some(format!(
                        "{target}: {e}; the scaler leaves it alone until the annotation is fixed or removed"
                    ));
                    return report;
                }
            };
            let mut working = state.clone();
            let recorded = record_alerts(
                policy,
                &mut working.alerts,
                alerts,
                self.config.alert_expiry,
                now,
            );
            let signal = policy_signal(
                policy,
                states,
                &working.alerts,
                self.config.alert_expiry,
                now,
            );
            let decision = decide(policy, &observed.values, &working, signal, now);
            report.signal = match signal {
                Signal::Firing => "firing",
                Signal::Ok => "ok",
                Signal::Unknown => "unknown",
            }
            .into();
            report.action = decision.action.name().into();
            report.step = decision.state.applied.as_ref().map(|a| a.step);
            if let Action::RateLimited { wanted } = &decision.action {
                summary.rate_limited += 1;
                report.warnings.push(format!(
                    "{} due but {} changes in the last hour reached max_changes_per_hour",
                    wanted.name(),
                    decision.state.changes.len()
                ));
            }
            let annotations: write_plan::AnnotationChanges = decision
                .state
                .to_annotations()
                .into_iter()
                .filter(|(k, v)| observed.annotations.get(*k) != v.as_ref())
                .collect();
            if let Some(write) = &decision.write {
                report.from = Some(
                    write
                        .keys()
                        .filter_map(|f| observed.values.get(f).map(|v| (*f, *v)))
                        .collect(),
                );
                report.to = Some(write.clone());
            }
            if policy.dry_run {
                if decision.write.is_some() {
                    summary.dry_run_changes += 1;
                    tracing::info!(policy = %policy.name, target = %target, action = decision.action.name(),
                        from = ?report.from, to = ?report.to, "dry run: would scale");
                }
                return report;
            }
            if decision.write.is_none() && annotations.is_empty() {
                summary.stale_alerts += recorded.stale;
                return report;
            }
            let record = if decision.state.applied.is_some() {
                Record::Kept
            } else {
                Record::Removed
            };
            let writes =
                write_plan::plan(target.kind, &annotations, decision.write.as_ref(), record);
            match kubernetes::write(&client, target, &observed.resource_version, &writes).await {
                Ok(()) => {
                    summary.stale_alerts += recorded.stale;
                    if decision.write.is_some() {
                        summary.changes += 1;
                        let message = format!(
                            "policy {}: {} {} -> {} (signal {}, step {})",
                            policy.name,
                            decision.action.name(),
                            show(report.from.as_ref()),
                            show(report.to.as_ref()),
                            report.signal,
                            report.step.map_or("-".to_string(), |s| s.to_string()),
                        );
                        tracing::info!(policy = %policy.name, target = %target, action = decision.action.name(),
                            from = ?report.from, to = ?report.to, "{message}");
                        if let Err(e) = kubernetes::record_event(
                            &client,
                            target,
                            &observed,
                            EventType::Normal,
                            event_reason(&decision.action),
                            &message,
                        )
                        .await
                        {
                            report.warnings.push(format!("event not recorded: {e}"));
                        }
                    }
                    return report;
                }
                Err(e) if e.is_conflict() => {
                    report.conflicts += 1;
                    summary.conflicts += 1;
                    last_incomplete = e.is_incomplete().then(|| e.to_string());
                    tracing::info!(policy = %policy.name, target = %target, error = %e, "409 conflict; re-reading");
                }
                Err(e) => {
                    // The invocation fails (Lambda retries it, the reconcile schedule
                    // runs again) and the next run finishes from what is on the object.
                    if e.is_incomplete() {
                        summary.incomplete_changes += 1;
                    }
                    tracing::warn!(policy = %policy.name, target = %target, error = %e, "write failed");
                    report.error = Some(e.to_string());
                    return report;
                }
            }
        }
        if last_incomplete.is_some() {
            summary.incomplete_changes += 1;
        }
        report.error = Some(
            KubeError::Unusable {
                target: target.to_string(),
                reason: format!(
                    "still conflicting after {attempts} attempts (another writer keeps changing it){}",
                    last_incomplete.map_or(String::new(), |e| format!("; last attempt: {e}"))
                ),
            }
            .to_string(),
        );
        report
    }
}

fn show(values: Option<&crate::values::Values>) -> String {
    values.map_or("{}".to_string(), crate::values::values_to_json)
}

/// The Event `reason` for a change.
fn event_reason(action: &Action) -> &'static str {
    match action {
        Action::Apply { .. } => "ScalerApplied",
        Action::Escalate { .. } => "ScalerEscalated",
        Action::Reassert { .. } => "ScalerReasserted",
        Action::Restore => "ScalerRestored",
        _ => "ScalerChanged",
    }
}
