//! The series one target produced in one scrape, as a sorted set of label sets kept in
//! one byte arena. A million series are a million small label sets: an arena (one
//! allocation, spans into it) keeps them at their byte size, and sorted sets give the
//! series that went missing with one merge walk.
//!
//! A label set is encoded as `name 0xFF value 0xFF ...` in the sorted label order of
//! [`Labels`]. 0xFF never occurs in UTF-8, so the encoding is unambiguous and decodes
//! back to the same labels.

use prom::Labels;

/// Separates names and values in an encoded label set (never a UTF-8 byte).
const SEPARATOR: u8 = 0xFF;

/// A set of encoded label sets. Built unsorted with [`SeriesSet::push_labels`], then
/// [`SeriesSet::seal`]ed (sorted, duplicates removed) before it is compared or stored.
#[derive(Debug, Clone, Default)]
pub struct SeriesSet {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
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

impl SeriesSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one series.
    pub fn push_labels(&mut self, labels: &Labels) {
        let start = self.bytes.len();
        encode_labels_into(labels, &mut self.bytes);
        self.spans.push((start, self.bytes.len()));
    }

    /// Adds one series already encoded (decoding stored state).
    pub fn push_encoded(&mut self, encoded: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(encoded);
        self.spans.push((start, self.bytes.len()));
    }

    /// Adds a series made of the last series' first `shared` bytes and `suffix`
    /// (front coding, as the state object stores sorted sets). `None` if there is no
    /// last series that long.
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
        self.spans.push((start, self.bytes.len()));
        Some(())
    }

    /// Sorts the set and removes duplicates; done once, after the last push.
    pub fn seal(&mut self) {
        let bytes = &self.bytes;
        self.spans
            .sort_unstable_by(|a, b| bytes[a.0..a.1].cmp(&bytes[b.0..b.1]));
        self.spans
            .dedup_by(|a, b| bytes[a.0..a.1] == bytes[b.0..b.1]);
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the set has no series.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The encoded label sets, in order (sorted once sealed).
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.spans
            .iter()
            .map(|&(start, end)| &self.bytes[start..end])
    }

    /// The series of this sealed set that the sealed set `now` does not have: the ones
    /// that went stale.
    pub fn missing_from<'a>(&'a self, now: &'a SeriesSet) -> Vec<&'a [u8]> {
        let mut missing = Vec::new();
        let mut current = now.iter().peekable();
        for series in self.iter() {
            loop {
                match current.peek() {
                    Some(next) if *next < series => {
                        current.next();
                    }
                    _ => break,
                }
            }
            if current.peek() != Some(&series) {
                missing.push(series);
            }
        }
        missing
    }
}

/// Appends the encoding of `labels` to `out`.
pub fn encode_labels_into(labels: &Labels, out: &mut Vec<u8>) {
    for label in labels {
        out.extend_from_slice(label.name.as_bytes());
        out.push(SEPARATOR);
        out.extend_from_slice(label.value.as_bytes());
        out.push(SEPARATOR);
    }
}

/// The encoding of `labels`, e.g. a target's key in the state.
pub fn encode_labels(labels: &Labels) -> Vec<u8> {
    let mut out = Vec::new();
    encode_labels_into(labels, &mut out);
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
        set.seal();
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
    fn missing_series_are_those_of_the_old_set_only() {
        let old = set(&[
            &[("__name__", "a")],
            &[("__name__", "b"), ("x", "1")],
            &[("__name__", "b"), ("x", "2")],
            &[("__name__", "c")],
        ]);
        let now = set(&[
            &[("__name__", "b"), ("x", "2")],
            &[("__name__", "c")],
            &[("__name__", "d")],
        ]);
        let missing: Vec<Labels> = old
            .missing_from(&now)
            .into_iter()
            .map(|e| decode_labels(e).unwrap())
            .collect();
        assert_eq!(
            missing,
            vec![
                labels(&[("__name__", "a")]),
                labels(&[("__name__", "b"), ("x", "1")])
            ]
        );
        assert!(now.missing_from(&now).is_empty());
        assert_eq!(old.missing_from(&SeriesSet::new()).len(), 4);
    }

    #[test]
    fn sealing_sorts_and_removes_duplicates() {
        let s = set(&[
            &[("__name__", "b")],
            &[("__name__", "a")],
            &[("__name__", "b")],
        ]);
        assert_eq!(s.len(), 2);
        let first = s.iter().next().unwrap();
        assert_eq!(decode_labels(first).unwrap(), labels(&[("__name__", "a")]));
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
    }
}
