//! The one JSON line logged per invocation (and returned to the CLI): what came in,
//! where it went, what failed.

use std::collections::{BTreeMap, BTreeSet};

use function_cli::{Figures, MetricSet};
use serde::Serialize;

/// Counts for one invocation.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Messages in the invocation (SNS records, or one event).
    pub messages: usize,
    /// Messages per detected input format.
    pub formats: BTreeMap<String, usize>,
    /// Alerts decoded from the messages.
    pub alerts: usize,
    /// Of those, firing.
    pub firing: usize,
    /// Of those, resolved.
    pub resolved: usize,
    /// Alerts muted by an inhibit rule.
    pub inhibited: usize,
    /// Alert x route pairs held back by a time interval.
    pub muted: usize,
    /// Route matches over all alerts (`continue` routes count more than once).
    pub routes_matched: usize,
    /// Notification groups formed.
    pub groups: usize,
    /// Alerts not notified because an active silence matches them.
    pub silenced: usize,
    /// With timers: groups whose alerts were stored to be sent by a later flush.
    pub groups_waiting: usize,
    /// With timers: groups flushed (each may or may not notify, by its timers).
    pub groups_flushed: usize,
    /// What happened to the notifications.
    pub deliveries: Deliveries,
    /// Per-delivery failures, `receiver/kind[i]: reason` (no secrets).
    pub failures: Vec<String>,
    /// Decoding warnings (truncated bodies, repaired JSON, unknown formats).
    pub warnings: Vec<String>,
    /// Wall time of the invocation.
    pub duration_ms: u64,
}

/// Notification counts.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Deliveries {
    /// Sent now.
    pub sent: usize,
    /// Skipped: an earlier invocation delivered the same message there.
    pub duplicates: usize,
    /// Skipped: nothing left after `send_resolved: false`.
    pub nothing_to_send: usize,
    /// Not delivered; the invocation fails so Lambda retries it.
    pub failed: usize,
    /// Sent per receiver name.
    pub per_receiver: BTreeMap<String, usize>,
    /// Duplicates per receiver name (only receivers that had one).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub duplicates_per_receiver: BTreeMap<String, usize>,
    /// Failures per receiver name (only receivers that had one).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_per_receiver: BTreeMap<String, usize>,
}

impl Summary {
    /// Adds the counts of `other` (a flush run inside this invocation) to these.
    pub fn absorb(&mut self, other: Summary) {
        self.inhibited += other.inhibited;
        self.muted += other.muted;
        self.silenced += other.silenced;
        self.groups_flushed += other.groups_flushed;
        let (d, o) = (&mut self.deliveries, other.deliveries);
        d.sent += o.sent;
        d.duplicates += o.duplicates;
        d.nothing_to_send += o.nothing_to_send;
        d.failed += o.failed;
        for (receiver, n) in o.per_receiver {
            *d.per_receiver.entry(receiver).or_default() += n;
        }
        for (receiver, n) in o.duplicates_per_receiver {
            *d.duplicates_per_receiver.entry(receiver).or_default() += n;
        }
        for (receiver, n) in o.failed_per_receiver {
            *d.failed_per_receiver.entry(receiver).or_default() += n;
        }
        self.failures.extend(other.failures);
        self.warnings.extend(other.warnings);
    }
}

impl Deliveries {
    /// Counts a delivery skipped as a duplicate for `receiver`.
    pub fn duplicate(&mut self, receiver: &str) {
        self.duplicates += 1;
        *self
            .duplicates_per_receiver
            .entry(receiver.to_string())
            .or_default() += 1;
    }

    /// Counts a failed delivery for `receiver`.
    pub fn fail(&mut self, receiver: &str) {
        self.failed += 1;
        *self
            .failed_per_receiver
            .entry(receiver.to_string())
            .or_default() += 1;
    }
}

/// Figures for the pipeline's dashboard: the invocation's counts, then one set per
/// receiver (sent, duplicates, failed), which is what on-call looks at when a
/// notification did not arrive.
impl Figures for Summary {
    fn figures(&self) -> Vec<MetricSet> {
        let count = |n: usize| n as u64;
        let d = &self.deliveries;
        let mut sets = vec![MetricSet::new()
            .count("Invocations", 1)
            .count("Messages", count(self.messages))
            .count("Alerts", count(self.alerts))
            .count("Firing", count(self.firing))
            .count("Resolved", count(self.resolved))
            .count("Inhibited", count(self.inhibited))
            .count("Muted", count(self.muted))
            .count("Groups", count(self.groups))
            .count("Silenced", count(self.silenced))
            .count("GroupsWaiting", count(self.groups_waiting))
            .count("GroupsFlushed", count(self.groups_flushed))
            .count("DeliveriesSent", count(d.sent))
            .count("DeliveriesDuplicate", count(d.duplicates))
            .count("DeliveriesNothingToSend", count(d.nothing_to_send))
            .count("DeliveriesFailed", count(d.failed))
            .count("DecodeWarnings", count(self.warnings.len()))
            .milliseconds("DurationMs", self.duration_ms)];
        let receivers: BTreeSet<&String> = d
            .per_receiver
            .keys()
            .chain(d.duplicates_per_receiver.keys())
            .chain(d.failed_per_receiver.keys())
            .collect();
        for receiver in receivers {
            let of = |map: &BTreeMap<String, usize>| count(map.get(receiver).copied().unwrap_or(0));
            sets.push(
                MetricSet::with_dimension("Receiver", receiver.as_str())
                    .count("DeliveriesSent", of(&d.per_receiver))
                    .count("DeliveriesDuplicate", of(&d.duplicates_per_receiver))
                    .count("DeliveriesFailed", of(&d.failed_per_receiver)),
            );
        }
        sets
    }
}
