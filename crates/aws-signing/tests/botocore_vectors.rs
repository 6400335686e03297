//! Signing checked against `testdata/sigv4/generated/botocore_vectors.json`:
//! botocore 1.43 at fixed times with fake credentials (AMP remote write and EKS tokens).

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use aws_signing::{presign_eks_token, sign_request, RequestToSign, EKS_TOKEN_PREFIX};
use common::{conformance, credentials, header, hex_decode, parse_time};
use serde_json::Value;

fn vectors(kind: &str) -> Vec<Value> {
    let path = conformance().join("generated/botocore_vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    doc["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .filter(|v| v["kind"] == kind)
        .cloned()
        .collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing"))
}

fn vector_credentials(v: &Value) -> aws_credential_types::Credentials {
    let c = &v["credentials"];
    credentials(
        str_of(c, "access_key_id"),
        str_of(c, "secret_access_key"),
        c["session_token"].as_str(),
    )
}

#[test]
fn amp_remote_write_matches_botocore() {
    let vectors = vectors("header");
    let names: Vec<&str> = vectors.iter().map(|v| str_of(v, "name")).collect();
    assert_eq!(
        names,
        ["amp-remote-write", "amp-remote-write-session-token"]
    );
    for v in &vectors {
        let name = str_of(v, "name");
        let req = &v["request"];
        // Every header, Host and User-Agent included, as a client would pass them.
        let headers: Vec<(&str, &str)> = req["headers"]
            .as_object()
            .expect("headers")
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().expect("header value")))
            .collect();
        let body = hex_decode(str_of(req, "body_hex"));
        let signed = sign_request(
            &RequestToSign {
                method: str_of(req, "method"),
                url: str_of(req, "url"),
                headers: &headers,
                body: &body,
            },
            &vector_credentials(v),
            str_of(v, "region"),
            str_of(v, "service"),
            parse_time(str_of(v, "time")),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = &v["expected"];
        let authorization = header(&signed, "authorization");
        assert_eq!(authorization, expected["authorization"].as_str(), "{name}");
        let signature = |a: Option<&str>| {
            a.and_then(|a| a.rsplit_once("Signature="))
                .map(|s| s.1.to_string())
        };
        assert_eq!(
            signature(authorization),
            signature(expected["authorization"].as_str()),
            "{name}"
        );
        assert_eq!(
            header(&signed, "x-amz-date"),
            expected["x_amz_date"].as_str(),
            "{name}"
        );
        assert_eq!(
            header(&signed, "x-amz-security-token"),
            expected["x_amz_security_token"].as_str(),
            "{name}"
        );
        assert_eq!(
            header(&signed, "x-amz-content-sha256"),
            None,
            "{name}: botocore sends no payload hash header for aps"
        );
        let expected_count = 2 + usize::from(expected["x_amz_security_token"].is_string());
        assert_eq!(signed.len(), expected_count, "{name}: {signed:?}");
    }
}

/// The token must be byte-for-byte botocore's (`aws eks get-token`), including the
/// query parameter order of the presigned URL.
#[test]
fn eks_tokens_match_botocore() {
    let vectors = vectors("query-presign");
    assert_eq!(vectors.len(), 4);
    for v in &vectors {
        let name = str_of(v, "name");
        assert_eq!(v["expires_seconds"], 60, "{name}");
        let cluster = str_of(&v["request"]["headers"], "x-k8s-aws-id");
        let token = presign_eks_token(
            cluster,
            str_of(v, "region"),
            &vector_credentials(v),
            parse_time(str_of(v, "time")),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(token.starts_with(EKS_TOKEN_PREFIX), "{name}");
        assert!(!token.contains('='), "{name}: no base64 padding");
        assert_eq!(token, str_of(&v["expected"], "token"), "{name}");
    }
}

#[test]
fn eks_token_rejects_bad_inputs() {
    let creds = credentials("AKID", "SECRET", None);
    let now = parse_time("2024-01-02T03:04:05Z");
    assert!(presign_eks_token("c", "us-west-2/../x", &creds, now).is_err());
    assert!(presign_eks_token("c", "", &creds, now).is_err());
    assert!(presign_eks_token("bad\ncluster", "us-west-2", &creds, now).is_err());
}
