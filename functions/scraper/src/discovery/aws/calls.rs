//! API calls an AWS discovery entry made, per operation, for the run summary: the
//! figure that says whether batching and caching work (250 tasks are three
//! DescribeTasks calls, a shared task definition is described once).

use std::collections::BTreeMap;

/// Calls per operation (`ecs:DescribeTasks` ...). Pages count one each.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApiCalls {
    counts: BTreeMap<&'static str, u64>,
}

impl ApiCalls {
    /// Counts one call of `operation`.
    pub fn count(&mut self, operation: &'static str) {
        *self.counts.entry(operation).or_default() += 1;
    }

    /// Calls in all.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Per operation, for the report.
    pub fn by_operation(&self) -> BTreeMap<String, u64> {
        self.counts
            .iter()
            .map(|(name, count)| (name.to_string(), *count))
            .collect()
    }
}
