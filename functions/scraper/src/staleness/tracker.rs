//! One run's staleness bookkeeping: read the shard's state before the scrapes, hand
//! each target what it produced last time, collect what each produced and sent this
//! time, mark the targets that left discovery, and write the new state after the
//! samples it describes were sent.
//!
//! Failures here never fail the run: state that cannot be read or decoded means a run
//! without markers (and a fresh state written), a write that fails or keeps
//! conflicting means the next run compares with older state. Each case is in the
//! summary's `state` block and counted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::codec::{decode, encode};
use super::run_state::{RunState, TargetState};
use super::series_set::SeriesSet;
use super::store::{Precondition, Read, StateObject, StoreError};
use super::stored::StoredSeries;
use crate::config::StateSettings;
use crate::discovery::shard::Shard;
use crate::summary::RunCounters;
use function_cli::error_chain;

/// Conditional writes tried before a run gives up to a concurrent one.
const MAX_WRITE_ATTEMPTS: u32 = 3;

/// The `state` block of the run summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StateReport {
    /// The state object, `s3://bucket/key`.
    pub object: String,
    /// `loaded`, `absent` (first run) or `unusable` (then no markers this run).
    pub read: &'static str,
    /// Why the state could not be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_error: Option<String>,
    /// Targets and series the state held.
    pub targets_loaded: u64,
    /// Series the state held, all targets together.
    pub series_loaded: u64,
    /// Targets that left discovery since the last run (their series marked stale).
    pub targets_vanished: u64,
    /// Staleness markers written (one per series, whatever the endpoints).
    pub stale_markers: u64,
    /// Targets and series in the state written.
    pub targets_saved: u64,
    /// Series in the state written.
    pub series_saved: u64,
    /// Size of the object written.
    pub object_bytes: u64,
    /// Time spent reading and decoding.
    pub read_seconds: f64,
    /// Time spent encoding and writing (conflicts and merges included).
    pub write_seconds: f64,
    /// Whether the new state was written.
    pub written: bool,
    /// Writes refused because another run wrote the object meanwhile.
    pub conflicts: u64,
    /// Why the new state was not written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_error: Option<String>,
}

/// What scraping and sending one target gave, for the next state.
#[derive(Debug)]
pub struct TargetOutcome {
    /// The target's encoded final labels.
    pub key: Vec<u8>,
    /// What the next state remembers of it.
    pub state: TargetState,
}

impl TargetOutcome {
    /// The next state of a scraped target. Sent: its series now (the old block as it
    /// was when nothing changed). Not (fully) sent: the union of what it had and has,
    /// so every series that may lack its marker gets one later. `expanded` is
    /// `previous`' series if the scrape already expanded them.
    pub fn settle(
        key: Vec<u8>,
        job: String,
        scrape_ms: i64,
        previous: Option<TargetState>,
        expanded: Option<SeriesSet>,
        current: SeriesSet,
        sent: bool,
    ) -> Self {
        let series = match previous {
            Some(previous) if previous.series.matches(&current) => previous.series,
            Some(previous) if !sent => {
                let old = match expanded {
                    Some(old) => Ok(old),
                    None => previous.series.expand(),
                };
                match old {
                    Ok(old) => compress_or_keep(&current.union(&old), previous.series),
                    Err(error) => {
                        tracing::warn!(error = %error, "remembered series unreadable; kept as they were");
                        previous.series
                    }
                }
            }
            Some(previous) => compress_or_keep(&current, previous.series),
            None => compress_or_keep(&current, StoredSeries::default()),
        };
        Self {
            key,
            state: TargetState {
                job,
                scraped_ms: scrape_ms,
                series,
            },
        }
    }
}

/// `set` compressed, or `fallback` if compressing fails (not expected: it is done in
/// memory).
fn compress_or_keep(set: &SeriesSet, fallback: StoredSeries) -> StoredSeries {
    match StoredSeries::compress(set) {
        Ok(stored) => stored,
        Err(error) => {
            tracing::error!(error = %error, "series not compressed; the older record is kept");
            fallback
        }
    }
}

