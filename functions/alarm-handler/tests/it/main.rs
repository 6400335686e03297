//! The integration tests of `alarm-handler`, one test binary (each binary links the AWS SDK
//! and the local stack's helpers, so one link instead of one per file). Each module is
//! one subject; `test_support` starts the real services they run against.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod alertmanager_api;
mod config_reload;
mod delivery_e2e;
mod examples;
mod lambda_runtime;
mod ledger_lost_answer;
mod real_alertmanager;
mod receivers_http;
mod storm;
mod timers;
mod timing_oracle;

/// Held by the test that times notifications against a real Alertmanager and by the
/// CPU-heavy alert storm, so they never overlap: on two cores the storm's load delays
/// both systems' timers by a second or more, which the oracle reads as a difference.
pub(crate) static CPU_OR_CLOCK_BOUND: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
