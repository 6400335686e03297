//! The scraper binary served through a real Lambda Runtime API: cargo-lambda's
//! emulator (`cargo lambda watch --only-lambda-apis`) hands it an invocation made
//! with `cargo lambda invoke`, exactly as Lambda's runtime interface would. Its
//! stdout is what CloudWatch Logs would store: the summary line, which is also an
//! Embedded Metric Format document, checked as CloudWatch would extract it.

use crate::harness;
use test_support::services as support;
use test_support::{emf, fake_http};

use tokio::process::Command;

/// What one invocation through the Runtime API left: the response and the
/// function's stdout (the log group's events) and stderr.
struct Invoked {
    response: serde_json::Value,
    stdout_log: String,
}

async fn invoke_once(config: &str) -> Invoked {
    let emulator = support::start_lambda_emulator(env!("CARGO_MANIFEST_DIR"))
        .await
        .expect("Lambda Runtime API emulator");
    let logs = &emulator.logs;
    let function_stdout = std::fs::File::create(logs.path().join("stdout.log")).expect("log");
    let function_stderr = std::fs::File::create(logs.path().join("stderr.log")).expect("log");
    let mut function = Command::new(env!("CARGO_BIN_EXE_scraper"))
        .env("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api())
        .env("AWS_LAMBDA_FUNCTION_NAME", "scraper")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .envs(harness::FAKE_ENV)
        .stdout(function_stdout)
        .stderr(function_stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("scraper starts");
    let event = logs.path().join("event.json");
    std::fs::write(&event, serde_json::json!({ "config": config }).to_string()).expect("event");
    let output = emulator
        .invoke(env!("CARGO_MANIFEST_DIR"), &event)
        .await
        .expect("cargo lambda invoke runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The summary line is printed before the response is posted; the process stays up
    // for the next invocation, so stop it to read a complete log.
    let _ = function.kill().await;
    let read = |name: &str| std::fs::read_to_string(logs.path().join(name)).unwrap_or_default();
    let (stdout_log, stderr_log) = (read("stdout.log"), read("stderr.log"));
    assert!(
        output.status.success(),
        "invoke failed: {stdout}{}\nfunction stdout: {stdout_log}\nfunction stderr: {stderr_log}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("response is not JSON ({e}): {stdout}"));
    Invoked {
        response,
        stdout_log,
    }
}

/// The one `invocation summary` line of the log, parsed.
fn summary_line(log: &str) -> serde_json::Value {
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"invocation summary\""))
        .collect();
    assert_eq!(lines.len(), 1, "one summary line per invocation: {log}");
    serde_json::from_str(lines[0]).expect("Lambda logs are JSON lines")
}

#[tokio::test]
async fn invocation_through_cargo_lambda_runtime_api() {
    let target = fake_http::FakeServer::start().await;
    target.serve(
        "/metrics",
        "text/plain",
        "lambda_test_metric{via=\"runtime-api\"} 7\n",
    );
    let config = format!(
        "scrape_configs:\n  - job_name: lambda\n    static_configs: [{{targets: ['{}']}}]\nremote_write:\n  - url: {}/api/v1/write\n    sigv4: {{region: us-east-1}}\n",
        target.target(),
        target.base_url()
    );
    let Invoked {
        response,
        stdout_log,
    } = invoke_once(&config).await;
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
    let parsed = summary_line(&stdout_log);
    assert_eq!(parsed["level"], "INFO", "{parsed}");
    assert_eq!(parsed["summary"]["targets_up"], 1, "{parsed}");
    assert!(
        parsed["summary"].get("target_reports").is_none(),
        "the logged summary leaves the per-target reports to the response: {parsed}"
    );
    let extracted = emf::extract(&stdout_log);
    assert_eq!(extracted.len(), 1, "one EMF document, the summary line");
    assert_eq!(extracted[0].metrics["TargetsUp"], 1.0);
    assert_eq!(extracted[0].metrics["SamplesUnsent"], 0.0);
    assert_eq!(extracted[0].dimensions["Function"], "scraper");
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

/// With the receiver down nothing reaches AMP, not even the scraper's own series: the
/// summary line's EMF figures are what CloudWatch, and the template's alarms on
/// `SamplesUnsent` and `TargetsDown`, still see. Run on the command line, whose
/// `--emf FILE` gets the lines the Lambda would log, because sends are retried until
/// the deadline and cargo-lambda's emulator gives every invocation 600 s.
#[tokio::test]
async fn with_the_receiver_down_the_summary_line_still_reports_the_loss_as_emf() {
    let target = fake_http::FakeServer::start().await;
    target.serve("/metrics", "text/plain", "lost_metric 1\nlost_other 2\n");
    // Nothing listens on this port: every remote write is refused.
    let receiver = format!("http://127.0.0.1:{}/api/v1/write", support::free_port());
    let config = format!(
        "scrape_configs:\n  - job_name: up\n    static_configs: [{{targets: ['{}']}}]\n  - job_name: down\n    scrape_timeout: 1s\n    static_configs: [{{targets: ['127.0.0.1:{}']}}]\nremote_write:\n  - url: {receiver}\n    queue_config: {{min_backoff: 10ms, max_backoff: 100ms}}\n",
        target.target(),
        support::free_port(),
    );
    let dir = tempfile::tempdir().expect("dir");
    let event = dir.path().join("event.json");
    std::fs::write(&event, serde_json::json!({ "config": config }).to_string()).expect("event");
    let emf_path = dir.path().join("log.emf");
    let output = Command::new(env!("CARGO_BIN_EXE_scraper"))
        .arg("--event")
        .arg(&event)
        .args(["--timeout", "5", "--emf"])
        .arg(&emf_path)
        .envs(harness::FAKE_ENV)
        .output()
        .await
        .expect("scraper runs");
    assert!(
        output.status.success(),
        "a run whose sends failed still succeeds: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the response is JSON");
    let unsent = response["samples_unsent"].as_u64().unwrap_or(0);
    assert!(unsent >= 2, "the scraped samples are unsent: {response}");
    assert_eq!(response["samples_sent"], 0, "{response}");
    assert_eq!(response["targets_down"], 1, "{response}");

    let log = std::fs::read_to_string(&emf_path).expect("the --emf file");
    let parsed = summary_line(&log);
    assert_eq!(parsed["level"], "INFO", "{parsed}");
    let extracted = emf::extract(&log);
    assert_eq!(extracted.len(), 1, "{log}");
    let figures = &extracted[0];
    assert_eq!(figures.message.as_deref(), Some("invocation summary"));
    assert_eq!(figures.metrics["SamplesUnsent"], unsent as f64);
    assert_eq!(figures.metrics["SamplesSent"], 0.0);
    assert_eq!(figures.metrics["TargetsDown"], 1.0);
    assert_eq!(figures.metrics["TargetsUp"], 1.0);
    assert!(figures.metrics["RequestsFailed"].as_f64().unwrap_or(0.0) >= 1.0);
    assert_eq!(figures.dimensions["Function"], "scraper");
}
