//! Config from an SSM parameter (moto) changes without a rebuild or redeploy: the
//! same warm scaler picks up a new policy, and a broken one fails the invocation
//! naming the field. The binary's CLI mode reads `SCALER_CONFIG_SSM_PARAMETER`
//! through the default AWS chain and `AWS_ENDPOINT_URL`, as it does in Lambda.

use test_support::kubernetes_stack as common;

use std::time::Duration;

use common::*;
use config_source::{ConfigReader, ConfigSource};
use scaler::LiveScaler;
use serde_json::json;

const PARAMETER: &str = "/metrics-pipeline/scaler";

async fn put_parameter(ssm: &aws_sdk_ssm::Client, value: &str) -> Result<(), String> {
    ssm.put_parameter()
        .name(PARAMETER)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| aws_sdk_ssm::error::DisplayErrorContext(e).to_string())?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_ssm_config_applies_to_the_warm_scaler() -> Result<(), String> {
    let stack = start_stack().await?;
    stack.web_firing().await?;
    let (aws, standin) = (&stack.aws, &stack.standin);
    let ssm = aws_sdk_ssm::Client::new(aws);
    put_parameter(&ssm, &stack.config_with(&web_policy(true, "10"))).await?;

    let reader = ConfigReader::with_client(ssm.clone()).max_age(Duration::ZERO);
    let live = LiveScaler::new(
        ConfigSource::SsmParameter(PARAMETER.into()),
        reader,
        aws.clone(),
    );
    let now = chrono::Utc::now();
    let dry = live
        .handle(&json!({"reconcile": true}), now)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!((dry.dry_run_changes, dry.changes), (1, 0));
    assert_eq!(
        standin.get("deployments", "web", "web").await?["spec"]["replicas"],
        3
    );

    // The operator turns dry run off: the next invocation applies it.
    put_parameter(&ssm, &stack.config_with(&web_policy(false, "10"))).await?;
    let real = live
        .handle(&json!({"reconcile": true}), now)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(real.changes, 1);
    assert_eq!(
        standin.get("deployments", "web", "web").await?["spec"]["replicas"],
        5
    );

    // A broken config fails the invocation, naming the field and the parameter.
    put_parameter(&ssm, &stack.config_with(&web_policy(false, "-1"))).await?;
    let err = match live.handle(&json!({"reconcile": true}), now).await {
        Err(e) => e.to_string(),
        Ok(s) => return Err(format!("broken config accepted: {s:?}")),
    };
    assert!(
        err.contains("policies[0].ceiling") && err.contains(PARAMETER),
        "{err}"
    );
    Ok(())
}

/// The release-style binary in CLI mode: config from SSM through the environment,
/// event from a file, summary JSON on stdout; a bad config exits 2 before any work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_reads_ssm_config_and_prints_the_summary() -> Result<(), String> {
    let stack = start_stack().await?;
    stack.web_firing().await?;
    let (aws, standin) = (&stack.aws, &stack.standin);
    let ssm = aws_sdk_ssm::Client::new(aws);
    put_parameter(&ssm, &stack.config_with(&web_policy(false, "10"))).await?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let event = write_file(
        dir.path(),
        "event.json",
        &alarm_event("web-5xx", "ALARM", "OK").to_string(),
    )?;

    let run = |parameter: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_scaler"))
            .arg("--event")
            .arg(&event)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", &stack.moto.address)
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("SCALER_CONFIG_SSM_PARAMETER", parameter)
            .output()
            .map_err(|e| e.to_string())
    };
    let out = run(PARAMETER)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {stderr}"))?;
    assert_eq!(summary["changes"], 1, "{summary}");
    assert_eq!(summary["policies"][0]["to"]["replicas"], 5);
    assert_eq!(
        standin.get("deployments", "web", "web").await?["spec"]["replicas"],
        5
    );

    let missing = run("/does/not/exist")?;
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/does/not/exist"));
    Ok(())
}
