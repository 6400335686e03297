//! Scraping one target: the HTTP request Prometheus would send, the response parsed as
//! it streams in, each sample labeled, relabeled, limited and handed to the outbox,
//! and the synthetic `up` / `scrape_*` series.
//!
//! A scrape is all-or-nothing, as in Prometheus: a malformed exposition, a limit
//! exceeded or a timeout gives `up` 0 and none of the target's samples.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use prom::exposition::{
    Entry, Format, MetricType, OpenMetricsChecker, ParseError, Parser, Sample, SCRAPE_ACCEPT_HEADER,
};
use prom::relabel::Relabeler;
use prom::remote_write::{MetricMetadata, ProtoMetricType};
use prom::{LabelPair, Labels, METRIC_NAME};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;

use crate::borrowed_series::{recycle, SeriesSorter};
use crate::config::{OpenMetricsValidation, ScrapeConfig};
use crate::outbox::{EncodeError, Outbox, ReadyRequest, SendRules};
use crate::sample_labels::{attach_target_labels, LabelLimits};
use crate::staleness::markers::{mark_series, SYNTHETIC_SERIES};
use crate::staleness::series_set::SeriesSet;
use crate::staleness::stored::StoredSeries;
use crate::summary::TargetReport;
use crate::target::Target;
use function_cli::error_chain;

/// The seed of the series hash; any fixed value (the hashes never leave the scrape).
const SERIES_HASH_SEED: u64 = 0x5eed_f00d_5eed_f00d;

/// Longest line accepted. The body is parsed line by line as it streams in, so a
/// target that never sends a newline would otherwise grow the buffer without bound.
const MAX_LINE_BYTES: usize = 16 << 20;

