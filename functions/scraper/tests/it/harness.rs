//! Running the real scraper binary (CLI mode) from tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What one CLI run of the scraper produced.
pub struct Run {
    pub summary: serde_json::Value,
    pub stderr: String,
    pub elapsed: Duration,
    pub success: bool,
}

impl Run {
    pub fn count(&self, field: &str) -> u64 {
        self.summary
            .get(field)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| panic!("summary has no numeric {field}: {}", self.summary))
    }

    pub fn target(&self, job: &str) -> &serde_json::Value {
        self.summary["target_reports"]
            .as_array()
            .and_then(|a| a.iter().find(|t| t["job"] == job))
            .unwrap_or_else(|| panic!("no target report for job {job}: {}", self.summary))
    }
}

/// Fake static credentials, as the local stack uses them.
pub const FAKE_ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    ),
    ("AWS_SESSION_TOKEN", "test-session-token"),
    ("AWS_REGION", "us-east-1"),
];

/// Writes `config_yaml` to a temp file, runs `scraper --event` on it with `timeout`.
pub async fn run_scraper(config_yaml: &str, timeout_secs: f64) -> Run {
    run_scraper_with_env(config_yaml, timeout_secs, &[]).await
}

/// [`run_scraper`] with extra environment variables.
pub async fn run_scraper_with_env(
    config_yaml: &str,
    timeout_secs: f64,
    env: &[(&str, &str)],
) -> Run {
    run_scraper_scheduled(config_yaml, timeout_secs, env, None).await
}

/// [`run_scraper_with_env`] for an EventBridge scheduled event with `time`.
pub async fn run_scraper_scheduled(
    config_yaml: &str,
    timeout_secs: f64,
    env: &[(&str, &str)],
    time: Option<&str>,
) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let config: PathBuf = dir.path().join("scraper.yaml");
    std::fs::write(&config, config_yaml).expect("write config");
    let mut body = serde_json::json!({ "config_file": config });
    if let Some(time) = time {
        body["time"] = serde_json::json!(time);
        body["detail-type"] = serde_json::json!("Scheduled Event");
    }
    run_scraper_event_in(&dir, &body, timeout_secs, env).await
}

/// Runs `scraper --event` on `event` as given (e.g. one naming an SSM parameter).
pub async fn run_scraper_event(
    event: &serde_json::Value,
    timeout_secs: f64,
    env: &[(&str, &str)],
) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    run_scraper_event_in(&dir, event, timeout_secs, env).await
}

async fn run_scraper_event_in(
    dir: &tempfile::TempDir,
    body: &serde_json::Value,
    timeout_secs: f64,
    env: &[(&str, &str)],
) -> Run {
    let event = dir.path().join("event.json");
    std::fs::write(&event, body.to_string()).expect("write event");
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_scraper"))
        .arg("--event")
        .arg(&event)
        .arg("--timeout")
        .arg(timeout_secs.to_string())
        .envs(FAKE_ENV)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("scraper runs");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let summary = if output.status.success() {
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\nstderr: {stderr}"))
    } else {
        serde_json::Value::Null
    };
    Run {
        summary,
        stderr,
        elapsed,
        success: output.status.success(),
    }
}

/// Epoch seconds as an RFC 3339 UTC time (`2026-11-23T10:05:00Z`), as EventBridge
/// writes a scheduled event's `time`.
pub fn rfc3339(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .expect("a time within chrono's range")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
