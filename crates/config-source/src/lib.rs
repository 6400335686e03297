//! Where a function's YAML config text comes from, and reading it.
//!
//! A config lives in one of three places ([`ConfigSource`]):
//!
//! - a **file** path (bundled with the function, or local while debugging);
//! - **inline** text (an environment variable or an event field);
//! - an **SSM parameter** (Parameter Store; read with decryption, so a `SecureString`
//!   works too). This is how a deployed stack changes config without a rebuild or a
//!   redeploy: `aws ssm put-parameter --overwrite`, and warm functions pick it up.
//!
//! [`ConfigSource::load`] reads the text. Files and inline text are read on every call
//! (they are local and cheap). SSM parameters are cached per warm container for
//! [`DEFAULT_MAX_AGE`] (30 s): a change applies within 30 s, and a burst of
//! invocations (an alert storm) costs one `GetParameter` call per container per 30 s
//! instead of one per invocation, well below Parameter Store's default throughput
//! quota (40 transactions per second shared by the whole account and region). When a
//! refresh fails and an earlier value is cached, that value is served with
//! [`ConfigText::stale`] saying why, so a throttled or briefly unreachable SSM never
//! stops a function that already has a good config.
//!
//! Functions name their source with `<PREFIX>_CONFIG_FILE`, `<PREFIX>_CONFIG` or
//! `<PREFIX>_CONFIG_SSM_PARAMETER` ([`ConfigSource::from_env`]); exactly one may be set
//! (an empty variable counts as unset).

mod reader;

use std::path::PathBuf;
use std::sync::Arc;

pub use reader::{ConfigReader, DEFAULT_MAX_AGE};

/// Where the config text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file path; relative paths inside the config are taken from its directory.
    File(PathBuf),
    /// The YAML itself.
    Inline(String),
    /// An SSM Parameter Store parameter name (or ARN), read with decryption.
    SsmParameter(String),
}

/// The config text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigText {
    /// The YAML as stored.
    pub text: Arc<str>,
    /// Directory of a file source, for paths relative to the config (templates,
    /// `*_file` secrets); `None` for inline text and SSM parameters.
    pub base_dir: Option<PathBuf>,
    /// The SSM parameter version, when the text came from SSM.
    pub version: Option<i64>,
    /// Set when this is a cached SSM value served because the refresh failed: why it
    /// failed. The caller should log it as a warning.
    pub stale: Option<String>,
}

/// Why no config text could be had; every message names the source.
#[derive(Debug, thiserror::Error)]
pub enum ConfigSourceError {
    /// None of the `<prefix>_CONFIG*` variables is set (or all are empty).
    #[error("no config: set one of {}", .vars.join(", "))]
    NotSet {
        /// The variables checked, in the order they are reported.
        vars: Vec<String>,
    },
    /// More than one is set: which one wins would be a guess, so none does.
    #[error("more than one config source is set ({}): set exactly one", .set.join(", "))]
    Ambiguous {
        /// The variables that are set.
        set: Vec<String>,
    },
    /// The `<prefix>_CONFIG_FILE` file cannot be read.
    #[error("cannot read config file {}: {source}", .path.display())]
    File {
        /// The path as configured.
        path: PathBuf,
        /// Why it could not be read (missing, permissions, not UTF-8).
        #[source]
        source: std::io::Error,
    },
    /// Parameter Store has no such parameter in this region and account.
    #[error("SSM parameter {name} does not exist (or is in another region)")]
    SsmNotFound {
        /// The parameter name.
        name: String,
    },
    /// Parameter Store could not be asked (and there is no cached text to fall back on).
    #[error("cannot read SSM parameter {name}: {reason}")]
    Ssm {
        /// The parameter name.
        name: String,
        /// The SDK error with its causes (access denied, throttled, no network).
        reason: String,
    },
    /// The parameter exists but carries no value.
    #[error("SSM parameter {name} has no value")]
    SsmNoValue {
        /// The parameter name.
        name: String,
    },
    /// The text is empty or only whitespace: an empty YAML document would silently mean "all defaults".
    #[error("the config from {origin} is empty")]
    Empty {
        /// The source, as [`ConfigSource`] displays it.
        origin: String,
    },
}

/// The environment variable suffixes, in the order they are reported.
const SUFFIXES: [&str; 3] = ["_CONFIG_FILE", "_CONFIG", "_CONFIG_SSM_PARAMETER"];

impl ConfigSource {
    /// The source named by `<prefix>_CONFIG_FILE` (a path), `<prefix>_CONFIG` (YAML)
    /// or `<prefix>_CONFIG_SSM_PARAMETER` (a parameter name): exactly one must be set
    /// to a non-empty value. `ConfigSource::from_env("SCALER")` reads
    /// `SCALER_CONFIG_FILE`, `SCALER_CONFIG` and `SCALER_CONFIG_SSM_PARAMETER`.
    pub fn from_env(prefix: &str) -> Result<ConfigSource, ConfigSourceError> {
        Self::from_env_optional(prefix)?.ok_or_else(|| ConfigSourceError::NotSet {
            vars: SUFFIXES.iter().map(|s| format!("{prefix}{s}")).collect(),
        })
    }

