//! The validated config the scaler runs on: defaults applied, names parsed into
//! kinds and fields, matchers compiled. Made only by [`Config::parse`], so holding
//! one means it was checked.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alert_routing::Matcher;

use super::cluster_file::ClusterConfig;
use crate::values::{Field, Kind};

/// The validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// Clusters by the name policies use.
    pub clusters: BTreeMap<String, ClusterConfig>,
    /// Policies in config order (the order they run in).
    pub policies: Vec<Policy>,
    /// How long an alert seen firing through SNS counts as firing without news;
    /// default [`DEFAULT_ALERT_EXPIRY`].
    pub alert_expiry: Duration,
    /// Re-reads after a 409 before a target is reported as failed; default
    /// [`DEFAULT_CONFLICT_RETRIES`].
    pub conflict_retries: u32,
}

/// One scaling policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Unique name, used in reports, Events and the recorded state.
    pub name: String,
    /// CloudWatch alarm names; their current state (DescribeAlarms) is authoritative.
    pub alarms: Vec<String>,
    /// Alertmanager matchers on the alerts the alarm-handler publishes; all must match.
    pub matchers: Vec<Matcher>,
    /// The object the policy scales.
    pub target: Target,
    /// What to do with each field while firing.
    pub while_firing: BTreeMap<Field, Adjust>,
    /// No value the policy writes goes below this.
    pub floor: i32,
    /// No value the policy writes goes above this.
    pub ceiling: i32,
    /// Further steps while still firing; `None` is one step.
    pub escalation: Option<Escalation>,
    /// How long every trigger must be OK before the originals are restored.
    pub cooldown: Duration,
    /// Value changes (apply, escalate, restore) allowed per target in any hour.
    pub max_changes_per_hour: u32,
    /// Decide and report, but write nothing to the cluster.
    pub dry_run: bool,
}

/// The object a policy scales.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// A name under `clusters`.
    pub cluster: String,
    /// The object's namespace.
    pub namespace: String,
    /// The object's kind.
    pub kind: Kind,
    /// The object's name.
    pub name: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.cluster,
            self.namespace,
            self.kind.as_str(),
            self.name
        )
    }
}

/// How a field changes while firing. With escalation, step `k` applies `add` or
/// `multiply` `k` times to the recorded original.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adjust {
    /// Set the field to this value (no further steps).
    Set(i64),
    /// Add this to the original, once per step.
    Add(i64),
    /// Multiply the original by this, once per step (rounded away from the
    /// original: up for a factor of 1 or more, down below 1).
    Multiply(f64),
}

/// Another step every `every` while still firing, up to `max_steps` (and the ceiling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    /// Time between steps while still firing.
    pub every: Duration,
    /// The most steps taken (`u32::MAX` when unlimited).
    pub max_steps: u32,
}

/// Default `cooldown`: how long an alarm must stay OK before restoring.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(15 * 60);
/// Default `max_changes_per_hour`.
pub const DEFAULT_MAX_CHANGES_PER_HOUR: u32 = 12;
/// Default `alert_expiry`.
pub const DEFAULT_ALERT_EXPIRY: Duration = Duration::from_secs(6 * 3600);
/// Default `conflict_retries`.
pub const DEFAULT_CONFLICT_RETRIES: u32 = 5;

impl Config {
    /// Every CloudWatch alarm name any policy names, once.
    pub fn alarm_names(&self) -> BTreeSet<String> {
        self.policies
            .iter()
            .flat_map(|p| p.alarms.iter().cloned())
            .collect()
    }
}
