//! The scaler's config file as written: serde shapes only, every value kept as the
//! user wrote it (defaults left unset) so validation can tell "not set" from "set to
//! the default" and name the field. What the values must satisfy is in
//! `validate.rs`; what the scaler runs on is in `model.rs`.

use std::collections::BTreeMap;

use prom::duration::PromDuration;
use serde::Deserialize;

use super::cluster_file::ClusterConfig;

/// The file as written. Unknown fields are refused so a typo is an error at load
/// rather than a policy that silently behaves differently during an incident.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The Kubernetes APIs policies may reach, by the name their targets use;
    /// required.
    pub clusters: BTreeMap<String, ClusterConfig>,
    /// The policies, in the order they run; required.
    pub policies: Vec<PolicyFile>,
    /// How long an alert seen firing through SNS (matcher triggers) counts as firing
    /// without being repeated or resolved. Alertmanager repeats firing notifications
    /// every `repeat_interval` (4h by default), so the default, 6h, is longer than
    /// that.
    #[serde(default)]
    pub alert_expiry: Option<PromDuration>,
    /// Attempts for one target when its `resourceVersion` keeps changing under us
    /// (HTTP 409); default 5.
    #[serde(default)]
    pub conflict_retries: Option<u32>,
}

/// One `policies` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Unique name, used in reports, Events and the recorded state; required.
    pub name: String,
    /// What makes the policy fire; at least one alarm or matcher.
    #[serde(default)]
    pub triggers: TriggersFile,
    /// The object the policy scales; required.
    pub target: TargetFile,
    /// Field name (`min_replicas`, `max_replicas`, `replicas`) to its change while
    /// firing; required, not empty.
    pub while_firing: BTreeMap<String, AdjustFile>,
    /// No value the policy writes goes below this; default 1 for an HPA, else 0.
    #[serde(default)]
    pub floor: Option<i32>,
    /// No value the policy writes goes above this; required, because an unbounded
    /// scale-up is a cost incident of its own.
    pub ceiling: i32,
    /// Further steps while still firing; default none (one step).
    #[serde(default)]
    pub escalation: Option<EscalationFile>,
    /// How long every trigger must be OK before the originals are restored; default
    /// 15m, so a flapping alarm does not flap the target.
    #[serde(default)]
    pub cooldown: Option<PromDuration>,
    /// Value changes (apply, escalate, restore) allowed per target in any hour;
    /// default 12.
    #[serde(default)]
    pub max_changes_per_hour: Option<u32>,
    /// Decide and report, but write nothing to the cluster; default false.
    #[serde(default)]
    pub dry_run: bool,
}

/// A policy's `triggers:` as written; both default to none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriggersFile {
    /// CloudWatch alarm names; their current state (DescribeAlarms) is authoritative.
    pub alarms: Vec<String>,
    /// Alertmanager matcher lists (`alertname="X", team=~"a|b"`) on the alerts the
    /// alarm-handler publishes.
    pub matchers: Vec<String>,
}

/// A policy's `target:` as written; every field required.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    /// A name under `clusters`: the Kubernetes API the object is in. Required.
    pub cluster: String,
    /// The object's namespace. Required.
    pub namespace: String,
    /// `HorizontalPodAutoscaler`, `Deployment` or `StatefulSet`. Required.
    pub kind: String,
    /// The object's name. Required.
    pub name: String,
}

/// One `while_firing` change as written: exactly one of the fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdjustFile {
    /// Set the field to this value.
    pub set: Option<i64>,
    /// Add this to the recorded original (per escalation step).
    pub add: Option<i64>,
    /// Multiply the recorded original by this (per escalation step).
    pub multiply: Option<f64>,
}

/// A policy's `escalation:` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationFile {
    /// Another step after this long still firing; required, at least 1m.
    pub every: PromDuration,
    /// At most this many steps; default unlimited (the ceiling still bounds them).
    #[serde(default)]
    pub max_steps: Option<u32>,
}
