//! Prometheus staleness across stateless runs. Prometheus writes a staleness marker
//! (a special NaN) when a series it scraped last time is gone: its target left
//! discovery, is down, or stopped exposing it. A Lambda remembers nothing between
//! runs, so with `scraper.state` set each run keeps, per config and shard, an S3
//! object listing what each target produced, and the next run marks what went away.

pub mod codec;
pub mod framing;
pub mod markers;
pub mod run_state;
pub mod series_set;
pub mod store;
pub mod stored;
pub mod tracker;

pub use tracker::{StalenessTracker, StateReport, TargetOutcome};
