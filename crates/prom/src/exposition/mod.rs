//! The Prometheus exposition formats a scrape can return: text format 0.0.4 and
//! OpenMetrics 1.0, parsed line by line as the body streams in, with Prometheus' own
//! acceptance rules (checked against its parser tests) and no allocation per series
//! unless a value needs unescaping.

mod format;
mod line;
mod number;
mod openmetrics_rules;
mod parser;

pub use format::{Format, SCRAPE_ACCEPT_HEADER};
pub use openmetrics_rules::{OpenMetricsChecker, Violation, MAX_EXEMPLAR_LABEL_CHARS};
pub use parser::{parse_all, Parser, ParserOptions};

use std::borrow::Cow;

/// The metric family types of both formats (text `untyped` is `Unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// Monotonic total; resets only on restart.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative `_bucket{le=..}`, `_sum` and `_count` series.
    Histogram,
    /// OpenMetrics gauge histogram (`_gbucket`, `_gsum`, `_gcount`).
    GaugeHistogram,
    /// Quantiles plus `_sum` and `_count`.
    Summary,
    /// OpenMetrics info metric (`_info`, value 1).
    Info,
    /// OpenMetrics state set: one series per state, value 0 or 1.
    StateSet,
    /// No or an unrecognised `# TYPE`.
    Unknown,
}

impl MetricType {
    /// The name as OpenMetrics writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// One parsed line. Borrowed from the input where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    /// `# HELP metric text`.
    Help {
        /// The metric family name.
        metric: Cow<'a, str>,
        /// The help text, unescaped.
        text: Cow<'a, str>,
    },
    /// `# TYPE metric type`.
    Type {
        /// The metric family name.
        metric: Cow<'a, str>,
        /// The declared type.
        metric_type: MetricType,
    },
    /// `# UNIT metric unit` (OpenMetrics).
    Unit {
        /// The metric family name.
        metric: Cow<'a, str>,
        /// The unit (`seconds`, `bytes`).
        unit: Cow<'a, str>,
    },
    /// Any other comment line (text format only; OpenMetrics allows none).
    Comment,
    /// A sample.
    Series(Sample<'a>),
}

/// One sample line: metric name, labels in exposition order (without `__name__`),
/// value and optional timestamp in milliseconds. Exemplars are validated and dropped;
/// only the size of their labels is kept, for [`OpenMetricsChecker`].
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// The metric name (`__name__`).
    pub name: Cow<'a, str>,
    /// Labels in exposition order, unescaped.
    pub labels: &'a [(Cow<'a, str>, Cow<'a, str>)],
    /// The value (`NaN` keeps Prometheus' normal-NaN bits, never the staleness marker).
    pub value: f64,
    /// The sample's own timestamp in milliseconds, when the target gave one.
    pub timestamp_ms: Option<i64>,
    /// With an exemplar (OpenMetrics): the characters of its label names and values.
    pub exemplar_label_chars: Option<usize>,
}

/// A malformed exposition: the 1-based line in the whole body and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line in the whole body.
    pub line: usize,
    /// What is wrong, with an excerpt of the line.
    pub message: String,
}
