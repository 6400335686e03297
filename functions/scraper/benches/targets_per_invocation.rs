//! Sizing: how many targets of 1,000 series one invocation scrapes. The release
//! scraper binary scrapes N targets (one local exporter serving 1,000 series, each
//! target a distinct label set) and remote-writes every sample to a counting
//! receiver, for each N in `BENCH_TARGETS` (default 500,2000,5000). Reports wall
//! time, CPU seconds, peak RSS and samples delivered per run, then the sizing rule
//! for a 512 MB function: Lambda gives a function CPU in proportion to its memory
//! (1,769 MB = one vCPU), so 512 MB has 0.29 vCPU, and the targets that fit in 50 s
//! are 50 s x 0.29 / (CPU seconds per target); memory is checked against the peak.
//!
//! Run: `cargo build --release -p scraper && cargo bench -p scraper --bench
//! targets_per_invocation` (after scripts/setup.sh).

// A benchmark is test code: a failed step panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::fmt::Write as _;
use std::time::Instant;

use test_support::child_usage::{release_binary, wait_with_usage};
use test_support::fake_http::FakeServer;

/// Series per target: a typical application exporter.
const SERIES_PER_TARGET: usize = 1_000;
/// Lambda's CPU share per MB of memory (one vCPU at 1,769 MB).
const VCPU_PER_MB: f64 = 1.0 / 1769.0;
/// The function's memory and the part of its timeout the scrapes may use.
const FUNCTION_MB: f64 = 512.0;
const BUDGET_SECONDS: f64 = 50.0;

/// 1,000 series in 20 families of counters and gauges with a few labels each.
fn exposition() -> Vec<u8> {
    let mut text = String::new();
    for family in 0..20 {
        let _ = writeln!(
            text,
            "# HELP app_metric_{family} Application metric {family}.\n# TYPE app_metric_{family} counter"
        );
        for series in 0..SERIES_PER_TARGET / 20 {
            let _ = writeln!(
                text,
                "app_metric_{family}_total{{method=\"GET\",route=\"/api/v1/items/{series}\",code=\"{}\"}} {}",
                200 + series % 5,
                series * 17 + family
            );
        }
    }
    text.into_bytes()
}

struct Measured {
    targets: usize,
    cpu_seconds: f64,
    peak_rss_bytes: u64,
    wall_seconds: f64,
    samples: usize,
}

/// One release run over `targets` targets; the scraper's own CPU time and peak RSS.
fn run(exporter: &FakeServer, receiver: &FakeServer, targets: usize) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let mut groups = String::new();
    for index in 0..targets {
        let _ = writeln!(
            groups,
            "      - {{targets: ['{}'], labels: {{replica: 'r{index}'}}}}",
            exporter.target()
        );
    }
    let config = format!(
        "scrape_configs:\n  - job_name: sizing\n    static_configs:\n{groups}remote_write:\n  - url: {}/api/v1/write\n",
        receiver.base_url()
    );
    let path = dir.path().join("bench.yaml");
    std::fs::write(&path, config).unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({ "config_file": path }).to_string(),
    )
    .unwrap();
    let before = receiver.accepted_samples();
    let started = Instant::now();
    let child = std::process::Command::new(release_binary("scraper"))
        .arg("--event")
        .arg(&event)
        .arg("--timeout")
        .arg("120")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let usage = wait_with_usage(child, started);
    assert!(usage.success, "the scraper failed");
    Measured {
        targets,
        cpu_seconds: usage.cpu_seconds,
        peak_rss_bytes: usage.peak_rss_bytes,
        wall_seconds: usage.wall_seconds,
        samples: receiver.accepted_samples() - before,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_TARGETS")
        .unwrap_or_else(|_| "500,2000,5000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let exporter = FakeServer::start().await;
    exporter.serve("/metrics", "text/plain; version=0.0.4", exposition());
    let receiver = FakeServer::start().await;
    let mut measured = Vec::new();
    for &targets in &sizes {
        let m = tokio::task::block_in_place(|| run(&exporter, &receiver, targets));
        // Every target's 1,000 series (besides its synthetic up and scrape_* series).
        let expected = targets * SERIES_PER_TARGET;
        println!(
            "{:>6} targets: {:>9} samples delivered (expected >= {expected}), {:.2} CPU s ({:.2} ms per target), peak RSS {:.1} MB, wall {:.2} s",
            m.targets,
            m.samples,
            m.cpu_seconds,
            m.cpu_seconds / m.targets as f64 * 1e3,
            m.peak_rss_bytes as f64 / 1e6,
            m.wall_seconds
        );
        assert!(m.samples >= expected, "samples missing");
        measured.push(m);
    }
    let Some(largest) = measured.last() else {
        return;
    };
    let cpu_per_target = largest.cpu_seconds / largest.targets as f64;
    let vcpu = FUNCTION_MB * VCPU_PER_MB;
    let fit = (BUDGET_SECONDS * vcpu / cpu_per_target).floor();
    let peak_mb = measured.iter().map(|m| m.peak_rss_bytes).max().unwrap_or(0) as f64 / 1e6;
    println!(
        "sizing: {:.2} ms CPU per 1,000-series target; a {FUNCTION_MB} MB function ({vcpu:.2} vCPU) scrapes about {fit} such targets in {BUDGET_SECONDS} s; peak RSS {peak_mb:.1} MB of {FUNCTION_MB} MB",
        cpu_per_target * 1e3
    );
}
