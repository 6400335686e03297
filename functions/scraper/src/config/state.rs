//! Ours: `scraper.state`, where a run keeps what it scraped so the next run of the same
//! config and shard can write Prometheus' staleness markers for what went away.

use serde::Deserialize;

/// `scraper.state`. Off unless set: without it, runs keep no memory and write no
/// staleness markers (vanished series then linger for PromQL's 5-minute lookback).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StateSettings {
    /// The S3 location of the state objects.
    pub s3: S3StateLocation,
}

/// Where the state objects live: one object per shard,
/// `<prefix>shard-<index>-of-<count>.state`. Give every config its own prefix: two
/// configs writing the same object would mark each other's series stale.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct S3StateLocation {
    /// The bucket. The function needs `s3:GetObject` and `s3:PutObject` on
    /// `<prefix>*` and `s3:ListBucket` limited to that prefix (without it, a missing
    /// object reads as access denied rather than absent).
    pub bucket: String,
    /// Key prefix of this config's objects, e.g. `scraper-state/node/`. Default: none.
    #[serde(default)]
    pub prefix: String,
    /// The bucket's region. Default: the function's region (`AWS_REGION`).
    #[serde(default)]
    pub region: Option<String>,
}

impl S3StateLocation {
    /// The object key of one shard's state.
    pub fn key(&self, shard_index: u64, shard_count: u64) -> String {
        format!("{}shard-{shard_index}-of-{shard_count}.state", self.prefix)
    }
}
