//! What one invocation did, as the JSON the CLI prints and the Lambda logs in one line:
//! counts for dashboards and a report per policy that ran.

use function_cli::{Figures, MetricSet};
use serde::Serialize;

use crate::values::Values;

/// One invocation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// `reconcile` or `alerts`.
    pub trigger: String,
    /// Alert formats that arrived (`alert_batch`, `cloudwatch_alarm`, ...).
    pub formats: Vec<String>,
    /// Alerts decoded from the event.
    pub alerts_received: usize,
    /// Alerts about a CloudWatch alarm whose claimed state disagreed with the
    /// alarm's current state: not acted on.
    pub stale_alarm_events: usize,
    /// Alert notifications older than what the target already recorded.
    pub stale_alerts: usize,
    /// DescribeAlarms calls made.
    pub describe_alarms_calls: u64,
    /// Policies whose target was converged.
    pub policies_run: usize,
    /// Value changes written (apply, escalate, reassert, restore).
    pub changes: usize,
    /// Value changes a dry-run policy would have written.
    pub dry_run_changes: usize,
    /// Changes held back by `max_changes_per_hour`.
    pub rate_limited: usize,
    /// 409 responses that were retried.
    pub conflicts: u32,
    /// Changes whose writes stopped part way (a later write failed after an earlier
    /// one landed); the invocation fails and the next run finishes them.
    pub incomplete_changes: usize,
    /// Policies that failed, plus one when the invocation itself failed.
    pub errors: usize,
    /// Wall time of the invocation.
    pub duration_ms: u64,
    /// What did not fail but needs a look (unknown alarms, unrelated alerts).
    pub warnings: Vec<String>,
    /// One report per policy run.
    pub policies: Vec<PolicyReport>,
}

/// Figures for the pipeline's dashboard: changes written, conflicts, policies holding
/// in a cooldown, failures, and events that were too old to act on.
impl Figures for Summary {
    fn figures(&self) -> Vec<MetricSet> {
        let count = |n: usize| n as u64;
        let cooldowns = self
            .policies
            .iter()
            .filter(|p| p.action == "cooldown_started" || p.action == "cooling")
            .count();
        vec![MetricSet::new()
            .count("Invocations", 1)
            .count("AlertsReceived", count(self.alerts_received))
            .count("PoliciesRun", count(self.policies_run))
            .count("Changes", count(self.changes))
            .count("DryRunChanges", count(self.dry_run_changes))
            .count("RateLimited", count(self.rate_limited))
            .count("Conflicts", u64::from(self.conflicts))
            .count("Cooldowns", count(cooldowns))
            .count("Errors", count(self.errors))
            .count(
                "StaleEvents",
                count(self.stale_alarm_events + self.stale_alerts),
            )
            .milliseconds("DurationMs", self.duration_ms)]
    }
}

/// One policy in one invocation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyReport {
    /// The policy's name.
    pub policy: String,
    /// Its target, `cluster/namespace/kind/name`.
    pub target: String,
    /// `firing`, `ok` or `unknown`.
    pub signal: String,
    /// The decision ([`crate::decide::Action::name`]) or `skipped`.
    pub action: String,
    /// Whether the policy is a dry run (nothing written).
    pub dry_run: bool,
    /// Values before, for the fields written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Values>,
    /// Values written (or, in a dry run, that would be).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Values>,
    /// The escalation step in place after the run, while applied.
    pub step: Option<u32>,
    /// 409 responses retried for this target.
    pub conflicts: u32,
    /// Why the policy failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What did not fail but needs a look (an HPA owning the target).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
