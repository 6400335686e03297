//! A scraper build under the fake Runtime API: how long from exec until it polls for
//! its first invocation (the local part of a cold start), and what a warm invocation
//! costs: the process' CPU time between the response of invocation 1 and that of
//! invocation N+1, divided by N. `/proc` counts CPU in 10 ms ticks, so N is large
//! (200 by default) for the per-invocation figure to mean something.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::runtime_api::{RuntimeApi, RuntimeEvent};
use crate::scraper_cli::ScraperBuild;
use test_support::services::proc_peak_rss_bytes;

/// A warm process' figures.
pub struct Warm {
    pub cpu_seconds_per_invocation: f64,
    pub peak_rss_bytes: u64,
    /// Mean `samples_sent` per invocation.
    pub samples_per_invocation: f64,
}

/// How long one invocation may take before the bench gives up on it.
const INVOCATION_BUDGET: Duration = Duration::from_secs(60);

/// Starts `build` as Lambda would, against `api`.
fn spawn_under(build: &ScraperBuild, api: &RuntimeApi, dir: &Path) -> Result<Child, String> {
    let stdout = std::fs::File::create(dir.join("lambda-stdout.log")).map_err(|e| e.to_string())?;
    let stderr = std::fs::File::create(dir.join("lambda-stderr.log")).map_err(|e| e.to_string())?;
    Command::new(&build.binary)
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "scraper-bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/scraper-bench")
        .env("AWS_REGION", "us-east-1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", build.binary.display()))
}

/// Stops a process this bench started (by its handle) and reaps it.
fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The next event from the function, failing when it exits or stays silent too long.
async fn next_event(
    events: &mut mpsc::UnboundedReceiver<RuntimeEvent>,
    child: &mut Child,
    dir: &Path,
) -> Result<RuntimeEvent, String> {
    let started = Instant::now();
    loop {
        if let Ok(received) = tokio::time::timeout(Duration::from_millis(500), events.recv()).await
        {
            return received.ok_or_else(|| "the runtime API stopped".to_string());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let stderr = std::fs::read_to_string(dir.join("lambda-stderr.log")).unwrap_or_default();
            return Err(format!("the function exited with {status}: {stderr}"));
        }
        if started.elapsed() > INVOCATION_BUDGET {
            return Err("the function did nothing for 60 s".into());
        }
    }
}

/// Exec to the first `/next` poll of `build` on `config_path`, once.
pub async fn time_to_ready(build: &ScraperBuild, config_path: &Path) -> Result<f64, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let event = serde_json::json!({ "config_file": config_path });
    let (api, mut events) = RuntimeApi::start(&event, 0, INVOCATION_BUDGET).await?;
    let started = Instant::now();
    let mut child = spawn_under(build, &api, dir.path())?;
    let result = match next_event(&mut events, &mut child, dir.path()).await {
        Ok(RuntimeEvent::Next { at }) => Ok(at.duration_since(started).as_secs_f64()),
        Ok(other) => Err(format!(
            "{}: expected a /next poll first, got {}",
            build.label,
            other.describe()
        )),
        Err(e) => Err(format!("{}: {e}", build.label)),
    };
    stop(child);
    result
}

/// Checks one invocation's response: the run succeeded, every target was up and
/// samples were sent. Returns its `samples_sent`.
fn check_response(label: &str, request_id: &str, body: &[u8], targets: u64) -> Result<u64, String> {
    let response: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("{label}: response {request_id} is not JSON: {e}"))?;
    let up = response["targets_up"].as_u64().unwrap_or(0);
    let down = response["targets_down"].as_u64().unwrap_or(u64::MAX);
    let errors = response["errors"].as_u64().unwrap_or(u64::MAX);
    let sent = response["samples_sent"].as_u64().unwrap_or(0);
    if up != targets || down != 0 || errors != 0 || sent == 0 {
        return Err(format!(
            "{label}: invocation {request_id}: targets_up {up} (want {targets}), targets_down {down}, errors {errors}, samples_sent {sent}: {response}"
        ));
    }
    Ok(sent)
}

/// `invocations + 1` invocations of `build` on `config_path` in one process; the
/// first is the cold one and is left out of the per-invocation CPU.
pub async fn warm_invocations(
    build: &ScraperBuild,
    config_path: &Path,
    targets: u64,
    invocations: usize,
) -> Result<Warm, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let event = serde_json::json!({ "config_file": config_path });
    let (api, mut events) = RuntimeApi::start(&event, invocations + 1, INVOCATION_BUDGET).await?;
    let mut child = spawn_under(build, &api, dir.path())?;
    api.set_pid(child.id());
    let mut answered = 0;
    let mut cpu_first = 0.0;
    let mut cpu_last = 0.0;
    let mut samples = 0u64;
    let outcome = loop {
        let event = match next_event(&mut events, &mut child, dir.path()).await {
            Ok(event) => event,
            Err(e) => break Err(format!("{}: {e}", build.label)),
        };
        match event {
            RuntimeEvent::Next { .. } => {}
            RuntimeEvent::Response {
                request_id,
                body,
                cpu_seconds,
            } => {
                match check_response(&build.label, &request_id, &body, targets) {
                    Ok(sent) if answered > 0 => samples += sent,
                    Ok(_) => {}
                    Err(e) => break Err(e),
                }
                answered += 1;
                if answered == 1 {
                    cpu_first = cpu_seconds;
                }
                if answered == invocations + 1 {
                    cpu_last = cpu_seconds;
                    break Ok(());
                }
            }
            other => break Err(format!("{}: {}", build.label, other.describe())),
        }
    };
    let peak_rss_bytes = proc_peak_rss_bytes(child.id());
    stop(child);
    outcome?;
    Ok(Warm {
        cpu_seconds_per_invocation: (cpu_last - cpu_first) / invocations as f64,
        peak_rss_bytes,
        samples_per_invocation: samples as f64 / invocations as f64,
    })
}