/// The run's staleness state, from read to write.
#[derive(Debug)]
pub struct StalenessTracker {
    object: StateObject,
    unclaimed: BTreeMap<Vec<u8>, TargetState>,
    precondition: Precondition,
    next: RunState,
    report: StateReport,
    counters: Arc<RunCounters>,
}

impl StalenessTracker {
    /// Reads and decodes the state of `shard`; whatever goes wrong, the tracker works
    /// on (with nothing remembered) and the report says why.
    pub async fn load(
        settings: &StateSettings,
        shard: Shard,
        deadline: Instant,
        counters: Arc<RunCounters>,
    ) -> Self {
        let started = Instant::now();
        let object = StateObject::new(&settings.s3, shard.index, shard.count).await;
        let mut report = StateReport {
            object: object.url(),
            ..StateReport::default()
        };
        let (unclaimed, precondition) = match object.read(deadline).await {
            Ok(Read::Absent) => {
                report.read = "absent";
                (BTreeMap::new(), Precondition::Absent)
            }
            Ok(Read::Found { bytes, etag }) => match decode(&bytes) {
                Ok(state) => {
                    report.read = "loaded";
                    report.targets_loaded = state.targets.len() as u64;
                    report.series_loaded = state.series();
                    (state.targets, Precondition::Matches(etag))
                }
                Err(error) => {
                    report.read = "unusable";
                    report.read_error = Some(format!("{}: {}", object.url(), error));
                    (BTreeMap::new(), Precondition::Matches(etag))
                }
            },
            Err(error) => {
                report.read = "unusable";
                report.read_error = Some(error_chain(&error));
                (BTreeMap::new(), Precondition::Absent)
            }
        };
        if let Some(error) = &report.read_error {
            counters.add(&counters.state_errors, 1);
            counters.add(&counters.errors, 1);
            tracing::error!(error = %error, "run state unusable: no staleness markers this run");
        }
        report.read_seconds = started.elapsed().as_secs_f64();
        Self {
            object,
            unclaimed,
            precondition,
            next: RunState::default(),
            report,
            counters,
        }
    }

    /// Takes what the state remembers of the target with encoded labels `key`.
    pub fn claim(&mut self, key: &[u8]) -> Option<TargetState> {
        self.unclaimed.remove(key)
    }

    /// Counts markers written for one target or batch.
    pub fn count_markers(&mut self, markers: u64) {
        self.report.stale_markers += markers;
        self.counters.add(&self.counters.stale_markers, markers);
    }

    /// Remembers a scraped target.
    pub fn record(&mut self, outcome: TargetOutcome) {
        self.next.targets.insert(outcome.key, outcome.state);
    }

    /// Takes the remembered targets that were not scraped this run and whose job is
    /// settled (its discovery and setup worked, or it left the config): they are gone.
    /// Targets of unsettled jobs are kept as they are, as Prometheus keeps the last
    /// discovered targets when discovery fails.
    pub fn take_vanished(&mut self, settled: impl Fn(&str) -> bool) -> Vec<(Vec<u8>, TargetState)> {
        let mut vanished = Vec::new();
        for (key, target) in std::mem::take(&mut self.unclaimed) {
            if settled(&target.job) {
                vanished.push((key, target));
            } else {
                self.next.targets.insert(key, target);
            }
        }
        self.report.targets_vanished = vanished.len() as u64;
        vanished
    }

    /// Records a vanished target's markers: sent, it is forgotten; not sent, it is kept
    /// so the next run marks it again.
    pub fn record_vanished(&mut self, key: Vec<u8>, target: TargetState, sent: bool, at_ms: i64) {
        if sent {
            self.next.removed.insert(key, at_ms);
        } else {
            self.next.targets.insert(key, target);
        }
    }

