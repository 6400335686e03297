//! Whole path, side by side with Debian's Prometheus in agent mode: both scrape the same
//! large target (1M samples by default) and remote-write to the same local receiver.
//! Reports CPU seconds and peak RSS per million samples and their ratios.
//!
//! Run: `cargo bench -p scraper --bench vs_prometheus_agent` (after scripts/setup.sh).
//! `BENCH_SAMPLES=N` changes the target's size.

// A benchmark is test code (a failed step panics), and it reads the peer's CPU time
// and peak RSS with wait4(2), which has no safe wrapper in std.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unsafe_code,
    missing_docs
)]

use test_support::fake_http;
use test_support::services as support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fake_http::FakeServer;

/// `families` x `per_family` gauge series with three labels each, like a busy exporter.
fn big_exposition(samples: usize) -> Vec<u8> {
    let per_family = 500;
    let families = samples.div_ceil(per_family);
    let mut text = String::with_capacity(samples * 90);
    let mut written = 0;
    'outer: for f in 0..families {
        text.push_str(&format!(
            "# HELP bench_metric_{f} Benchmark family {f}.\n# TYPE bench_metric_{f} gauge\n"
        ));
        for s in 0..per_family {
            if written == samples {
                break 'outer;
            }
            text.push_str(&format!(
                "bench_metric_{f}{{pod=\"pod-{}\",namespace=\"ns-{}\",container=\"c{s}\"}} {}.5\n",
                s % 50,
                f % 7,
                s * 3 + f
            ));
            written += 1;
        }
    }
    text.into_bytes()
}

fn samples_received(server: &FakeServer) -> usize {
    server.accepted_samples()
}

struct Measured {
    cpu_seconds: f64,
    peak_rss_bytes: u64,
    samples: usize,
    wall: Duration,
}

/// Runs the release scraper binary once and reads its CPU time and peak RSS from wait4.
fn run_scraper(exporter: &FakeServer, receiver: &FakeServer) -> Result<Measured, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = dir.path().join("bench.yaml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: bench\n    scrape_timeout: 60s\n    static_configs: [{{targets: ['{}']}}]\nremote_write:\n  - url: {}/api/v1/write\n",
            exporter.target(),
            receiver.base_url()
        ),
    )
    .map_err(|e| e.to_string())?;
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({ "config_file": config }).to_string(),
    )
    .map_err(|e| e.to_string())?;
    let binary = scraper_binary()?;
    let started = Instant::now();
    let child = std::process::Command::new(&binary)
        .arg("--event")
        .arg(&event)
        .arg("--timeout")
        .arg("120")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, status and usage point to valid memory.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        return Err("wait4 failed".into());
    }
    let wall = started.elapsed();
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Measured {
        cpu_seconds: cpu(usage.ru_utime) + cpu(usage.ru_stime),
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        samples: samples_received(receiver),
        wall,
    })
}

fn scraper_binary() -> Result<PathBuf, String> {
    let path = support::workspace_root().join("target/release/scraper");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} missing: run `cargo build --release -p scraper` first",
            path.display()
        ))
    }
}

async fn run_agent(
    exporter: &FakeServer,
    receiver: &FakeServer,
    expected: usize,
) -> Result<Measured, String> {
    let agent = support::start_prometheus_agent(
        &exporter.target(),
        &format!("{}/api/v1/write", receiver.base_url()),
        "30s",
    )
    .await?;
    let pid = agent.pid();
    let cpu_before = support::proc_cpu_seconds(pid);
    let started = Instant::now();
    loop {
        if samples_received(receiver) >= expected {
            break;
        }
        if started.elapsed() > Duration::from_secs(180) {
            return Err(format!(
                "agent delivered only {} of {expected} samples in 180 s",
                samples_received(receiver)
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wall = started.elapsed();
    let cpu_after = support::proc_cpu_seconds(pid);
    let peak = support::proc_peak_rss_bytes(pid);
    Ok(Measured {
        cpu_seconds: cpu_after - cpu_before,
        peak_rss_bytes: peak,
        samples: samples_received(receiver),
        wall,
    })
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let exporter = FakeServer::start().await;
    let body = big_exposition(samples);
    let body_mb = body.len() as f64 / 1e6;
    exporter.serve("/metrics", "text/plain; version=0.0.4", body);

    let ours_receiver = FakeServer::start().await;
    let ours = tokio::task::block_in_place(|| run_scraper(&exporter, &ours_receiver))?;
    drop(ours_receiver);

    let agent_receiver = FakeServer::start().await;
    let agent = run_agent(&exporter, &agent_receiver, samples).await?;

    let per_m = |m: &Measured| m.cpu_seconds / (m.samples as f64 / 1e6);
    println!("target: {samples} samples, {body_mb:.1} MB exposition");
    for (name, m) in [("scraper", &ours), ("prometheus agent", &agent)] {
        println!(
            "{name:>17}: {} samples delivered, {:.3} CPU s ({:.3} CPU s per 1M samples), peak RSS {:.1} MB, wall {:.2} s",
            m.samples,
            m.cpu_seconds,
            per_m(m),
            m.peak_rss_bytes as f64 / 1e6,
            m.wall.as_secs_f64()
        );
    }
    println!(
        "ratio scraper/agent: CPU {:.3}x (target <= 0.25x), peak RSS {:.3}x (target <= 0.2x); scraper peak RSS {:.1} MB (target < 100 MB)",
        per_m(&ours) / per_m(&agent),
        ours.peak_rss_bytes as f64 / agent.peak_rss_bytes as f64,
        ours.peak_rss_bytes as f64 / 1e6
    );
    if ours.samples < samples {
        return Err(format!(
            "scraper delivered {} of {samples} samples",
            ours.samples
        ));
    }
    Ok(())
}
