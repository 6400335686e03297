//! The state object's bytes: a magic and format version, a body of varint-framed
//! target records, and a CRC-32 of the body. Each record holds the target's key (its
//! encoded final labels), job, scrape time, and its series as a [`StoredSeries`] block
//! (front-coded, zlib-compressed, with count, expanded size and fingerprint in the
//! clear), so reading the object expands nothing and writing it re-compresses only the
//! targets whose series changed.
//!
//! Body layout (integers LEB128 varints, `i64` zig-zagged, the fingerprint 8 bytes
//! little-endian): `targets`, then per target `key_len key job_len job scraped_ms
//! count expanded_bytes fingerprint block_len block`.

use flate2::Crc;

use super::framing::{put_bytes, put_varint, unzigzag, zigzag, Reader};
use super::run_state::{RunState, TargetState};
use super::stored::StoredSeries;

/// Identifies a scraper state object.
const MAGIC: &[u8; 8] = b"SCRSTALE";
/// The format written. Any other version is refused (and replaced by a fresh state).
pub const FORMAT_VERSION: u8 = 1;

/// Why a state object (or one of its series blocks) cannot be used. The run then
/// proceeds without the markers it would have given.
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
    /// The object or a block is damaged.
    #[error("state object is corrupt: {0}")]
    Corrupt(String),
}

/// Why a state could not be encoded (not expected: compressing into memory).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode state: {0}")]
pub struct EncodeError(#[from] std::io::Error);

/// The object's bytes for `state`.
pub fn encode(state: &RunState) -> Vec<u8> {
    let blocks: usize = state.targets.values().map(|t| t.series.block().len()).sum();
    let mut out = Vec::with_capacity(64 + blocks + state.targets.len() * 128);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    let body_start = out.len();
    put_varint(&mut out, state.targets.len() as u64);
    for (key, target) in &state.targets {
        put_bytes(&mut out, key);
        put_bytes(&mut out, target.job.as_bytes());
        put_varint(&mut out, zigzag(target.scraped_ms));
        put_varint(&mut out, target.series.len());
        put_varint(&mut out, target.series.expanded_bytes());
        out.extend_from_slice(&target.series.fingerprint().to_le_bytes());
        put_bytes(&mut out, target.series.block());
    }
    let mut crc = Crc::new();
    crc.update(&out[body_start..]);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out
}

/// The state an object's bytes hold (series blocks still compressed).
pub fn decode(bytes: &[u8]) -> Result<RunState, DecodeError> {
    let rest = bytes.strip_prefix(MAGIC).ok_or(DecodeError::NotState)?;
    let (&version, rest) = rest.split_first().ok_or(DecodeError::NotState)?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::Version { found: version });
    }
    let split = rest
        .len()
        .checked_sub(4)
        .ok_or_else(|| DecodeError::Corrupt("shorter than its checksum".into()))?;
    let (body, stored_crc) = rest.split_at(split);
    let mut crc = Crc::new();
    crc.update(body);
    if crc.sum().to_le_bytes() != stored_crc {
        return Err(DecodeError::Corrupt("checksum mismatch".into()));
    }
    let mut reader = Reader::new(body, "state body");
    let mut state = RunState::default();
    let targets = reader.varint("target count")?;
    for _ in 0..targets {
        let key = reader.bytes("target key")?.to_vec();
        let job = std::str::from_utf8(reader.bytes("job name")?)
            .map_err(|_| reader.corrupt("job name is not UTF-8"))?
            .to_string();
        let scraped_ms = unzigzag(reader.varint("scrape time")?);
        let count = reader.varint("series count")?;
        let expanded = reader.varint("series bytes")?;
        let fingerprint = reader.fixed64("fingerprint")?;
        let block = reader.bytes("series block")?.to_vec();
        state.targets.insert(
            key,
            TargetState {
                job,
                scraped_ms,
                series: StoredSeries::from_parts(block, count, expanded, fingerprint),
            },
        );
    }
    if !reader.is_done() {
        return Err(reader.corrupt("bytes after the last target"));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staleness::series_set::{encode_labels, SeriesSet};
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
                    series: StoredSeries::compress(&series).unwrap(),
                },
            );
        }
        state
    }

    #[test]
    fn a_state_round_trips_and_its_blocks_expand() {
        let state = sample_state();
        let decoded = decode(&encode(&state)).unwrap();
        assert_eq!(decoded, state);
        for target in decoded.targets.values() {
            assert_eq!(target.series.expand().unwrap().len(), 60);
        }
        assert_eq!(
            decode(&encode(&RunState::default())).unwrap(),
            RunState::default()
        );
    }

    #[test]
    fn another_version_a_foreign_object_and_damage_are_each_named() {
        let mut bytes = encode(&sample_state());
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
    }

    #[test]
    fn every_truncation_is_refused_without_panicking() {
        let bytes = encode(&sample_state());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_body_with_a_valid_checksum_but_bad_framing_is_refused() {
        let mut body = Vec::new();
        put_varint(&mut body, 2);
        put_bytes(&mut body, b"key");
        let mut bytes = MAGIC.to_vec();
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(&body);
        let mut crc = Crc::new();
        crc.update(&body);
        bytes.extend_from_slice(&crc.sum().to_le_bytes());
        let error = decode(&bytes).unwrap_err().to_string();
        assert!(error.contains("job name"), "{error}");
    }
}
