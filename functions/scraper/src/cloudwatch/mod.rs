//! CloudWatch metrics as YACE (yet-another-cloudwatch-exporter) exposes them. So far
//! the YACE config schema, the naming rules and the stateless query windows; discovery
//! and GetMetricData come next.

pub mod config;
pub mod naming;
pub mod window;
