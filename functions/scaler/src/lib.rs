//! The scaler: turns alarm state into Kubernetes scaling changes by declared policy,
//! and undoes them when the alarm clears. See the README's scaler section.

pub mod alarms;
pub mod cluster;
pub mod config;
pub mod decide;
pub mod event;
pub mod handler;
pub mod kubernetes;
pub mod signal;
pub mod state;
pub mod summary;
pub mod values;

pub use config::{Config, ConfigError};
pub use handler::{HandleError, Scaler};
pub use summary::Summary;

/// Environment variable holding the config file path.
pub const CONFIG_FILE_ENV: &str = "SCALER_CONFIG_FILE";
/// Environment variable holding the config YAML itself.
pub const CONFIG_ENV: &str = "SCALER_CONFIG";

/// Reads the config from `SCALER_CONFIG_FILE` or `SCALER_CONFIG`.
pub fn config_from_env() -> Result<Config, ConfigError> {
    let file = std::env::var_os(CONFIG_FILE_ENV);
    let inline = std::env::var(CONFIG_ENV).ok();
    let text = match (file, inline) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid {
                field: CONFIG_ENV.to_string(),
                reason: format!("set {CONFIG_FILE_ENV} or {CONFIG_ENV}, not both"),
            })
        }
        (Some(path), None) => std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
            field: CONFIG_FILE_ENV.to_string(),
            reason: format!("cannot read {}: {e}", path.to_string_lossy()),
        })?,
        (None, Some(text)) => text,
        (None, None) => {
            return Err(ConfigError::Invalid {
                field: CONFIG_FILE_ENV.to_string(),
                reason: format!("no config: set {CONFIG_FILE_ENV} (a path) or {CONFIG_ENV} (YAML)"),
            })
        }
    };
    Config::parse(&text)
}
