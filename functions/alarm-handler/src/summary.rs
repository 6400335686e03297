//! The one JSON line logged per invocation (and returned to the CLI): what came in,
//! where it went, what failed.

use std::collections::BTreeMap;

use serde::Serialize;

/// Counts for one invocation.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub messages: usize,
    /// Messages per detected input format.
    pub formats: BTreeMap<String, usize>,
    pub alerts: usize,
    pub firing: usize,
    pub resolved: usize,
    pub inhibited: usize,
    /// Alert x route pairs held back by a time interval.
    pub muted: usize,
    pub routes_matched: usize,
    pub groups: usize,
    pub deliveries: Deliveries,
    /// Per-delivery failures, `receiver/kind[i]: reason` (no secrets).
    pub failures: Vec<String>,
    /// Decoding warnings (truncated bodies, repaired JSON, unknown formats).
    pub warnings: Vec<String>,
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
    pub failed: usize,
    /// Sent per receiver name.
    pub per_receiver: BTreeMap<String, usize>,
}
