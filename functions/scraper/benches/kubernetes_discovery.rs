//! Kubernetes discovery of a large cluster: the release scraper binary lists a
//! generated 10,000-pod cluster from the API stand-in (LIST pages of 500, EKS token
//! checked on each) and builds the targets, with relabeling that keeps none of them
//! (so nothing is scraped: only LIST + decode + target building is measured). The
//! same binary with the same config minus the discovery is the baseline. Reports CPU
//! seconds and peak RSS of each run (wait4), and the differences.
//!
//! Run: `cargo build --release -p scraper && cargo bench -p scraper --bench
//! kubernetes_discovery` (after scripts/setup.sh). `BENCH_PODS=N` changes the size,
//! `BENCH_ROLE=endpoints` another role, `BENCH_BINARY=path` measures another build of
//! the scraper (to compare two side by side), and `BENCH_CALLGRIND=1` runs it under
//! `valgrind --tool=callgrind` and reports instructions executed, which unlike CPU
//! seconds do not vary with the machine's load (CPU and RSS are then valgrind's;
//! `BENCH_CALLGRIND_OUT=file.%p` keeps the profiles for callgrind_annotate).

// A benchmark is test code: a failed step panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::SystemTime;

use test_support::child_usage::{median_of, run_scraper_measured as run, Measured};
use test_support::kubernetes_stack as k8s;

fn main() {
    let pods: usize = std::env::var("BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let role = std::env::var("BENCH_ROLE").unwrap_or_else(|_| "pod".into());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let certs = k8s::make_certs().unwrap();
    let standin = runtime
        .block_on(k8s::start_standin_with(
            &certs,
            "prod",
            &["--generate-pods", &pods.to_string()],
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let credentials = aws_credential_types::Credentials::new(
        k8s::ACCESS_KEY,
        k8s::SECRET_KEY,
        Some(k8s::SESSION_TOKEN.to_string()),
        None,
        "bench",
    );
    let token =
        aws_signing::presign_eks_token("prod", k8s::REGION, &credentials, SystemTime::now())
            .unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token).unwrap();
    let discovery = format!(
        "scrape_configs:\n  - job_name: pods\n    kubernetes_sd_configs:\n      - role: {role}\n        api_server: {}\n        tls_config: {{ca_file: {}}}\n        bearer_token_file: {}\n    relabel_configs:\n      - {{source_labels: [__meta_kubernetes_namespace], regex: none-such, action: keep}}\n",
        standin.url,
        certs.ca().display(),
        token_file.display()
    );
    let baseline = "scrape_configs:\n  - job_name: pods\n    static_configs: []\n";
    println!(
        "kubernetes discovery, role {role}, {pods} generated pods; release binary, whole process"
    );
    println!(
        "{:<10} {:>8} {:>10} {:>8} {:>9} {:>8} {:>7}",
        "run", "CPU s", "peak RSS", "wall s", "objects", "targets", "calls"
    );
    let mut results = Vec::new();
    // Instruction counts repeat exactly: one round is enough under callgrind.
    let rounds = if std::env::var_os("BENCH_CALLGRIND").is_some() {
        1
    } else {
        3
    };
    for round in 0..rounds {
        for (name, config) in [("baseline", baseline), ("discovery", discovery.as_str())] {
            let m = run(config, dir.path());
            let report = &m.summary["discovery"][0];
            if name == "discovery" {
                assert!(report.get("error").is_none(), "{report}");
                assert!(
                    report["objects_listed"].as_u64() >= Some(pods as u64),
                    "{report}"
                );
            }
            println!(
                "{:<10} {:>8.3} {:>7.1} MB {:>8.2} {:>9} {:>8} {:>7}{}",
                format!("{name} {round}"),
                m.cpu_seconds,
                m.peak_rss_bytes as f64 / 1e6,
                m.wall_seconds,
                report["objects_listed"],
                report["targets"],
                report["api_calls"],
                m.instructions
                    .map(|n| format!("  {n} instructions"))
                    .unwrap_or_default(),
            );
            results.push((name, m));
        }
    }
    let median = |name: &str, f: &dyn Fn(&Measured) -> f64| median_of(&results, name, f);
    let instructions = |m: &Measured| m.instructions.unwrap_or(0) as f64;
    if results.iter().any(|(_, m)| m.instructions.is_some()) {
        println!(
            "callgrind: discovery costs {:.0} M instructions above the baseline",
            (median("discovery", &instructions) - median("baseline", &instructions)) / 1e6
        );
    }
    let cpu = |m: &Measured| m.cpu_seconds;
    let rss = |m: &Measured| m.peak_rss_bytes as f64 / 1e6;
    println!(
        "median: discovery {:.3} CPU s, {:.1} MB; baseline {:.3} CPU s, {:.1} MB; discovery costs {:.3} CPU s and {:.1} MB above the baseline (targets: <= 1 s, <= 64 MB)",
        median("discovery", &cpu),
        median("discovery", &rss),
        median("baseline", &cpu),
        median("baseline", &rss),
        median("discovery", &cpu) - median("baseline", &cpu),
        median("discovery", &rss) - median("baseline", &rss),
    );
}
