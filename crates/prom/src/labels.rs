//! The Prometheus label set: the identity of a series.
//!
//! Kept as a vector sorted by name because remote write requires sorted labels and
//! relabeling needs cheap ordered iteration; series rarely carry more than a few dozen
//! labels, so binary search on a vector beats a map here.

use std::cmp::Ordering;
use std::fmt;

/// The label that carries a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// The label name.
    pub name: String,
    /// The label value (never empty in a stored set: an empty value means absent).
    pub value: String,
}

/// A set of labels, sorted by name, without duplicate names.
///
/// An empty value means "absent", as in Prometheus: setting a label to "" removes it.
///
/// A set can be reused as scratch space: [`Labels::clear`] keeps the removed labels'
/// strings, and [`Labels::set_str`] fills new labels from them, so labeling a million
/// samples with one reused set allocates nothing per sample.
#[derive(Default)]
pub struct Labels {
    sorted: Vec<Label>,
    /// Labels removed by `clear`/`remove`, kept for their strings' capacity; never
    /// part of the set's value.
    spare: Vec<Label>,
}

impl Clone for Labels {
    fn clone(&self) -> Self {
        Self {
            sorted: self.sorted.clone(),
            spare: Vec::new(),
        }
    }

    /// Copies `source` into this set's existing strings.
    fn clone_from(&mut self, source: &Self) {
        self.clear();
        for label in &source.sorted {
            let mut reused = self.spare.pop().unwrap_or_default();
            reused.name.clear();
            reused.name.push_str(&label.name);
            reused.value.clear();
            reused.value.push_str(&label.value);
            self.sorted.push(reused);
        }
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        self.sorted == other.sorted
    }
}

impl Eq for Labels {}

impl std::hash::Hash for Labels {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.sorted.hash(state);
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Labels")
            .field("sorted", &self.sorted)
            .finish()
    }
}

impl Labels {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set with room for `n` labels.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            sorted: Vec::with_capacity(n),
            spare: Vec::new(),
        }
    }

    /// Removes every label, keeping their strings for reuse by [`Labels::set_str`].
    pub fn clear(&mut self) {
        self.spare.append(&mut self.sorted);
    }

    /// Builds a set from pairs in any order; later pairs win over earlier ones with the
    /// same name, and empty values are dropped.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut labels = Self::new();
        for (name, value) in pairs {
            labels.set(name, value);
        }
        labels
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name)
            .ok()
            .map(|i| self.sorted[i].value.as_str())
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    /// Adds `name` with a non-empty `value` unless the set has the name already;
    /// returns whether it was added (one search where `contains` then `set` take
    /// two). An empty value adds nothing and counts as added.
    pub fn insert_new_str(&mut self, name: &str, value: &str) -> bool {
        match self.position(name) {
            Ok(_) => false,
            Err(_) if value.is_empty() => true,
            Err(i) => {
                self.insert_reused(i, name, value);
                true
            }
        }
    }

    /// Sets `name` to a non-empty `value` and returns the value it replaced, in one
    /// search (an empty `value` sets nothing and returns `None`). Allocates only
    /// when a value is replaced.
    pub fn replace_str(&mut self, name: &str, value: &str) -> Option<String> {
        if value.is_empty() {
            return None;
        }
        match self.position(name) {
            Ok(i) => Some(std::mem::replace(
                &mut self.sorted[i].value,
                value.to_string(),
            )),
            Err(i) => {
                self.insert_reused(i, name, value);
                None
            }
        }
    }

    fn insert_reused(&mut self, at: usize, name: &str, value: &str) {
        let mut label = self.spare.pop().unwrap_or_default();
        label.name.clear();
        label.name.push_str(name);
        label.value.clear();
        label.value.push_str(value);
        self.sorted.insert(at, label);
    }

    /// [`Labels::set`] from borrowed strings, reusing the strings of labels removed
    /// earlier instead of allocating: the per-sample path.
    pub fn set_str(&mut self, name: &str, value: &str) {
        match self.position(name) {
            Ok(i) if value.is_empty() => {
                let removed = self.sorted.remove(i);
                self.spare.push(removed);
            }
            Ok(i) => {
                let existing = &mut self.sorted[i].value;
                existing.clear();
                existing.push_str(value);
            }
            Err(_) if value.is_empty() => {}
            Err(i) => self.insert_reused(i, name, value),
        }
    }

    /// Sets `name` to `value`; an empty value removes the label.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.position(&name) {
            Ok(i) if value.is_empty() => {
                self.sorted.remove(i);
            }
            Ok(i) => self.sorted[i].value = value,
            Err(_) if value.is_empty() => {}
            Err(i) => self.sorted.insert(i, Label { name, value }),
        }
    }

    /// Removes `name` and returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.position(name)
            .ok()
            .map(|i| self.sorted.remove(i).value)
    }

    /// Keeps only the labels for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Label) -> bool) {
        self.sorted.retain(|l| keep(l));
    }

    /// The labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.sorted.iter()
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// The labels as a sorted slice, ready for remote write.
    pub fn as_slice(&self) -> &[Label] {
        &self.sorted
    }

    /// Consumes the set, giving the sorted labels (e.g. to move into a protobuf message
    /// without copying).
    pub fn into_vec(self) -> Vec<Label> {
        self.sorted
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        // Exposition labels often arrive sorted (Go's client library sorts them): a new
        // name past the last one is found with one comparison.
        match self.sorted.last() {
            None => return Err(0),
            Some(last) if name_order(&last.name, name) == Ordering::Less => {
                return Err(self.sorted.len())
            }
            Some(_) => {}
        }
        self.sorted.binary_search_by(|l| name_order(&l.name, name))
    }
}

