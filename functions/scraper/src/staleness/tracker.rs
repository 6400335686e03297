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
    /// The target's job.
    pub job: String,
    /// What the state remembered of it.
    pub previous: Option<TargetState>,
    /// The series this scrape produced (empty when the target is down).
    pub current: SeriesSet,
    /// The scrape's time.
    pub scrape_ms: i64,
    /// Whether all its requests (samples and markers) were delivered.
    pub sent: bool,
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
                    report.series_loaded = state.series() as u64;
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

    /// Remembers a scraped target. Sent: its series now. Not (fully) sent: the union of
    /// what it had and has, so every series that may lack its marker gets one later.
    pub fn record(&mut self, outcome: TargetOutcome) {
        let series = match (outcome.sent, outcome.previous) {
            (true, _) | (false, None) => outcome.current,
            (false, Some(previous)) => outcome.current.union(&previous.series),
        };
        self.next.targets.insert(
            outcome.key,
            TargetState {
                job: outcome.job,
                scraped_ms: outcome.scrape_ms,
                series,
            },
        );
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
            let bytes = match encode(&state) {
                Ok(bytes) => bytes,
                Err(error) => {
                    report.write_error = Some(error.to_string());
                    break;
                }
            };
            let size = bytes.len() as u64;
            match object.write(bytes, &precondition, deadline).await {
                Ok(_) => {
                    report.written = true;
                    report.object_bytes = size;
                    report.targets_saved = state.targets.len() as u64;
                    report.series_saved = state.series() as u64;
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
