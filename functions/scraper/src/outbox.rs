//! The per-target outbox: turns each accepted sample into remote-write requests for
//! every endpoint, applying what Prometheus applies on the sending side (external
//! labels, `write_relabel_configs`) and the receiver's per-series limits.
//!
//! Requests are kept compressed until the target's scrape completes, so a scrape that
//! fails half-way sends nothing (as Prometheus discards a failed scrape) while memory
//! stays at the compressed size of one scrape rather than its parsed form.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use prom::labels::value_of;
use prom::relabel::{RelabelConfigError, Relabeler};
use prom::remote_write::{EncodedRequest, RequestBuilder, MAX_REQUEST_BYTES};
use prom::{DisplayLabels, LabelPair, Labels, METRIC_NAME};

use crate::config::{RemoteWriteConfig, SeriesLimits};
use crate::summary::RunCounters;

/// Log lines for dropped series are capped per run; the counter has the full number.
const MAX_DROP_LOG_LINES: u64 = 20;

/// The sending-side rules of one `remote_write` endpoint.
#[derive(Debug)]
pub struct EndpointRules {
    /// The endpoint's display name, for logs.
    pub name: String,
    write_relabeler: Relabeler,
    limits: SeriesLimits,
    max_samples_per_send: usize,
    send_metadata: bool,
}

impl EndpointRules {
    /// Compiles the rules of a validated endpoint config (the error, not expected
    /// after validation, is its `write_relabel_configs`').
    pub fn new(config: &RemoteWriteConfig) -> Result<Self, RelabelConfigError> {
        let write_relabeler = Relabeler::new(&config.write_relabel_configs)?;
        Ok(Self {
            name: config.display_name().to_string(),
            write_relabeler,
            limits: config.series_limits,
            max_samples_per_send: config.queue_config.max_samples_per_send,
            send_metadata: config.metadata_config.send,
        })
    }

