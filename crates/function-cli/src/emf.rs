//! The functions' own figures as CloudWatch Embedded Metric Format (EMF) lines.
//!
//! Why EMF rather than writing to AMP directly: a Lambda keeps no counter between
//! invocations, and many run at once, so per-invocation counts have to be summed
//! somewhere. CloudWatch Logs extracts EMF lines from the function's log group into
//! metrics and sums them per period, for free and with nothing on the alert path: the
//! alarm-handler and the scaler keep working when AMP is down. The scraper's starter
//! config collects the namespace with a `customNamespace` job, so the figures reach AMP
//! and the pipeline's dashboard like every other CloudWatch metric.
//!
//! Under Lambda each line goes to stdout after the invocation summary; on the command
//! line `--emf FILE` appends them to `FILE` (the local demo turns them into CloudWatch
//! metrics the way CloudWatch Logs does).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// The CloudWatch namespace of every figure the functions publish.
pub const NAMESPACE: &str = "MetricsPipeline";

/// The dimension every figure carries: which function it is about.
pub const FUNCTION_DIMENSION: &str = "Function";

/// A CloudWatch unit, as EMF spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Things counted in one invocation.
    Count,
    /// A duration.
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// Values that share one set of dimensions: one EMF line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSet {
    /// Dimensions besides [`FUNCTION_DIMENSION`], e.g. `Receiver`.
    pub dimensions: Vec<(&'static str, String)>,
    /// Metric name, value and unit.
    pub values: Vec<(&'static str, f64, Unit)>,
}

impl MetricSet {
    /// A set with only the function's dimension.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set with one more dimension.
    pub fn with_dimension(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            dimensions: vec![(name, value.into())],
            values: Vec::new(),
        }
    }

    /// Adds a count (EMF values are doubles: exact below 2^53).
    pub fn count(mut self, name: &'static str, value: u64) -> Self {
        self.values.push((name, value as f64, Unit::Count));
        self
    }

    /// Adds a duration in milliseconds.
    pub fn milliseconds(mut self, name: &'static str, value: u64) -> Self {
        self.values.push((name, value as f64, Unit::Milliseconds));
        self
    }
}

/// What a function's summary publishes as figures. The default publishes nothing: the
/// scraper writes its own series to AMP with the samples it sends.
pub trait Figures {
    /// The metric sets of one invocation. The first set, when it has no dimension
    /// besides the function's, rides on the invocation summary line itself.
    fn figures(&self) -> Vec<MetricSet> {
        Vec::new()
    }

    /// The summary as the log line carries it, when the response is too large for a
    /// log event (CloudWatch Logs takes 256 KB; the scraper's response has a report per
    /// target). `None`: the whole summary.
    fn logged_summary(&self) -> Option<Value> {
        None
    }
}

impl Figures for Value {}

/// The EMF lines for `sets`, for function `function`, stamped `timestamp_ms`.
pub fn emf_lines(function: &str, sets: &[MetricSet], timestamp_ms: u64) -> Vec<String> {
    sets.iter()
        .filter(|set| !set.values.is_empty())
        .map(|set| emf_line(function, set, timestamp_ms))
        .collect()
}

/// Milliseconds since the epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn emf_line(function: &str, set: &MetricSet, timestamp_ms: u64) -> String {
    Value::Object(emf_document(function, set, timestamp_ms)).to_string()
}

/// The EMF document of one set: the `Function` and other dimension values and the
/// metric values as root members, and the `_aws` metadata naming them. Other members
/// may be added beside them (CloudWatch Logs keeps them as log properties), which is
/// how the invocation summary line carries its figures.
pub(crate) fn emf_document(
    function: &str,
    set: &MetricSet,
    timestamp_ms: u64,
) -> Map<String, Value> {
    let mut dimension_names = vec![Value::from(FUNCTION_DIMENSION)];
    let mut root = Map::new();
    root.insert(FUNCTION_DIMENSION.into(), Value::from(function));
    for (name, value) in &set.dimensions {
        dimension_names.push(Value::from(*name));
        root.insert((*name).into(), Value::from(value.as_str()));
    }
    let metrics: Vec<Value> = set
        .values
        .iter()
        .map(|(name, _, unit)| serde_json::json!({"Name": name, "Unit": unit.as_str()}))
        .collect();
    for (name, value, _) in &set.values {
        root.insert((*name).into(), Value::from(*value));
    }
    root.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimension_names],
                "Metrics": metrics,
            }],
        }),
    );
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_an_emf_document_with_its_dimensions_and_values() {
        let sets = [
            MetricSet::new()
                .count("Invocations", 1)
                .milliseconds("DurationMs", 42),
            MetricSet::with_dimension("Receiver", "ops").count("DeliveriesSent", 3),
            MetricSet::with_dimension("Receiver", "empty"),
        ];
        let lines = emf_lines("alarm-handler", &sets, 1_700_000_000_000);
        assert_eq!(lines.len(), 2, "a set without values is no line");
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first["Function"], "alarm-handler");
        assert_eq!(first["Invocations"], 1.0);
        assert_eq!(first["DurationMs"], 42.0);
        let directive = &first["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(first["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], serde_json::json!([["Function"]]));
        assert_eq!(
            directive["Metrics"],
            serde_json::json!([{"Name": "Invocations", "Unit": "Count"},
                               {"Name": "DurationMs", "Unit": "Milliseconds"}])
        );
        let second: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(second["Receiver"], "ops");
        assert_eq!(
            second["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Function", "Receiver"]])
        );
    }
}
