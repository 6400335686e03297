//! The peers, vmagent and Prometheus in agent mode, scraping the same targets and
//! remote-writing to their own counting receiver, measured from `/proc` (they keep
//! running, so there is no rusage to read): CPU as a delta of utime + stime over a
//! window, peak RSS as VmHWM at its end.
//!
//! Two windows. For one huge target (W1), the first scrape: from the moment the
//! target sees the peer's GET until the receiver holds every sample, so the idle
//! wait before it (both peers delay a target's first scrape by a hash-derived offset
//! within the interval) is not counted; the CPU from readiness is kept beside it.
//! For many targets or a short interval (W2, W3), the steady state: CPU and samples
//! delivered over a fixed window after the first full cycle, divided, which is what
//! a peer costs per cycle while it runs.

use std::time::{Duration, Instant};

use test_support::fake_http::FakeServer;
use test_support::services::{self, proc_cpu_seconds, proc_peak_rss_bytes, Service};
use test_support::vmagent::{self, Vmagent};

/// Which peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Vmagent,
    PrometheusAgent,
}

impl Peer {
    pub fn label(self) -> &'static str {
        match self {
            Peer::Vmagent => "vmagent",
            Peer::PrometheusAgent => "prometheus agent",
        }
    }
}

/// A started peer; stopped when dropped.
pub enum Running {
    Vmagent(Vmagent),
    PrometheusAgent(Service),
}

impl Running {
    pub fn pid(&self) -> u32 {
        match self {
            Running::Vmagent(v) => v.pid(),
            Running::PrometheusAgent(s) => s.pid(),
        }
    }
}

/// Starts `peer` scraping `targets` (one job) every `interval`, remote-writing to
/// `write_url`; returns once it is ready. `stream_parse` starts vmagent with
/// `-promscrape.streamParse`: its mode for targets with millions of samples, which it
/// also switches to by itself after a first scrape larger than 1 MB, so a running
/// vmagent scrapes a huge target that way from its second scrape on.
pub async fn start(
    peer: Peer,
    targets: &[String],
    write_url: &str,
    interval: &str,
    stream_parse: bool,
) -> Result<Running, String> {
    match peer {
        Peer::Vmagent => {
            let quoted: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
            let config = format!(
                "global: {{scrape_interval: {interval}, scrape_timeout: {interval}}}\nscrape_configs:\n  - job_name: bench\n    static_configs: [{{targets: [{}]}}]\n",
                quoted.join(", ")
            );
            // W1's exposition is ~150 MB, above vmagent's 16 MB default limit.
            vmagent::start_vmagent(&config, write_url, "1GiB", stream_parse)
                .await
                .map(Running::Vmagent)
        }
        Peer::PrometheusAgent => {
            // The helper quotes its one target; joined this way the list holds all.
            services::start_prometheus_agent(&targets.join("', '"), write_url, interval)
                .await
                .map(Running::PrometheusAgent)
        }
    }
}

/// A peer's first scrape of one target.
pub struct FirstScrape {
    /// From the target's first GET until the receiver held every sample.
    pub cpu_seconds: f64,
    /// From readiness (includes the idle wait for the first scrape).
    pub cpu_seconds_from_ready: f64,
    pub samples: usize,
    pub peak_rss_bytes: u64,
}

fn gets(server: &FakeServer) -> usize {
    server
        .captured()
        .iter()
        .filter(|c| c.method == "GET")
        .count()
}

