//! W3: one real node-exporter (~1,000 samples), the common small case, where what
//! matters is what a run costs beyond its samples. Cold: the command-line process
//! from exec to exit, and exec to the first `/next` poll under the Runtime API.
//! Warm: CPU per invocation of one long-lived process under the fake Runtime API,
//! against vmagent's CPU per scrape cycle of the same target at a short interval.

use std::time::Duration;

use test_support::fake_http::FakeServer;
use test_support::services;

use crate::lambda_warm;
use crate::options::Options;
use crate::peers::{self, Peer};
use crate::scraper_cli;
use crate::table::{Goal, Table, Unit};

/// Samples in one node-exporter exposition, counted by the harness itself.
async fn exposition_samples(target: &str) -> Result<usize, String> {
    let text = reqwest::get(format!("http://{target}/metrics"))
        .await
        .map_err(|e| format!("node-exporter: {e}"))?
        .text()
        .await
        .map_err(|e| format!("node-exporter: {e}"))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count())
}

pub async fn run(options: &Options, table: &mut Table) -> Result<(), String> {
    let node = services::start_node_exporter().await?;
    let target = node.address.clone();
    let samples = exposition_samples(&target).await?;
    println!("W3: one node-exporter at {target}, {samples} samples");
    let receiver = FakeServer::start().await;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = scraper_cli::config_yaml(
        std::slice::from_ref(&target),
        &format!("{}/api/v1/write", receiver.base_url()),
        "10s",
    );
    let config_path = dir.path().join("node.yaml");
    std::fs::write(&config_path, &config).map_err(|e| e.to_string())?;

    for build in &options.builds {
        let run_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        for _ in 0..options.w3_cold_runs {
            let run = scraper_cli::run(build, &config, run_dir.path(), 60, &[]).await?;
            if run.targets_up() != 1 {
                return Err(format!(
                    "W3 cold: {}: node-exporter not up: {}",
                    build.label, run.response
                ));
            }
            table.record(
                "W3 cold",
                &format!("{} exec-exit", build.label),
                Unit::WallMs,
                Some(Goal::AtMost(10.0)),
                run.wall_seconds * 1e3,
                Some(run.peak_rss_bytes),
            );
            table.record(
                "W3 cold",
                &format!("{} CPU", build.label),
                Unit::CpuMs,
                None,
                run.cpu_seconds * 1e3,
                None,
            );
            let ready = lambda_warm::time_to_ready(build, &config_path).await?;
            table.record(
                "W3 cold",
                &format!("{} to /next", build.label),
                Unit::WallMs,
                Some(Goal::AtMost(10.0)),
                ready * 1e3,
                None,
            );
        }
        println!(
            "  {}: {} cold runs and {0} starts under the Runtime API done",
            build.label, options.w3_cold_runs
        );
    }

    let interval = Duration::from_millis(options.w3_vmagent_interval_ms);
    let window = Duration::from_secs(options.w3_vmagent_seconds);
    for repeat in 1..=options.repeats {
        for build in &options.builds {
            let warm =
                lambda_warm::warm_invocations(build, &config_path, 1, options.w3_invocations)
                    .await?;
            println!(
                "  repeat {repeat} {:<20} {:.3} CPU ms per warm invocation ({} invocations, {:.0} samples each), peak RSS {:.1} MB",
                build.label,
                warm.cpu_seconds_per_invocation * 1e3,
                options.w3_invocations,
                warm.samples_per_invocation,
                warm.peak_rss_bytes as f64 / 1e6
            );
            table.record(
                "W3 warm",
                &build.label,
                Unit::CpuMsPerCycle,
                Some(Goal::VsVmagent {
                    cpu: 1.0,
                    rss: None,
                }),
                warm.cpu_seconds_per_invocation * 1e3,
                Some(warm.peak_rss_bytes),
            );
        }
        let vm_receiver = FakeServer::start().await;
        let running = peers::start(
            Peer::Vmagent,
            std::slice::from_ref(&target),
            &format!("{}/api/v1/write", vm_receiver.base_url()),
            &format!("{}ms", interval.as_millis()),
            false,
        )
        .await?;
        // Half an exposition per interval as the floor: a sanity check that vmagent
        // kept scraping, not a figure.
        let measured =
            peers::steady_state(&running, &vm_receiver, samples / 2, interval, window).await?;
        drop(running);
        let cycles = measured
            .scrapes
            .filter(|c| *c >= 1.0)
            .ok_or("W3: vmagent's /metrics shows no scrapes (vm_promscrape_scrapes_total)")?;
        let floor = 0.9 * cycles * samples as f64;
        if (measured.samples as f64) < floor
            || measured.samples_total < measured.whole_intervals as usize * (samples / 2)
        {
            return Err(format!(
                "W3: vmagent delivered {} samples in {cycles} scrapes of ~{samples} (at least {floor:.0} expected)",
                measured.samples
            ));
        }
        let per_cycle = measured.cpu_seconds / cycles;
        println!(
            "  repeat {repeat} {:<20} {:.3} CPU ms per scrape cycle ({cycles} cycles of {} ms in {} s, {} samples), peak RSS {:.1} MB",
            "vmagent",
            per_cycle * 1e3,
            interval.as_millis(),
            window.as_secs(),
            measured.samples,
            measured.peak_rss_bytes as f64 / 1e6
        );
        table.record(
            "W3 warm",
            "vmagent",
            Unit::CpuMsPerCycle,
            None,
            per_cycle * 1e3,
            Some(measured.peak_rss_bytes),
        );
    }
    Ok(())
}
