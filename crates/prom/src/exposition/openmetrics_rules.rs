//! The OpenMetrics 1.0 rules a well-formed exposition can still break: the parser
//! accepts what Prometheus accepts, and Prometheus is lenient about these (a target it
//! scrapes must never go down with us). The checker watches the parser's entries as
//! they stream and names every rule broken, so a scrape can report them (lenient) or
//! refuse the exposition as the specification requires (strict). It works on entries,
//! not bytes, so where the body was split makes no difference.
//!
//! Rules (the specification's MUSTs, each with its name in reports):
//! - `metadata-after-samples`, `metadata-repeated`: a family's `TYPE`, `HELP` and
//!   `UNIT` come before its samples, each at most once.
//! - `family-interleaved`, `metric-interleaved`: a family's lines are contiguous, and
//!   so are the samples of one of its metrics (label set).
//! - `name-clash`: no family's sample names are another family's name.
//! - `sample-name`: a typed family's samples carry its suffixes (`_total` of a counter,
//!   `_bucket`/`_count`/`_sum` of a histogram, `_info` of an info ...).
//! - `counter-value`: a counter's total is neither NaN nor negative.
//! - `histogram-le`, `histogram-bucket-order`, `histogram-bucket-cumulative`,
//!   `histogram-inf-bucket`, `histogram-count`, `histogram-sum-count`: buckets carry a
//!   float `le` in increasing order with non-decreasing counts, end with `+Inf`, and
//!   `_count` equals the `+Inf` bucket; a `_sum` comes with a `_count` (also for gauge
//!   histograms' `_gbucket`, `_gcount`, `_gsum`).
//! - `summary-quantile`: a quantile is a float in [0, 1].
//! - `stateset-value`, `stateset-label`: a state is 0 or 1 and carries the label named
//!   after its family.
//! - `info-value`: an info sample is 1.
//! - `exemplar-placement`, `exemplar-size`: exemplars only on counter totals and
//!   (gauge) histogram buckets, their labels at most 128 UTF-8 characters together.
//! - `unit-suffix`: a family with a unit ends in `_<unit>`; info and state sets have
//!   none.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, RandomState};

use super::number::parse_go_float;
use super::{Entry, MetricType, Sample};

/// Most characters an exemplar's label names and values may have together.
pub const MAX_EXEMPLAR_LABEL_CHARS: usize = 128;

/// Violations kept with their text; the rest are only counted.
const MAX_KEPT: usize = 20;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule's name (`histogram-count`).
    pub rule: &'static str,
    /// Where and what: the family, the metric's labels, the values.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

/// The histogram-like state of the metric being read.
#[derive(Debug, Default)]
struct MetricState {
    key: String,
    last_le: Option<f64>,
    last_bucket: Option<f64>,
    inf_bucket: Option<f64>,
    has_buckets: bool,
    count: Option<f64>,
    has_sum: bool,
}

/// The family being read.
#[derive(Debug)]
struct Family {
    name: String,
    metric_type: MetricType,
    typed: bool,
    helped: bool,
    unit: Option<String>,
    has_samples: bool,
    /// Hashes of the metrics (label sets) whose samples ended: a family of a million
    /// series keeps 8 bytes each, not their label text.
    closed_metrics: HashSet<u64>,
    /// Hashes the keys for `closed_metrics`.
    hasher: RandomState,
    metric: Option<MetricState>,
}

impl Family {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            metric_type: MetricType::Unknown,
            typed: false,
            helped: false,
            unit: None,
            has_samples: false,
            closed_metrics: HashSet::new(),
            hasher: RandomState::new(),
            metric: None,
        }
    }

    /// The suffixes its samples may carry after the family name.
    fn suffixes(&self) -> &'static [&'static str] {
        match self.metric_type {
            MetricType::Counter => &["_total", "_created"],
            MetricType::Histogram => &["_bucket", "_count", "_sum", "_created"],
            MetricType::GaugeHistogram => &["_gbucket", "_gcount", "_gsum"],
            MetricType::Summary => &["", "_count", "_sum", "_created"],
            MetricType::Info => &["_info"],
            MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[""],
        }
    }

    /// The suffix `name` carries, if it is one of this family's sample names.
    fn suffix_of<'n>(&self, name: &'n str) -> Option<&'n str> {
        let rest = name.strip_prefix(self.name.as_str())?;
        self.suffixes().contains(&rest).then_some(rest)
    }
}

