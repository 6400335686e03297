//! Why the scaler's config is refused.

use config_error::{FieldError, YamlError};

/// A config problem, naming where (`policies[2].ceiling`, or the unknown field and
/// its line) and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not YAML of the expected shape: an unknown field (a typo), a
    /// missing required field, a value of the wrong type. The message names the
    /// field and, where the parser knows it, the line and column.
    #[error("scaler config: {0}")]
    Yaml(#[from] YamlError),
    /// A field has a value the scaler cannot work with (a ceiling below the floor,
    /// an unknown cluster, a matcher that does not parse, two policies on one
    /// object...); the cause, where there is one, is the source.
    #[error("scaler config: {0}")]
    Invalid(#[from] FieldError),
}
