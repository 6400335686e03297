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
    // Each summary line is an EMF document with the invocation's figures, valid as
    // CloudWatch reads it, followed by the per-receiver set.
    let log = std::fs::read_to_string(logs.path().join("stdout.log")).unwrap_or_default();
    let summaries: Vec<test_support::emf::Extracted> = test_support::emf::extract(&log)
        .into_iter()
        .filter(|e| e.message.as_deref() == Some("invocation summary"))
        .collect();
    assert_eq!(summaries.len(), 2, "{log}");
    assert_eq!(summaries[0].metrics["DeliveriesFailed"], 1.0);
    assert_eq!(summaries[1].metrics["DeliveriesSent"], 1.0);
    assert_eq!(summaries[1].dimensions["Function"], "alarm-handler");
    let hooks = hook.captured();
    assert_eq!(hooks.len(), 2);
    let payload: Value = serde_json::from_slice(&hooks[1].body).expect("JSON");
    assert_eq!(payload["alerts"][0]["labels"]["alertname"], "api-5xx");
    assert_eq!(
        payload["alerts"][0]["labels"]["dimension_ApiName"],
        "orders"
    );
}

/// Under Lambda the same binary answers the Alertmanager API through Function URL
/// events (the response is the Function URL response object) and runs the
/// scheduled flush (`{"alarm_handler": "flush"}`): a silence created through one
/// invocation is listed by the next, and a CloudWatch alarm held by `group_wait`
/// goes out at the flush after it.
#[tokio::test]
async fn function_url_requests_and_the_flush_schedule_are_served() {
    let hook = FakeServer::start().await;
    let moto = support::start_moto().await.expect("moto");
    let aws = test_support::sns_sqs::aws_config_for(&moto.address).await;
    crate::delivery_e2e::create_table(&aws, "lambda-api").await;
    let emulator = support::start_lambda_emulator(env!("CARGO_MANIFEST_DIR"))
        .await
        .expect("Lambda Runtime API emulator");
    let logs = &emulator.logs;
    let config = format!(
        "route: {{receiver: hook, group_wait: 2s}}\nreceivers:\n  - name: hook\n    webhook_configs: [{{url: '{}/hook'}}]\n\
         alarm_handler: {{state_table: lambda-api, idempotency_table: lambda-api, timers: true}}\n",
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
        .env("AWS_ENDPOINT_URL", &moto.address)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("ALARM_HANDLER_CONFIG", config)
        .stdout(stdout_log)
        .stderr(stderr_log)
        .kill_on_drop(true)
        .spawn()
        .expect("alarm-handler starts");
    let invoke = |name: &'static str, event: Value| {
        let path = logs.path().join(name);
        std::fs::write(&path, event.to_string()).expect("event");
        let emulator = &emulator;
        async move {
            let out = emulator
                .invoke(env!("CARGO_MANIFEST_DIR"), &path)
                .await
                .expect("cargo lambda invoke runs");
            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(
                out.status.success(),
                "{name}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_str::<Value>(stdout.trim())
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout}"))
        }
    };
    let url_event = |method: &str, path: &str, query: &str, body: &str| {
        json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {"content-type": "application/json"},
            "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1", "userAgent": "amtool"}},
            "body": body, "isBase64Encoded": false})
    };
    let now = chrono::Utc::now();
    let silence = json!({"matchers": [{"name": "alertname", "value": "muted", "isRegex": false, "isEqual": true}],
        "startsAt": now.to_rfc3339(), "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
        "createdBy": "test", "comment": "maintenance"});
    let created = invoke(
        "post-silence.json",
        url_event("POST", "/api/v2/silences", "", &silence.to_string()),
    )
    .await;
    assert_eq!(created["statusCode"], 200, "{created}");
    let body: Value = serde_json::from_str(created["body"].as_str().expect("body")).expect("JSON");
    let id = body["silenceID"].as_str().expect("silenceID").to_string();
    let listed = invoke(
        "list-silences.json",
        url_event(
            "GET",
            "/api/v2/silences",
            "filter=alertname%3D%22muted%22",
            "",
        ),
    )
    .await;
    assert_eq!(listed["statusCode"], 200, "{listed}");
    assert_eq!(listed["headers"]["content-type"], "application/json");
    let silences: Value =
        serde_json::from_str(listed["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(silences[0]["id"], id.as_str(), "{silences}");
    assert_eq!(silences[0]["status"]["state"], "active");
    let refused = invoke(
        "bad-silence.json",
        url_event("POST", "/api/v2/silences", "", "{not json"),
    )
    .await;
    assert_eq!(refused["statusCode"], 400, "{refused}");

    // The alarm changed state now: group_wait counts from the group's first alert, so
    // a fixed past time would make the group due at once (this test once held a date
    // that became the past).
    let now = chrono::Utc::now();
    let changed = now.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    let published = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let alarm = json!({"AlarmName": "queue-depth", "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed",
        "StateChangeTime": changed, "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:queue-depth",
        "OldStateValue": "OK", "AWSAccountId": "123456789012", "Region": "US East (N. Virginia)"})
    .to_string();
    let sns = json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:alerts:1",
        "Sns": {"Type": "Notification", "MessageId": "b1d1c0a0-0000-4000-8000-000000000001",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "Subject": "ALARM",
            "Message": alarm, "Timestamp": published, "SignatureVersion": "1", "Signature": "x",
            "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}}}]});
    let held = invoke("alarm.json", sns).await;
    assert_eq!(held["groups_waiting"], 1, "{held}");
    assert!(hook.captured().is_empty(), "sent before group_wait");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let flushed = invoke("flush.json", json!({"alarm_handler": "flush"})).await;
    assert_eq!(flushed["groups_flushed"], 1, "{flushed}");
    assert_eq!(flushed["deliveries"]["sent"], 1, "{flushed}");
    let hooks = hook.captured();
    assert_eq!(hooks.len(), 1);
    let payload: Value = serde_json::from_slice(&hooks[0].body).expect("JSON");
    assert_eq!(payload["alerts"][0]["labels"]["alertname"], "queue-depth");
}
