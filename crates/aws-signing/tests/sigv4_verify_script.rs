//! `scripts/sigv4_verify.py` (botocore) accepts what this crate signs and rejects a
//! tampered capture. Needs the workspace's `.venv` with botocore (`scripts/setup.sh`),
//! or a Python with botocore in `PIPELINE_PYTHON`.

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use aws_signing::{clean_url, sign_request, RequestToSign};
use common::{credentials, hex_encode};
use serde_json::{json, Value};

const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    std::env::var_os("PIPELINE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"))
}

/// Signs a remote-write-like POST and returns the capture a server would record:
/// the sent URL (cleaned), every sent header (Host, User-Agent and Content-Length
/// included, none of which this crate signs except Host) and the body.
fn captured_request(url: &str, host: &str, token: Option<&str>) -> Value {
    let body = b"\x00\x01fake-snappy-body\xff";
    let headers = [
        ("Content-Encoding", "snappy"),
        ("Content-Type", "application/x-protobuf"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ("User-Agent", "scraper/0.1"),
    ];
    let sent_url = clean_url(url).expect("clean URL");
    let signed = sign_request(
        &RequestToSign {
            method: "POST",
            url,
            headers: &headers,
            body,
        },
        &credentials(KEY, SECRET, token),
        "eu-west-1",
        "aps",
        UNIX_EPOCH + Duration::from_secs(1_732_000_000),
    )
    .expect("signs");
    let mut received = serde_json::Map::new();
    received.insert("host".into(), json!(host));
    received.insert("content-length".into(), json!(body.len().to_string()));
    for (name, value) in headers {
        received.insert(name.to_lowercase(), json!(value));
    }
    for (name, value) in signed {
        received.insert(name, json!(value));
    }
    json!({
        "method": "POST",
        "url": sent_url,
        "headers": received,
        "body_hex": hex_encode(body),
    })
}

/// Runs the script on `capture` with credentials in the environment (as the
/// end-to-end test does) and returns (exit code, stdout + stderr).
fn verify(dir: &Path, name: &str, capture: &Value, env_token: Option<&str>) -> (i32, String) {
    let file = dir.join(name);
    std::fs::write(&file, capture.to_string()).expect("write capture");
    let mut command = Command::new(python());
    command
        .arg(workspace_root().join("scripts/sigv4_verify.py"))
        .arg(&file)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env_remove("AWS_SESSION_TOKEN");
    if let Some(token) = env_token {
        command.env("AWS_SESSION_TOKEN", token);
    }
    let output = command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {} (run scripts/setup.sh for the .venv with botocore): {e}",
            python().display()
        )
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let code = output.status.code().unwrap_or(-1);
    // Shown with `cargo test -- --nocapture`.
    println!("{name}: exit {code}: {}", text.trim_end());
    (code, text)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aws-signing-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn botocore_accepts_our_signature_and_rejects_tampering() {
    let dir = temp_dir("verify");
    let capture = captured_request(
        "http://127.0.0.1:9091/workspaces/ws-1//api/v1/./remote_write",
        "127.0.0.1:9091",
        None,
    );
    assert_eq!(
        capture["url"],
        "http://127.0.0.1:9091/workspaces/ws-1/api/v1/remote_write"
    );
    let (code, out) = verify(&dir, "ok.json", &capture, None);
    assert_eq!((code, out.trim()), (0, "sigv4 ok"), "{out}");

    let mut tampered = capture.clone();
    tampered["body_hex"] = json!(format!("{}00", capture["body_hex"].as_str().unwrap_or("")));
    let (code, out) = verify(&dir, "tampered-body.json", &tampered, None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("sigv4 MISMATCH"), "{out}");
    assert!(out.contains("received: AWS4-HMAC-SHA256"), "{out}");

    let mut header_changed = capture.clone();
    header_changed["headers"]["content-encoding"] = json!("gzip");
    let (code, out) = verify(&dir, "tampered-header.json", &header_changed, None);
    assert_eq!(code, 1, "{out}");

    // Sent to a different path than the one signed.
    let mut other_path = capture.clone();
    other_path["url"] = json!("http://127.0.0.1:9091/workspaces/ws-1/api/v1/remote_write/x");
    let (code, out) = verify(&dir, "other-path.json", &other_path, None);
    assert_eq!(code, 1, "{out}");

    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn botocore_accepts_session_token_signatures() {
    let dir = temp_dir("verify-token");
    let token = "FAKESESSIONTOKEN/+==";
    let capture = captured_request(
        "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
        "aps-workspaces.eu-west-1.amazonaws.com",
        Some(token),
    );
    let (code, out) = verify(&dir, "env.json", &capture, Some(token));
    assert_eq!((code, out.trim()), (0, "sigv4 ok"), "{out}");

    // Credentials, region and service may also come in the capture itself.
    let mut with_creds = capture.clone();
    with_creds["credentials"] = json!({
        "access_key_id": KEY,
        "secret_access_key": SECRET,
        "session_token": token,
    });
    with_creds["region"] = json!("eu-west-1");
    with_creds["service"] = json!("aps");
    let (code, out) = verify(&dir, "json-creds.json", &with_creds, None);
    assert_eq!((code, out.trim()), (0, "sigv4 ok"), "{out}");

    let mut wrong_region = with_creds.clone();
    wrong_region["region"] = json!("us-east-1");
    let (code, out) = verify(&dir, "wrong-region.json", &wrong_region, None);
    assert_eq!(code, 1, "{out}");

    // Verifying without the token the request was signed with must fail.
    let (code, out) = verify(&dir, "no-token.json", &capture, None);
    assert_eq!(code, 1, "{out}");

    let mut no_auth = capture.clone();
    if let Some(headers) = no_auth["headers"].as_object_mut() {
        headers.remove("authorization");
    }
    let (code, out) = verify(&dir, "no-auth.json", &no_auth, Some(token));
    assert_eq!(code, 2, "{out}");

    let _ = std::fs::remove_dir_all(&dir);
}
