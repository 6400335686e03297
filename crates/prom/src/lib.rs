//! Prometheus building blocks shared by the functions: the label model, the exposition
//! parser (text 0.0.4 and OpenMetrics 1.0), relabeling with Prometheus' exact semantics,
//! and the remote-write 1.0 wire format.

pub mod duration;
pub mod exposition;
pub mod labels;
pub mod relabel;
pub mod remote_write;
pub mod stale;

pub use labels::{DisplayLabels, Label, LabelPair, Labels, METRIC_NAME};
