//! The series one target produced in one scrape: label sets kept in one byte arena, in
//! the order the exposition gave them. A million series are a million small label
//! sets: an arena (one allocation, spans into it) keeps them at their byte size, the
//! exposition's order keeps neighbours alike (a family's series differ in one label),
//! so the state object front-codes them well without sorting, and the series that went
//! missing are found through 64-bit hashes (foldhash), not by ordering.
//!
//! A label set is encoded as `name 0xFF value 0xFF ...` in the sorted label order of
//! [`Labels`]. 0xFF never occurs in UTF-8, so the encoding is unambiguous and decodes
//! back to the same labels.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use foldhash::HashSet;
use prom::{LabelPair, Labels};

/// Separates names and values in an encoded label set (never a UTF-8 byte).
const SEPARATOR: u8 = 0xFF;

/// A set of encoded label sets, in the order they were added. Callers add each series
/// once (a scrape drops repeated series before they get here).
#[derive(Debug, Clone, Default)]
pub struct SeriesSet {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
    /// Each series' hash, computed once as it is added.
    hashes: Vec<u64>,
}

/// Equal when they hold the same series in the same order, however the arena is laid
/// out.
impl PartialEq for SeriesSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for SeriesSet {}

/// An encoded label set that does not decode (only possible for corrupt state).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("encoded label set is malformed: {0}")]
pub struct MalformedLabels(&'static str);

/// The hash of an encoded label set. Fixed seed: both sides of a comparison are hashed
/// in the same run. Only the [`SeriesSet::fingerprint`] built from these hashes is
/// stored, and only as a shortcut: another build may hash differently, which costs a
/// full comparison, never a wrong marker (unless 64-bit hashes collide).
fn series_hash(encoded: &[u8]) -> u64 {
    FixedState::with_seed(0x5eed_5e71_e5ca_1e00).hash_one(encoded)
}

impl SeriesSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set with room for `series` series of `bytes` bytes in all.
    pub fn with_capacity(series: usize, bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            spans: Vec::with_capacity(series),
            hashes: Vec::with_capacity(series),
        }
    }

    /// Adds one series.
    pub fn push_labels(&mut self, labels: &Labels) {
        self.push_sorted(labels.as_slice());
    }

    /// [`SeriesSet::push_labels`] for labels sorted by name given as any pairs (the
    /// scrape's borrowed ones).
    pub fn push_sorted<L: LabelPair>(&mut self, labels: &[L]) {
        let start = self.bytes.len();
        encode_labels_into(labels, &mut self.bytes);
        self.close(start);
    }

    /// Records the series that starts at `start` and ends at the arena's end.
    fn close(&mut self, start: usize) {
        let end = self.bytes.len();
        self.hashes.push(series_hash(&self.bytes[start..end]));
        self.spans.push((start, end));
    }

    /// Adds one series already encoded.
    pub fn push_encoded(&mut self, encoded: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(encoded);
        self.close(start);
    }

    /// Adds a series made of the last series' first `shared` bytes and `suffix` (front
    /// coding, as the state object stores sets). `None` if there is no last series
    /// that long.
    pub fn push_front_coded(&mut self, shared: usize, suffix: &[u8]) -> Option<()> {
        let start = self.bytes.len();
        if shared > 0 {
            let &(last_start, last_end) = self.spans.last()?;
            if shared > last_end - last_start {
                return None;
            }
            self.bytes
                .extend_from_within(last_start..last_start + shared);
        }
        self.bytes.extend_from_slice(suffix);
        self.close(start);
        Some(())
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the set has no series.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Bytes of all series together.
    pub fn byte_len(&self) -> usize {
        self.spans.iter().map(|(start, end)| end - start).sum()
    }

    /// The encoded label sets, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.spans
            .iter()
            .map(|&(start, end)| &self.bytes[start..end])
    }

    fn hash_set(&self) -> HashSet<u64> {
        let mut hashes = HashSet::with_capacity_and_hasher(self.len(), Default::default());
        hashes.extend(self.hashes.iter().copied());
        hashes
    }

    /// A 64-bit fingerprint of the series in their order: equal fingerprints (and
    /// counts) mean the same series, so a target whose series did not change needs
    /// neither comparing nor re-compressing.
    pub fn fingerprint(&self) -> u64 {
        self.hashes.iter().fold(0xcbf2_9ce4_8422_2325, |acc, &h| {
            (acc ^ h)
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(29)
        })
    }

    /// The series of this set that `now` does not have: the ones that went stale.
    pub fn missing_from<'a>(&'a self, now: &SeriesSet) -> Vec<&'a [u8]> {
        if now.is_empty() {
            return self.iter().collect();
        }
        let present = now.hash_set();
        self.iter()
            .zip(&self.hashes)
            .filter(|(_, hash)| !present.contains(hash))
            .map(|(series, _)| series)
            .collect()
    }

    /// This set with the series of `other` it does not have yet appended.
    pub fn union(mut self, other: &SeriesSet) -> SeriesSet {
        let present = self.hash_set();
        for (series, hash) in other.iter().zip(&other.hashes) {
            if !present.contains(hash) {
                self.push_encoded(series);
            }
        }
        self
    }
}

