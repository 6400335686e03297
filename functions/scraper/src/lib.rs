//! The scraper function: on each scheduled invocation, scrape every configured
//! Prometheus exporter target and remote-write the samples to AMP (or any Prometheus
//! remote-write receiver), signed with SigV4.
//!
//! `main.rs` only wires this library to the Lambda runtime or the CLI; everything
//! testable lives here.

pub mod assume_role;
pub mod borrowed_series;
pub mod cloudwatch;
pub mod config;
pub mod credentials;
pub mod deadline;
pub mod discovery;
pub mod error_type;
pub mod event;
pub mod http_client;
pub mod invocation_summary;
pub mod job_setup;
pub mod outbox;
pub mod run;
pub mod sample_labels;
pub mod scrape;
pub mod sender;
pub mod staleness;
pub mod summary;
pub mod target;
pub mod tls_roots;
pub mod warm;

use std::time::Instant;

pub use invocation_summary::InvocationSummary;
pub use run::RunError;
pub use summary::RunSummary;

/// Why an invocation failed as a whole (bad event or config, an endpoint that cannot
/// be set up). Target failures never end up here: they are `up` 0 in the summary.
///
/// The text is the whole chain of causes (`inline config: invalid config:
/// scrape_configs[0].relabel_configs[0].regex: is not a valid regular expression:
/// ...`): this is what the invocation fails with, and the Lambda runtime and the CLI
/// show only the text. The inner error stays the `source`.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event names no usable config, or the config is refused.
    #[error("{}", function_cli::error_chain(.0))]
    Event(#[from] event::EventError),
    /// The run could not start.
    #[error("{}", function_cli::error_chain(.0))]
    Run(#[from] RunError),
}

/// The function, alive as long as its process: under Lambda one per container,
/// serving every invocation the container gets, so what one run built from its
/// config is reused by the next ([`warm`]); on the command line, one invocation.
#[derive(Debug, Default)]
pub struct Scraper {
    /// Invocations of one container are sequential; the lock only makes that explicit.
    warm: tokio::sync::Mutex<warm::WarmState>,
}

impl Scraper {
    /// A scraper that has built nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one invocation event; `deadline` is when the invocation must have
    /// returned.
    pub async fn handle(
        &self,
        event: serde_json::Value,
        deadline: Instant,
        instance: &str,
    ) -> Result<InvocationSummary, HandlerError> {
        let named = event::load_config_text(&event).await?;
        let inputs = self.warm.lock().await.prepare(&named).await?;
        let prepared = inputs.report;
        let mut warnings = inputs.loaded.warnings.clone();
        warnings.extend(named.stale_warning());
        for warning in &warnings {
            tracing::warn!(warning = %warning, "config");
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let scheduled = event::scheduled_time(&event, now);
        let shard = event::shard(&event)?;
        let summary = run::run(inputs, warnings, deadline, instance, scheduled, shard).await?;
        let c = &summary.counters;
        // Under Lambda the invocation's summary line (with its EMF figures) is the
        // record; this is for `RUST_LOG=debug` on the command line, where stdout has
        // the response.
        tracing::debug!(
            targets = summary.targets,
            targets_up = c.targets_up,
            targets_down = c.targets_down,
            samples_scraped = c.samples_scraped,
            samples_sent = c.samples_sent,
            samples_rejected = c.samples_rejected,
            samples_unsent = c.samples_unsent,
            series_dropped_limits = c.series_dropped_limits,
            requests = c.requests,
            retries = c.retries,
            bytes_sent = c.bytes_sent,
            errors = c.errors,
            duration_seconds = summary.duration_seconds,
            deadline_hit = summary.deadline_hit,
            config = ?prepared.config,
            clients_built = prepared.clients_built,
            clients_reused = prepared.clients_reused,
            "run summary"
        );
        Ok(InvocationSummary {
            run: summary,
            prepared,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_refused_config_fails_the_invocation_with_its_causes_once() {
        let yaml =
            "scrape_configs: [{job_name: a, relabel_configs: [{regex: '(x', action: drop}]}]";
        let deadline = Instant::now() + Duration::from_secs(5);
        let scraper = super::Scraper::new();
        let Err(e) = scraper
            .handle(serde_json::json!({ "config": yaml }), deadline, "test")
            .await
        else {
            panic!("an unclosed group compiled")
        };
        let text = e.to_string();
        assert!(
            text.starts_with(
                "inline config: invalid config: scrape_configs[0].relabel_configs[0].regex: is not a valid regular expression: invalid regex \"(x\""
            ),
            "{text}"
        );
        assert_eq!(text.matches("relabel_configs[0]").count(), 1, "{text}");
    }
}
