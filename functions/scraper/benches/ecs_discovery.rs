//! ECS discovery of a large account: the release scraper binary discovers 2,000
//! Fargate tasks in 50 services of one cluster on moto (with the ECS patches of
//! `tests/moto/launcher.py`, seeded by `tests/seed_ecs.py`), one target per exporter
//! container (`container_targets`), with relabeling that keeps none of them (so only
//! the API calls, decoding and target building are measured). The same binary with
//! no discovery is the baseline. Reports wall time, CPU seconds and peak RSS of each
//! run (wait4), the calls per operation, and the differences. moto answers far
//! slower than ECS does (it is one Python process), so the wall time is mostly
//! moto's; the scraper's own cost is its CPU time.
//!
//! Run: `cargo build --release -p scraper && cargo bench -p scraper --bench
//! ecs_discovery` (after scripts/setup.sh). `BENCH_TASKS=N` and `BENCH_SERVICES=S`
//! change the size; `BENCH_BINARY` and `BENCH_CALLGRIND` as in `kubernetes_discovery`.

// A benchmark is test code: a failed step panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use test_support::child_usage::{median_of, run_scraper_measured, Measured};
use test_support::services as support;

fn main() {
    let tasks: usize = std::env::var("BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let services: usize = std::env::var("BENCH_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moto = runtime.block_on(support::start_moto()).unwrap();
    let seed = std::process::Command::new(support::venv_python())
        .arg(support::workspace_root().join("functions/scraper/tests/seed_ecs.py"))
        .arg(&moto.address)
        .args([
            "--tasks",
            &tasks.to_string(),
            "--services",
            &services.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let discovery = format!(
        "scrape_configs:\n  - job_name: tasks\n    aws_sd_configs:\n      - {{role: ecs, clusters: [scale], region: eu-west-1, endpoint: '{}', access_key: AKIDEXAMPLE, secret_key: secret, container_targets: {{}}}}\n    relabel_configs:\n      - {{source_labels: [__meta_ecs_cluster], regex: none-such, action: keep}}\n",
        moto.address
    );
    let baseline = "scrape_configs:\n  - job_name: tasks\n    static_configs: []\n";
    println!("ECS discovery, {tasks} Fargate tasks in {services} services (moto); release binary, whole process");
    println!(
        "{:<10} {:>8} {:>10} {:>8} {:>7} {:>8} {:>7}",
        "run", "CPU s", "peak RSS", "wall s", "tasks", "targets", "calls"
    );
    let rounds = if std::env::var_os("BENCH_CALLGRIND").is_some() {
        1
    } else {
        3
    };
    let mut results: Vec<(&str, Measured)> = Vec::new();
    for round in 0..rounds {
        for (name, config) in [("baseline", baseline), ("discovery", discovery.as_str())] {
            let m = run_scraper_measured(config, dir.path());
            let report = &m.summary["discovery"][0];
            if name == "discovery" {
                assert!(report.get("error").is_none(), "{report}");
                assert_eq!(
                    report["objects_listed"].as_u64(),
                    Some(tasks as u64),
                    "{report}"
                );
                assert_eq!(report["targets"].as_u64(), Some(tasks as u64), "{report}");
                if round == 0 {
                    println!("calls: {}", report["calls"]);
                }
            }
            println!(
                "{:<10} {:>8.3} {:>7.1} MB {:>8.2} {:>7} {:>8} {:>7}{}",
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
    let cpu = |m: &Measured| m.cpu_seconds;
    let rss = |m: &Measured| m.peak_rss_bytes as f64 / 1e6;
    let wall = |m: &Measured| m.wall_seconds;
    println!(
        "median: discovery {:.2} s wall, {:.3} CPU s, {:.1} MB; baseline {:.3} CPU s, {:.1} MB; discovery costs {:.3} CPU s and {:.1} MB above the baseline",
        median("discovery", &wall),
        median("discovery", &cpu),
        median("discovery", &rss),
        median("baseline", &cpu),
        median("baseline", &rss),
        median("discovery", &cpu) - median("baseline", &cpu),
        median("discovery", &rss) - median("baseline", &rss),
    );
}
