//! Planning GetMetricData calls: one query per metric x statistic, grouped by
//! (period, delay) because one call has one time range, at most 500 queries per call
//! (the API's limit). Also what the run costs: GetMetricData is billed per metric
//! requested.

use std::collections::BTreeMap;

/// GetMetricData's limit on `MetricDataQueries` per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// USD per metric requested through GetMetricData (us-east-1 list price, $0.01 per
/// 1,000 metrics).
pub const USD_PER_METRIC_REQUESTED: f64 = 0.01 / 1000.0;

/// One metric x statistic to fetch; `key` is the caller's handle for the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuerySpec {
    /// Index of the query in the caller's list.
    pub key: usize,
    /// Its period, seconds.
    pub period: u64,
    /// Its length, seconds.
    pub length: u64,
    /// Its delay, seconds.
    pub delay: u64,
}

/// One GetMetricData call (before NextToken pagination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The period shared by the call's queries.
    pub period: u64,
    /// The delay shared by the call's queries.
    pub delay: u64,
    /// The longest `length` of the call's queries: the time range covers them all
    /// (each datapoint is kept only if the run owns it).
    pub length: u64,
    /// `(query id, key)`: ids are `q<n>`, unique within the call as the API requires
    /// (a lower-case letter first, then letters, digits, `_`).
    pub queries: Vec<(String, usize)>,
}

/// Groups and chunks `specs`: `ceil(n / 500)` calls for each (period, delay) group
/// of `n` queries, in a deterministic order.
pub fn plan(specs: &[QuerySpec]) -> Vec<Call> {
    let mut groups: BTreeMap<(u64, u64), Vec<&QuerySpec>> = BTreeMap::new();
    for spec in specs {
        groups
            .entry((spec.period, spec.delay))
            .or_default()
            .push(spec);
    }
    let mut calls = Vec::new();
    for ((period, delay), members) in groups {
        for chunk in members.chunks(MAX_QUERIES_PER_CALL) {
            calls.push(Call {
                period,
                delay,
                length: chunk.iter().map(|s| s.length).max().unwrap_or(period),
                queries: chunk
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (format!("q{i}"), s.key))
                    .collect(),
            });
        }
    }
    calls
}

/// The cost of requesting `metrics` metrics, in USD.
pub fn cost_usd(metrics: usize) -> f64 {
    metrics as f64 * USD_PER_METRIC_REQUESTED
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(n: usize, period: u64, delay: u64, first_key: usize) -> Vec<QuerySpec> {
        (0..n)
            .map(|i| QuerySpec {
                key: first_key + i,
                period,
                length: period * (1 + (i as u64 % 3)),
                delay,
            })
            .collect()
    }

    #[test]
    fn ceil_n_over_500_calls_per_period_and_delay_group() {
        for n in [1, 499, 500, 501, 1000, 1234] {
            let calls = plan(&specs(n, 60, 0, 0));
            assert_eq!(calls.len(), n.div_ceil(500), "{n}");
            assert_eq!(calls.iter().map(|c| c.queries.len()).sum::<usize>(), n);
            assert!(calls
                .iter()
                .all(|c| c.queries.len() <= MAX_QUERIES_PER_CALL));
        }
        let mut mixed = specs(700, 60, 0, 0);
        mixed.extend(specs(10, 300, 0, 700));
        mixed.extend(specs(600, 60, 120, 710));
        let calls = plan(&mixed);
        let shape: Vec<(u64, u64, usize)> = calls
            .iter()
            .map(|c| (c.period, c.delay, c.queries.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (60, 0, 500),
                (60, 0, 200),
                (60, 120, 500),
                (60, 120, 100),
                (300, 0, 10)
            ]
        );
    }

    #[test]
    fn ids_are_valid_and_every_key_appears_once() {
        let input = specs(1100, 60, 0, 0);
        let calls = plan(&input);
        let mut keys: Vec<usize> = calls
            .iter()
            .flat_map(|c| c.queries.iter().map(|(_, k)| *k))
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, (0..1100).collect::<Vec<_>>());
        for call in &calls {
            let mut ids: Vec<&str> = call.queries.iter().map(|(id, _)| id.as_str()).collect();
            assert!(ids
                .iter()
                .all(|id| id.starts_with('q') && id[1..].bytes().all(|b| b.is_ascii_digit())));
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), call.queries.len());
            assert_eq!(call.length, 180, "the longest length of the call's queries");
        }
        assert!((cost_usd(1000) - 0.01).abs() < 1e-12);
    }
}
