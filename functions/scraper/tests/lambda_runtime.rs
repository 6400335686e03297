//! The scraper binary served through a real Lambda Runtime API: cargo-lambda's
//! emulator (`cargo lambda watch --only-lambda-apis`) hands it an invocation made
//! with `cargo lambda invoke`, exactly as Lambda's runtime interface would.

#[path = "../../../tests/fake_http/mod.rs"]
mod fake_http;
mod harness;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

#[tokio::test]
async fn invocation_through_cargo_lambda_runtime_api() {
    let cargo_lambda = support::workspace_root().join(".venv/bin/cargo-lambda");
    assert!(
        cargo_lambda.exists(),
        "{} missing: run scripts/setup.sh",
        cargo_lambda.display()
    );
    let target = fake_http::FakeServer::start().await;
    target.serve(
        "/metrics",
        "text/plain",
        "lambda_test_metric{via=\"runtime-api\"} 7\n",
    );
    let port = support::free_port();
    let logs = tempfile::tempdir().expect("temp dir");
    let emulator_log = std::fs::File::create(logs.path().join("emulator.log")).expect("log");
    let _emulator = Command::new(&cargo_lambda)
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
        ])
        .arg(port.to_string())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(emulator_log)
        .kill_on_drop(true)
        .spawn()
        .expect("cargo lambda watch starts");
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "runtime API did not start: {}",
            std::fs::read_to_string(logs.path().join("emulator.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let function_log = std::fs::File::create(logs.path().join("function.log")).expect("log");
    let _function = Command::new(env!("CARGO_BIN_EXE_scraper"))
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "scraper")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .envs(harness::FAKE_ENV)
        .stdout(Stdio::null())
        .stderr(function_log)
        .kill_on_drop(true)
        .spawn()
        .expect("scraper starts");

    let config = format!(
        "scrape_configs:\n  - job_name: lambda\n    static_configs: [{{targets: ['{}']}}]\nremote_write:\n  - url: {}/api/v1/write\n    sigv4: {{region: us-east-1}}\n",
        target.target(),
        target.base_url()
    );
    let event = logs.path().join("event.json");
    std::fs::write(&event, serde_json::json!({ "config": config }).to_string()).expect("event");
    let output = Command::new(&cargo_lambda)
        .args(["lambda", "invoke", "-A", "127.0.0.1", "-P"])
        .arg(port.to_string())
        .arg("--data-file")
        .arg(&event)
        .arg("_")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .expect("cargo lambda invoke runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let function_log =
        std::fs::read_to_string(logs.path().join("function.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "invoke failed: {stdout}{}\nfunction log: {function_log}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("response is not JSON ({e}): {stdout}"));
    assert_eq!(response["targets_up"], 1, "{response}");
    assert_eq!(response["deadline_hit"], false, "{response}");
    assert!(
        response["samples_sent"].as_u64().unwrap_or(0) >= 6,
        "{response}"
    );

    let delivered = target.accepted_series_keys();
    assert!(
        delivered
            .iter()
            .any(|k| k.starts_with("lambda_test_metric{") && k.contains("via=\"runtime-api\"")),
        "{delivered:?}"
    );
    let summary_line = function_log
        .lines()
        .find(|l| l.contains("run summary"))
        .unwrap_or_else(|| panic!("no summary log line: {function_log}"));
    let parsed: serde_json::Value =
        serde_json::from_str(summary_line).expect("Lambda logs are JSON lines");
    assert_eq!(parsed["fields"]["targets_up"], 1, "{parsed}");
    assert_eq!(
        delivered
            .iter()
            .filter(|k| k.starts_with("scraper_targets_up{"))
            .count(),
        1,
        "self-metrics carry instance = function name"
    );
    assert!(delivered
        .iter()
        .any(|k| k.starts_with("scraper_targets_up{") && k.contains("instance=\"scraper\"")));
}
