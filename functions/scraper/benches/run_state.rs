//! The run state behind staleness markers at its size limit: one million series (1,000
//! targets of 1,000 series each, labeled as a Kubernetes pod job labels them) encoded,
//! written to moto's S3 with `If-None-Match: *` / `If-Match`, read back and decoded,
//! five rounds, medians printed. Also the object's size and the bytes per series.
//! The target: under 10 MB and under 300 ms added to a run for read + decode + encode +
//! write. moto is one Python process on loopback; S3 from a Lambda in the same region
//! moves a few MB in tens of milliseconds, so the transfer parts are moto's worst case.
//!
//! Two cases, because a run only expands and re-compresses the series blocks of targets
//! whose series changed: the steady state (no target changed: read, decode, encode and
//! write move compressed blocks) and the worst case (every target changed: each block
//! expanded to compare and each target's new series compressed; in a run this work is
//! spread over the scrape tasks, here it is timed on one thread).
//!
//! Then the same state in a whole run: the release binary scrapes one target of
//! `BENCH_WHOLE_SAMPLES` (default 1,000,000) series into a counting receiver, without
//! and with `scraper.state` (the state run with last run's state loaded), three rounds
//! side by side: CPU seconds and peak RSS of the whole process (wait4), and the state's
//! own read and write time from the run summary.
//!
//! Run: `cargo bench -p scraper --bench run_state` (after scripts/setup.sh).
//! `BENCH_SERIES_PER_TARGET=N` and `BENCH_TARGETS=T` change the size.

