//! The one JSON line logged per invocation (and returned to the CLI): what came in,
//! where it went, what failed.

use std::collections::BTreeMap;

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
}
