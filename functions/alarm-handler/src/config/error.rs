//! Why a config is refused: one variant per stage of loading it, each keeping the
//! underlying error as its source.

use config_error::{FieldError, YamlError};

/// Why a config is refused. Every variant names where: the YAML one by field name
/// and line, the others by the field's path.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not YAML, or not of the config's shape: an unknown field (a typo,
    /// or an Alertmanager feature we do not support), a missing `route`, a value of
    /// the wrong type.
    #[error("config: {0}")]
    Yaml(#[from] YamlError),
    /// A field has a value we cannot work with (a receiver without a target, a
    /// duplicate name, a route naming an undefined receiver or time interval, a
    /// template or secret file that cannot be read).
    #[error("config: {0}")]
    Invalid(#[from] FieldError),
    /// The routing tree is refused (its root sets matchers, or a matcher does not
    /// compile).
    #[error("config: {0}")]
    Route(#[from] alert_routing::RouteError),
    /// A named time interval is refused (an unknown weekday, a bad time range or
    /// location).
    #[error("config: time_intervals: {0}")]
    TimeInterval(#[from] alert_routing::TimeIntervalError),
    /// An inhibit rule's matcher does not compile.
    #[error("config: inhibit_rules: {0}")]
    Inhibit(#[from] alert_routing::MatcherError),
}