    /// Writes the new state (merging with a concurrent run's on conflict) and returns
    /// the report.
    pub async fn save(self, deadline: Instant) -> StateReport {
        let Self {
            object,
            mut precondition,
            next,
            mut report,
            counters,
            ..
        } = self;
        let started = Instant::now();
        let mut state = next.clone();
        state.removed.clear();
        for attempt in 1..=MAX_WRITE_ATTEMPTS {
            let bytes = encode(&state);
            let size = bytes.len() as u64;
            match object.write(bytes, &precondition, deadline).await {
                Ok(_) => {
                    report.written = true;
                    report.object_bytes = size;
                    report.targets_saved = state.targets.len() as u64;
                    report.series_saved = state.series();
                    break;
                }
                Err(StoreError::Conflict { .. }) => {
                    report.conflicts += 1;
                    counters.add(&counters.state_conflicts, 1);
                    if attempt == MAX_WRITE_ATTEMPTS {
                        report.write_error = Some(format!(
                            "{}: written by other runs {attempt} times in a row; this run's state is not kept",
                            object.url()
                        ));
                        break;
                    }
                    match reread(&object, deadline).await {
                        Ok((theirs, now)) => {
                            state = next.merged_into(theirs);
                            precondition = now;
                        }
                        Err(error) => {
                            report.write_error = Some(error);
                            break;
                        }
                    }
                }
                Err(error) => {
                    report.write_error = Some(error_chain(&error));
                    break;
                }
            }
        }
        if let Some(error) = &report.write_error {
            counters.add(&counters.state_errors, 1);
            counters.add(&counters.errors, 1);
            tracing::error!(error = %error, "run state not written");
        }
        report.write_seconds = started.elapsed().as_secs_f64();
        report
    }
}

/// The state another run wrote, for merging, and the precondition to replace it.
async fn reread(
    object: &StateObject,
    deadline: Instant,
) -> Result<(RunState, Precondition), String> {
    match object.read(deadline).await {
        Ok(Read::Absent) => Ok((RunState::default(), Precondition::Absent)),
        Ok(Read::Found { bytes, etag }) => {
            // Another run's object that does not decode is replaced, not merged.
            let theirs = decode(&bytes).unwrap_or_default();
            Ok((theirs, Precondition::Matches(etag)))
        }
        Err(error) => Err(error_chain(&error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prom::Labels;

    fn series(names: &[&str]) -> SeriesSet {
        let mut set = SeriesSet::new();
        for name in names {
            set.push_labels(&Labels::from_pairs([("__name__", *name)]));
        }
        set
    }

    fn remembered(names: &[&str]) -> TargetState {
        TargetState {
            job: "node".into(),
            scraped_ms: 1_000,
            series: StoredSeries::compress(&series(names)).unwrap(),
        }
    }

    fn settle(previous: Option<TargetState>, now: &[&str], sent: bool) -> TargetState {
        TargetOutcome::settle(
            b"key".to_vec(),
            "node".into(),
            2_000,
            previous,
            None,
            series(now),
            sent,
        )
        .state
    }

    #[test]
    fn an_unchanged_target_keeps_its_block_as_it_was() {
        let previous = remembered(&["a", "b"]);
        let block = previous.series.block().to_vec();
        let next = settle(Some(previous), &["a", "b"], true);
        assert_eq!(next.series.block(), block.as_slice());
        assert_eq!(next.scraped_ms, 2_000);
    }

    #[test]
    fn a_sent_scrape_replaces_the_series_and_an_unsent_one_keeps_both() {
        let sent = settle(Some(remembered(&["a", "b"])), &["b", "c"], true);
        assert_eq!(sent.series.expand().unwrap(), series(&["b", "c"]));
        let unsent = settle(Some(remembered(&["a", "b"])), &["b", "c"], false);
        assert_eq!(unsent.series.expand().unwrap(), series(&["b", "c", "a"]));
        let down_and_sent = settle(Some(remembered(&["a"])), &[], true);
        assert!(down_and_sent.series.is_empty());
        let first = settle(None, &["a"], false);
        assert_eq!(first.series.expand().unwrap(), series(&["a"]));
    }

    #[test]
    fn an_unreadable_block_is_kept_when_the_send_failed() {
        let previous = remembered(&["a", "b"]);
        let damaged = StoredSeries::from_parts(
            b"not zlib".to_vec(),
            2,
            previous.series.expanded_bytes(),
            previous.series.fingerprint() ^ 1,
        );
        let next = settle(
            Some(TargetState {
                series: damaged.clone(),
                ..previous
            }),
            &["c"],
            false,
        );
        assert_eq!(next.series, damaged);
    }
}