/// Byte order of two names, deciding on the first byte inline: label names of one
/// series mostly differ there, and a `memcmp` call per comparison was a tenth of
/// labeling a sample.
pub fn name_order(a: &str, b: &str) -> Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

/// A label as code that only reads labels sees it: the scraper's label sets, a
/// sample's borrowed pairs and prost's messages all provide their names and values
/// without copying, so the per-sample path (limits, hashing, encoding) is written once
/// for all of them.
pub trait LabelPair {
    /// The label name.
    fn name(&self) -> &str;
    /// The label value.
    fn value(&self) -> &str;
}

impl LabelPair for Label {
    fn name(&self) -> &str {
        &self.name
    }
    fn value(&self) -> &str {
        &self.value
    }
}

impl LabelPair for (&str, &str) {
    fn name(&self) -> &str {
        self.0
    }
    fn value(&self) -> &str {
        self.1
    }
}

/// The value of `name` in labels sorted by name, if present.
pub fn value_of<'a, L: LabelPair>(sorted: &'a [L], name: &str) -> Option<&'a str> {
    sorted
        .binary_search_by(|l| name_order(l.name(), name))
        .ok()
        .and_then(|i| sorted.get(i))
        .map(LabelPair::value)
}

/// Sorted labels rendered as Prometheus renders a label set: `{a="1", b="2"}`.
pub struct DisplayLabels<'a, L>(pub &'a [L]);

impl<L: LabelPair> fmt::Display for DisplayLabels<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name(), l.value())?;
        }
        f.write_str("}")
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.sorted.iter()
    }
}

impl fmt::Display for Labels {
    /// Renders like Prometheus: `{a="1", b="2"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DisplayLabels(&self.sorted).fmt(f)
    }
}

/// Whether `name` is a valid legacy Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `name` is a valid legacy metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keeps_sorted_and_empty_value_removes() {
        let mut l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", "3")]);
        let names: Vec<_> = l.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        l.set("b", "");
        assert_eq!(l.get("b"), None);
        assert_eq!(l.len(), 2);
        l.set("a", "9");
        assert_eq!(l.get("a"), Some("9"));
    }

    /// A reused set gives the same labels as a fresh one, whatever it held before.
    #[test]
    fn reused_set_str_matches_set() {
        let steps: [&[(&str, &str)]; 3] = [
            &[("b", "2"), ("a", "1"), ("c", "3"), ("b", "")],
            &[("z", "26"), ("a", "one"), ("a", "uno")],
            &[("m", ""), ("n", "14")],
        ];
        let mut reused = Labels::new();
        for pairs in steps {
            reused.clear();
            for (name, value) in pairs {
                reused.set_str(name, value);
            }
            let fresh = Labels::from_pairs(pairs.iter().copied());
            assert_eq!(reused, fresh);
            assert_eq!(reused.to_string(), fresh.to_string());
            let mut copied = Labels::from_pairs([("stale", "x")]);
            copied.clone_from(&reused);
            assert_eq!(copied, fresh);
        }
    }

    #[test]
    fn insert_new_str_keeps_the_first_value_and_says_so() {
        let mut l = Labels::new();
        l.clear();
        let added: Vec<bool> = [("b", "1"), ("a", "2"), ("b", "3"), ("c", ""), ("B", "4")]
            .iter()
            .map(|(name, value)| l.insert_new_str(name, value))
            .collect();
        assert_eq!(added, [true, true, false, true, true]);
        assert_eq!(l.replace_str("a", "20"), Some("2".to_string()));
        assert_eq!(l.replace_str("d", "5"), None);
        assert_eq!(l.replace_str("d", ""), None);
        assert_eq!(l.get("a"), Some("20"));
        l.remove("d");
        l.set_str("a", "2");
        assert_eq!(l, Labels::from_pairs([("b", "1"), ("a", "2"), ("B", "4")]));
        let names: Vec<_> = l.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["B", "a", "b"]);
    }

    #[test]
    fn name_validation() {
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name("a:b"));
        assert!(is_valid_metric_name("a:b_c"));
        assert!(!is_valid_metric_name(""));
    }
}
