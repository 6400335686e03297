//! A target's series as the state keeps them between runs: front-coded (the bytes
//! shared with the previous series, then the rest) and zlib-compressed, one block per
//! target, with the count and fingerprint of the series in the clear. A run only
//! expands the blocks of targets whose series changed (or went away); an unchanged
//! target's block is compared by fingerprint and written back as it was, so a steady
//! state costs little more than moving the object.

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::codec::{DecodeError, EncodeError};
use super::framing::{put_bytes, put_varint, Reader};
use super::series_set::SeriesSet;

/// Expanded size refused as corrupt: far above what a run's memory could hold.
const MAX_EXPANDED_BYTES: u64 = 2 << 30;

/// One target's series, compressed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredSeries {
    block: Vec<u8>,
    count: u64,
    bytes: u64,
    fingerprint: u64,
}

impl StoredSeries {
    /// Compresses `set`.
    pub fn compress(set: &SeriesSet) -> Result<Self, EncodeError> {
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::fast());
        let mut buf = Vec::with_capacity(1 << 16);
        let mut previous: &[u8] = &[];
        for series in set.iter() {
            let shared = common_prefix(previous, series);
            put_varint(&mut buf, shared as u64);
            put_bytes(&mut buf, &series[shared..]);
            previous = series;
            if buf.len() >= 1 << 16 {
                zlib.write_all(&buf)?;
                buf.clear();
            }
        }
        zlib.write_all(&buf)?;
        Ok(Self {
            block: zlib.finish()?,
            count: set.len() as u64,
            bytes: set.byte_len() as u64,
            fingerprint: set.fingerprint(),
        })
    }

    /// A block as read from the object (checked when expanded).
    pub fn from_parts(block: Vec<u8>, count: u64, bytes: u64, fingerprint: u64) -> Self {
        Self {
            block,
            count,
            bytes,
            fingerprint,
        }
    }

    /// The series back.
    pub fn expand(&self) -> Result<SeriesSet, DecodeError> {
        if self.count == 0 && self.block.is_empty() {
            return Ok(SeriesSet::new());
        }
        let mut coded = Vec::new();
        ZlibDecoder::new(self.block.as_slice())
            .take(MAX_EXPANDED_BYTES)
            .read_to_end(&mut coded)
            .map_err(|e| DecodeError::Corrupt(format!("decompressing a series block: {e}")))?;
        // Capacities are hints from the object: bounded by what the block can hold.
        let count = usize::try_from(self.count).unwrap_or(0).min(coded.len());
        let bytes = usize::try_from(self.bytes)
            .unwrap_or(0)
            .min(coded.len().saturating_mul(64));
        let mut set = SeriesSet::with_capacity(count, bytes);
        let mut reader = Reader::new(&coded, "series block");
        for _ in 0..self.count {
            let shared = reader.size("shared prefix")?;
            let suffix = reader.bytes("series suffix")?;
            set.push_front_coded(shared, suffix)
                .ok_or_else(|| reader.corrupt("shared prefix longer than the previous series"))?;
        }
        if !reader.is_done() {
            return Err(reader.corrupt("bytes after the last series"));
        }
        // The fingerprint is not checked here: the object's CRC-32 guards the bytes, and
        // a fingerprint written by another build (another foldhash) may differ for the
        // same series. Such a mismatch only costs that run a full comparison.
        Ok(set)
    }

    /// Whether `set` holds exactly these series, in this order (by fingerprint).
    pub fn matches(&self, set: &SeriesSet) -> bool {
        self.count == set.len() as u64 && self.fingerprint == set.fingerprint()
    }

    /// Number of series.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether there are no series.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The compressed block.
    pub fn block(&self) -> &[u8] {
        &self.block
    }

    /// Bytes of the series, expanded.
    pub fn expanded_bytes(&self) -> u64 {
        self.bytes
    }

    /// The fingerprint of the series.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

/// Length of the common prefix of `a` and `b`, eight bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let whole = a
        .chunks_exact(8)
        .zip(b.chunks_exact(8))
        .take_while(|(x, y)| x == y)
        .count()
        * 8;
    whole
        + a[whole..]
            .iter()
            .zip(&b[whole..])
            .take_while(|(x, y)| x == y)
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prom::Labels;

    fn cpu_series() -> SeriesSet {
        let mut set = SeriesSet::new();
        for cpu in 0..20 {
            for mode in ["idle", "user", "system"] {
                set.push_labels(&Labels::from_pairs([
                    ("__name__", "node_cpu_seconds_total".to_string()),
                    ("cpu", cpu.to_string()),
                    ("mode", mode.to_string()),
                ]));
            }
        }
        set
    }

    #[test]
    fn series_round_trip_and_match_by_fingerprint() {
        let set = cpu_series();
        let stored = StoredSeries::compress(&set).unwrap();
        assert_eq!(stored.len(), 60);
        assert!(stored.matches(&set));
        assert_eq!(stored.expand().unwrap(), set);
        let mut changed = set.clone();
        changed.push_labels(&Labels::from_pairs([("__name__", "new")]));
        assert!(!stored.matches(&changed));
        let empty = StoredSeries::compress(&SeriesSet::new()).unwrap();
        assert_eq!(empty.expand().unwrap(), SeriesSet::new());
        assert_eq!(StoredSeries::default().expand().unwrap(), SeriesSet::new());
    }

    #[test]
    fn a_damaged_block_or_wrong_count_is_refused_and_a_foreign_fingerprint_only_compares() {
        let stored = StoredSeries::compress(&cpu_series()).unwrap();
        let mut block = stored.block().to_vec();
        let middle = block.len() / 2;
        block[middle] ^= 0x55;
        let damaged =
            StoredSeries::from_parts(block, 60, stored.expanded_bytes(), stored.fingerprint());
        assert!(damaged.expand().is_err());
        let miscounted =
            StoredSeries::from_parts(stored.block().to_vec(), 61, 0, stored.fingerprint());
        assert!(miscounted.expand().is_err());
        // A fingerprint from another build: the series still expand, they just do
        // not match by fingerprint, so the scrape compares them in full.
        let other_build = StoredSeries::from_parts(stored.block().to_vec(), 60, 0, 1);
        assert_eq!(other_build.expand().unwrap(), cpu_series());
        assert!(!other_build.matches(&cpu_series()));
    }

    #[test]
    fn common_prefixes_across_the_eight_byte_steps() {
        assert_eq!(common_prefix(b"", b"abc"), 0);
        assert_eq!(common_prefix(b"abcdefghij", b"abcdefghik"), 9);
        assert_eq!(common_prefix(b"abcdefgh", b"abcdefgh"), 8);
        assert_eq!(common_prefix(b"abcdefgh", b"abcdefghz"), 8);
        assert_eq!(common_prefix(b"abcXefghijklmnop", b"abcdefghijklmnop"), 3);
    }
}
