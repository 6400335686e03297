//! One run of a scraper build on the command line (`--event FILE --timeout S`), the way
//! the one-shot workloads use it: its own CPU time and peak RSS from wait4(2) as it
//! exits (not the harness's, which serves its targets and receiver at the same time),
//! exec-to-exit wall time, and its response, which says how many targets were up.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use test_support::child_usage::wait_with_usage;
use test_support::services::proc_peak_rss_bytes;

/// A scraper build under test: a label for the table and its binary.
#[derive(Debug, Clone)]
pub struct ScraperBuild {
    pub label: String,
    pub binary: PathBuf,
}

/// What one run cost and answered.
pub struct CliRun {
    pub cpu_seconds: f64,
    pub peak_rss_bytes: u64,
    pub wall_seconds: f64,
    pub response: serde_json::Value,
}

impl CliRun {
    /// `targets_up` of the response (0 when absent).
    pub fn targets_up(&self) -> u64 {
        self.response["targets_up"].as_u64().unwrap_or(0)
    }
}

/// The child's peak RSS, polled from `/proc/<pid>/status` (VmHWM, a high-water mark,
/// so a poll every few milliseconds misses only a peak in the last ones) until
/// `done`. wait4's `ru_maxrss` cannot be used: at exec Linux keeps the high-water
/// mark of the memory the child was spawned from, which is the harness's (hundreds of
/// MB once it holds W1's exposition and what the receiver got).
fn watch_peak_rss(pid: u32, done: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !done.load(Ordering::SeqCst) {
            peak = peak.max(proc_peak_rss_bytes(pid));
            std::thread::sleep(Duration::from_millis(3));
        }
        peak
    })
}

/// A scrape config for `targets` in one job, remote-writing to `write_url`.
pub fn config_yaml(targets: &[String], write_url: &str, scrape_timeout: &str) -> String {
    let quoted: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    format!(
        "global:\n  scrape_interval: {scrape_timeout}\n  scrape_timeout: {scrape_timeout}\nscrape_configs:\n  - job_name: bench\n    static_configs: [{{targets: [{}]}}]\nremote_write:\n  - url: {write_url}\n",
        quoted.join(", ")
    )
}

/// Runs `build` once on `config` (written into `dir`) with `--timeout timeout_seconds`,
/// under `wrapper` (e.g. valgrind and its arguments) when given. A run that exits
/// non-zero is an error carrying the end of its stderr.
pub async fn run(
    build: &ScraperBuild,
    config: &str,
    dir: &Path,
    timeout_seconds: u32,
    wrapper: &[OsString],
) -> Result<CliRun, String> {
    let config_path = dir.join("scraper.yaml");
    std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
    let event = dir.join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({ "config_file": config_path }).to_string(),
    )
    .map_err(|e| e.to_string())?;
    let stdout_path = dir.join("stdout.json");
    let stderr_path = dir.join("stderr.txt");
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(&build.binary);
            command
        }
        None => Command::new(&build.binary),
    };
    command
        .arg("--event")
        .arg(&event)
        .arg("--timeout")
        .arg(timeout_seconds.to_string())
        .env("RUST_LOG", "warn")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).map_err(|e| e.to_string())?)
        .stderr(std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?);
    let started = Instant::now();
    let child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", build.binary.display()))?;
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch_peak_rss(child.id(), done.clone());
    let usage = tokio::task::spawn_blocking(move || wait_with_usage(child, started))
        .await
        .map_err(|e| e.to_string())?;
    done.store(true, Ordering::SeqCst);
    let peak_rss_bytes = watcher.join().unwrap_or(0);
    if !usage.success {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let tail = stderr
            .get(stderr.len().saturating_sub(1500)..)
            .unwrap_or(&stderr);
        return Err(format!("{} failed: {tail}", build.label));
    }
    let stdout = std::fs::read_to_string(&stdout_path).map_err(|e| e.to_string())?;
    // The response is the whole of stdout (pretty-printed JSON).
    let response: serde_json::Value = serde_json::from_str(&stdout)
        .map_err(|e| format!("{}: stdout is not the JSON response: {e}", build.label))?;
    Ok(CliRun {
        cpu_seconds: usage.cpu_seconds,
        peak_rss_bytes,
        wall_seconds: usage.wall_seconds,
        response,
    })
}
