//! Writing staleness markers: the stale NaN, through the same outbox as ordinary
//! samples, so external labels and `write_relabel_configs` give the marker exactly the
//! series the samples had.

use prom::{Labels, METRIC_NAME};

use super::series_set::{decode_labels, SeriesSet};
use crate::outbox::{EncodeError, Outbox, SendRules};

/// The series every scrape writes besides the target's own, as Prometheus names them.
/// A vanished target's are marked stale too.
pub const SYNTHETIC_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// What writing a batch of markers did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Marked {
    /// Markers added (one per series, whatever the number of endpoints).
    pub markers: u64,
    /// Remembered series that did not decode (corrupt state); skipped.
    pub malformed: u64,
}

impl Marked {
    fn add(&mut self, other: Marked) {
        self.markers += other.markers;
        self.malformed += other.malformed;
    }
}

/// Adds a marker at `timestamp_ms` for each encoded series.
pub fn mark_series<'a>(
    outbox: &mut Outbox,
    rules: &SendRules,
    series: impl IntoIterator<Item = &'a [u8]>,
    timestamp_ms: i64,
) -> Result<Marked, EncodeError> {
    let mut marked = Marked::default();
    for encoded in series {
        match decode_labels(encoded) {
            Ok(labels) => {
                outbox.add(rules, labels, prom::stale::stale_nan(), timestamp_ms)?;
                marked.markers += 1;
            }
            Err(error) => {
                marked.malformed += 1;
                tracing::warn!(error = %error, "remembered series skipped");
            }
        }
    }
    Ok(marked)
}

/// Adds markers for everything a target that left discovery wrote: its series and
/// its synthetic series (the target's labels with each synthetic name).
pub fn mark_vanished_target(
    outbox: &mut Outbox,
    rules: &SendRules,
    key: &[u8],
    series: &SeriesSet,
    timestamp_ms: i64,
) -> Result<Marked, EncodeError> {
    let mut marked = mark_series(outbox, rules, series.iter(), timestamp_ms)?;
    let target_labels = match decode_labels(key) {
        Ok(labels) => labels,
        Err(error) => {
            tracing::warn!(error = %error, "remembered target skipped");
            marked.malformed += 1;
            return Ok(marked);
        }
    };
    for name in SYNTHETIC_SERIES {
        let mut labels: Labels = target_labels.clone();
        labels.set(METRIC_NAME, name);
        outbox.add(rules, labels, prom::stale::stale_nan(), timestamp_ms)?;
        marked.add(Marked {
            markers: 1,
            malformed: 0,
        });
    }
    Ok(marked)
}
