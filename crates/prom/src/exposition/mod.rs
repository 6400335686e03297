//! The Prometheus exposition formats a scrape can return: text format 0.0.4 and
//! OpenMetrics 1.0, parsed line by line as the body streams in, with Prometheus' own
//! acceptance rules (checked against its parser tests) and no allocation per series
//! unless a value needs unescaping.

mod format;
mod line;
mod number;
mod parser;

pub use format::{Format, SCRAPE_ACCEPT_HEADER};
pub use parser::{parse_all, Parser, ParserOptions};

use std::borrow::Cow;

/// The metric family types of both formats (text `untyped` is `Unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
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
    Help {
        metric: Cow<'a, str>,
        text: Cow<'a, str>,
    },
    Type {
        metric: Cow<'a, str>,
        metric_type: MetricType,
    },
    Unit {
        metric: Cow<'a, str>,
        unit: Cow<'a, str>,
    },
    /// Any other comment line (text format only; OpenMetrics allows none).
    Comment,
    Series(Sample<'a>),
}

/// One sample line: metric name, labels in exposition order (without `__name__`),
/// value and optional timestamp in milliseconds. Exemplars are validated and dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: Cow<'a, str>,
    pub labels: &'a [(Cow<'a, str>, Cow<'a, str>)],
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// A malformed exposition: the 1-based line in the whole body and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}
