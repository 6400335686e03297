//! The local stack the integration tests and benchmarks run against, shared as a
//! dev-dependency so every crate's tests start services the same way: real processes
//! (Debian's Prometheus, node-exporter and Alertmanager, moto, the Kubernetes API
//! stand-in, the cargo-lambda Runtime API emulator) on free loopback ports, each
//! stopped when dropped, and a scripted HTTP server for faults no real service makes.
//!
//! A missing program is an error that says to run `scripts/setup.sh`: no test is ever
//! skipped because a service is missing.
//!
//! Test code only: a failed set-up step panics with its reason, which is how a test
//! reports it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unsafe_code,
    missing_docs
)]

pub mod child_usage;
pub mod cloudwatch_proxy;
pub mod emf;
pub mod fake_http;
pub mod kubernetes_stack;
pub mod services;
pub mod sns_sqs;
pub mod vmagent;
