//! What one config and shard remembers between runs: per target (keyed by its final
//! target labels), the series its last successful scrape produced and when. A run
//! compares its scrapes with this to know which series ended, and replaces it with
//! what it sent.

use std::collections::BTreeMap;

use super::stored::StoredSeries;

/// The remembered state of one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetState {
    /// The scrape config's `job_name` (a target's labels may no longer carry it), so a
    /// job whose discovery failed keeps its targets instead of marking them gone.
    pub job: String,
    /// When the state was taken: the scrape time of the run that recorded it.
    pub scraped_ms: i64,
    /// The series the target's last successful scrape produced (none while it is
    /// down: their markers were written when it went down), compressed.
    pub series: StoredSeries,
}

/// The state of one config and shard: targets by their encoded final labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunState {
    /// Remembered targets.
    pub targets: BTreeMap<Vec<u8>, TargetState>,
    /// Targets this run found gone and wrote markers for, with the time it did: kept
    /// only while merging with a concurrent run's state, never stored.
    pub removed: BTreeMap<Vec<u8>, i64>,
}

impl RunState {
    /// Number of series remembered, all targets together.
    pub fn series(&self) -> u64 {
        self.targets.values().map(|t| t.series.len()).sum()
    }

    /// Merges this run's state into `theirs`, a state another run wrote meanwhile:
    /// per target the newer record wins, and a target this run found gone stays gone
    /// unless the other run scraped it later. The result is what this run writes.
    pub fn merged_into(&self, mut theirs: RunState) -> RunState {
        for (key, &removed_at) in &self.removed {
            if theirs
                .targets
                .get(key)
                .is_some_and(|t| t.scraped_ms <= removed_at)
            {
                theirs.targets.remove(key);
            }
        }
        for (key, ours) in &self.targets {
            match theirs.targets.get(key) {
                Some(other) if other.scraped_ms > ours.scraped_ms => {}
                _ => {
                    theirs.targets.insert(key.clone(), ours.clone());
                }
            }
        }
        theirs.removed.clear();
        theirs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staleness::series_set::SeriesSet;

    fn target(ms: i64, series: &[&[u8]]) -> TargetState {
        let mut set = SeriesSet::new();
        for s in series {
            set.push_encoded(s);
        }
        TargetState {
            job: "node".into(),
            scraped_ms: ms,
            series: StoredSeries::compress(&set).unwrap(),
        }
    }

    #[test]
    fn merging_keeps_the_newer_record_of_each_target_and_both_runs_targets() {
        let mut ours = RunState::default();
        ours.targets.insert(b"a".to_vec(), target(200, &[b"x"]));
        ours.targets.insert(b"b".to_vec(), target(200, &[b"y"]));
        let mut theirs = RunState::default();
        theirs.targets.insert(b"a".to_vec(), target(100, &[b"old"]));
        theirs
            .targets
            .insert(b"b".to_vec(), target(300, &[b"newer"]));
        theirs.targets.insert(b"c".to_vec(), target(300, &[b"z"]));
        let merged = ours.merged_into(theirs);
        assert_eq!(merged.targets[b"a".as_slice()].scraped_ms, 200);
        assert_eq!(merged.targets[b"b".as_slice()].scraped_ms, 300);
        assert!(merged.targets.contains_key(b"c".as_slice()));
    }

    #[test]
    fn a_target_found_gone_stays_gone_unless_the_other_run_scraped_it_later() {
        let mut ours = RunState::default();
        ours.removed.insert(b"gone".to_vec(), 200);
        ours.removed.insert(b"back".to_vec(), 200);
        let mut theirs = RunState::default();
        theirs
            .targets
            .insert(b"gone".to_vec(), target(100, &[b"x"]));
        theirs
            .targets
            .insert(b"back".to_vec(), target(250, &[b"x"]));
        let merged = ours.merged_into(theirs);
        assert!(!merged.targets.contains_key(b"gone".as_slice()));
        assert!(merged.targets.contains_key(b"back".as_slice()));
        assert!(merged.removed.is_empty());
    }
}
