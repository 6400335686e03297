//! The scraper's hot path side by side with vmagent and Prometheus in agent mode, in
//! one run on loopback (issue 20):
//!
//! - W1: one target serving 1M samples (~150 bytes a sample, five labels);
//! - W2: 200 targets x 1,000 samples in one job: one CLI run, and warm invocations
//!   under a fake Lambda Runtime API ("W2 warm"), against the peers' steady state;
//! - W3: one node-exporter: cold (exec to exit, exec to the first Runtime API poll)
//!   and warm (CPU per invocation under a fake Lambda Runtime API, against vmagent's
//!   CPU per scrape cycle);
//! - callgrind: the scraper's instruction count on a W1-shaped target.
//!
//! Every tool remote-writes to its own counting receiver; a tool that delivers fewer
//! samples than it scraped, or an invocation that fails, fails the bench. The scraper
//! is measured from wait4 (its own CPU and peak RSS) or, warm, from `/proc`; the peers
//! from `/proc` deltas. The table at the end has the medians over `BENCH_REPEATS`, the
//! ratios to vmagent from the same run, and the goals.
//!
//! Run (after `scripts/setup.sh` and `cargo build --release -p scraper`):
//! `cargo bench -p scraper --bench hot_path`. Environment:
//! `BENCH_ONLY=w1,w2,w3,callgrind` (default all but callgrind; `BENCH_CALLGRIND=1`
//! adds it), `BENCH_REPEATS` (3), `SCRAPER_BINARY` (default `target/release/scraper`),
//! `SCRAPER_BASELINE` (a second build measured in the same run), `BENCH_W1_SAMPLES`
//! (1,000,000), `BENCH_W1_VMAGENT_STREAM_PARSE` (1: vmagent's `-promscrape.streamParse`
//! in W1; 0 measures its first, non-streaming scrape), `BENCH_W2_TARGETS` (200), `BENCH_W2_SAMPLES` (1,000),
//! `BENCH_W2_INTERVAL_SECONDS` (10), `BENCH_W2_CYCLES` (3), `BENCH_W2_INVOCATIONS` (10), `BENCH_W3_COLD_RUNS` (20),
//! `BENCH_INVOCATIONS` (200), `BENCH_W3_VMAGENT_INTERVAL_MS` (200),
//! `BENCH_W3_VMAGENT_SECONDS` (30), `CALLGRIND_SAMPLES` (100,000).

// A benchmark is test code (a failed set-up step may panic).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod callgrind;
mod exposition;
mod lambda_warm;
mod options;
mod peers;
mod runtime_api;
mod scraper_cli;
mod table;
mod w1_one_big_target;
mod w2_many_targets;
mod w3_node_exporter;

use options::{Options, Workload};
use table::Table;

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = Options::from_env()?;
    for build in &options.builds {
        println!("{}: {}", build.label, build.binary.display());
    }
    println!(
        "repeats: {}; CPU figures are CPU time, so other load (two nice-19 fuzzers here) changes them little",
        options.repeats
    );
    let mut table = Table::default();
    let mut failure = None;
    for workload in &options.workloads {
        let result = match workload {
            Workload::W1 => w1_one_big_target::run(&options, &mut table).await,
            Workload::W2 => w2_many_targets::run(&options, &mut table).await,
            Workload::W3 => w3_node_exporter::run(&options, &mut table).await,
            Workload::Callgrind => callgrind::run(&options, &mut table).await,
        };
        if let Err(e) = result {
            eprintln!("{workload:?} failed: {e}");
            failure = Some(e);
            break;
        }
    }
    println!("\n{}", table.render());
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
