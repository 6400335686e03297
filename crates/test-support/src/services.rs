//! Real local services for tests and benchmarks: Debian's Prometheus (as the AMP
//! stand-in with its remote-write receiver, or in agent mode as the benchmark peer)
//! and node-exporter, each on a free loopback port in its own temp dir, stopped when
//! dropped. A missing binary is an error telling to run `scripts/setup.sh`; nothing is
//! ever skipped.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root (where `Cargo.toml` with `[workspace]` is).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|p| {
            std::fs::read_to_string(p.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The virtualenv's Python (botocore, moto), as `scripts/setup.sh` creates it.
pub fn venv_python() -> PathBuf {
    std::env::var_os("PIPELINE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"))
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A running process with its scratch dir; killed and reaped on drop.
pub struct Service {
    child: Child,
    pub dir: tempfile::TempDir,
    pub address: String,
}

impl Service {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        text.get(start..).unwrap_or("").to_string()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn require_binary(path: &str) -> Result<(), String> {
    if Path::new(path).exists() {
        Ok(())
    } else {
        Err(format!(
            "{path} is missing: run `bash scripts/setup.sh` first"
        ))
    }
}

fn spawn(
    binary: &str,
    args: &[String],
    dir: tempfile::TempDir,
    address: String,
) -> Result<Service, String> {
    spawn_with_env(binary, args, &[], dir, address)
}

fn spawn_with_env(
    binary: &str,
    args: &[String],
    env: &[(&str, String)],
    dir: tempfile::TempDir,
    address: String,
) -> Result<Service, String> {
    require_binary(binary)?;
    let stderr = std::fs::File::create(dir.path().join("stderr.log")).map_err(|e| e.to_string())?;
    let child = Command::new(binary)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {binary}: {e}"))?;
    Ok(Service {
        child,
        dir,
        address,
    })
}

/// Polls `url` until it answers 200, or fails with the service's stderr.
async fn wait_ready(service: &mut Service, url: &str) -> Result<(), String> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(status)) = service.child.try_wait() {
            return Err(format!("exited with {status}: {}", service.stderr_tail()));
        }
        if let Ok(response) = client.get(url).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "{url} not ready after 30 s: {}",
        service.stderr_tail()
    ))
}

/// Debian's Prometheus with the remote-write receiver: the AMP stand-in.
pub struct Prometheus {
    pub service: Service,
    pub base_url: String,
    pub write_url: String,
}

/// Starts `/usr/bin/prometheus --web.enable-remote-write-receiver` on a free port.
pub async fn start_prometheus_receiver() -> Result<Prometheus, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(dir.path().join("prometheus.yml"), "global: {}\n").map_err(|e| e.to_string())?;
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let args = vec![
        format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--web.listen-address={address}"),
        "--web.enable-remote-write-receiver".to_string(),
        "--log.level=warn".to_string(),
    ];
    let mut service = spawn("/usr/bin/prometheus", &args, dir, address.clone())?;
    let base_url = format!("http://{address}");
    wait_ready(&mut service, &format!("{base_url}/-/ready")).await?;
    Ok(Prometheus {
        service,
        write_url: format!("{base_url}/api/v1/write"),
        base_url,
    })
}

