//! The scaler as deployed: its config comes from a [`ConfigSource`] (file, inline or
//! SSM parameter) that is read at every invocation (SSM through config-source's short
//! cache), and the scaler is rebuilt when the text changed, so a new policy applies
//! without a rebuild or redeploy. A broken config fails the invocation with the
//! error naming the field; the last good config is not silently kept, because a
//! scaler running yesterday's policies is worse than one that says it cannot run.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use config_source::{ConfigReader, ConfigSource, ConfigSourceError};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::{Config, ConfigError};
use crate::handler::{Failure, HandleError, Scaler};
use crate::summary::Summary;
use function_cli::error_chain;

/// Environment variable prefix: `SCALER_CONFIG_FILE`, `SCALER_CONFIG` or
/// `SCALER_CONFIG_SSM_PARAMETER`.
pub const ENV_PREFIX: &str = "SCALER";

/// The scaler cannot run because its config cannot be had or is refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The source could not be read (a missing file or SSM parameter, no access),
    /// and no earlier text is cached.
    #[error(transparent)]
    Source(#[from] ConfigSourceError),
    /// The text was read and is refused; `source_name` says where it came from so
    /// the operator knows what to fix.
    #[error("{error} ({source_name})")]
    Config {
        /// The config source, as displayed (`SSM parameter /x`, `file /etc/y`).
        source_name: String,
        /// What is wrong with the text.
        #[source]
        error: ConfigError,
    },
}

/// A scaler that follows its config source.
pub struct LiveScaler {
    source: ConfigSource,
    reader: ConfigReader,
    aws: aws_config::SdkConfig,
    current: Mutex<Option<(Arc<str>, Arc<Scaler>)>>,
}

impl LiveScaler {
    /// Nothing is read until the first invocation (or [`LiveScaler::load`]).
    pub fn new(
        source: ConfigSource,
        reader: ConfigReader,
        aws: aws_config::SdkConfig,
    ) -> LiveScaler {
        LiveScaler {
            source,
            reader,
            aws,
            current: Mutex::new(None),
        }
    }

    /// The scaler for the current config text (rebuilt when the text changed).
    pub async fn load(&self) -> Result<Arc<Scaler>, LoadError> {
        let loaded = self.reader.load(&self.source).await?;
        if let Some(why) = &loaded.stale {
            tracing::warn!(source = %self.source, reason = %why, "using the cached config");
        }
        let mut current = self.current.lock().await;
        if let Some((text, scaler)) = current.as_ref() {
            if *text == loaded.text {
                return Ok(Arc::clone(scaler));
            }
        }
        let config = Config::parse(&loaded.text).map_err(|error| LoadError::Config {
            source_name: self.source.to_string(),
            error,
        })?;
        tracing::info!(source = %self.source, version = ?loaded.version, policies = config.policies.len(), "config loaded");
        let scaler = Arc::new(Scaler::new(config, &self.aws));
        *current = Some((loaded.text, Arc::clone(&scaler)));
        Ok(scaler)
    }

    /// Handles one event with the current config.
    pub async fn handle(&self, event: &Value, now: DateTime<Utc>) -> Result<Summary, HandleError> {
        let scaler = self.load().await.map_err(|e| {
            let failure = Failure::Config(e);
            HandleError {
                summary: Box::new(Summary {
                    errors: 1,
                    warnings: vec![error_chain(&failure)],
                    ..Summary::default()
                }),
                failure,
            }
        })?;
        scaler.handle(event, now).await
    }
}
