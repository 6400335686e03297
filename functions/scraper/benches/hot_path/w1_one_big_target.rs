//! W1: one target serving a million samples (see `exposition`), every sample
//! remote-written to a counting receiver. Each scraper build runs once per repeat as a
//! command-line process (start-up included); the peers' first scrape of the target
//! is measured (see `peers`).

use std::time::Duration;

use test_support::fake_http::FakeServer;

use crate::exposition;
use crate::options::Options;
use crate::peers::{self, Peer};
use crate::scraper_cli;
use crate::table::{Goal, Table, Unit};

const WORKLOAD: &str = "W1";
/// Long enough that a peer's second scrape cannot start before its first is
/// delivered (Prometheus takes over 10 s of CPU for it).
const PEER_INTERVAL: Duration = Duration::from_secs(60);
const PEER_DEADLINE: Duration = Duration::from_secs(300);

pub async fn run(options: &Options, table: &mut Table) -> Result<(), String> {
    let exposition = exposition::realistic(options.w1_samples, 0);
    let expected = exposition.samples;
    println!(
        "W1: one target, {expected} samples, {:.1} MB exposition ({:.0} bytes a sample, 5 labels)",
        exposition.body.len() as f64 / 1e6,
        exposition.bytes_per_sample()
    );
    let exporter = FakeServer::start().await;
    exporter.serve("/metrics", "text/plain; version=0.0.4", exposition.body);
    let per_million = |cpu: f64| cpu / (expected as f64 / 1e6);
    println!(
        "  vmagent with -promscrape.streamParse={} (BENCH_W1_VMAGENT_STREAM_PARSE)",
        options.w1_vmagent_stream_parse
    );
    for repeat in 1..=options.repeats {
        for build in &options.builds {
            let receiver = FakeServer::start().await;
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let config = scraper_cli::config_yaml(
                &[exporter.target()],
                &format!("{}/api/v1/write", receiver.base_url()),
                "60s",
            );
            let run = scraper_cli::run(build, &config, dir.path(), 120, &[]).await?;
            let delivered = receiver.accepted_samples();
            if delivered < expected || run.targets_up() != 1 {
                return Err(format!(
                    "W1: {} delivered {delivered} of {expected} samples, targets_up {}",
                    build.label,
                    run.targets_up()
                ));
            }
            println!(
                "  repeat {repeat} {:<20} {:.3} CPU s ({:.3} per 1M), peak RSS {:.1} MB, wall {:.2} s, {delivered} samples",
                build.label,
                run.cpu_seconds,
                per_million(run.cpu_seconds),
                run.peak_rss_bytes as f64 / 1e6,
                run.wall_seconds
            );
            table.record(
                WORKLOAD,
                &build.label,
                Unit::CpuPerMillion,
                Some(Goal::VsVmagent {
                    cpu: 0.3,
                    rss: Some(0.15),
                }),
                per_million(run.cpu_seconds),
                Some(run.peak_rss_bytes),
            );
        }
        for peer in [Peer::Vmagent, Peer::PrometheusAgent] {
            let receiver = FakeServer::start().await;
            let measured = peers::first_scrape(
                peer,
                &exporter,
                &receiver,
                expected,
                PEER_INTERVAL,
                PEER_DEADLINE,
                options.w1_vmagent_stream_parse,
            )
            .await?;
            println!(
                "  repeat {repeat} {:<20} {:.3} CPU s ({:.3} per 1M; {:.3} from ready), peak RSS {:.1} MB, {} samples",
                peer.label(),
                measured.cpu_seconds,
                per_million(measured.cpu_seconds),
                measured.cpu_seconds_from_ready,
                measured.peak_rss_bytes as f64 / 1e6,
                measured.samples
            );
            table.record(
                WORKLOAD,
                peer.label(),
                Unit::CpuPerMillion,
                None,
                per_million(measured.cpu_seconds),
                Some(measured.peak_rss_bytes),
            );
        }
    }
    Ok(())
}