// A benchmark is test code: a failed step panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use prom::Labels;
use scraper::config::S3StateLocation;
use scraper::staleness::codec::{decode, encode};
use scraper::staleness::run_state::{RunState, TargetState};
use scraper::staleness::series_set::{encode_labels, SeriesSet};
use scraper::staleness::store::{Precondition, Read, StateObject};
use scraper::staleness::stored::StoredSeries;
use test_support::child_usage::{median_of, run_scraper_measured, Measured};
use test_support::fake_http::FakeServer;
use test_support::kubernetes_stack as k8s;
use test_support::services as support;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A node-exporter-like target: CPU, filesystem, network and a few histogram series;
/// its key and its series.
fn target_series(pod: usize, series: usize) -> (Vec<u8>, SeriesSet) {
    let ip = format!(
        "10.{}.{}.{}:9100",
        pod / 65536,
        (pod / 256) % 256,
        pod % 256
    );
    let pod_name = format!("web-7f9c{pod:05}-x{:04x}", pod * 7919 % 65536);
    let target = Labels::from_pairs([
        ("container", "exporter".to_string()),
        ("instance", ip.clone()),
        ("job", "pods".to_string()),
        ("namespace", "shop".to_string()),
        ("pod", pod_name.clone()),
    ]);
    let mut set = SeriesSet::new();
    let families = [
        "node_cpu_seconds_total",
        "node_filesystem_avail_bytes",
        "node_network_receive_bytes_total",
        "http_request_duration_seconds_bucket",
        "go_gc_duration_seconds",
    ];
    // Grouped by family, as an exposition is; values vary as real ones do (devices,
    // bucket bounds, request paths), not only a counter.
    for i in 0..series {
        let family = families[i * families.len() / series.max(1)];
        let mut labels = target.clone();
        labels.set("__name__", family);
        labels.set("le", format!("{}", 0.005 * f64::from(1u32 << (i % 12))));
        labels.set("device", format!("nvme{}n{}", (i / 12) % 8, (i / 96) % 4));
        labels.set(
            "path",
            format!("/api/v1/items/{:x}", (i * 2_654_435_761) % 4_096),
        );
        set.push_labels(&labels);
    }
    (encode_labels(&target), set)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One target's exposition of `samples` gauge series.
fn exposition(samples: usize) -> Vec<u8> {
    let mut text = String::with_capacity(samples * 64);
    for i in 0..samples {
        text.push_str(&format!(
            "bench_requests{{handler=\"/api/v{}/items\",code=\"{}\",shard=\"{i}\"}} 1\n",
            i % 7,
            200 + i % 5
        ));
    }
    text.into_bytes()
}

/// Whole runs without and with state, side by side.
fn whole_runs(runtime: &tokio::runtime::Runtime) {
    let samples = env_or("BENCH_WHOLE_SAMPLES", 1_000_000);
    let (exporter, receiver) = runtime.block_on(async {
        let exporter = FakeServer::start().await;
        exporter.serve("/metrics", "text/plain; version=0.0.4", exposition(samples));
        (exporter, FakeServer::start().await)
    });
    let config = |state: bool| {
        let mut config = format!(
            "scrape_configs:\n  - job_name: bench\n    scrape_timeout: 60s\n    static_configs: [{{targets: ['{}']}}]\nremote_write:\n  - url: {}/api/v1/write\n    queue_config: {{max_samples_per_send: 2000, max_shards: 4}}\n",
            exporter.target(),
            receiver.base_url()
        );
        if state {
            config.push_str("scraper:\n  state: {s3: {bucket: bench, prefix: whole/}}\n");
        }
        config
    };
    let dir = tempfile::tempdir().unwrap();
    // The first state run writes the state the measured ones read.
    let first = run_scraper_measured(&config(true), dir.path());
    assert_eq!(first.summary["state"]["written"], true, "{}", first.summary);
    let mut results: Vec<(&str, Measured)> = Vec::new();
    for _ in 0..3 {
        results.push(("no state", run_scraper_measured(&config(false), dir.path())));
        let with = run_scraper_measured(&config(true), dir.path());
        assert_eq!(with.summary["state"]["read"], "loaded", "{}", with.summary);
        assert_eq!(with.summary["state"]["written"], true, "{}", with.summary);
        results.push(("state", with));
    }
    println!(
        "\nwhole run, one target of {samples} series; release binary, medians of 3 rounds side by side"
    );
    println!(
        "{:<9} {:>7} {:>10} {:>7} {:>9} {:>9} {:>10}",
        "run", "CPU s", "peak RSS", "wall s", "state rd", "state wr", "object"
    );
    for name in ["no state", "state"] {
        let state = |m: &Measured, field: &str| m.summary["state"][field].as_f64().unwrap_or(0.0);
        println!(
            "{:<9} {:>7.2} {:>7.0} MB {:>7.2} {:>6.0} ms {:>6.0} ms {:>7.2} MB",
            name,
            median_of(&results, name, &|m| m.cpu_seconds),
            median_of(&results, name, &|m| m.peak_rss_bytes as f64) / 1e6,
            median_of(&results, name, &|m| m.wall_seconds),
            median_of(&results, name, &|m| state(m, "read_seconds")) * 1000.0,
            median_of(&results, name, &|m| state(m, "write_seconds")) * 1000.0,
            median_of(&results, name, &|m| state(m, "object_bytes")) / 1e6,
        );
    }
    let added = median_of(&results, "state", &|m| m.cpu_seconds)
        - median_of(&results, "no state", &|m| m.cpu_seconds);
    println!(
        "state adds {:.0} ms CPU per run (median difference)",
        added * 1000.0
    );
}

fn main() {
    let targets = env_or("BENCH_TARGETS", 1_000);
    let per_target = env_or("BENCH_SERIES_PER_TARGET", 1_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moto = runtime.block_on(support::start_moto()).unwrap();
    runtime.block_on(async {
        let sdk = k8s::aws_for(&moto.address).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket().bucket("bench").send().await.unwrap();
    });
    // The scraper's client reads the standard variables, as in a Lambda.
    std::env::set_var("AWS_ENDPOINT_URL", &moto.address);
    std::env::set_var("AWS_ACCESS_KEY_ID", k8s::ACCESS_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", k8s::SECRET_KEY);
    std::env::set_var("AWS_REGION", k8s::REGION);
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");

    let targets_series: Vec<(Vec<u8>, SeriesSet)> = (0..targets)
        .map(|pod| target_series(pod, per_target))
        .collect();
    let series = targets_series
        .iter()
        .map(|(_, s)| s.len() as u64)
        .sum::<u64>();
    let raw_bytes: usize = targets_series.iter().map(|(_, s)| s.byte_len()).sum();

    // Worst case, part one: every target's new series compressed.
    let mut compresses = vec![];
    let mut state = RunState::default();
    for _ in 0..5 {
        state = RunState::default();
        let started = Instant::now();
        for (pod, (key, set)) in targets_series.iter().enumerate() {
            state.targets.insert(
                key.clone(),
                TargetState {
                    job: "pods".into(),
                    scraped_ms: 1_765_000_000_000 + pod as i64,
                    series: StoredSeries::compress(set).unwrap(),
                },
            );
        }
        compresses.push(started.elapsed());
    }
    // Worst case, part two: every remembered block expanded to compare.
    let mut expands = vec![];
    for _ in 0..5 {
        let started = Instant::now();
        let expanded: usize = state
            .targets
            .values()
            .map(|t| t.series.expand().unwrap().len())
            .sum();
        expands.push(started.elapsed());
        assert_eq!(expanded as u64, series);
    }
    // The steady state's comparison: fingerprints only.
    for (key, set) in &targets_series {
        assert!(state.targets[key].series.matches(set));
    }
    let location = S3StateLocation {
        bucket: "bench".into(),
        prefix: "bench/".into(),
        region: None,
    };
    let object = runtime.block_on(StateObject::new(&location, 0, 1));
    let deadline = Instant::now() + Duration::from_secs(600);

    let (mut encodes, mut writes, mut reads, mut decodes) = (vec![], vec![], vec![], vec![]);
    let mut size = 0;
    let mut precondition = Precondition::Absent;
    for _ in 0..5 {
        let started = Instant::now();
        let bytes = encode(&state);
        encodes.push(started.elapsed());
        size = bytes.len();

        let started = Instant::now();
        let etag = runtime
            .block_on(object.write(bytes, &precondition, deadline))
            .unwrap();
        writes.push(started.elapsed());
        precondition = Precondition::Matches(etag);

        let started = Instant::now();
        let Read::Found { bytes, .. } = runtime.block_on(object.read(deadline)).unwrap() else {
            panic!("the object just written is absent");
        };
        reads.push(started.elapsed());

        let started = Instant::now();
        let decoded = decode(&bytes).unwrap();
        decodes.push(started.elapsed());
        assert_eq!(decoded.series(), series);
    }
    let (encode, write, read, decode) = (
        median(encodes),
        median(writes),
        median(reads),
        median(decodes),
    );
    let (compress, expand) = (median(compresses), median(expands));
    let steady = encode + write + read + decode;
    let worst = steady + compress + expand;
    println!(
        "run state, {series} series in {targets} targets ({:.1} MB of label sets); medians of 5 rounds against moto S3",
        raw_bytes as f64 / 1e6
    );
    println!(
        "object {:.2} MB ({:.2} bytes/series)  encode {:.0} ms  write {:.0} ms  read {:.0} ms  decode {:.0} ms",
        size as f64 / 1e6,
        size as f64 / series as f64,
        ms(encode),
        ms(write),
        ms(read),
        ms(decode),
    );
    println!(
        "steady state (no target changed) {:.0} ms; every target changed: + compress {:.0} ms + expand {:.0} ms = {:.0} ms (one thread)",
        ms(steady),
        ms(compress),
        ms(expand),
        ms(worst)
    );
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!(
        "targets: object < 10 MB: {}; under 300 ms steady: {}; under 300 ms with every target changed: {}",
        verdict(size < 10_000_000),
        verdict(steady < Duration::from_millis(300)),
        verdict(worst < Duration::from_millis(300)),
    );
    whole_runs(&runtime);
}
