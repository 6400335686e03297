//! AWS' own SigV4 test suite (the "CRT" format, as vendored by smithy-rs) for header
//! signing: the expected `Authorization` signature of each case whose settings are
//! ours (path normalization on, no `x-amz-content-sha256`, session token signed) and
//! whose request is expressible as a URL plus header pairs.

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::{Path, PathBuf};

use aws_signing::{clean_url, sign_request, RequestToSign};
use common::{conformance, credentials, header, parse_time};
use serde_json::Value;

/// Every suite case whose settings are ours (normalize on, `sign_body` off, session
/// token signed), less the three listed in [`NOT_EXPRESSIBLE_OR_DIVERGENT`].
const MATCHING: [&str; 25] = [
    "get-header-key-duplicate",
    "get-header-value-order",
    "get-header-value-trim",
    "get-relative-normalized",
    "get-relative-relative-normalized",
    "get-slash-dot-slash-normalized",
    "get-slash-normalized",
    "get-slash-pointless-dot-normalized",
    "get-unreserved",
    "get-utf8",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-sts-header-before",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
];

/// Cases with our settings that are left out, and why:
/// * `get-header-value-multiline`: an obs-folded header value, which no HTTP client
///   sends and `http::HeaderValue` rejects;
/// * `get-space-normalized`: a raw space in the request target, not a URL;
/// * `get-slashes-normalized` (`//example//`): AWS' normalization keeps the trailing
///   slash, Go's `path.Clean` (which Prometheus applies and we follow) drops it; see
///   [`slashes_case_diverges_only_by_the_trailing_slash`].
const NOT_EXPRESSIBLE_OR_DIVERGENT: [&str; 3] = [
    "get-header-value-multiline",
    "get-space-normalized",
    "get-slashes-normalized",
];

/// A parsed `request.txt`: method, target, headers (Host included) and body.
struct SuiteRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn parse_request(text: &str) -> SuiteRequest {
    let mut lines = text.split('\n');
    let first = lines.next().expect("request line");
    let mut parts = first.split(' ');
    let method = parts.next().expect("method").to_string();
    let target = parts.next().expect("target").to_string();
    let mut headers = Vec::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("header line");
        headers.push((name.to_string(), value.to_string()));
    }
    let body = lines.collect::<Vec<_>>().join("\n");
    SuiteRequest {
        method,
        target,
        headers,
        body,
    }
}

fn suite_dir(case: &str) -> PathBuf {
    conformance().join("crt-format/v4").join(case)
}

/// Signs the case in `dir` with our settings and returns (our signature, expected).
fn sign_case(dir: &Path) -> (String, String) {
    let read = |file: &str| {
        std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
    };
    let context: Value = serde_json::from_str(&read("context.json")).expect("context JSON");
    let request = parse_request(&read("request.txt"));
    let host = header(&request.headers, "host").expect("Host header");
    let url = format!("https://{}{}", host.trim(), request.target);
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let c = &context["credentials"];
    let signed = sign_request(
        &RequestToSign {
            method: &request.method,
            url: &url,
            headers: &headers,
            body: request.body.as_bytes(),
        },
        &credentials(
            c["access_key_id"].as_str().expect("key"),
            c["secret_access_key"].as_str().expect("secret"),
            c["token"].as_str(),
        ),
        context["region"].as_str().expect("region"),
        context["service"].as_str().expect("service"),
        parse_time(context["timestamp"].as_str().expect("timestamp")),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let ours = header(&signed, "authorization")
        .and_then(|a| a.rsplit_once("Signature="))
        .map(|(_, s)| s.to_string())
        .expect("authorization with a signature");
    (ours, read("header-signature.txt").trim().to_string())
}

#[test]
fn suite_header_signatures_match() {
    for case in MATCHING {
        let (ours, expected) = sign_case(&suite_dir(case));
        assert_eq!(ours, expected, "{case}");
    }
}

/// Guards the lists above: every case of the suite with our settings is either
/// checked or explicitly excused, so a new upstream case is not silently skipped.
#[test]
fn every_case_with_our_settings_is_accounted_for() {
    let base = conformance().join("crt-format/v4");
    let mut ours = Vec::new();
    for entry in std::fs::read_dir(&base).expect("suite directory") {
        let dir = entry.expect("entry").path();
        let Ok(text) = std::fs::read_to_string(dir.join("context.json")) else {
            continue; // smithy-rs' old-format additions have no context.json
        };
        let context: Value = serde_json::from_str(&text).expect("context JSON");
        let same_settings = context["normalize"] == true
            && context["sign_body"] != true
            && context["omit_session_token"] != true;
        if same_settings {
            let name = dir.file_name().and_then(|n| n.to_str()).expect("name");
            ours.push(name.to_string());
        }
    }
    ours.sort();
    let mut listed: Vec<String> = MATCHING
        .iter()
        .chain(NOT_EXPRESSIBLE_OR_DIVERGENT.iter())
        .map(|s| s.to_string())
        .collect();
    listed.sort();
    assert_eq!(ours, listed);
}

/// We sign (and send) `/example`, where the suite normalizes to `/example/`.
#[test]
fn slashes_case_diverges_only_by_the_trailing_slash() {
    assert_eq!(
        clean_url("https://example.amazonaws.com//example//")
            .ok()
            .as_deref(),
        Some("https://example.amazonaws.com/example")
    );
    let canonical = std::fs::read_to_string(
        suite_dir("get-slashes-normalized").join("header-canonical-request.txt"),
    )
    .expect("canonical request");
    assert_eq!(canonical.lines().nth(1), Some("/example/"));
}
