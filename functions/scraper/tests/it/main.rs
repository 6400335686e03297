//! The integration tests of `scraper`, one test binary (each binary links the AWS SDK
//! and the local stack's helpers, so one link instead of one per file). Each module is
//! one subject; `test_support` starts the real services they run against.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod aws_sd;
mod cloudwatch_e2e;
mod cloudwatch_faults;
mod config_ssm;
mod e2e_prometheus;
mod examples;
mod harness;
mod kubernetes_examples;
mod kubernetes_sd;
mod kubernetes_vs_vmagent;
mod lambda_runtime;
mod remote_write_faults;
mod scale_faults;
mod scrape_formats;
mod scrape_tls;
mod staleness;
mod warm_invocations;