impl Prometheus {
    /// An instant query: each series' labels and value.
    pub async fn query(&self, expr: &str) -> Result<Vec<(BTreeMap<String, String>, f64)>, String> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", self.base_url),
            &[("query", expr)],
        )
        .map_err(|e| e.to_string())?;
        let response = reqwest::Client::new()
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let text = response.text().await.map_err(|e| e.to_string())?;
        let body: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(format!("query {expr:?} failed: {body}"));
        }
        let mut out = Vec::new();
        for item in body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let labels: BTreeMap<String, String> =
                serde_json::from_value(item["metric"].clone()).map_err(|e| e.to_string())?;
            let text = item["value"][1].as_str().unwrap_or("NaN");
            let value = match text {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                other => other.parse().unwrap_or(f64::NAN),
            };
            out.push((labels, value));
        }
        Ok(out)
    }

    /// Retries `query` until it returns at least one series (the receiver makes
    /// samples queryable right away, but give it a moment), up to 10 s.
    pub async fn query_until_found(
        &self,
        expr: &str,
    ) -> Result<Vec<(BTreeMap<String, String>, f64)>, String> {
        let started = Instant::now();
        loop {
            let result = self.query(expr).await?;
            if !result.is_empty() || started.elapsed() > Duration::from_secs(10) {
                return Ok(result);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Debian's node-exporter on a free loopback port; `address` is `127.0.0.1:PORT`.
pub async fn start_node_exporter() -> Result<Service, String> {
    start_node_exporter_on("127.0.0.1").await
}

/// Debian's node-exporter on `ip` (any 127.0.0.0/8 address: Linux answers on all of
/// them, so a test can give pods and nodes their own IPs), at a free port.
pub async fn start_node_exporter_on(ip: &str) -> Result<Service, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let address = format!("{ip}:{}", free_port());
    let args = vec![format!("--web.listen-address={address}")];
    let mut service = spawn(
        "/usr/bin/prometheus-node-exporter",
        &args,
        dir,
        address.clone(),
    )?;
    wait_ready(&mut service, &format!("http://{address}/metrics")).await?;
    Ok(service)
}

/// Debian's Prometheus in agent mode scraping `scrape_target` every `interval` and
/// remote-writing to `remote_write_url`: the benchmark peer.
pub async fn start_prometheus_agent(
    scrape_target: &str,
    remote_write_url: &str,
    interval: &str,
) -> Result<Service, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = format!(
        "global: {{scrape_interval: {interval}, scrape_timeout: {interval}}}\nscrape_configs:\n  - job_name: bench\n    static_configs: [{{targets: ['{scrape_target}']}}]\nremote_write:\n  - url: {remote_write_url}\n"
    );
    std::fs::write(dir.path().join("agent.yml"), config).map_err(|e| e.to_string())?;
    let address = format!("127.0.0.1:{}", free_port());
    let args = vec![
        "--enable-feature=agent".to_string(),
        format!("--config.file={}", dir.path().join("agent.yml").display()),
        format!("--storage.agent.path={}", dir.path().join("wal").display()),
        format!("--web.listen-address={address}"),
        "--log.level=warn".to_string(),
    ];
    let mut service = spawn("/usr/bin/prometheus", &args, dir, address.clone())?;
    wait_ready(&mut service, &format!("http://{address}/-/ready")).await?;
    Ok(service)
}

/// Debian's Prometheus (server mode) with `config_yaml`, on a free port; `address` is
/// `http://127.0.0.1:PORT`. For comparing discovery with a real Prometheus
/// (`/api/v1/targets`).
pub async fn start_prometheus_with_config(config_yaml: &str) -> Result<Service, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(dir.path().join("prometheus.yml"), config_yaml).map_err(|e| e.to_string())?;
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let args = vec![
        format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--log.level=warn".to_string(),
    ];
    let mut service = spawn("/usr/bin/prometheus", &args, dir, address.clone())?;
    wait_ready(&mut service, &format!("{address}/-/ready")).await?;
    Ok(service)
}

/// User + system CPU seconds of a live process, from /proc.
pub fn proc_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz.max(1.0)
}

/// Peak resident set size (VmHWM) of a live process, from /proc.
pub fn proc_peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// `moto_server` (PyPI's moto, from `.venv`) on a free loopback port: the stand-in for
/// AWS APIs (STS, CloudWatch, SNS, SQS, EKS, ...). `address` is `http://127.0.0.1:PORT`.
/// Started through `tests/moto/launcher.py`, which only patches what moto cannot
/// model (see there).
pub async fn start_moto() -> Result<Service, String> {
    start_moto_with_env(&[]).await
}

/// [`start_moto`] with environment variables for the launcher's patches (e.g.
/// `MOTO_EKS_CLUSTERS`: DescribeCluster answers naming a real endpoint and CA).
pub async fn start_moto_with_env(env: &[(&str, String)]) -> Result<Service, String> {
    let python = venv_python().to_string_lossy().into_owned();
    let launcher = workspace_root().join("tests/moto/launcher.py");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let args = vec![
        launcher.to_string_lossy().into_owned(),
        "-H".to_string(),
        "127.0.0.1".to_string(),
        "-p".to_string(),
        port.to_string(),
    ];
    let mut service = spawn_with_env(&python, &args, env, dir, address.clone())?;
    wait_ready(&mut service, &format!("{address}/moto-api/")).await?;
    Ok(service)
}

