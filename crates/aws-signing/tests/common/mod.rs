//! Helpers shared by the integration tests: conformance data location, ISO 8601 times,
//! hex and credentials from the vector files.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;

/// `testdata/sigv4` at the workspace root.
pub fn conformance() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sigv4")
}

/// `2024-01-02T03:04:05Z` as a SystemTime.
pub fn parse_time(s: &str) -> SystemTime {
    let (date, time) = s
        .trim_end_matches('Z')
        .split_once('T')
        .unwrap_or_else(|| panic!("not an ISO 8601 time: {s}"));
    let num = |x: &str| -> i64 { x.parse().unwrap_or_else(|_| panic!("bad number in {s}")) };
    let d: Vec<i64> = date.split('-').map(num).collect();
    let t: Vec<i64> = time.split(':').map(num).collect();
    // Days from the civil date (Howard Hinnant's days_from_civil).
    let (y, m, day) = (d[0] - i64::from(d[1] <= 2), d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).expect("after 1970"))
}

pub fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