/// Watches one exposition's entries for broken OpenMetrics rules.
#[derive(Debug, Default)]
pub struct OpenMetricsChecker {
    current: Option<Family>,
    /// Families whose lines ended.
    finished: HashSet<String>,
    /// Every family name seen.
    family_names: HashSet<String>,
    /// Sample names and the family that wrote them.
    produced: HashMap<String, String>,
    kept: Vec<Violation>,
    total: u64,
}

impl OpenMetricsChecker {
    /// A checker for one exposition.
    pub fn new() -> Self {
        Self::default()
    }

    /// The violations so far (the first 20; [`Self::total`] counts them all).
    pub fn violations(&self) -> &[Violation] {
        &self.kept
    }

    /// All violations found so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    fn report(&mut self, rule: &'static str, message: String) {
        self.total += 1;
        if self.kept.len() < MAX_KEPT {
            self.kept.push(Violation { rule, message });
        }
    }

    /// Looks at one entry, in exposition order.
    pub fn observe(&mut self, entry: &Entry<'_>) {
        match entry {
            Entry::Type {
                metric,
                metric_type,
            } => {
                let family = self.family_for_metadata(metric, "TYPE");
                if let Some(family) = family {
                    family.metric_type = *metric_type;
                    family.typed = true;
                }
                self.check_unit_kind();
            }
            Entry::Help { metric, .. } => {
                if let Some(family) = self.family_for_metadata(metric, "HELP") {
                    family.helped = true;
                }
            }
            Entry::Unit { metric, unit } => {
                if let Some(family) = self.family_for_metadata(metric, "UNIT") {
                    family.unit = Some(unit.to_string());
                }
                if !unit.is_empty() && !metric.ends_with(&format!("_{unit}")) {
                    self.report(
                        "unit-suffix",
                        format!("family {metric} has unit {unit:?} but does not end in _{unit}"),
                    );
                }
                self.check_unit_kind();
            }
            Entry::Comment => {}
            Entry::Series(sample) => self.sample(sample),
        }
    }

    /// Checks the end of the exposition (the last metric's histogram rules).
    pub fn finish(&mut self) {
        self.close_family();
    }

    /// The family a metadata line of `name` belongs to, after checking order and
    /// repetition; `None` only when the line is refused as a repeat.
    fn family_for_metadata(&mut self, name: &str, kind: &'static str) -> Option<&mut Family> {
        if self.current.as_ref().is_none_or(|f| f.name != name) {
            self.start_family(name);
        }
        let (has_samples, repeated) = {
            let family = self.current.as_ref()?;
            let repeated = match kind {
                "TYPE" => family.typed,
                "HELP" => family.helped,
                _ => family.unit.is_some(),
            };
            (family.has_samples, repeated)
        };
        if has_samples {
            self.report(
                "metadata-after-samples",
                format!("# {kind} {name} after samples of the family"),
            );
        }
        if repeated {
            self.report("metadata-repeated", format!("# {kind} {name} given twice"));
            return None;
        }
        self.current.as_mut()
    }

    /// Info and state sets have no unit.
    fn check_unit_kind(&mut self) {
        let Some(family) = &self.current else {
            return;
        };
        if matches!(family.metric_type, MetricType::Info | MetricType::StateSet)
            && family.unit.as_deref().is_some_and(|u| !u.is_empty())
        {
            let message = format!(
                "family {} of type {} has a unit",
                family.name,
                family.metric_type.as_str()
            );
            self.report("unit-suffix", message);
        }
    }

    fn start_family(&mut self, name: &str) {
        self.close_family();
        if self.finished.contains(name) {
            self.report(
                "family-interleaved",
                format!("family {name} appears again after other families"),
            );
        }
        if let Some(other) = self.produced.get(name).filter(|f| *f != name) {
            let message = format!("family {name} clashes with a sample name of family {other}");
            self.report("name-clash", message);
        }
        self.family_names.insert(name.to_string());
        self.current = Some(Family::new(name));
    }

    fn close_family(&mut self) {
        self.close_metric();
        if let Some(family) = self.current.take() {
            self.finished.insert(family.name);
        }
    }

    /// Ends the current metric: its histogram totals are checked.
    fn close_metric(&mut self) {
        let Some(family) = self.current.as_mut() else {
            return;
        };
        let Some(metric) = family.metric.take() else {
            return;
        };
        let name = family.name.clone();
        let histogram = matches!(
            family.metric_type,
            MetricType::Histogram | MetricType::GaugeHistogram
        );
        let hash = family.hasher.hash_one(&metric.key);
        family.closed_metrics.insert(hash);
        if !histogram {
            return;
        }
        let at = describe(&name, &metric.key);
        if metric.has_buckets && metric.inf_bucket.is_none() {
            self.report("histogram-inf-bucket", format!("{at} has no +Inf bucket"));
        }
        if !metric.has_buckets && (metric.count.is_some() || metric.has_sum) {
            self.report("histogram-inf-bucket", format!("{at} has no buckets"));
        }
        if let (Some(count), Some(inf)) = (metric.count, metric.inf_bucket) {
            if count != inf {
                self.report(
                    "histogram-count",
                    format!("{at}: count {count} differs from the +Inf bucket {inf}"),
                );
            }
        }
        if metric.has_sum && metric.count.is_none() {
            self.report(
                "histogram-sum-count",
                format!("{at} has a sum but no count"),
            );
        }
    }

    fn sample(&mut self, sample: &Sample<'_>) {
        let name: &str = &sample.name;
        let fits = self
            .current
            .as_ref()
            .and_then(|f| f.suffix_of(name).map(|_| ()))
            .is_some();
        if !fits {
            // A typed family's own name without its suffix (`foo` of counter `foo`):
            // a wrong sample name, not a new family.
            let misnamed = self.current.as_ref().is_some_and(|f| {
                f.name == name
                    && !f.suffixes().contains(&"")
                    && f.metric_type != MetricType::Unknown
            });
            if misnamed {
                let family = self.current.as_ref().map(|f| f.metric_type.as_str());
                self.report(
                    "sample-name",
                    format!(
                        "sample {name} of {} family {name} lacks the type's suffix",
                        family.unwrap_or("unknown")
                    ),
                );
                return;
            }
            self.start_family(name);
        }
        let Some(family) = self.current.as_mut() else {
            return;
        };
        family.has_samples = true;
        let family_name = family.name.clone();
        let metric_type = family.metric_type;
        let suffix = family.suffix_of(name).unwrap_or("").to_string();
        // Name clashes with other families.
        match self.produced.get(name) {
            Some(other) if *other != family_name => {
                let message = format!(
                    "sample {name} of family {family_name} is also written by family {other}"
                );
                self.report("name-clash", message);
            }
            Some(_) => {}
            None => {
                if name != family_name && self.family_names.contains(name) {
                    let message = format!(
                        "sample {name} of family {family_name} is the name of another family"
                    );
                    self.report("name-clash", message);
                }
                self.produced.insert(name.to_string(), family_name.clone());
            }
        }
        self.check_exemplar(sample, metric_type, &suffix, &family_name);
        // The metric (label set) this sample belongs to.
        let ignored = match metric_type {
            MetricType::Histogram | MetricType::GaugeHistogram => Some("le"),
            MetricType::Summary => Some("quantile"),
            MetricType::StateSet => Some(family_name.as_str()),
            _ => None,
        };
        let key = metric_key(sample, ignored);
        let changed = self
            .current
            .as_ref()
            .and_then(|f| f.metric.as_ref())
            .is_none_or(|m| m.key != key);
        if changed {
            self.close_metric();
            let Some(family) = self.current.as_mut() else {
                return;
            };
            let repeated = family
                .closed_metrics
                .contains(&family.hasher.hash_one(&key));
            family.metric = Some(MetricState {
                key: key.clone(),
                ..MetricState::default()
            });
            if repeated {
                let at = describe(&family_name, &key);
                self.report(
                    "metric-interleaved",
                    format!("{at} appears again after other metrics of the family"),
                );
            }
        }
        self.check_values(sample, metric_type, &suffix, &family_name, &key);
    }

    fn check_exemplar(
        &mut self,
        sample: &Sample<'_>,
        metric_type: MetricType,
        suffix: &str,
        family: &str,
    ) {
        let Some(chars) = sample.exemplar_label_chars else {
            return;
        };
        let allowed = matches!(
            (metric_type, suffix),
            (MetricType::Counter, "_total")
                | (MetricType::Histogram, "_bucket")
                | (MetricType::GaugeHistogram, "_gbucket")
        );
        if !allowed {
            self.report(
                "exemplar-placement",
                format!(
                    "sample {} of {} family {family} carries an exemplar",
                    sample.name,
                    metric_type.as_str()
                ),
            );
        }
        if chars > MAX_EXEMPLAR_LABEL_CHARS {
            self.report(
                "exemplar-size",
                format!(
                    "exemplar of {} has {chars} characters of labels (at most {MAX_EXEMPLAR_LABEL_CHARS})",
                    sample.name
                ),
            );
        }
    }

    fn check_values(
        &mut self,
        sample: &Sample<'_>,
        metric_type: MetricType,
        suffix: &str,
        family: &str,
        key: &str,
    ) {
        let value = sample.value;
        let at = describe(family, key);
        match (metric_type, suffix) {
            (MetricType::Counter, "_total") if value.is_nan() || value < 0.0 => {
                self.report("counter-value", format!("{at}: total {value}"));
            }
            (MetricType::Histogram, "_bucket") | (MetricType::GaugeHistogram, "_gbucket") => {
                self.bucket(sample, &at);
            }
            (MetricType::Histogram, "_count") | (MetricType::GaugeHistogram, "_gcount") => {
                if let Some(metric) = self.metric_mut() {
                    metric.count = Some(value);
                }
            }
            (MetricType::Histogram, "_sum") | (MetricType::GaugeHistogram, "_gsum") => {
                if let Some(metric) = self.metric_mut() {
                    metric.has_sum = true;
                }
            }
            (MetricType::Summary, "") => {
                let quantile = label(sample, "quantile").and_then(parse_go_float);
                if !quantile.is_some_and(|q| (0.0..=1.0).contains(&q)) {
                    self.report(
                        "summary-quantile",
                        format!(
                            "{at}: quantile {:?} is not a float in [0, 1]",
                            label(sample, "quantile").unwrap_or("")
                        ),
                    );
                }
            }
            (MetricType::StateSet, _) => {
                if value != 0.0 && value != 1.0 {
                    self.report("stateset-value", format!("{at}: state value {value}"));
                }
                if label(sample, family).is_none() {
                    self.report("stateset-label", format!("{at}: no label named {family}"));
                }
            }
            (MetricType::Info, "_info") if value != 1.0 => {
                self.report("info-value", format!("{at}: info value {value}"));
            }
            _ => {}
        }
    }

    fn metric_mut(&mut self) -> Option<&mut MetricState> {
        self.current.as_mut()?.metric.as_mut()
    }

    fn bucket(&mut self, sample: &Sample<'_>, at: &str) {
        let value = sample.value;
        let Some(le) = label(sample, "le").and_then(parse_go_float) else {
            self.report("histogram-le", format!("{at}: a bucket without a float le"));
            return;
        };
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        if let Some(metric) = self.metric_mut() {
            metric.has_buckets = true;
            if metric.last_le.is_some_and(|last| le <= last) {
                problems.push((
                    "histogram-bucket-order",
                    format!(
                        "{at}: bucket le={le} after le={}",
                        metric.last_le.unwrap_or(le)
                    ),
                ));
            }
            if value.is_nan() || value < 0.0 || metric.last_bucket.is_some_and(|last| value < last)
            {
                problems.push((
                    "histogram-bucket-cumulative",
                    format!("{at}: bucket le={le} counts {value}, below the bucket before it or not a count"),
                ));
            }
            metric.last_le = Some(le);
            metric.last_bucket = Some(value);
            if le == f64::INFINITY {
                metric.inf_bucket = Some(value);
            }
        }
        for (rule, message) in problems {
            self.report(rule, message);
        }
    }
}

/// A sample's label value.
fn label<'s>(sample: &'s Sample<'_>, name: &str) -> Option<&'s str> {
    sample
        .labels
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| &**v)
}

/// The metric a sample belongs to: its labels, sorted, without `ignored`.
fn metric_key(sample: &Sample<'_>, ignored: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = sample
        .labels
        .iter()
        .filter(|(n, _)| Some(&**n) != ignored)
        .map(|(n, v)| (&**n, &**v))
        .collect();
    pairs.sort_unstable();
    let mut key = String::new();
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            key.push(',');
        }
        key.push_str(n);
        key.push_str("=\"");
        key.push_str(v);
        key.push('"');
    }
    key
}

/// `family{labels}` for messages.
fn describe(family: &str, key: &str) -> String {
    format!("{family}{{{key}}}")
}
