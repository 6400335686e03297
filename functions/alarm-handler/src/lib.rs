//! alarm-handler: receives alert notifications through SNS (Grafana, Alertmanager /
//! AMP, CloudWatch alarms, EventBridge, anything else), normalises them to one alert
//! model, routes them with Alertmanager's config and semantics, and delivers each
//! group once per receiver integration (SNS topics, webhooks, Slack, PagerDuty, the
//! scaler).

pub mod aggregation;
pub mod api;
pub mod config;
pub mod delivery;
pub mod error_type;
pub mod event;
pub mod firing_state;
pub mod grouping;
pub mod handler;
pub mod invocation;
pub mod ledger;
pub mod receivers;
pub mod reload;
pub mod secret;
pub mod serve;
pub mod silences;
pub mod summary;
pub mod table;

pub use config::{Config, ConfigError};
pub use handler::{Handler, InvocationError, StartupError};
pub use reload::ReloadingHandler;
pub use summary::Summary;
