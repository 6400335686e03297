//! The scaler: turns alarm state into Kubernetes scaling changes by declared policy,
//! and undoes them when the alarm clears. See docs/scaler.md.

pub mod alarms;
pub mod cluster;
pub mod config;
pub mod decide;
pub mod error_type;
pub mod event;
pub mod handler;
pub mod kubernetes;
pub mod live;
pub mod signal;
pub mod state;
pub mod summary;
pub mod values;
pub mod write_plan;

pub use config::{Config, ConfigError};
pub use handler::{Failure, HandleError, Scaler};
pub use live::{LiveScaler, LoadError};
pub use summary::Summary;
