//! The alarm-handler binary under a real Lambda Runtime API (cargo-lambda's emulator):
//! an SNS event is handled, a failed delivery is reported to the runtime as an error
//! (so Lambda retries), and each invocation logs one JSON summary line.

use test_support::fake_http;
use test_support::services as support;

use fake_http::{FakeServer, Reply};
use serde_json::{json, Value};
use tokio::process::Command;

#[tokio::test]
async fn failures_reach_the_runtime_and_summaries_are_logged() {
    let hook = FakeServer::start().await;
    hook.script([Reply::status(500)]);
    let emulator = support::start_lambda_emulator(env!("CARGO_MANIFEST_DIR"))
        .await
        .expect("Lambda Runtime API emulator");
    let logs = &emulator.logs;
    let config = format!(
        "route: {{receiver: hook}}\nreceivers:\n  - name: hook\n    webhook_configs: [{{url: '{}/hook'}}]\n",
        hook.base_url()
    );
    let stdout_log = std::fs::File::create(logs.path().join("stdout.log")).expect("log");
    let stderr_log = std::fs::File::create(logs.path().join("stderr.log")).expect("log");
    let _function = Command::new(env!("CARGO_BIN_EXE_alarm-handler"))
        .env("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api())
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

    let failed = emulator
        .invoke(env!("CARGO_MANIFEST_DIR"), &event_file)
        .await
        .expect("cargo lambda invoke runs");
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
    // The runtime reports the typed Diagnostic: errorType names the failure, not the
    // Rust type (`alloc::string::String` before).
    assert!(
        failed_text.contains("InvocationError.DeliveryFailed"),
        "errorType missing: {failed_text}"
    );

    let retried = emulator
        .invoke(env!("CARGO_MANIFEST_DIR"), &event_file)
        .await
        .expect("cargo lambda invoke runs");
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
