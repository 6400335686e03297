//! The stable figure: instructions the scraper executes on a W1-shaped target, counted
//! by callgrind (its threads included; valgrind runs them one at a time, which changes
//! timing, not the count). Wall-clock CPU figures move with the machine's load; this
//! one moves only with the code, so it is what a before/after of one change compares.

use std::ffi::OsString;

use test_support::fake_http::FakeServer;

use crate::exposition;
use crate::options::Options;
use crate::scraper_cli;
use crate::table::{Table, Unit};

/// The total `Ir` of a callgrind out file: its `totals:` line, or `summary:` in
/// files that have no totals.
fn total_instructions(out: &str) -> Option<u64> {
    let find = |prefix: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    find("totals:").or_else(|| find("summary:"))
}

pub async fn run(options: &Options, table: &mut Table) -> Result<(), String> {
    let exposition = exposition::realistic(options.callgrind_samples, 0);
    let expected = exposition.samples;
    println!(
        "callgrind: one target, {expected} samples, {:.1} MB",
        exposition.body.len() as f64 / 1e6
    );
    let exporter = FakeServer::start().await;
    exporter.serve("/metrics", "text/plain; version=0.0.4", exposition.body);
    for build in &options.builds {
        let receiver = FakeServer::start().await;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out_file = dir.path().join("callgrind.out");
        let wrapper: Vec<OsString> = vec![
            "valgrind".into(),
            "--tool=callgrind".into(),
            format!("--callgrind-out-file={}", out_file.display()).into(),
        ];
        // valgrind slows the run some fifty times: generous scrape and run limits.
        let config = scraper_cli::config_yaml(
            &[exporter.target()],
            &format!("{}/api/v1/write", receiver.base_url()),
            "10m",
        );
        let run = scraper_cli::run(build, &config, dir.path(), 900, &wrapper).await?;
        let delivered = receiver.accepted_samples();
        if delivered < expected || run.targets_up() != 1 {
            return Err(format!(
                "callgrind: {} delivered {delivered} of {expected} samples",
                build.label
            ));
        }
        let text = std::fs::read_to_string(&out_file)
            .map_err(|e| format!("callgrind out file {}: {e}", out_file.display()))?;
        let instructions = total_instructions(&text)
            .ok_or_else(|| format!("no totals: line in {}", out_file.display()))?;
        let per_sample = instructions as f64 / expected as f64;
        println!(
            "  {:<20} {instructions} instructions (Ir), {per_sample:.0} per sample",
            build.label
        );
        table.record(
            "callgrind",
            &build.label,
            Unit::InstructionsPerSample,
            None,
            per_sample,
            None,
        );
    }
    Ok(())
}