/// Why a scrape failed (the target is then `up` 0). Its text, causes included, is
/// the target's `error` in the run summary, worded as Prometheus words it.
#[derive(Debug, thiserror::Error)]
enum ScrapeError {
    /// The request could not be sent or got no response.
    #[error("request failed")]
    Request(#[source] reqwest::Error),
    /// The target answered with an error status.
    #[error("server returned HTTP status {0}")]
    Status(StatusCode),
    /// The body broke off while streaming in.
    #[error("reading body failed")]
    Body(#[source] reqwest::Error),
    /// The exposition does not parse.
    #[error("malformed exposition")]
    Malformed(#[source] ParseError),
    /// A line without end, refused before it fills memory.
    #[error("malformed exposition: a line is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    /// A series names a label twice.
    #[error("series {series:?} has duplicate label name {name:?}")]
    DuplicateLabel { series: String, name: String },
    /// `metric_relabel_configs` removed a series' name.
    #[error("series {0:?} has no __name__ label after metric_relabel_configs")]
    NoName(String),
    /// A label limit of the job was exceeded (the reason names it).
    #[error("{0}")]
    LabelLimit(String),
    /// More samples than `sample_limit`.
    #[error("sample_limit exceeded: more than {0} samples after metric relabeling")]
    SampleLimit(u64),
    /// An OpenMetrics rule broken, with `openmetrics_validation: strict`.
    #[error("exposition breaks OpenMetrics 1.0 (openmetrics_validation: strict): {0}")]
    OpenMetrics(String),
    /// A request could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Everything needed to scrape the targets of one job, prepared once per run.
#[derive(Debug)]
pub struct ScrapeJob {
    /// The job's config as validated.
    pub config: ScrapeConfig,
    /// The job's HTTP client (TLS settings applied).
    pub client: reqwest::Client,
    /// The `Authorization` header, credential files read at the start of the run.
    pub authorization: Option<HeaderValue>,
    /// With `eks`: the cluster's API server, which in-cluster API server names in
    /// target URLs stand for.
    pub api_server: Option<reqwest::Url>,
    /// The job's compiled `metric_relabel_configs`.
    pub metric_relabeler: Relabeler,
    /// The label limits (the job's, else `global`'s).
    pub label_limits: LabelLimits,
    /// The sample limit (the job's, else `global`'s); 0 = no limit.
    pub sample_limit: u64,
    /// How long a scrape may take.
    pub timeout: Duration,
}

/// What scraping one target produced.
#[derive(Debug)]
pub struct ScrapeResult {
    /// The target's line in the run summary.
    pub report: TargetReport,
    /// Encoded requests (the target's samples and its synthetic series).
    pub requests: Vec<ReadyRequest>,
    /// TYPE / HELP / UNIT of the families the target exposed.
    pub metadata: Vec<MetricMetadata>,
    /// Samples dropped because their series repeated within the scrape.
    pub samples_duplicate: u64,
    /// The scrape's time (its samples' timestamp unless the target gave its own).
    pub scrape_ms: i64,
    /// With staleness tracking: the series this scrape produced, in exposition order
    /// (empty when the target is down). Series with the target's own timestamps are left out, as
    /// Prometheus leaves them out of staleness.
    pub series: SeriesSet,
    /// Staleness markers added to `requests`.
    pub stale_markers: u64,
    /// The remembered series, when the scrape had to expand them to compare.
    pub previous_series: Option<SeriesSet>,
}

/// Staleness tracking for one scrape.
#[derive(Debug, Clone, Copy)]
pub enum Tracking<'a> {
    /// `scraper.state` is not set: no series recorded, no markers.
    Off,
    /// Record the series; mark those of `previous` (the target's series last run) that
    /// are gone, or all of them when the target is down.
    On {
        /// What the state remembers of the target, if anything.
        previous: Option<&'a StoredSeries>,
    },
}

/// Scrapes `target` and builds its requests; never fails the run, whatever the target
/// serves.
pub async fn scrape_target(
    job: &ScrapeJob,
    target: &Target,
    rules: &SendRules,
    deadline: Instant,
    tracking: Tracking<'_>,
) -> ScrapeResult {
    let started = Instant::now();
    let scrape_ms = now_millis();
    let timeout = job.timeout.min(deadline.saturating_duration_since(started));
    let mut sink = SampleSink::new(job, target, rules, scrape_ms);
    if let Tracking::On { .. } = tracking {
        sink.tracked = Some(SeriesSet::new());
    }
    let outcome = tokio::time::timeout(timeout, fetch_and_parse(job, target, &mut sink)).await;
    let mut failure = match outcome {
        Err(_) => Some(format!(
            "scrape timed out after {:.3}s",
            timeout.as_secs_f64()
        )),
        Ok(Err(error)) => Some(error_chain(&error)),
        Ok(Ok(())) => None,
    };
    if failure.is_none() {
        failure = sink.failure.take().map(|e| error_chain(&e));
    }
    let openmetrics_violations = sink.take_violations();
    let duration = started.elapsed().as_secs_f64();
    let scraped = sink.scraped;
    let (post, added, duplicates) = if failure.is_none() {
        (sink.post_relabel, sink.seen.len() as u64, sink.duplicates)
    } else {
        (0, 0, 0)
    };
    let scraped_outbox = std::mem::replace(&mut sink.outbox, Outbox::taken());
    let mut outbox = if failure.is_none() {
        scraped_outbox
    } else {
        scraped_outbox.discard(rules);
        Outbox::new(rules)
    };
    let up = failure.is_none();
    let series = if up {
        sink.tracked.take().unwrap_or_default()
    } else {
        SeriesSet::new()
    };
    let mut stale_markers = 0;
    let mut previous_series = None;
    if let Tracking::On {
        previous: Some(previous),
    } = tracking
    {
        // Unchanged series (the common case) need no expanding and give no markers.
        let changed = if up {
            !previous.matches(&series)
        } else {
            !previous.is_empty()
        };
        if changed {
            match previous.expand() {
                Ok(old) => {
                    let gone = if up {
                        old.missing_from(&series)
                    } else {
                        old.iter().collect()
                    };
                    match mark_series(&mut outbox, rules, gone, scrape_ms) {
                        Ok(marked) => stale_markers = marked.markers,
                        Err(e) => {
                            failure.get_or_insert_with(|| e.to_string());
                        }
                    }
                    previous_series = Some(old);
                }
                Err(error) => {
                    rules.counters.add(&rules.counters.state_errors, 1);
                    tracing::warn!(error = %error, instance = %target.instance(), "remembered series unreadable: no markers for this target");
                }
            }
        }
    }
    let values = [
        if up { 1.0 } else { 0.0 },
        duration,
        scraped as f64,
        post as f64,
        added as f64,
    ];
    for (name, value) in SYNTHETIC_SERIES.into_iter().zip(values) {
        let mut labels = target.labels.clone();
        labels.set(METRIC_NAME, name);
        if let Err(e) = outbox.add(rules, labels, value, scrape_ms) {
            failure.get_or_insert_with(|| e.to_string());
        }
    }
    let metadata = if up { sink.take_metadata() } else { Vec::new() };
    let requests = match outbox.finish(rules) {
        Ok(requests) => requests,
        Err(e) => {
            failure.get_or_insert_with(|| e.to_string());
            Vec::new()
        }
    };
    if let Some(error) = &failure {
        tracing::warn!(
            job = %job.config.job_name,
            instance = %target.instance(),
            url = %target.url,
            error = %error,
            "scrape failed"
        );
    }
    ScrapeResult {
        report: TargetReport {
            job: job.config.job_name.clone(),
            instance: target.instance().to_string(),
            url: target.url.to_string(),
            up,
            samples_scraped: scraped,
            samples_post_metric_relabeling: post,
            duration_seconds: duration,
            error: failure,
            openmetrics_violations,
        },
        requests,
        metadata,
        samples_duplicate: duplicates,
        scrape_ms,
        series,
        stale_markers,
        previous_series,
    }
}

async fn fetch_and_parse(
    job: &ScrapeJob,
    target: &Target,
    sink: &mut SampleSink<'_>,
) -> Result<(), ScrapeError> {
    let mut request = job
        .client
        .get(target.url.clone())
        .header(ACCEPT, SCRAPE_ACCEPT_HEADER)
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{}", job.timeout.as_secs_f64()),
        );
    if let Some(auth) = &job.authorization {
        request = request.header(AUTHORIZATION, auth.clone());
    }
    let response = request.send().await.map_err(ScrapeError::Request)?;
    let status = response.status();
    if !status.is_success() {
        return Err(ScrapeError::Status(status));
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let format = Format::from_content_type(content_type.as_deref());
    if format == Format::OpenMetrics {
        sink.checker = Some(OpenMetricsChecker::new());
    }
    let mut parser = Parser::new(format);
    let mut carry: Vec<u8> = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(ScrapeError::Body)?;
        let mut rest: &[u8] = &chunk;
        if !carry.is_empty() {
            // Only the line the previous chunk broke off is put together in `carry`;
            // the chunk's other lines are parsed where they are, not copied.
            match memchr::memchr(b'\n', rest) {
                Some(newline) => {
                    carry.extend_from_slice(rest.get(..=newline).unwrap_or_default());
                    parser
                        .feed(&carry, &mut |entry| sink.on_entry(entry))
                        .map_err(ScrapeError::Malformed)?;
                    carry.clear();
                    rest = rest.get(newline + 1..).unwrap_or_default();
                }
                None => {
                    carry.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
        if !rest.is_empty() {
            let used = parser
                .feed(rest, &mut |entry| sink.on_entry(entry))
                .map_err(ScrapeError::Malformed)?;
            carry.extend_from_slice(rest.get(used..).unwrap_or_default());
        }
        if carry.len() > MAX_LINE_BYTES {
            return Err(ScrapeError::LineTooLong);
        }
        if sink.failure.is_some() {
            return Ok(());
        }
    }
    parser
        .finish(&carry, &mut |entry| sink.on_entry(entry))
        .map_err(ScrapeError::Malformed)?;
    sink.finish_checks();
    Ok(())
}

/// Wall-clock time in milliseconds since the epoch, the unit of sample timestamps.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Default)]
struct FamilyMetadata {
    metric_type: Option<MetricType>,
    help: Option<String>,
    unit: Option<String>,
}

/// Receives parsed entries and applies Prometheus' per-sample rules.
struct SampleSink<'a> {
    job: &'a ScrapeJob,
    target: &'a Target,
    rules: &'a SendRules,
    scrape_ms: i64,
    outbox: Outbox,
    /// Hashes of the series accepted so far. 64-bit hashes, as Prometheus keys its
    /// scrape cache; foldhash, not SipHash: the keys come from one target's own
    /// series, and SipHash's flooding resistance cost a tenth of the run.
    seen: HashSet<u64, foldhash::fast::FixedState>,
    series_hasher: foldhash::fast::FixedState,
    /// The label set each sample is built in, reused so labeling allocates nothing.
    labels: Labels,
    /// The room of each sample's borrowed pairs (see `borrowed_series`), kept empty
    /// between samples.
    pairs: Vec<(&'static str, &'static str)>,
    /// Sorts each sample's borrowed pairs, reusing the order of the sample before.
    sorter: SeriesSorter,
    /// The [`names_hash`] of the sorter's current order, by its generation.
    names_hash: Option<(u64, u64)>,
    scraped: u64,
    post_relabel: u64,
    duplicates: u64,
    failure: Option<ScrapeError>,
    /// TYPE / HELP / UNIT by family in arrival order. A family's lines come together,
    /// so the last entry is the one a line names, found without a search or a copy of
    /// its name; `take_metadata` sorts and merges.
    metadata: Vec<(String, FamilyMetadata)>,
    /// With staleness tracking: the series accepted so far.
    tracked: Option<SeriesSet>,
    /// For OpenMetrics expositions: the specification's rules, as entries arrive.
    checker: Option<OpenMetricsChecker>,
}

impl<'a> SampleSink<'a> {
    fn new(job: &'a ScrapeJob, target: &'a Target, rules: &'a SendRules, scrape_ms: i64) -> Self {
        Self {
            job,
            target,
            rules,
            scrape_ms,
            outbox: Outbox::new(rules),
            seen: HashSet::with_hasher(foldhash::fast::FixedState::default()),
            series_hasher: foldhash::fast::FixedState::with_seed(SERIES_HASH_SEED),
            labels: Labels::new(),
            pairs: Vec::new(),
            sorter: SeriesSorter::default(),
            names_hash: None,
            scraped: 0,
            post_relabel: 0,
            duplicates: 0,
            failure: None,
            metadata: Vec::new(),
            tracked: None,
            checker: None,
        }
    }

    /// In strict mode, the first broken rule fails the scrape.
    fn enforce_strict(&mut self) {
        if self.job.config.openmetrics_validation != OpenMetricsValidation::Strict {
            return;
        }
        if let Some(first) = self.checker.as_ref().and_then(|c| c.violations().first()) {
            if self.failure.is_none() {
                self.failure = Some(ScrapeError::OpenMetrics(first.to_string()));
            }
        }
    }

    /// The end-of-exposition rules (the last histogram's `+Inf` and count).
    fn finish_checks(&mut self) {
        if let Some(checker) = &mut self.checker {
            checker.finish();
        }
        self.enforce_strict();
    }

    /// The broken rules, counted once: their texts for the report.
    fn take_violations(&mut self) -> Vec<String> {
        let Some(checker) = self.checker.take() else {
            return Vec::new();
        };
        if checker.total() > 0 {
            self.rules
                .counters
                .add(&self.rules.counters.openmetrics_violations, checker.total());
        }
        checker
            .violations()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn on_entry(&mut self, entry: Entry<'_>) {
        if self.failure.is_some() {
            return;
        }
        if let Some(checker) = &mut self.checker {
            checker.observe(&entry);
            self.enforce_strict();
            if self.failure.is_some() {
                return;
            }
        }
        match entry {
            Entry::Series(sample) => {
                if let Err(reason) = self.on_sample(&sample) {
                    self.failure = Some(reason);
                }
            }
            Entry::Type {
                metric,
                metric_type,
            } => {
                self.update_family(&metric, |f| f.metric_type = Some(metric_type));
            }
            Entry::Help { metric, text } => {
                self.update_family(&metric, |f| f.help = Some(text.to_string()));
            }
            Entry::Unit { metric, unit } => {
                self.update_family(&metric, |f| f.unit = Some(unit.to_string()));
            }
            Entry::Comment => {}
        }
    }

    /// Applies `update` to the metadata of family `name`.
    fn update_family(&mut self, name: &str, update: impl FnOnce(&mut FamilyMetadata)) {
        match self.metadata.last_mut() {
            Some((last, family)) if last == name => update(family),
            _ => {
                let mut family = FamilyMetadata::default();
                update(&mut family);
                self.metadata.push((name.to_string(), family));
            }
        }
    }

    fn on_sample(&mut self, sample: &Sample<'_>) -> Result<(), ScrapeError> {
        self.scraped += 1;
        if self.job.metric_relabeler.is_empty() {
            let mut pairs = recycle(std::mem::take(&mut self.pairs));
            let outcome = self
                .sorter
                .sort(&sample.name, sample.labels, &self.target.labels, &mut pairs)
                .then(|| self.add_sorted(sample, &mut pairs));
            self.pairs = recycle(pairs);
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
        let mut labels = std::mem::take(&mut self.labels);
        let outcome = self.label_and_add(sample, &mut labels);
        self.labels = labels;
        outcome
    }

    /// The rest of [`SampleSink::label_and_add`] for a series given as borrowed pairs
    /// (sorted, unique names, no empty value): nothing copied on the way to the request.
    fn add_sorted<'p>(
        &mut self,
        sample: &Sample<'_>,
        pairs: &mut Vec<(&'p str, &'p str)>,
    ) -> Result<(), ScrapeError>
    where
        'a: 'p,
    {
        // The names change only when the sorter learns another label order.
        let generation = self.sorter.generation();
        let names = match self.names_hash {
            Some((known, hash)) if known == generation => hash,
            _ => {
                let hash = names_hash(&self.series_hasher, pairs);
                self.names_hash = Some((generation, hash));
                hash
            }
        };
        let Some(timestamp) = self.admit(sample, pairs, Some(names))? else {
            return Ok(());
        };
        self.outbox
            .add_sorted_pairs(self.rules, pairs, sample.value, timestamp)
            .map_err(ScrapeError::Encode)
    }

    /// [`SampleSink::on_sample`] with the sink's reused label set.
    fn label_and_add(
        &mut self,
        sample: &Sample<'_>,
        labels: &mut Labels,
    ) -> Result<(), ScrapeError> {
        labels.clear();
        labels.set_str(METRIC_NAME, &sample.name);
        for (name, value) in sample.labels {
            let name: &str = name;
            if name == METRIC_NAME || !labels.insert_new_str(name, value) {
                return Err(ScrapeError::DuplicateLabel {
                    series: sample.name.to_string(),
                    name: name.to_string(),
                });
            }
        }
        attach_target_labels(labels, &self.target.labels, self.job.config.honor_labels);
        if !self.job.metric_relabeler.is_empty() && !self.job.metric_relabeler.apply(labels) {
            return Ok(());
        }
        // The name is set from the sample's (never empty); only relabeling can take
        // it away, so only then is it looked up again.
        let relabeled = !self.job.metric_relabeler.is_empty();
        if (relabeled || sample.name.is_empty()) && labels.metric_name().is_none_or(str::is_empty) {
            return Err(ScrapeError::NoName(sample.name.to_string()));
        }
        let Some(timestamp) = self.admit(sample, labels.as_slice(), None)? else {
            return Ok(());
        };
        self.outbox
            .add_labels(self.rules, labels, sample.value, timestamp)
            .map_err(ScrapeError::Encode)
    }

    /// The rules every labeled series passes, whichever path built it: label limits,
    /// `sample_limit`, duplicates within the scrape (`None`: drop it) and the staleness
    /// record. Gives the timestamp to send the sample with.
    ///
    /// `names` is the series' [`names_hash`] when the caller has it.
    fn admit<L: LabelPair>(
        &mut self,
        sample: &Sample<'_>,
        series: &[L],
        names: Option<u64>,
    ) -> Result<Option<i64>, ScrapeError> {
        if let Some(reason) = self.job.label_limits.check(series) {
            return Err(ScrapeError::LabelLimit(reason));
        }
        self.post_relabel += 1;
        if self.job.sample_limit > 0 && self.post_relabel > self.job.sample_limit {
            return Err(ScrapeError::SampleLimit(self.job.sample_limit));
        }
        let names = names.unwrap_or_else(|| names_hash(&self.series_hasher, series));
        if !self
            .seen
            .insert(series_hash(&self.series_hasher, names, series))
        {
            self.duplicates += 1;
            return Ok(None);
        }
        Ok(Some(match sample.timestamp_ms {
            Some(ts) if self.job.config.honor_timestamps => ts,
            _ => {
                if let Some(tracked) = &mut self.tracked {
                    tracked.push_sorted(series);
                }
                self.scrape_ms
            }
        }))
    }

    fn take_metadata(&mut self) -> Vec<MetricMetadata> {
        families_to_metadata(std::mem::take(&mut self.metadata))
    }
}

/// The families' metadata sorted by name, one entry per family: a family named again
/// later (the format forbids it; Prometheus keeps going) keeps the last value of each
/// field, as if its lines had come together.
fn families_to_metadata(mut families: Vec<(String, FamilyMetadata)>) -> Vec<MetricMetadata> {
    // Stable, and linear on the usual already-sorted input.
    families.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<MetricMetadata> = Vec::with_capacity(families.len());
    for (name, family) in families {
        let r#type = proto_type(family.metric_type.unwrap_or(MetricType::Unknown)) as i32;
        match out.last_mut() {
            Some(last) if last.metric_family_name == name => {
                if family.metric_type.is_some() {
                    last.r#type = r#type;
                }
                if let Some(help) = family.help {
                    last.help = help;
                }
                if let Some(unit) = family.unit {
                    last.unit = unit;
                }
            }
            _ => out.push(MetricMetadata {
                r#type,
                metric_family_name: name,
                help: family.help.unwrap_or_default(),
                unit: family.unit.unwrap_or_default(),
            }),
        }
    }
    out
}

/// The names part of a series' identity (see [`series_hash`]): its label names in
/// order, each ended by `str`'s `Hash`.
fn names_hash<L: LabelPair>(hasher: &foldhash::fast::FixedState, series: &[L]) -> u64 {
    let mut state = hasher.build_hasher();
    for label in series {
        label.name().hash(&mut state);
    }
    state.finish()
}

/// A series' identity within a scrape, for duplicate detection: the hash of its
/// labels sorted by name, taken as the hash of the names (`names`, from
/// [`names_hash`]) followed by the values. Why split: a family's samples share their
/// names, so the borrowed path hashes them once per family and each sample hashes
/// only its values. Both paths compute the same function of the sorted labels, so a
/// series is the same whichever path built it.
fn series_hash<L: LabelPair>(hasher: &foldhash::fast::FixedState, names: u64, series: &[L]) -> u64 {
    let mut state = hasher.build_hasher();
    state.write_u64(names);
    for label in series {
        label.value().hash(&mut state);
    }
    state.finish()
}

fn proto_type(t: MetricType) -> ProtoMetricType {
    match t {
        MetricType::Counter => ProtoMetricType::Counter,
        MetricType::Gauge => ProtoMetricType::Gauge,
        MetricType::Histogram => ProtoMetricType::Histogram,
        MetricType::GaugeHistogram => ProtoMetricType::Gaugehistogram,
        MetricType::Summary => ProtoMetricType::Summary,
        MetricType::Info => ProtoMetricType::Info,
        MetricType::StateSet => ProtoMetricType::Stateset,
        MetricType::Unknown => ProtoMetricType::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(t: Option<MetricType>, help: Option<&str>) -> FamilyMetadata {
        FamilyMetadata {
            metric_type: t,
            help: help.map(str::to_string),
            unit: None,
        }
    }

    #[test]
    fn metadata_is_sorted_with_one_entry_per_family() {
        let families = vec![
            (
                "b".to_string(),
                family(Some(MetricType::Counter), Some("b help")),
            ),
            ("a".to_string(), family(None, Some("a help"))),
            // `b` again, apart from its first lines: its later fields win.
            ("b".to_string(), family(None, Some("b again"))),
            ("a".to_string(), family(Some(MetricType::Gauge), None)),
        ];
        let out = families_to_metadata(families);
        let seen: Vec<(&str, i32, &str)> = out
            .iter()
            .map(|m| (m.metric_family_name.as_str(), m.r#type, m.help.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("a", ProtoMetricType::Gauge as i32, "a help"),
                ("b", ProtoMetricType::Counter as i32, "b again"),
            ]
        );
    }
}