    /// Like [`ConfigSource::from_env`], but `Ok(None)` when none of the three is set
    /// (for functions whose event may name the source instead).
    pub fn from_env_optional(prefix: &str) -> Result<Option<ConfigSource>, ConfigSourceError> {
        Self::from_lookup(prefix, |name| std::env::var(name).ok())
    }

    /// [`ConfigSource::from_env_optional`] over any variable lookup (tests use a map).
    pub fn from_lookup(
        prefix: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ConfigSource>, ConfigSourceError> {
        let mut found = Vec::new();
        for suffix in SUFFIXES {
            let name = format!("{prefix}{suffix}");
            if let Some(value) = lookup(&name).filter(|v| !v.trim().is_empty()) {
                found.push((name, suffix, value));
            }
        }
        if found.len() > 1 {
            return Err(ConfigSourceError::Ambiguous {
                set: found.into_iter().map(|(name, _, _)| name).collect(),
            });
        }
        Ok(found.pop().map(|(_, suffix, value)| match suffix {
            "_CONFIG_FILE" => ConfigSource::File(PathBuf::from(value)),
            "_CONFIG" => ConfigSource::Inline(value),
            _ => ConfigSource::SsmParameter(value.trim().to_string()),
        }))
    }

    /// Safe to log: a path, a parameter name, or "inline config" (never the text).
    pub fn describe(&self) -> String {
        match self {
            ConfigSource::File(path) => format!("file {}", path.display()),
            ConfigSource::Inline(_) => "inline config".to_string(),
            ConfigSource::SsmParameter(name) => format!("SSM parameter {name}"),
        }
    }

    /// Reads the text through the process-wide [`ConfigReader::shared`] (SSM client
    /// from the default AWS chain and `AWS_ENDPOINT_URL*`, 30 s cache).
    pub async fn load(&self) -> Result<ConfigText, ConfigSourceError> {
        ConfigReader::shared().load(self).await
    }
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn source(vars: &[(&str, &str)]) -> Result<Option<ConfigSource>, ConfigSourceError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConfigSource::from_lookup("SCALER", |name| map.get(name).cloned())
    }

    #[test]
    fn each_variable_names_its_kind_of_source() {
        assert_eq!(
            source(&[("SCALER_CONFIG_FILE", "/etc/scaler.yaml")]).expect("ok"),
            Some(ConfigSource::File(PathBuf::from("/etc/scaler.yaml")))
        );
        assert_eq!(
            source(&[("SCALER_CONFIG", "policies: []")]).expect("ok"),
            Some(ConfigSource::Inline("policies: []".into()))
        );
        assert_eq!(
            source(&[("SCALER_CONFIG_SSM_PARAMETER", " /pipeline/scaler ")]).expect("ok"),
            Some(ConfigSource::SsmParameter("/pipeline/scaler".into()))
        );
        // Other prefixes are not ours.
        assert_eq!(
            source(&[("SCRAPER_CONFIG", "x: 1")]).expect("ok"),
            None,
            "another function's variable"
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        // CloudFormation sets an empty value when a conditional variable is off.
        assert_eq!(
            source(&[
                ("SCALER_CONFIG_FILE", ""),
                ("SCALER_CONFIG_SSM_PARAMETER", "/p")
            ])
            .expect("ok"),
            Some(ConfigSource::SsmParameter("/p".into()))
        );
        assert_eq!(source(&[("SCALER_CONFIG", "  ")]).expect("ok"), None);
    }

    #[test]
    fn more_than_one_is_an_error_naming_them() {
        let err = source(&[
            ("SCALER_CONFIG", "a: 1"),
            ("SCALER_CONFIG_SSM_PARAMETER", "/p"),
        ])
        .expect_err("ambiguous");
        assert_eq!(
            err.to_string(),
            "more than one config source is set (SCALER_CONFIG, SCALER_CONFIG_SSM_PARAMETER): set exactly one"
        );
    }

    #[test]
    fn none_set_names_all_three_variables() {
        let err = ConfigSource::from_env("CONFIG_SOURCE_UNIT_TEST_UNSET").expect_err("unset");
        assert_eq!(
            err.to_string(),
            "no config: set one of CONFIG_SOURCE_UNIT_TEST_UNSET_CONFIG_FILE, \
             CONFIG_SOURCE_UNIT_TEST_UNSET_CONFIG, CONFIG_SOURCE_UNIT_TEST_UNSET_CONFIG_SSM_PARAMETER"
        );
    }

    #[test]
    fn descriptions_never_contain_inline_text() {
        assert_eq!(
            ConfigSource::Inline("secret: x".into()).describe(),
            "inline config"
        );
        assert_eq!(
            ConfigSource::SsmParameter("/a/b".into()).to_string(),
            "SSM parameter /a/b"
        );
        assert_eq!(
            ConfigSource::File("/x.yaml".into()).describe(),
            "file /x.yaml"
        );
    }
}
