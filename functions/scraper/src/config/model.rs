//! The validated configuration the rest of the scraper reads. It is only built by
//! [`Config::from_yaml`] / [`Config::from_file`] (in `validate.rs`), so holding one
//! means every check has passed.

use super::file::{GlobalConfig, RemoteWriteConfig, ScrapeConfig, ScraperSettings};
use crate::cloudwatch::config::YaceConfig;

/// The whole configuration of one scraper invocation, validated. The Prometheus
/// blocks keep their as-written shapes (see `file.rs`); the sections a scheduled run
/// ignores are gone.
#[derive(Debug, Clone)]
pub struct Config {
    /// Prometheus' `global` block.
    pub global: GlobalConfig,
    /// The scrape jobs; job names are unique.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// The receivers.
    pub remote_write: Vec<RemoteWriteConfig>,
    /// The `scraper:` block.
    pub scraper: ScraperSettings,
}

/// A parsed and validated configuration, with warnings about accepted-but-ignored
/// and deprecated fields (logged once per invocation).
#[derive(Debug)]
pub struct LoadedConfig {
    /// The Prometheus part and the `scraper:` block.
    pub config: Config,
    /// Fields accepted but ignored, deprecated spellings used, a stale config in use.
    pub warnings: Vec<String>,
    /// The validated `cloudwatch:` block, if there is one.
    pub cloudwatch: Option<YaceConfig>,
}
