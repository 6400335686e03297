//! The scraper binary served through a real Lambda Runtime API: cargo-lambda's
//! emulator (`cargo lambda watch --only-lambda-apis`) hands it an invocation made
//! with `cargo lambda invoke`, exactly as Lambda's runtime interface would.

use crate::harness;
use test_support::fake_http;
use test_support::services as support;

use std::process::Stdio;

use tokio::process::Command;

#[tokio::test]
async fn invocation_through_cargo_lambda_runtime_api() {
    let target = fake_http::FakeServer::start().await;
    target.serve(
        "/metrics",
        "text/plain",
        "lambda_test_metric{via=\"runtime-api\"} 7\n",
    );
    let emulator = support::start_lambda_emulator(env!("CARGO_MANIFEST_DIR"))
        .await
        .expect("Lambda Runtime API emulator");
    let logs = &emulator.logs;
    let function_log = std::fs::File::create(logs.path().join("function.log")).expect("log");
    let _function = Command::new(env!("CARGO_BIN_EXE_scraper"))
        .env("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api())
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
    let output = emulator
        .invoke(env!("CARGO_MANIFEST_DIR"), &event)
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
