//! CloudWatch metrics as YACE (yet-another-cloudwatch-exporter) exposes them: the
//! YACE config schema, the supported services and their ARN rules, metric-to-resource
//! association, GetMetricData call planning, the naming rules, the stateless query
//! windows, the AWS calls (tagging API, ListMetrics, GetMetricData, each following
//! NextToken) and the series they become in a scraper run.

pub mod associate;
pub mod batch;
pub mod collect;
pub mod config;
pub mod fetch;
pub mod naming;
pub mod series;
pub mod services;
pub mod window;
