//! CloudWatch metrics as YACE (yet-another-cloudwatch-exporter) exposes them. So far
//! the YACE config schema, the supported services and their ARN rules, metric-to-resource association, GetMetricData call planning, the naming rules and the stateless query windows; discovery
//! and GetMetricData come next.

pub mod associate;
pub mod batch;
pub mod config;
pub mod naming;
pub mod services;
pub mod window;
