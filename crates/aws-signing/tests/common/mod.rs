//! Helpers shared by the integration tests: conformance data location, ISO 8601 times,
//! hex and credentials from the vector files.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::SystemTime;

use aws_credential_types::Credentials;

/// `testdata/sigv4` at the workspace root.
pub fn conformance() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sigv4")
}

/// `2024-01-02T03:04:05Z` (RFC 3339, as the vector files write times) as a SystemTime.
pub fn parse_time(s: &str) -> SystemTime {
    let time = chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("not an RFC 3339 time: {s}: {e}"));
    SystemTime::from(time)
}

pub fn hex_decode(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("not hex: {s}: {e}"))
}

pub fn hex_encode(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

pub fn credentials(key: &str, secret: &str, token: Option<&str>) -> Credentials {
    Credentials::new(key, secret, token.map(str::to_owned), None, "test")
}

/// The value of header `name` (any case) among `headers`.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
