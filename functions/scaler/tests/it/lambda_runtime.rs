//! The scaler binary under a real Lambda Runtime API (cargo-lambda's emulator): an
//! event it does not understand fails the invocation (so it is retried and then
//! dead-lettered, never dropped), a scheduled reconcile scales, and each invocation
//! logs one JSON summary line.

use test_support::kubernetes_stack as common;

use common::*;
use serde_json::{json, Value};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_events_fail_and_reconciles_scale_under_the_runtime_api() -> Result<(), String> {
    let stack = start_stack().await?;
    stack.web_firing().await?;
    let standin = &stack.standin;
    let emulator = support::start_lambda_emulator(env!("CARGO_MANIFEST_DIR")).await?;
    let logs = &emulator.logs;
    let config = stack.config_with(&web_policy(false, "10"));
    let stdout_log =
        std::fs::File::create(logs.path().join("stdout.log")).map_err(|e| e.to_string())?;
    let stderr_log =
        std::fs::File::create(logs.path().join("stderr.log")).map_err(|e| e.to_string())?;
    let _function = Command::new(env!("CARGO_BIN_EXE_scaler"))
        .env("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api())
        .env("AWS_LAMBDA_FUNCTION_NAME", "scaler")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", REGION)
        .env("AWS_ENDPOINT_URL", &stack.moto.address)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("SCALER_CONFIG", config)
        .stdout(stdout_log)
        .stderr(stderr_log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("scaler does not start: {e}"))?;
    let function_log = || {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(logs.path().join("stdout.log")).unwrap_or_default(),
            std::fs::read_to_string(logs.path().join("stderr.log")).unwrap_or_default()
        )
    };

    let unknown = logs.path().join("unknown.json");
    std::fs::write(&unknown, json!({"hello": "world"}).to_string()).map_err(|e| e.to_string())?;
    let failed = emulator
        .invoke(env!("CARGO_MANIFEST_DIR"), &unknown)
        .await?;
    let failed_text = format!(
        "{}{}",
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(
        !failed.status.success(),
        "an unknown event must fail: {}",
        function_log()
    );
    assert!(failed_text.contains("unrecognised event"), "{failed_text}");

    let reconcile = logs.path().join("reconcile.json");
    std::fs::write(
        &reconcile,
        json!({"version": "0", "id": "s1", "detail-type": "Scheduled Event", "source": "aws.events",
               "account": "123456789012", "time": "2026-12-01T10:00:00Z", "region": REGION,
               "resources": ["arn:aws:events:us-east-1:123456789012:rule/scaler-reconcile"], "detail": {}})
        .to_string(),
    )
    .map_err(|e| e.to_string())?;
    let ok = emulator
        .invoke(env!("CARGO_MANIFEST_DIR"), &reconcile)
        .await?;
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}{}\n{}",
        String::from_utf8_lossy(&ok.stderr),
        function_log()
    );
    let response: Value =
        serde_json::from_str(stdout.trim()).map_err(|e| format!("not JSON ({e}): {stdout}"))?;
    assert_eq!(response["trigger"], "reconcile");
    assert_eq!(response["changes"], 1, "{response}");
    assert_eq!(
        standin.get("deployments", "web", "web").await?["spec"]["replicas"],
        5
    );

    let lines: Vec<Value> = std::fs::read_to_string(logs.path().join("stdout.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &Value| v["message"] == "invocation summary")
        .collect();
    assert_eq!(lines.len(), 2, "{}", function_log());
    assert_eq!(lines[0]["level"], "ERROR");
    assert_eq!(lines[0]["summary"]["errors"], 1);
    assert_eq!(lines[1]["level"], "INFO");
    assert_eq!(lines[1]["summary"]["changes"], 1);
    // Each summary line is an EMF document with the invocation's figures, valid as
    // CloudWatch reads it: the failure counted, then the change.
    let log = std::fs::read_to_string(logs.path().join("stdout.log")).unwrap_or_default();
    let summaries = test_support::emf::extract(&log);
    assert_eq!(summaries.len(), 2, "{log}");
    assert_eq!(summaries[0].metrics["Errors"], 1.0);
    assert_eq!(summaries[1].metrics["Changes"], 1.0);
    assert_eq!(summaries[1].dimensions["Function"], "scaler");
    Ok(())
}
