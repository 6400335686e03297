//! The state object's bytes: a magic and format version in the clear, then a zlib
//! stream (its Adler-32 catches corruption) of varint-framed records. Each target's
//! series are stored in exposition order, front-coded (the bytes shared with the
//! previous series, then the rest): a family's series share long prefixes, so a
//! million series take a few megabytes before compression and less after.
//!
//! Layout of the compressed payload (all integers LEB128 varints, `i64` zig-zagged):
//! `targets`, then per target `key_len key job_len job scraped_ms series bytes` (the
//! series' count and total size, so decoding allocates once), then per series
//! `shared suffix_len suffix`.

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::run_state::{RunState, TargetState};
use super::series_set::SeriesSet;

/// Identifies a scraper state object.
const MAGIC: &[u8; 8] = b"SCRSTALE";
/// The format written. Any other version is refused (and replaced by a fresh state).
pub const FORMAT_VERSION: u8 = 1;
/// Decompressed size refused as corrupt: far above what a run's memory could hold.
const MAX_PAYLOAD_BYTES: u64 = 2 << 30;

/// Why a state object cannot be used. The run then proceeds without markers.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The object does not start with the state's magic.
    #[error("not a scraper state object (bad magic)")]
    NotState,
    /// Written in a format this version does not read.
    #[error("state format version {found}, this scraper reads version {FORMAT_VERSION}")]
    Version {
        /// The version in the object.
        found: u8,
    },
    /// The compressed payload is damaged.
    #[error("state object is corrupt: {0}")]
    Corrupt(String),
}

