//! CloudWatch metrics as YACE (yet-another-cloudwatch-exporter) exposes them. Only the
//! naming rules exist so far; discovery, GetMetricData and windowing come next.

pub mod naming;
