//! Planning GetMetricData calls: one query per metric x statistic, grouped by
//! (period, delay) because one call has one time range, at most 500 queries per call
//! (the API's limit), a metric's statistics kept in one call. Also what the run costs:
//! GetMetricData is billed per metric requested, and AWS bills up to five statistics
//! of the same metric in one request as one metric ("Additional statistics are billed
//! as an additional metric"), so a call bills `ceil(statistics / 5)` per metric.

use std::collections::{BTreeMap, HashMap};

/// GetMetricData's limit on `MetricDataQueries` per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// USD per metric requested through GetMetricData (us-east-1 list price, $0.01 per
/// 1,000 metrics).
pub const USD_PER_METRIC_REQUESTED: f64 = 0.01 / 1000.0;

/// Statistics of one metric that one request bills as one metric.
pub const STATISTICS_PER_BILLED_METRIC: usize = 5;

/// One metric x statistic to fetch; `key` is the caller's handle for the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuerySpec {
    /// Index of the query in the caller's list.
    pub key: usize,
    /// The metric queried (the caller's number for it): queries of one metric are
    /// statistics of it, kept together and billed together.
    pub metric: usize,
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
    /// Metrics AWS bills for this call: per metric, `ceil(statistics / 5)`.
    pub billed_metrics: usize,
}

/// Groups and chunks `specs`: `ceil(n / 500)` calls for each (period, delay) group
/// of `n` queries when no metric's statistics would straddle two calls; a metric's
/// statistics go in one call (a new call starts rather than split them), in a
/// deterministic order.
pub fn plan(specs: &[QuerySpec]) -> Vec<Call> {
    // Per (period, delay): the metrics' bundles in first-seen order, and where each
    // metric's bundle is.
    type Bundles<'a> = (Vec<Vec<&'a QuerySpec>>, HashMap<usize, usize>);
    let mut groups: BTreeMap<(u64, u64), Bundles<'_>> = BTreeMap::new();
    for spec in specs {
        let (bundles, index) = groups.entry((spec.period, spec.delay)).or_default();
        match index.get(&spec.metric) {
            Some(&at) => bundles[at].push(spec),
            None => {
                index.insert(spec.metric, bundles.len());
                bundles.push(vec![spec]);
            }
        }
    }
    let mut calls = Vec::new();
    for ((period, delay), (bundles, _)) in groups {
        let mut chunk: Vec<&[&QuerySpec]> = Vec::new();
        let mut size = 0;
        for bundle in &bundles {
            // A bundle over the limit (500 statistics of one metric) is split.
            for part in bundle.chunks(MAX_QUERIES_PER_CALL) {
                if size + part.len() > MAX_QUERIES_PER_CALL {
                    calls.push(call(period, delay, &chunk));
                    chunk.clear();
                    size = 0;
                }
                size += part.len();
                chunk.push(part);
            }
        }
        if !chunk.is_empty() {
            calls.push(call(period, delay, &chunk));
        }
    }
    calls
}

/// One call of whole bundles (each one metric's statistics).
fn call(period: u64, delay: u64, bundles: &[&[&QuerySpec]]) -> Call {
    let specs = || bundles.iter().flat_map(|b| b.iter());
    Call {
        period,
        delay,
        length: specs().map(|s| s.length).max().unwrap_or(period),
        queries: specs()
            .enumerate()
            .map(|(i, s)| (format!("q{i}"), s.key))
            .collect(),
        billed_metrics: bundles
            .iter()
            .map(|b| b.len().div_ceil(STATISTICS_PER_BILLED_METRIC))
            .sum(),
    }
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
                metric: first_key + i,
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

    #[test]
    fn a_metric_s_statistics_share_a_call_and_five_bill_as_one_metric() {
        // 200 metrics x 3 statistics: 600 queries. Without bundling the first call
        // would end inside metric 166's statistics.
        let specs: Vec<QuerySpec> = (0..600)
            .map(|i| QuerySpec {
                key: i,
                metric: i / 3,
                period: 60,
                length: 60,
                delay: 0,
            })
            .collect();
        let calls = plan(&specs);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].queries.len(), 498, "166 whole metrics");
        assert_eq!(calls[1].queries.len(), 102);
        for call in &calls {
            let metrics: std::collections::BTreeSet<usize> =
                call.queries.iter().map(|(_, k)| specs[*k].metric).collect();
            assert_eq!(call.billed_metrics, metrics.len(), "3 statistics bill as 1");
        }
        // Seven statistics of one metric: two billed metrics; statistics given in
        // any order still end up together.
        let mut seven: Vec<QuerySpec> = (0..7)
            .map(|i| QuerySpec {
                key: i,
                metric: 0,
                period: 60,
                length: 60,
                delay: 0,
            })
            .collect();
        seven.insert(
            3,
            QuerySpec {
                key: 7,
                metric: 1,
                period: 60,
                length: 60,
                delay: 0,
            },
        );
        let calls = plan(&seven);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].billed_metrics, 2 + 1);
        let keys: Vec<usize> = calls[0].queries.iter().map(|(_, k)| *k).collect();
        assert_eq!(keys, vec![0, 1, 2, 3, 4, 5, 6, 7]);
    }
}