/// Appends the encoding of `labels` to `out`.
pub fn encode_labels_into<L: LabelPair>(labels: &[L], out: &mut Vec<u8>) {
    for label in labels {
        out.extend_from_slice(label.name().as_bytes());
        out.push(SEPARATOR);
        out.extend_from_slice(label.value().as_bytes());
        out.push(SEPARATOR);
    }
}

/// The encoding of `labels`, e.g. a target's key in the state.
pub fn encode_labels(labels: &Labels) -> Vec<u8> {
    let mut out = Vec::new();
    encode_labels_into(labels.as_slice(), &mut out);
    out
}

/// The labels an encoded label set holds.
pub fn decode_labels(encoded: &[u8]) -> Result<Labels, MalformedLabels> {
    let mut labels = Labels::new();
    let mut parts = encoded.split(|&b| b == SEPARATOR);
    loop {
        let Some(name) = parts.next() else {
            return Err(MalformedLabels("ends without a separator"));
        };
        if name.is_empty() && parts.clone().next().is_none() {
            return Ok(labels);
        }
        let value = parts.next().ok_or(MalformedLabels("a name has no value"))?;
        let name = std::str::from_utf8(name).map_err(|_| MalformedLabels("name is not UTF-8"))?;
        let value =
            std::str::from_utf8(value).map_err(|_| MalformedLabels("value is not UTF-8"))?;
        if name.is_empty() {
            return Err(MalformedLabels("a label name is empty"));
        }
        labels.set(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    fn set(series: &[&[(&str, &str)]]) -> SeriesSet {
        let mut set = SeriesSet::new();
        for pairs in series {
            set.push_labels(&labels(pairs));
        }
        set
    }

    #[test]
    fn labels_round_trip_through_the_encoding_with_empty_values_and_unicode() {
        let original = labels(&[("__name__", "up"), ("empty", ""), ("city", "Zürich")]);
        assert_eq!(decode_labels(&encode_labels(&original)), Ok(original));
        assert_eq!(decode_labels(b""), Ok(Labels::new()));
    }

    #[test]
    fn malformed_encodings_are_refused_not_misread() {
        assert!(decode_labels(b"name\xffvalue").is_err());
        assert!(decode_labels(b"name\xff").is_err());
        assert!(decode_labels(b"\xffvalue\xff").is_err());
        assert!(decode_labels(b"n\xc3\xff\xff").is_err());
    }

    #[test]
    fn missing_series_are_those_of_the_old_set_only_in_its_order() {
        let old = set(&[
            &[("__name__", "c")],
            &[("__name__", "b"), ("x", "1")],
            &[("__name__", "a")],
            &[("__name__", "b"), ("x", "2")],
        ]);
        let now = set(&[
            &[("__name__", "d")],
            &[("__name__", "b"), ("x", "2")],
            &[("__name__", "c")],
        ]);
        let missing: Vec<Labels> = old
            .missing_from(&now)
            .into_iter()
            .map(|e| decode_labels(e).unwrap())
            .collect();
        assert_eq!(
            missing,
            vec![
                labels(&[("__name__", "b"), ("x", "1")]),
                labels(&[("__name__", "a")])
            ]
        );
        assert!(now.missing_from(&now).is_empty());
        assert_eq!(old.missing_from(&SeriesSet::new()).len(), 4);
        assert!(SeriesSet::new().missing_from(&old).is_empty());
    }

    #[test]
    fn a_union_adds_only_the_series_not_there_yet() {
        let ours = set(&[&[("__name__", "a")], &[("__name__", "b")]]);
        let theirs = set(&[&[("__name__", "b")], &[("__name__", "c")]]);
        let union = ours.union(&theirs);
        let names: Vec<Labels> = union.iter().map(|e| decode_labels(e).unwrap()).collect();
        assert_eq!(
            names,
            vec![
                labels(&[("__name__", "a")]),
                labels(&[("__name__", "b")]),
                labels(&[("__name__", "c")])
            ]
        );
    }

    #[test]
    fn the_fingerprint_follows_the_series_and_their_order() {
        let ab = set(&[&[("__name__", "a")], &[("__name__", "b")]]);
        let ba = set(&[&[("__name__", "b")], &[("__name__", "a")]]);
        let a = set(&[&[("__name__", "a")]]);
        assert_eq!(ab.fingerprint(), ab.clone().fingerprint());
        assert_ne!(ab.fingerprint(), ba.fingerprint());
        assert_ne!(ab.fingerprint(), a.fingerprint());
        assert_ne!(a.fingerprint(), SeriesSet::new().fingerprint());
    }

    #[test]
    fn front_coding_rebuilds_from_the_last_series_and_refuses_a_too_long_prefix() {
        let mut s = SeriesSet::new();
        assert!(s.push_front_coded(1, b"x").is_none());
        s.push_front_coded(0, b"abc").unwrap();
        s.push_front_coded(2, b"z").unwrap();
        assert!(s.push_front_coded(4, b"").is_none());
        let all: Vec<&[u8]> = s.iter().collect();
        assert_eq!(all, vec![&b"abc"[..], &b"abz"[..]]);
        assert_eq!(s.byte_len(), 6);
    }
}
