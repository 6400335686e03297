//! What a run measures, from the environment. A value that does not parse is an
//! error naming the variable, not a silent default.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::scraper_cli::ScraperBuild;

/// The workloads `BENCH_ONLY` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    W1,
    W2,
    W3,
    Callgrind,
}

pub struct Options {
    pub workloads: BTreeSet<Workload>,
    /// The build under test first, then the baseline when `SCRAPER_BASELINE` is set.
    pub builds: Vec<ScraperBuild>,
    pub repeats: usize,
    pub w1_samples: usize,
    /// vmagent's `-promscrape.streamParse` in W1 (default on: see `peers::start`).
    pub w1_vmagent_stream_parse: bool,
    pub w2_targets: usize,
    pub w2_samples_per_target: usize,
    pub w2_interval_seconds: u64,
    pub w2_window_cycles: u32,
    pub w2_invocations: usize,
    pub w3_cold_runs: usize,
    pub w3_invocations: usize,
    pub w3_vmagent_interval_ms: u64,
    pub w3_vmagent_seconds: u64,
    pub callgrind_samples: usize,
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{name}={text:?} is not a number")),
        Err(_) => Ok(default),
    }
}

fn positive(name: &str, default: usize) -> Result<usize, String> {
    let n = number(name, default)?;
    if n == 0 {
        return Err(format!("{name} must be at least 1"));
    }
    Ok(n)
}

fn build(label: &str, path: PathBuf) -> Result<ScraperBuild, String> {
    if !path.is_file() {
        return Err(format!(
            "{} missing: run `cargo build --release -p scraper`, or name a build with SCRAPER_BINARY",
            path.display()
        ));
    }
    Ok(ScraperBuild {
        label: label.to_string(),
        binary: path,
    })
}

impl Options {
    pub fn from_env() -> Result<Self, String> {
        let mut workloads = BTreeSet::new();
        match std::env::var("BENCH_ONLY") {
            Ok(list) => {
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    workloads.insert(match name.to_ascii_lowercase().as_str() {
                        "w1" => Workload::W1,
                        "w2" => Workload::W2,
                        "w3" => Workload::W3,
                        "callgrind" => Workload::Callgrind,
                        other => {
                            return Err(format!(
                                "BENCH_ONLY: unknown workload {other:?} (w1, w2, w3, callgrind)"
                            ))
                        }
                    });
                }
            }
            Err(_) => {
                workloads.extend([Workload::W1, Workload::W2, Workload::W3]);
            }
        }
        if std::env::var("BENCH_CALLGRIND").is_ok_and(|v| !v.is_empty() && v != "0") {
            workloads.insert(Workload::Callgrind);
        }
        if workloads.is_empty() {
            return Err("BENCH_ONLY names no workload".into());
        }
        let binary = std::env::var_os("SCRAPER_BINARY")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                test_support::services::workspace_root().join("target/release/scraper")
            });
        let mut builds = vec![build("scraper", binary)?];
        if let Some(baseline) = std::env::var_os("SCRAPER_BASELINE") {
            builds.push(build("scraper (baseline)", PathBuf::from(baseline))?);
        }
        Ok(Options {
            workloads,
            builds,
            repeats: positive("BENCH_REPEATS", 3)?,
            w1_samples: positive("BENCH_W1_SAMPLES", 1_000_000)?,
            w1_vmagent_stream_parse: number("BENCH_W1_VMAGENT_STREAM_PARSE", 1u8)? != 0,
            w2_targets: positive("BENCH_W2_TARGETS", 200)?,
            w2_samples_per_target: positive("BENCH_W2_SAMPLES", 1_000)?,
            w2_interval_seconds: number("BENCH_W2_INTERVAL_SECONDS", 10)?.max(1),
            w2_window_cycles: number("BENCH_W2_CYCLES", 3)?.max(1),
            w2_invocations: positive("BENCH_W2_INVOCATIONS", 10)?,
            w3_cold_runs: positive("BENCH_W3_COLD_RUNS", 20)?,
            w3_invocations: positive("BENCH_INVOCATIONS", 200)?,
            w3_vmagent_interval_ms: number("BENCH_W3_VMAGENT_INTERVAL_MS", 200)?.max(1),
            w3_vmagent_seconds: number("BENCH_W3_VMAGENT_SECONDS", 30)?.max(1),
            callgrind_samples: positive("CALLGRIND_SAMPLES", 100_000)?,
        })
    }
}
