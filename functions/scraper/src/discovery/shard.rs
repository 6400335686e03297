//! Splitting one config's targets across several invocations: an event field
//! `"shard": {"index": I, "count": N}` keeps the targets whose `__address__` (after
//! target relabeling) hashes to `I` modulo `N` with Prometheus' `hashmod` (MD5), so N
//! schedules of the same config scrape every target exactly once between them, and
//! a target stays in its shard as long as its address does.

use serde::Deserialize;

/// Which share of the targets this invocation scrapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// This invocation's shard, `0..count`. Required. Shard 0 also collects the
    /// CloudWatch metrics, which are not split.
    pub index: u64,
    /// How many shards (schedules of the same config) split the targets; at least 1.
    /// Required.
    pub count: u64,
}

/// An event's `shard` that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    /// `count` is 0.
    #[error("shard.count must be at least 1")]
    NoShards,
    /// `index` is not below `count`.
    #[error("shard.index {index} is not below shard.count {count}")]
    IndexOutOfRange {
        /// The index given.
        index: u64,
        /// The count given.
        count: u64,
    },
}

impl Shard {
    /// The whole config in one invocation.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Checks index and count.
    pub fn validate(self) -> Result<Shard, ShardError> {
        if self.count == 0 {
            return Err(ShardError::NoShards);
        }
        if self.index >= self.count {
            return Err(ShardError::IndexOutOfRange {
                index: self.index,
                count: self.count,
            });
        }
        Ok(self)
    }

    /// Whether the target at `address` is this shard's.
    pub fn keeps(self, address: &str) -> bool {
        self.count <= 1 || prom::relabel::hashmod(address, self.count) == self.index
    }

    /// Whether this shard does the work that is not split (CloudWatch collection):
    /// shard 0.
    pub fn is_first(self) -> bool {
        self.index == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_is_in_exactly_one_shard() {
        let count = 8;
        let mut per_shard = vec![0u32; count as usize];
        for i in 0..2000 {
            let address = format!("10.0.{}.{}:9100", i / 250, i % 250);
            let owners: Vec<u64> = (0..count)
                .filter(|&index| Shard { index, count }.keeps(&address))
                .collect();
            assert_eq!(owners.len(), 1, "{address}: {owners:?}");
            per_shard[owners[0] as usize] += 1;
        }
        // MD5 spreads addresses evenly: no shard gets under half its share.
        assert!(per_shard.iter().all(|&n| n > 2000 / 8 / 2), "{per_shard:?}");
    }

    #[test]
    fn matches_a_hashmod_relabel_rule() {
        let rules: Vec<prom::relabel::RelabelConfig> = yaml_serde::from_str(
            "[{source_labels: [__address__], action: hashmod, modulus: 5, target_label: __tmp_shard}]",
        )
        .expect("rules");
        let relabeler = prom::relabel::Relabeler::new(&rules).expect("compiles");
        for address in ["a:1", "10.1.2.3:8080", "pod.ns.svc:443"] {
            let mut labels = prom::Labels::from_pairs([("__address__", address)]);
            assert!(relabeler.apply(&mut labels));
            let by_rule: u64 = labels
                .get("__tmp_shard")
                .and_then(|v| v.parse().ok())
                .expect("a shard number");
            assert!(Shard {
                index: by_rule,
                count: 5
            }
            .keeps(address));
        }
    }

    #[test]
    fn bad_shards_are_refused() {
        assert_eq!(
            Shard { index: 0, count: 0 }.validate(),
            Err(ShardError::NoShards)
        );
        assert_eq!(
            Shard { index: 3, count: 3 }.validate(),
            Err(ShardError::IndexOutOfRange { index: 3, count: 3 })
        );
        assert!(Shard::ALL.validate().is_ok());
    }
}
