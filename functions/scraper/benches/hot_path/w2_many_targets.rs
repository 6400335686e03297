//! W2: many small targets in one job (200 x 1,000 samples by default), each its own
//! loopback server, as a cluster's exporters are. Each scraper build runs once per
//! repeat as a command-line process ("W2": start-up, connections and all), then under
//! the Runtime API for `BENCH_W2_INVOCATIONS` warm invocations ("W2 warm": what a
//! scheduled Lambda repeats, set beside the peers' steady state); the peers are
//! measured in steady state (see `peers`): CPU over a window of whole intervals divided
//! by the samples delivered in it.

use std::time::Duration;

use test_support::fake_http::FakeServer;

use crate::exposition;
use crate::lambda_warm;
use crate::options::Options;
use crate::peers::{self, Peer};
use crate::scraper_cli;
use crate::table::{Goal, Table, Unit};

const WORKLOAD: &str = "W2";
const WARM: &str = "W2 warm";

pub async fn run(options: &Options, table: &mut Table) -> Result<(), String> {
    let mut exporters = Vec::with_capacity(options.w2_targets);
    let mut bytes = 0;
    for target in 0..options.w2_targets {
        let exposition = exposition::realistic(options.w2_samples_per_target, target);
        bytes += exposition.body.len();
        let exporter = FakeServer::start().await;
        exporter.serve("/metrics", "text/plain; version=0.0.4", exposition.body);
        exporters.push(exporter);
    }
    let targets: Vec<String> = exporters.iter().map(FakeServer::target).collect();
    let cycle_samples = options.w2_targets * options.w2_samples_per_target;
    println!(
        "W2: {} targets x {} samples ({:.1} MB in all), one job",
        options.w2_targets,
        options.w2_samples_per_target,
        bytes as f64 / 1e6
    );
    let interval = Duration::from_secs(options.w2_interval_seconds);
    let window = interval * options.w2_window_cycles;
    for repeat in 1..=options.repeats {
        for build in &options.builds {
            let receiver = FakeServer::start().await;
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let config = scraper_cli::config_yaml(
                &targets,
                &format!("{}/api/v1/write", receiver.base_url()),
                "30s",
            );
            let run = scraper_cli::run(build, &config, dir.path(), 120, &[]).await?;
            let delivered = receiver.accepted_samples();
            if delivered < cycle_samples || run.targets_up() != options.w2_targets as u64 {
                return Err(format!(
                    "W2: {} delivered {delivered} of {cycle_samples} samples, targets_up {}",
                    build.label,
                    run.targets_up()
                ));
            }
            let per_million = run.cpu_seconds / (cycle_samples as f64 / 1e6);
            println!(
                "  repeat {repeat} {:<20} {:.3} CPU s ({per_million:.3} per 1M), peak RSS {:.1} MB, wall {:.2} s",
                build.label,
                run.cpu_seconds,
                run.peak_rss_bytes as f64 / 1e6,
                run.wall_seconds
            );
            table.record(
                WORKLOAD,
                &build.label,
                Unit::CpuPerMillion,
                Some(Goal::VsVmagent {
                    cpu: 0.25,
                    rss: None,
                }),
                per_million,
                Some(run.peak_rss_bytes),
            );
            let config_path = dir.path().join("w2.yaml");
            std::fs::write(&config_path, &config).map_err(|e| e.to_string())?;
            let warm = lambda_warm::warm_invocations(
                build,
                &config_path,
                options.w2_targets as u64,
                options.w2_invocations,
            )
            .await?;
            if warm.samples_per_invocation < cycle_samples as f64 {
                return Err(format!(
                    "W2 warm: {} sent {:.0} samples per invocation of {cycle_samples}",
                    build.label, warm.samples_per_invocation
                ));
            }
            let warm_per_million = warm.cpu_seconds_per_invocation / (cycle_samples as f64 / 1e6);
            println!(
                "  repeat {repeat} {:<20} {:.1} CPU ms per warm invocation ({warm_per_million:.3} per 1M, {} invocations), peak RSS {:.1} MB",
                build.label,
                warm.cpu_seconds_per_invocation * 1e3,
                options.w2_invocations,
                warm.peak_rss_bytes as f64 / 1e6
            );
            table.record(
                WARM,
                &build.label,
                Unit::CpuPerMillion,
                Some(Goal::VsVmagent {
                    cpu: 0.25,
                    rss: None,
                }),
                warm_per_million,
                Some(warm.peak_rss_bytes),
            );
        }
        for peer in [Peer::Vmagent, Peer::PrometheusAgent] {
            let receiver = FakeServer::start().await;
            let running = peers::start(
                peer,
                &targets,
                &format!("{}/api/v1/write", receiver.base_url()),
                &format!("{}s", interval.as_secs()),
                false,
            )
            .await?;
            let measured =
                peers::steady_state(&running, &receiver, cycle_samples, interval, window).await?;
            drop(running);
            let needed = measured.whole_intervals as usize * cycle_samples;
            if measured.samples_total < needed || measured.samples == 0 {
                return Err(format!(
                    "W2: {} delivered {} samples in {} whole intervals (at least {needed} expected)",
                    peer.label(),
                    measured.samples_total,
                    measured.whole_intervals
                ));
            }
            let per_million = measured.cpu_seconds / (measured.samples as f64 / 1e6);
            println!(
                "  repeat {repeat} {:<20} {:.3} CPU s for {} samples over {} s ({per_million:.3} per 1M), peak RSS {:.1} MB",
                peer.label(),
                measured.cpu_seconds,
                measured.samples,
                window.as_secs(),
                measured.peak_rss_bytes as f64 / 1e6
            );
            // The peers' steady state is the reference of both scraper rows.
            for workload in [WORKLOAD, WARM] {
                table.record(
                    workload,
                    peer.label(),
                    Unit::CpuPerMillion,
                    None,
                    per_million,
                    Some(measured.peak_rss_bytes),
                );
            }
        }
    }
    Ok(())
}