/// Debian's Alertmanager with `config_yaml` (plus `files` written next to it, e.g.
/// template files referenced by relative path), no clustering, on a free port;
/// `address` is `http://127.0.0.1:PORT`.
pub async fn start_alertmanager(
    config_yaml: &str,
    files: &[(&str, &str)],
) -> Result<Service, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(dir.path().join("alertmanager.yml"), config_yaml).map_err(|e| e.to_string())?;
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).map_err(|e| e.to_string())?;
    }
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let args = vec![
        format!(
            "--config.file={}",
            dir.path().join("alertmanager.yml").display()
        ),
        format!("--storage.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--cluster.listen-address=".to_string(),
        "--log.level=warn".to_string(),
    ];
    let mut service = spawn(
        "/usr/bin/prometheus-alertmanager",
        &args,
        dir,
        address.clone(),
    )?;
    wait_ready(&mut service, &format!("{address}/-/ready")).await?;
    Ok(service)
}

/// Debian's Prometheus evaluating `rules_yaml` every second and sending alerts to
/// the Alertmanager at `alertmanager_address` (`http://127.0.0.1:PORT`).
pub async fn start_prometheus_with_rules(
    rules_yaml: &str,
    alertmanager_address: &str,
) -> Result<Service, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let target = alertmanager_address.trim_start_matches("http://");
    let config = format!(
        "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{target}']\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).map_err(|e| e.to_string())?;
    std::fs::write(dir.path().join("rules.yml"), rules_yaml).map_err(|e| e.to_string())?;
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let args = vec![
        format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--web.listen-address={address}"),
        "--log.level=warn".to_string(),
        // Alerts that fire before the Alertmanager is discovered are dropped and
        // only resent after the resend delay (1m by default).
        "--rules.alert.resend-delay=1s".to_string(),
    ];
    let mut service = spawn(
        "/usr/bin/prometheus",
        &args,
        dir,
        format!("http://{address}"),
    )?;
    wait_ready(&mut service, &format!("http://{address}/-/ready")).await?;
    Ok(service)
}

/// cargo-lambda's Lambda Runtime API emulator (`cargo lambda watch
/// --only-lambda-apis`, from `.venv`), ready on a free loopback port; killed on drop.
pub struct LambdaEmulator {
    _child: tokio::process::Child,
    pub port: u16,
    /// The emulator's stderr and anything else a test wants to keep next to it.
    pub logs: tempfile::TempDir,
}

impl LambdaEmulator {
    /// `AWS_LAMBDA_RUNTIME_API` for a function binary.
    pub fn runtime_api(&self) -> String {
        format!("http://127.0.0.1:{}/.rt", self.port)
    }

    /// `cargo lambda invoke` with `event_file` against this emulator.
    pub async fn invoke(
        &self,
        manifest_dir: &str,
        event_file: &Path,
    ) -> Result<std::process::Output, String> {
        tokio::process::Command::new(workspace_root().join(".venv/bin/cargo-lambda"))
            .args(["lambda", "invoke", "-A", "127.0.0.1", "-P"])
            .arg(self.port.to_string())
            .arg("--data-file")
            .arg(event_file)
            .arg("_")
            .current_dir(manifest_dir)
            .output()
            .await
            .map_err(|e| format!("cargo lambda invoke: {e}"))
    }
}

/// Starts the emulator in `manifest_dir` (a function's crate) and waits until it
/// accepts connections (30 s at most).
pub async fn start_lambda_emulator(manifest_dir: &str) -> Result<LambdaEmulator, String> {
    let cargo_lambda = workspace_root().join(".venv/bin/cargo-lambda");
    require_binary(&cargo_lambda.to_string_lossy())?;
    let port = free_port();
    let logs = tempfile::tempdir().map_err(|e| e.to_string())?;
    let log = std::fs::File::create(logs.path().join("emulator.log")).map_err(|e| e.to_string())?;
    let child = tokio::process::Command::new(&cargo_lambda)
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
        ])
        .arg(port.to_string())
        .current_dir(manifest_dir)
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start cargo lambda watch: {e}"))?;
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(format!(
                "runtime API did not start: {}",
                std::fs::read_to_string(logs.path().join("emulator.log")).unwrap_or_default()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(LambdaEmulator {
        _child: child,
        port,
        logs,
    })
}
