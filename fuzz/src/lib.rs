//! What the fuzz targets share: reading the control bytes in front of an input, an
//! independent transcription of the remote-write protobuf messages, and the check
//! that a refused config says where.
//!
//! Inputs are raw bytes so the seed corpora can be the repository's own test files
//! with a few control bytes in front (`fuzz/seed_corpora.py` writes them).

pub mod config_errors;
pub mod prompb;

use std::borrow::Cow;

/// The first byte of an input as switches, and the rest; `None` for an empty input.
pub fn flags_and_rest(data: &[u8]) -> Option<(u8, &[u8])> {
    data.split_first().map(|(flags, rest)| (*flags, rest))
}

/// Bytes as text the way a caller that received bytes would see them: invalid UTF-8
/// replaced, so no input is wasted on being rejected before the code under test.
pub fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Whether bit `n` of `flags` is set.
pub fn bit(flags: u8, n: u8) -> bool {
    flags & (1 << n) != 0
}
