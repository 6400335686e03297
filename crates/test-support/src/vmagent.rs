//! Debian's vmagent (package `victoria-metrics`), the peer the scraper's hot-path
//! benchmark compares with: started on a Prometheus scrape config, remote-writing to
//! one URL, with its on-disk queue and HTTP listener in its own temp dir and on a free
//! loopback port, killed and reaped when dropped. Missing, it is an error telling to
//! run `scripts/setup.sh`, like every other service here.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::services::free_port;

/// Where `scripts/setup.sh` installs it.
pub const VMAGENT_BINARY: &str = "/usr/bin/vmagent";

/// A running vmagent; killed and reaped on drop.
pub struct Vmagent {
    child: Child,
    /// Its scratch dir: the scrape config, the remote-write queue, its stderr.
    pub dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`, where it serves `/health` and its own `/metrics`.
    pub base_url: String,
}

impl Drop for Vmagent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Vmagent {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The sum of every sample of `metric` (all label sets) on vmagent's own
    /// `/metrics`, e.g. `vm_promscrape_scrapes_total`; None when it is not exposed.
    pub async fn own_metric(&self, metric: &str) -> Result<Option<f64>, String> {
        let text = reqwest::get(format!("{}/metrics", self.base_url))
            .await
            .map_err(|e| format!("vmagent /metrics: {e}"))?
            .text()
            .await
            .map_err(|e| format!("vmagent /metrics: {e}"))?;
        let mut found = None;
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(metric) else {
                continue;
            };
            // The name must end here: `metric 1` or `metric{...} 1`, not `metric_x 1`.
            if !(rest.starts_with(' ') || rest.starts_with('{')) {
                continue;
            }
            let value = rest
                .rsplit_once(' ')
                .and_then(|(_, v)| v.parse::<f64>().ok())
                .ok_or_else(|| format!("vmagent /metrics: unreadable line {line:?}"))?;
            found = Some(found.unwrap_or(0.0) + value);
        }
        Ok(found)
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        text.get(start..).unwrap_or("").to_string()
    }
}

/// Starts vmagent on `scrape_config_yaml` (a Prometheus config with `scrape_configs`),
/// remote-writing to `remote_write_url`, and waits until `/health` answers.
/// `max_scrape_size` raises vmagent's 16 MB default response limit (as a flag value,
/// e.g. `1GiB`), for targets larger than that; `stream_parse` sets
/// `-promscrape.streamParse` (parse while reading, for huge targets).
pub async fn start_vmagent(
    scrape_config_yaml: &str,
    remote_write_url: &str,
    max_scrape_size: &str,
    stream_parse: bool,
) -> Result<Vmagent, String> {
    if !Path::new(VMAGENT_BINARY).exists() {
        return Err(format!(
            "{VMAGENT_BINARY} is missing: run `bash scripts/setup.sh` first"
        ));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = dir.path().join("scrape.yml");
    std::fs::write(&config, scrape_config_yaml).map_err(|e| e.to_string())?;
    let address = format!("127.0.0.1:{}", free_port());
    let stderr = std::fs::File::create(dir.path().join("stderr.log")).map_err(|e| e.to_string())?;
    let child = Command::new(VMAGENT_BINARY)
        .arg(format!("-promscrape.config={}", config.display()))
        .arg(format!("-remoteWrite.url={remote_write_url}"))
        .arg(format!(
            "-remoteWrite.tmpDataPath={}",
            dir.path().join("queue").display()
        ))
        .arg(format!("-httpListenAddr={address}"))
        .arg(format!("-promscrape.maxScrapeSize={max_scrape_size}"))
        .arg(format!("-promscrape.streamParse={stream_parse}"))
        .arg("-loggerLevel=WARN")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {VMAGENT_BINARY}: {e}"))?;
    let mut vmagent = Vmagent {
        child,
        dir,
        base_url: format!("http://{address}"),
    };
    wait_healthy(&mut vmagent).await?;
    Ok(vmagent)
}

/// Polls `/health` until it answers 200, or fails with vmagent's stderr.
async fn wait_healthy(vmagent: &mut Vmagent) -> Result<(), String> {
    let client = reqwest::Client::new();
    let url = format!("{}/health", vmagent.base_url);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(status)) = vmagent.child.try_wait() {
            return Err(format!(
                "vmagent exited with {status}: {}",
                vmagent.stderr_tail()
            ));
        }
        if let Ok(response) = client.get(&url).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!(
        "{url} not ready after 30 s: {}",
        vmagent.stderr_tail()
    ))
}
