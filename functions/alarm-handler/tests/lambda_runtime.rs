//! The alarm-handler binary under a real Lambda Runtime API (cargo-lambda's emulator):
//! an SNS event is handled, a failed delivery is reported to the runtime as an error
//! (so Lambda retries), and each invocation logs one JSON summary line.

#[path = "../../../tests/fake_http/mod.rs"]
mod fake_http;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use fake_http::{FakeServer, Reply};
use serde_json::{json, Value};
use tokio::process::Command;

async fn invoke(
    cargo_lambda: &std::path::Path,
    port: u16,
    event: &std::path::Path,
) -> std::process::Output {
    Command::new(cargo_lambda)
        .args(["lambda", "invoke", "-A", "127.0.0.1", "-P"])
        .arg(port.to_string())
        .arg("--data-file")
        .arg(event)
        .arg("_")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .expect("cargo lambda invoke runs")
}

#[tokio::test]
async fn failures_reach_the_runtime_and_summaries_are_logged() {
    let cargo_lambda = support::workspace_root().join(".venv/bin/cargo-lambda");
    assert!(
        cargo_lambda.exists(),
        "{} missing: run scripts/setup.sh",
        cargo_lambda.display()
    );
    let hook = FakeServer::start().await;
    hook.script([Reply::status(500)]);
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
    let config = format!(
        "route: {{receiver: hook}}\nreceivers:\n  - name: hook\n    webhook_configs: [{{url: '{}/hook'}}]\n",
        hook.base_url()
    );
    let stdout_log = std::fs::File::create(logs.path().join("stdout.log")).expect("log");
    let stderr_log = std::fs::File::create(logs.path().join("stderr.log")).expect("log");
    let _function = Command::new(env!("CARGO_BIN_EXE_alarm-handler"))
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "alarm-handler")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("ALARM_HANDLER_CONFIG", config)
        .stdout(stdout_log)
        .stderr(stderr_log)
        .kill_on_drop(true)
        .spawn()
        .expect("alarm-handler starts");

    let message = json!({"AlarmName": "api-5xx", "AlarmDescription": null, "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed", "StateChangeTime": "2026-11-23T10:00:00.000+0000",
        "Region": "US East (N. Virginia)", "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-5xx",
        "OldStateValue": "OK", "Trigger": {"MetricName": "5XXError", "Namespace": "AWS/ApiGateway", "Statistic": "SUM",
        "Unit": null, "Dimensions": [{"value": "orders", "name": "ApiName"}], "Period": 60, "EvaluationPeriods": 1,
        "ComparisonOperator": "GreaterThanThreshold", "Threshold": 5.0}})
    .to_string();
    let event = json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:alerts:1",
        "Sns": {"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "Subject": "ALARM: \"api-5xx\" in US East (N. Virginia)",
            "Message": message, "Timestamp": "2026-11-23T10:00:01.000Z", "SignatureVersion": "1", "Signature": "x",
            "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}}}]});
    let event_file = logs.path().join("event.json");
    std::fs::write(&event_file, event.to_string()).expect("event");

    let failed = invoke(&cargo_lambda, port, &event_file).await;
    let function_log = || {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(logs.path().join("stdout.log")).unwrap_or_default(),
            std::fs::read_to_string(logs.path().join("stderr.log")).unwrap_or_default()
        )
    };
    assert!(
        !failed.status.success(),
        "a 500 from the webhook must fail the invocation: {}",
        function_log()
    );
    let failed_text = format!(
        "{}{}",
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(
        failed_text.contains("hook/webhook[0]: HTTP 500"),
        "{failed_text}"
    );

    let retried = invoke(&cargo_lambda, port, &event_file).await;
    let stdout = String::from_utf8_lossy(&retried.stdout);
    assert!(
        retried.status.success(),
        "retry failed: {stdout}{}\n{}",
        String::from_utf8_lossy(&retried.stderr),
        function_log()
    );
    let response: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert_eq!(response["deliveries"]["sent"], 1, "{response}");
    assert_eq!(response["formats"]["cloudwatch_alarm"], 1, "{response}");

    let lines: Vec<Value> = std::fs::read_to_string(logs.path().join("stdout.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &Value| v["message"] == "invocation summary")
        .collect();
    assert_eq!(lines.len(), 2, "{}", function_log());
    assert_eq!(lines[0]["level"], "ERROR");
    assert_eq!(lines[0]["summary"]["deliveries"]["failed"], 1);
    assert_eq!(lines[1]["level"], "INFO");
    assert_eq!(lines[1]["summary"]["alerts"], 1);
    let hooks = hook.captured();
    assert_eq!(hooks.len(), 2);
    let payload: Value = serde_json::from_slice(&hooks[1].body).expect("JSON");
    assert_eq!(payload["alerts"][0]["labels"]["alertname"], "api-5xx");
    assert_eq!(
        payload["alerts"][0]["labels"]["dimension_ApiName"],
        "orders"
    );
}