/// Starts `peer` on `exporter` (interval `interval`) and measures its first scrape,
/// which must deliver at least `expected` samples to `receiver` within `deadline`.
/// `stream_parse` starts vmagent with `-promscrape.streamParse` (see `start`).
pub async fn first_scrape(
    peer: Peer,
    exporter: &FakeServer,
    receiver: &FakeServer,
    expected: usize,
    interval: Duration,
    deadline: Duration,
    stream_parse: bool,
) -> Result<FirstScrape, String> {
    let gets_before = gets(exporter);
    let running = start(
        peer,
        &[exporter.target()],
        &format!("{}/api/v1/write", receiver.base_url()),
        &format!("{}s", interval.as_secs()),
        stream_parse,
    )
    .await?;
    let pid = running.pid();
    let cpu_ready = proc_cpu_seconds(pid);
    let ready = Instant::now();
    while gets(exporter) == gets_before {
        if ready.elapsed() > interval + Duration::from_secs(30) {
            return Err(format!("{} never scraped the target", peer.label()));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cpu_start = proc_cpu_seconds(pid);
    let scraping = Instant::now();
    while receiver.accepted_samples() < expected {
        if scraping.elapsed() > deadline {
            return Err(format!(
                "{} delivered {} of {expected} samples in {} s",
                peer.label(),
                receiver.accepted_samples(),
                deadline.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu_end = proc_cpu_seconds(pid);
    Ok(FirstScrape {
        cpu_seconds: cpu_end - cpu_start,
        cpu_seconds_from_ready: cpu_end - cpu_ready,
        samples: receiver.accepted_samples(),
        peak_rss_bytes: proc_peak_rss_bytes(pid),
    })
}

/// A peer's figures over a steady-state window.
pub struct SteadyState {
    pub cpu_seconds: f64,
    /// Delivered to the receiver during the window.
    pub samples: usize,
    /// Delivered from start until the end of the window (and a grace period).
    pub samples_total: usize,
    /// Whole intervals from readiness to the end of the window: each target was
    /// scraped at least this often.
    pub whole_intervals: u64,
    pub peak_rss_bytes: u64,
    /// vmagent's own scrape count over the window (`vm_promscrape_scrapes_total`).
    pub scrapes: Option<f64>,
}

/// Waits until `receiver` holds `cycle_samples` (one full cycle), then measures CPU
/// and delivered samples over `window`. `samples_total` is read once the receiver
/// holds `whole_intervals x cycle_samples` or a grace of one interval + 15 s passed,
/// so the caller can check nothing was lost.
pub async fn steady_state(
    running: &Running,
    receiver: &FakeServer,
    cycle_samples: usize,
    interval: Duration,
    window: Duration,
) -> Result<SteadyState, String> {
    let pid = running.pid();
    let ready = Instant::now();
    while receiver.accepted_samples() < cycle_samples {
        if ready.elapsed() > interval * 2 + Duration::from_secs(60) {
            return Err(format!(
                "pid {pid} delivered {} of a cycle's {cycle_samples} samples",
                receiver.accepted_samples()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let scrapes_before = vmagent_scrapes(running).await?;
    let samples_before = receiver.accepted_samples();
    let cpu_before = proc_cpu_seconds(pid);
    tokio::time::sleep(window).await;
    let cpu_after = proc_cpu_seconds(pid);
    let samples_after = receiver.accepted_samples();
    let scrapes_after = vmagent_scrapes(running).await?;
    let whole_intervals = (ready.elapsed().as_secs_f64() / interval.as_secs_f64()).floor() as u64;
    let needed = whole_intervals as usize * cycle_samples;
    let grace = Instant::now();
    while receiver.accepted_samples() < needed
        && grace.elapsed() < interval + Duration::from_secs(15)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(SteadyState {
        cpu_seconds: cpu_after - cpu_before,
        samples: samples_after - samples_before,
        samples_total: receiver.accepted_samples(),
        whole_intervals,
        peak_rss_bytes: proc_peak_rss_bytes(pid),
        scrapes: scrapes_before.zip(scrapes_after).map(|(b, a)| a - b),
    })
}

async fn vmagent_scrapes(running: &Running) -> Result<Option<f64>, String> {
    match running {
        Running::Vmagent(v) => v.own_metric("vm_promscrape_scrapes_total").await,
        Running::PrometheusAgent(_) => Ok(None),
    }
}
