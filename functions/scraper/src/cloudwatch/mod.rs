//! CloudWatch metrics as YACE (yet-another-cloudwatch-exporter) exposes them. Built
//! so far, each tested on its own: the YACE config schema, the supported services and
//! their ARN rules, metric-to-resource association, GetMetricData call planning, the
//! naming rules, the stateless query windows and series building. Not yet: the AWS
//! calls (tagging API, ListMetrics, GetMetricData) and wiring into the scraper run.

pub mod associate;
pub mod batch;
pub mod collect;
pub mod config;
pub mod fetch;
pub mod naming;
pub mod series;
pub mod services;
pub mod window;