/// Why a state could not be encoded (not expected: writing to memory).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode state: {0}")]
pub struct EncodeError(#[from] std::io::Error);

/// The object's bytes for `state`.
pub fn encode(state: &RunState) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64 + state.series() * 8);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    let mut zlib = ZlibEncoder::new(out, Compression::fast());
    let mut buf = Vec::with_capacity(1 << 16);
    put_varint(&mut buf, state.targets.len() as u64);
    for (key, target) in &state.targets {
        put_bytes(&mut buf, key);
        put_bytes(&mut buf, target.job.as_bytes());
        put_varint(&mut buf, zigzag(target.scraped_ms));
        put_varint(&mut buf, target.series.len() as u64);
        put_varint(&mut buf, target.series.byte_len() as u64);
        let mut previous: &[u8] = &[];
        for series in target.series.iter() {
            let shared = common_prefix(previous, series);
            put_varint(&mut buf, shared as u64);
            put_bytes(&mut buf, &series[shared..]);
            previous = series;
            if buf.len() >= 1 << 16 {
                zlib.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    zlib.write_all(&buf)?;
    Ok(zlib.finish()?)
}

/// The state an object's bytes hold.
pub fn decode(bytes: &[u8]) -> Result<RunState, DecodeError> {
    let rest = bytes.strip_prefix(MAGIC).ok_or(DecodeError::NotState)?;
    let (&version, compressed) = rest.split_first().ok_or(DecodeError::NotState)?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::Version { found: version });
    }
    let mut payload = Vec::with_capacity(compressed.len() * 4);
    ZlibDecoder::new(compressed)
        .take(MAX_PAYLOAD_BYTES)
        .read_to_end(&mut payload)
        .map_err(|e| DecodeError::Corrupt(format!("decompressing: {e}")))?;
    let mut reader = Reader {
        bytes: &payload,
        at: 0,
    };
    let mut state = RunState::default();
    let targets = reader.varint("target count")?;
    for _ in 0..targets {
        let key = reader.bytes("target key")?.to_vec();
        let job = std::str::from_utf8(reader.bytes("job name")?)
            .map_err(|_| reader.corrupt("job name is not UTF-8"))?
            .to_string();
        let scraped_ms = unzigzag(reader.varint("scrape time")?);
        let count = reader.varint("series count")?;
        let bytes = reader.varint("series bytes")?;
        // Capacities are hints from the object: bounded by what the payload can hold.
        let mut series = SeriesSet::with_capacity(
            usize::try_from(count).unwrap_or(0).min(payload.len()),
            usize::try_from(bytes)
                .unwrap_or(0)
                .min(payload.len().saturating_mul(64)),
        );
        for _ in 0..count {
            let shared = usize::try_from(reader.varint("shared prefix")?)
                .map_err(|_| reader.corrupt("shared prefix too long"))?;
            let suffix = reader.bytes("series suffix")?;
            series.push_front_coded(shared, suffix).ok_or_else(|| {
                reader.corrupt("series out of order, or sharing more than the previous one")
            })?;
        }
        state.targets.insert(
            key,
            TargetState {
                job,
                scraped_ms,
                series,
            },
        );
    }
    if reader.at != payload.len() {
        return Err(reader.corrupt("bytes after the last target"));
    }
    Ok(state)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn corrupt(&self, what: &str) -> DecodeError {
        DecodeError::Corrupt(format!("{what} (payload byte {})", self.at))
    }

    fn varint(&mut self, what: &str) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err(self.corrupt(&format!("{what} cut short")));
            };
            self.at += 1;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.corrupt(&format!("{what} is not a varint")))
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8], DecodeError> {
        let len = self.varint(what)?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.at.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.corrupt(&format!("{what} runs past the end")))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
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

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staleness::series_set::encode_labels;
    use prom::Labels;

    fn sample_state() -> RunState {
        let mut state = RunState::default();
        for t in 0..3 {
            let key = encode_labels(&Labels::from_pairs([
                ("instance", format!("10.0.0.{t}:9100")),
                ("job", "node".to_string()),
            ]));
            let mut series = SeriesSet::new();
            for cpu in 0..20 {
                for mode in ["idle", "user", "system"] {
                    series.push_labels(&Labels::from_pairs([
                        ("__name__", "node_cpu_seconds_total".to_string()),
                        ("cpu", cpu.to_string()),
                        ("mode", mode.to_string()),
                    ]));
                }
            }
            state.targets.insert(
                key,
                TargetState {
                    job: "node".into(),
                    scraped_ms: -5 + t,
                    series,
                },
            );
        }
        state
    }

    #[test]
    fn a_state_round_trips() {
        let state = sample_state();
        let bytes = encode(&state).unwrap();
        assert_eq!(decode(&bytes).unwrap(), state);
        assert_eq!(
            decode(&encode(&RunState::default()).unwrap()).unwrap(),
            RunState::default()
        );
    }

    #[test]
    fn another_version_a_foreign_object_and_damage_are_each_named() {
        let mut bytes = encode(&sample_state()).unwrap();
        assert!(matches!(
            decode(b"{\"json\": 1}"),
            Err(DecodeError::NotState)
        ));
        assert!(matches!(decode(MAGIC), Err(DecodeError::NotState)));
        let mut other = bytes.clone();
        other[MAGIC.len()] = 9;
        assert!(matches!(
            decode(&other),
            Err(DecodeError::Version { found: 9 })
        ));
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        assert!(matches!(decode(&bytes), Err(DecodeError::Corrupt(_))));
        bytes.truncate(middle);
        assert!(matches!(decode(&bytes), Err(DecodeError::Corrupt(_))));
    }

    #[test]
    fn every_truncation_of_the_payload_is_refused_without_panicking() {
        let state = sample_state();
        let mut payload_writer = encode(&state).unwrap();
        // Re-compress every prefix of the payload: framing errors, not zlib's.
        let mut payload = Vec::new();
        ZlibDecoder::new(&payload_writer[MAGIC.len() + 1..])
            .read_to_end(&mut payload)
            .unwrap();
        for cut in 0..payload.len() {
            let mut zlib = ZlibEncoder::new(Vec::new(), Compression::fast());
            zlib.write_all(&payload[..cut]).unwrap();
            payload_writer.truncate(MAGIC.len() + 1);
            payload_writer.extend(zlib.finish().unwrap());
            assert!(decode(&payload_writer).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn common_prefixes_across_the_eight_byte_steps() {
        assert_eq!(common_prefix(b"", b"abc"), 0);
        assert_eq!(common_prefix(b"abcdefghij", b"abcdefghik"), 9);
        assert_eq!(common_prefix(b"abcdefgh", b"abcdefgh"), 8);
        assert_eq!(common_prefix(b"abcdefgh", b"abcdefghz"), 8);
        assert_eq!(common_prefix(b"abcXefghijklmnop", b"abcdefghijklmnop"), 3);
    }

    #[test]
    fn zigzag_round_trips_extremes() {
        for v in [0, 1, -1, i64::MAX, i64::MIN, 1_765_000_000_000] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
