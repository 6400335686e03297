//! Signing checked against `../shared/conformance/sigv4/generated/botocore_vectors.json`
//! (botocore at fixed times with fake credentials) and AWS' own SigV4 suite cases.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_signing::{presign_eks_token, sign_request, RequestToSign};
use base64::Engine;
use serde_json::Value;

fn conformance() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sigv4")
}

fn vectors() -> Vec<Value> {
    let path = conformance().join("generated/botocore_vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    doc["vectors"].as_array().cloned().unwrap_or_default()
}

/// `2024-01-02T03:04:05Z` as a SystemTime.
fn parse_time(s: &str) -> SystemTime {
    let (date, time) = s.trim_end_matches('Z').split_once('T').expect("ISO time");
    let d: Vec<i64> = date.split('-').map(|x| x.parse().expect("num")).collect();
    let t: Vec<i64> = time.split(':').map(|x| x.parse().expect("num")).collect();
    // Days from civil date (Howard Hinnant's algorithm).
    let (y, m, day) = (d[0] - i64::from(d[1] <= 2), d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
    UNIX_EPOCH + Duration::from_secs(secs as u64)
}

fn credentials(v: &Value) -> Credentials {
    let c = &v["credentials"];
    Credentials::new(
        c["access_key_id"].as_str().expect("key"),
        c["secret_access_key"].as_str().expect("secret"),
        c["session_token"].as_str().map(str::to_owned),
        None,
        "test",
    )
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn amp_remote_write_matches_botocore() {
    let mut checked = 0;
    for v in vectors().iter().filter(|v| v["kind"] == "header") {
        let req = &v["request"];
        let headers: Vec<(String, String)> = req["headers"]
            .as_object()
            .expect("headers")
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let body = hex_decode(req["body_hex"].as_str().expect("body"));
        let signed = sign_request(
            &RequestToSign {
                method: req["method"].as_str().expect("method"),
                url: req["url"].as_str().expect("url"),
                headers: &header_refs,
                body: &body,
            },
            &credentials(v),
            v["region"].as_str().expect("region"),
            v["service"].as_str().expect("service"),
            parse_time(v["time"].as_str().expect("time")),
        )
        .expect("signs");
        let get = |name: &str| {
            signed
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let expected = &v["expected"];
        assert_eq!(
            get("authorization").as_deref(),
            expected["authorization"].as_str(),
            "{}",
            v["name"]
        );
        assert_eq!(
            get("x-amz-date").as_deref(),
            expected["x_amz_date"].as_str()
        );
        assert_eq!(
            get("x-amz-security-token").as_deref(),
            expected["x_amz_security_token"].as_str(),
            "{}",
            v["name"]
        );
        assert!(
            get("x-amz-content-sha256").is_none(),
            "AMP signing sends no payload hash header"
        );
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn eks_tokens_match_botocore() {
    let mut checked = 0;
    for v in vectors().iter().filter(|v| v["kind"] == "query-presign") {
        let cluster = v["request"]["headers"]["x-k8s-aws-id"]
            .as_str()
            .expect("cluster");
        let token = presign_eks_token(
            cluster,
            v["region"].as_str().expect("region"),
            &credentials(v),
            parse_time(v["time"].as_str().expect("time")),
        )
        .expect("token");
        assert!(token.starts_with("k8s-aws-v1."));
        assert!(!token.contains('='), "no padding");
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&token["k8s-aws-v1.".len()..])
                .expect("base64url"),
        )
        .expect("utf8");
        let expected_url = v["expected"]["presigned_url"].as_str().expect("url");
        let params = |u: &str| {
            let mut p: Vec<String> = u
                .split_once('?')
                .map(|(_, q)| q)
                .unwrap_or("")
                .split('&')
                .map(str::to_owned)
                .collect();
            p.sort();
            p
        };
        assert_eq!(params(&url), params(expected_url), "{}", v["name"]);
        assert!(url.starts_with(&format!(
            "https://sts.{}.amazonaws.com/?",
            v["region"].as_str().unwrap_or("")
        )));
        // The signature is one of the parameters, so equal sorted parameters mean the
        // same signed request; aws-sigv4 may order them differently from botocore.
        checked += 1;
    }
    assert_eq!(checked, 4);
}

/// AWS' SigV4 suite (as vendored by smithy-rs): header signing of the vanilla cases.
#[test]
fn aws_suite_header_signatures() {
    let base = conformance().join("crt-format/v4");
    let mut checked = 0;
    for case in [
        "get-vanilla",
        "post-vanilla",
        "get-vanilla-query",
        "get-vanilla-with-session-token",
        "post-header-key-case",
    ] {
        let dir = base.join(case);
        let context: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("context.json")).expect("context"),
        )
        .expect("JSON");
        let request = std::fs::read_to_string(dir.join("request.txt")).expect("request");
        let expected =
            std::fs::read_to_string(dir.join("header-signature.txt")).expect("signature");
        let mut lines = request.lines();
        let first = lines.next().expect("request line");
        let mut parts = first.split(' ');
        let method = parts.next().expect("method");
        let target = parts.next().expect("target");
        let mut host = String::new();
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines.by_ref() {
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':').expect("header");
            if k.eq_ignore_ascii_case("host") {
                host = v.trim().to_string();
            } else {
                headers.push((k.to_string(), v.to_string()));
            }
        }
        let body: String = lines.collect::<Vec<_>>().join("\n");
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let c = &context["credentials"];
        let creds = Credentials::new(
            c["access_key_id"].as_str().expect("key"),
            c["secret_access_key"].as_str().expect("secret"),
            c["token"].as_str().map(str::to_owned),
            None,
            "suite",
        );
        let url = format!("https://{host}{target}");
        let signed = sign_request(
            &RequestToSign {
                method,
                url: &url,
                headers: &header_refs,
                body: body.as_bytes(),
            },
            &creds,
            context["region"].as_str().expect("region"),
            context["service"].as_str().expect("service"),
            parse_time(context["timestamp"].as_str().expect("time")),
        )
        .expect("signs");
        let auth = signed
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone())
            .expect("authorization");
        assert!(
            auth.ends_with(&format!("Signature={}", expected.trim())),
            "{case}: {auth}"
        );
        checked += 1;
    }
    assert_eq!(checked, 5);
}
