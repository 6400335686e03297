//! The handler follows its config source: every invocation asks the source for the
//! current text (an SSM parameter is read at most every 30 s per warm container, see
//! `config-source`), rebuilds the handler when the text changed, and keeps the running
//! handler when the new text is broken or cannot be read, with a warning in every
//! summary until it is fixed (as Alertmanager keeps its last good config when a reload
//! fails). So `aws ssm put-parameter --overwrite` changes routing without a redeploy.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use config_source::{ConfigReader, ConfigSource, ConfigText};
use serde_json::Value;

use crate::api::{self, ApiRequest, ApiResponse};
use crate::config::Config;
use crate::handler::{Handler, InvocationError, StartupError};
use crate::invocation::{answer, kind_of, InvocationKind, Outcome};
use crate::summary::Summary;
use function_cli::error_chain;

/// A [`Handler`] rebuilt whenever its config text changes.
pub struct ReloadingHandler {
    source: ConfigSource,
    reader: &'static ConfigReader,
    aws: aws_config::SdkConfig,
    /// The text the running handler was built from.
    text: Arc<str>,
    version: Option<i64>,
    handler: Handler,
    /// The last text that failed to build and why (not parsed again until it changes).
    rejected: Option<(Arc<str>, String)>,
}

impl ReloadingHandler {
    /// Reads and builds the first config; a broken one here is a start-up error.
    /// Reads through the process-wide [`ConfigReader::shared`].
    pub async fn start(
        source: ConfigSource,
        aws: aws_config::SdkConfig,
    ) -> Result<ReloadingHandler, StartupError> {
        Self::start_with(source, aws, ConfigReader::shared()).await
    }

    /// [`ReloadingHandler::start`] reading through `reader` (tests use one with a
    /// local SSM endpoint and no cache window).
    pub async fn start_with(
        source: ConfigSource,
        aws: aws_config::SdkConfig,
        reader: &'static ConfigReader,
    ) -> Result<ReloadingHandler, StartupError> {
        let loaded = reader.load(&source).await?;
        let handler = build(&loaded, &aws)?;
        tracing::info!(source = %source, version = ?loaded.version, "config loaded");
        Ok(ReloadingHandler {
            source,
            reader,
            aws,
            text: loaded.text,
            version: loaded.version,
            handler,
            rejected: None,
        })
    }

    /// Where the config comes from.
    pub fn source(&self) -> &ConfigSource {
        &self.source
    }

    /// The SSM parameter version of the running config, when it came from SSM.
    pub fn version(&self) -> Option<i64> {
        self.version
    }

    /// Brings the config up to date, then handles `event` like [`Handler::handle`].
    /// Reload problems are warnings in the summary, never a failed invocation: alerts
    /// keep flowing with the last good config.
    pub async fn handle(
        &mut self,
        event: &Value,
        now: DateTime<Utc>,
    ) -> Result<Summary, InvocationError> {
        let warnings = self.refresh().await;
        let mut result = self.handler.handle(event, now).await;
        let summary = match &mut result {
            Ok(summary) => summary,
            Err(e) => e.summary.as_mut(),
        };
        summary.warnings.extend(warnings);
        result
    }

    /// Brings the config up to date, then does what the event asks ([`kind_of`]):
    /// answer an API request, flush the due groups, or handle alerts.
    pub async fn invoke(
        &mut self,
        event: &Value,
        now: DateTime<Utc>,
    ) -> Result<Outcome, InvocationError> {
        match kind_of(event) {
            InvocationKind::Api => {
                for warning in self.refresh().await {
                    tracing::warn!(%warning, "config");
                }
                Ok(Outcome::Api(answer(&mut self.handler, event, now).await))
            }
            InvocationKind::Flush => {
                let warnings = self.refresh().await;
                let mut result = self.handler.flush_due(now).await;
                let summary = match &mut result {
                    Ok(summary) => summary,
                    Err(e) => e.summary.as_mut(),
                };
                summary.warnings.extend(warnings);
                result.map(|s| Outcome::Summary(Box::new(s)))
            }
            InvocationKind::Alerts => self
                .handle(event, now)
                .await
                .map(|s| Outcome::Summary(Box::new(s))),
        }
    }

    /// Answers one API request at `now` (the local HTTP mode).
    pub async fn respond(&mut self, request: &ApiRequest, now: DateTime<Utc>) -> ApiResponse {
        for warning in self.refresh().await {
            tracing::warn!(%warning, "config");
        }
        api::respond(&mut self.handler, request, now).await
    }

    /// Flushes the due groups at `now` (the local HTTP mode's timer).
    pub async fn flush_due(&mut self, now: DateTime<Utc>) -> Result<Summary, InvocationError> {
        self.handler.flush_due(now).await
    }

    /// Re-reads the source; returns warnings for the summary.
    async fn refresh(&mut self) -> Vec<String> {
        let mut warnings = Vec::new();
        let loaded = match self.reader.load(&self.source).await {
            Ok(loaded) => loaded,
            Err(e) => {
                tracing::error!(error = %e, "config refresh failed; still using the previous config");
                warnings.push(format!("config: {e}; still using the config loaded before"));
                return warnings;
            }
        };
        if let Some(reason) = &loaded.stale {
            warnings.push(format!(
                "config: refreshing {} failed ({reason}); still using the config loaded before",
                self.source
            ));
        }
        if loaded.text == self.text {
            self.rejected = None;
            return warnings;
        }
        if let Some((text, reason)) = &self.rejected {
            if *text == loaded.text {
                warnings.push(reason.clone());
                return warnings;
            }
        }
        match build(&loaded, &self.aws) {
            Ok(handler) => {
                tracing::info!(source = %self.source, version = ?loaded.version, "config reloaded");
                self.handler = handler;
                self.text = loaded.text;
                self.version = loaded.version;
                self.rejected = None;
            }
            Err(e) => {
                let version = loaded
                    .version
                    .map(|v| format!(" (version {v})"))
                    .unwrap_or_default();
                let reason = format!(
                    "config: the new config in {}{version} is refused, still using the config loaded before: {}",
                    self.source,
                    error_chain(&e)
                );
                tracing::error!(error = %reason, "config reload refused");
                warnings.push(reason.clone());
                self.rejected = Some((loaded.text, reason));
            }
        }
        warnings
    }
}

fn build(loaded: &ConfigText, aws: &aws_config::SdkConfig) -> Result<Handler, StartupError> {
    let config = Config::parse(&loaded.text, loaded.base_dir.as_deref())?;
    Handler::new(config, aws)
}
