//! Where discovery hands its targets as it finds them. An entry that fails after some
//! LIST pages must contribute nothing (its error is reported, and half a cluster
//! scraped as if it were all of it would hide the failure), so the receiver can take
//! a checkpoint before an entry and roll back to it when the entry fails.

use kubernetes_sd::Target;

/// Receives discovered targets (labels before relabeling) one by one.
pub trait TargetSink {
    /// One discovered target.
    fn add(&mut self, target: Target);
    /// A mark to roll back to: what has been kept so far.
    fn checkpoint(&self) -> usize;
    /// Forgets everything added since `checkpoint` returned `mark`.
    fn rollback(&mut self, mark: usize);
}

/// Keeps every target as it is (for tests and tools that compare label sets).
impl TargetSink for Vec<Target> {
    fn add(&mut self, target: Target) {
        self.push(target);
    }

    fn checkpoint(&self) -> usize {
        self.len()
    }

    fn rollback(&mut self, mark: usize) {
        self.truncate(mark);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vec_rolls_back_to_its_checkpoint() {
        let mut kept: Vec<Target> = Vec::new();
        kept.add(Target::from([("a".to_string(), "1".to_string())]));
        let mark = kept.checkpoint();
        kept.add(Target::from([("b".to_string(), "2".to_string())]));
        kept.rollback(mark);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].get("a").map(String::as_str), Some("1"));
    }
}