    /// Why a series (labels sorted by name) breaks the receiver's limits or the
    /// remote-write rules, if it does.
    fn rejection<L: LabelPair>(&self, labels: &[L]) -> Option<String> {
        // `__name__` sorts first unless a name starts with an upper-case letter: one
        // comparison instead of a search for nearly every series.
        let metric_name = match labels.first() {
            Some(first) if first.name() == METRIC_NAME => Some(first.value()),
            _ => value_of(labels, METRIC_NAME),
        };
        if metric_name.is_none_or(str::is_empty) {
            return Some(format!(
                "series {} has no metric name",
                DisplayLabels(labels)
            ));
        }
        if labels.len() > self.limits.max_labels {
            return Some(format!(
                "series {} has {} labels, more than the limit of {}",
                DisplayLabels(labels),
                labels.len(),
                self.limits.max_labels
            ));
        }
        for label in labels {
            let (name, value) = (label.name(), label.value());
            if name.is_empty() {
                return Some(format!(
                    "series {} has a label with an empty name",
                    DisplayLabels(labels)
                ));
            }
            if name.len() > self.limits.max_label_name_length {
                return Some(format!(
                    "label name {:?}... is {} bytes, more than the limit of {}",
                    truncate(name, 64),
                    name.len(),
                    self.limits.max_label_name_length
                ));
            }
            if value.len() > self.limits.max_label_value_length {
                return Some(format!(
                    "value of label {:?} in series {:?} is {} bytes, more than the limit of {}",
                    name,
                    metric_name.unwrap_or(""),
                    value.len(),
                    self.limits.max_label_value_length
                ));
            }
        }
        None
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Rules shared by all endpoints of a run.
#[derive(Debug)]
pub struct SendRules {
    /// `global.external_labels`, added to every series sent.
    pub external_labels: Vec<(String, String)>,
    /// Each endpoint's rules, by endpoint index.
    pub endpoints: Vec<EndpointRules>,
    /// The run's counters.
    pub counters: Arc<RunCounters>,
    drop_log_lines: AtomicU64,
    /// Request builders of finished outboxes, one set per endpoint list, for the next
    /// outbox to reuse. Why: a builder's buffers grow to a request's size, and the
    /// buffer snappy writes into is zeroed when it grows; with a fresh set per target,
    /// growing and zeroing them was a tenth of scraping many small targets. At most
    /// as many sets as outboxes were open at once are kept, for the run's life.
    spare_builders: Mutex<Vec<Vec<RequestBuilder>>>,
}

impl SendRules {
    /// The rules of a run from its external labels and endpoints.
    pub fn new(
        external_labels: &BTreeMap<String, String>,
        endpoints: Vec<EndpointRules>,
        counters: Arc<RunCounters>,
    ) -> Self {
        Self {
            external_labels: external_labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            endpoints,
            counters,
            drop_log_lines: AtomicU64::new(0),
            spare_builders: Mutex::new(Vec::new()),
        }
    }

    /// A set of empty request builders, one per endpoint: a finished outbox's if any.
    fn take_builders(&self) -> Vec<RequestBuilder> {
        let spare = self
            .spare_builders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        spare.unwrap_or_else(|| {
            self.endpoints
                .iter()
                .map(|e| RequestBuilder::new(e.max_samples_per_send, MAX_REQUEST_BYTES))
                .collect()
        })
    }

    /// Keeps a finished outbox's builders (emptied) for the next outbox.
    fn give_back_builders(&self, mut builders: Vec<RequestBuilder>) {
        if builders.len() != self.endpoints.len() {
            return;
        }
        builders.iter_mut().for_each(RequestBuilder::clear);
        self.spare_builders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(builders);
    }

    fn log_drop(&self, endpoint: &str, reason: &str) {
        if self.drop_log_lines.fetch_add(1, Ordering::Relaxed) < MAX_DROP_LOG_LINES {
            tracing::warn!(endpoint, reason, "series dropped before sending");
        }
    }
}

/// Encoded requests ready for one endpoint.
#[derive(Debug)]
pub struct ReadyRequest {
    /// Index of the endpoint (in `remote_write` order).
    pub endpoint: usize,
    /// The encoded, compressed request.
    pub request: EncodedRequest,
}

/// Builds the requests of one target (or of the run's own series).
#[derive(Debug)]
pub struct Outbox {
    builders: Vec<RequestBuilder>,
    ready: Vec<ReadyRequest>,
    /// Scratch for an endpoint's `write_relabel_configs`, reused from sample to sample.
    relabeled: Labels,
}

/// Encoding failed (only possible for absurdly large inputs; reported, never panics).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode remote-write request: {0}")]
pub struct EncodeError(#[from] prom::remote_write::SnappyError);

impl Outbox {
    /// An empty outbox with one request builder per endpoint of `rules`.
    pub fn new(rules: &SendRules) -> Self {
        Self {
            builders: rules.take_builders(),
            ready: Vec::new(),
            relabeled: Labels::new(),
        }
    }

    /// An outbox with no builders, to stand where one was taken from (a scrape's
    /// sink once its outbox is handed on): nothing may be added to it.
    pub fn taken() -> Self {
        Self {
            builders: Vec::new(),
            ready: Vec::new(),
            relabeled: Labels::new(),
        }
    }

    /// Drops what was added (a failed scrape sends none of its samples) and keeps
    /// the builders for the next outbox of `rules`.
    pub fn discard(self, rules: &SendRules) {
        rules.give_back_builders(self.builders);
    }

    /// Adds one sample of a series to every endpoint's requests.
    pub fn add(
        &mut self,
        rules: &SendRules,
        mut labels: Labels,
        value: f64,
        timestamp_ms: i64,
    ) -> Result<(), EncodeError> {
        self.add_labels(rules, &mut labels, value, timestamp_ms)
    }

    /// [`Outbox::add`] for a label set the caller reuses (it gets the external labels
    /// added): the per-sample path, which copies no label. Only an endpoint with
    /// `write_relabel_configs` works on a copy, in a set this outbox reuses.
    pub fn add_labels(
        &mut self,
        rules: &SendRules,
        labels: &mut Labels,
        value: f64,
        timestamp_ms: i64,
    ) -> Result<(), EncodeError> {
        for (name, v) in &rules.external_labels {
            if !labels.contains(name) {
                labels.set_str(name, v);
            }
        }
        self.push_to_endpoints(rules, labels.as_slice(), value, timestamp_ms)
    }

    /// [`Outbox::add_labels`] for a sample's borrowed labels, sorted by name with
    /// unique names and no empty value (the scrape's fast path, see
    /// `borrowed_series`): the external labels are merged into `pairs`.
    pub fn add_sorted_pairs<'a>(
        &mut self,
        rules: &'a SendRules,
        pairs: &mut Vec<(&'a str, &'a str)>,
        value: f64,
        timestamp_ms: i64,
    ) -> Result<(), EncodeError> {
        for (name, v) in &rules.external_labels {
            if v.is_empty() {
                continue;
            }
            if let Err(at) = pairs.binary_search_by(|p| prom::labels::name_order(p.0, name)) {
                pairs.insert(at, (name, v));
            }
        }
        self.push_to_endpoints(rules, pairs, value, timestamp_ms)
    }

    /// Encodes one sample of a series (labels sorted by name, external labels in)
    /// for every endpoint that accepts it.
    fn push_to_endpoints<L: LabelPair>(
        &mut self,
        rules: &SendRules,
        labels: &[L],
        value: f64,
        timestamp_ms: i64,
    ) -> Result<(), EncodeError> {
        for (index, endpoint) in rules.endpoints.iter().enumerate() {
            let Some(builder) = self.builders.get_mut(index) else {
                continue;
            };
            let pushed = if endpoint.write_relabeler.is_empty() {
                if let Some(reason) = endpoint.rejection(labels) {
                    rules.counters.add(&rules.counters.series_dropped_limits, 1);
                    rules.log_drop(&endpoint.name, &reason);
                    continue;
                }
                builder.push_sample(labels, value, timestamp_ms)?
            } else {
                self.relabeled.clear();
                for label in labels {
                    self.relabeled.set_str(label.name(), label.value());
                }
                if !endpoint.write_relabeler.apply(&mut self.relabeled) {
                    continue;
                }
                if let Some(reason) = endpoint.rejection(self.relabeled.as_slice()) {
                    rules.counters.add(&rules.counters.series_dropped_limits, 1);
                    rules.log_drop(&endpoint.name, &reason);
                    continue;
                }
                builder.push_sample(self.relabeled.as_slice(), value, timestamp_ms)?
            };
            if let Some(request) = pushed {
                self.ready.push(ReadyRequest {
                    endpoint: index,
                    request,
                });
            }
        }
        Ok(())
    }

    /// Adds metadata to the requests of every endpoint that sends metadata.
    pub fn add_metadata(
        &mut self,
        rules: &SendRules,
        metadata: &prom::remote_write::MetricMetadata,
    ) -> Result<(), EncodeError> {
        for (index, builder) in self.builders.iter_mut().enumerate() {
            if !rules.endpoints.get(index).is_some_and(|e| e.send_metadata) {
                continue;
            }
            if let Some(request) = builder.push_metadata(metadata)? {
                self.ready.push(ReadyRequest {
                    endpoint: index,
                    request,
                });
            }
        }
        Ok(())
    }

    /// Flushes partial requests and hands over everything built; the builders go
    /// back to `rules` (the rules the outbox was made with) for the next outbox.
    pub fn finish(mut self, rules: &SendRules) -> Result<Vec<ReadyRequest>, EncodeError> {
        for (index, builder) in self.builders.iter_mut().enumerate() {
            if let Some(request) = builder.flush()? {
                self.ready.push(ReadyRequest {
                    endpoint: index,
                    request,
                });
            }
        }
        rules.give_back_builders(self.builders);
        Ok(self.ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(max_samples_per_send: usize) -> SendRules {
        let config: RemoteWriteConfig = serde_json::from_value(serde_json::json!({
            "url": "http://receiver/api/v1/write",
            "queue_config": {"max_samples_per_send": max_samples_per_send},
        }))
        .expect("remote_write config");
        let endpoint = EndpointRules::new(&config).expect("endpoint rules");
        SendRules::new(
            &BTreeMap::new(),
            vec![endpoint],
            Arc::new(RunCounters::default()),
        )
    }

    fn series(i: usize) -> Labels {
        Labels::from_pairs([(METRIC_NAME, "m"), ("i", &i.to_string())])
    }

    fn samples(requests: &[ReadyRequest]) -> Vec<f64> {
        requests
            .iter()
            .map(|r| {
                let raw = snap::raw::Decoder::new()
                    .decompress_vec(&r.request.body)
                    .expect("snappy");
                <prom::remote_write::WriteRequest as prost::Message>::decode(raw.as_slice())
                    .expect("protobuf")
            })
            .flat_map(|w| w.timeseries)
            .flat_map(|s| s.samples)
            .map(|s| s.value)
            .collect()
    }

    #[test]
    fn reused_builders_carry_nothing_over() {
        let rules = rules(4);
        let mut failed = Outbox::new(&rules);
        for i in 0..6 {
            failed
                .add(&rules, series(i), 100.0 + i as f64, 1)
                .expect("add");
        }
        failed.discard(&rules);
        let mut first = Outbox::new(&rules);
        for i in 0..3 {
            first.add(&rules, series(i), i as f64, 1).expect("add");
        }
        let first = first.finish(&rules).expect("finish");
        assert_eq!(samples(&first), [0.0, 1.0, 2.0]);
        let mut second = Outbox::new(&rules);
        for i in 0..5 {
            second
                .add(&rules, series(i), 10.0 + i as f64, 1)
                .expect("add");
        }
        let second = second.finish(&rules).expect("finish");
        assert_eq!(samples(&second), [10.0, 11.0, 12.0, 13.0, 14.0]);
        assert_eq!(second.len(), 2, "split by max_samples_per_send");
        // One set of builders went round; none was made per outbox.
        let spare = rules.spare_builders.lock().expect("not poisoned").len();
        assert_eq!(spare, 1);
    }
}
