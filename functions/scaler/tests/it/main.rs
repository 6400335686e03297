//! The integration tests of `scaler`, one test binary (each binary links the AWS SDK
//! and the local stack's helpers, so one link instead of one per file). Each module is
//! one subject; `test_support` starts the real services they run against.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod config_live;
mod crash_safety;
mod describe_alarms;
mod eks_e2e;
mod examples;
mod lambda_runtime;
mod property;
mod standin_selftest;
