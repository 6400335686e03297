//! Why a scraper configuration was refused.

use config_error::{FieldError, YamlError};

/// Why a configuration was refused. Every variant says where: the file, the line and
/// column of YAML that does not parse, or the path of the field whose value is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file's path as given.
        path: String,
        /// Why reading it failed.
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML, or not the config's shape (an unknown field, a wrong
    /// type); the message names the field, with line and column.
    #[error("invalid config YAML: {0}")]
    Yaml(#[from] YamlError),
    /// A field's value cannot be used; the error names the field's path.
    #[error("invalid config: {0}")]
    Invalid(#[from] FieldError),
}
