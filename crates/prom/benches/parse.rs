//! Parser throughput on Prometheus' own benchmark payload
//! (`prom_textparse_testdata/alltypes.237mfs.prom.txt`) and on a generated
//! 1M-sample exposition, against the `prometheus-parse` crate in the same run.
//!
//! `cargo bench -p prom --bench parse`

// A benchmark is test code: a missing input file panics with its path.
#![allow(clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prom::exposition::{parse_all, Entry, Format};

fn testdata() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/prom_textparse_testdata/alltypes.237mfs.prom.txt");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// 1M samples: 2,000 gauge families x 500 series with three labels, like a busy
/// kube-state-metrics or cAdvisor target.
pub fn generated_exposition(samples: usize) -> Vec<u8> {
    let per_family = 500;
    let mut text = String::with_capacity(samples * 90);
    let mut written = 0;
    let mut family = 0;
    while written < samples {
        text.push_str(&format!(
            "# HELP bench_metric_{family} Benchmark family {family}.\n# TYPE bench_metric_{family} gauge\n"
        ));
        for s in 0..per_family.min(samples - written) {
            text.push_str(&format!(
                "bench_metric_{family}{{pod=\"pod-{}\",namespace=\"ns-{}\",container=\"c{s}\"}} {}.5\n",
                s % 50,
                family % 7,
                s * 3 + family
            ));
            written += 1;
        }
        family += 1;
    }
    text.into_bytes()
}

fn ours(input: &[u8]) -> usize {
    let mut series = 0usize;
    parse_all(input, Format::PrometheusText, &mut |e| {
        if let Entry::Series(s) = e {
            series += s.labels.len() + 1;
            black_box(s.value);
        }
    })
    .unwrap_or_else(|e| panic!("parse: {e}"));
    series
}

fn theirs(input: &str) -> usize {
    let lines = input.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap_or_else(|e| panic!("parse: {e}"));
    scrape.samples.len()
}

fn bench(c: &mut Criterion) {
    let inputs = [
        ("alltypes.237mfs", testdata()),
        ("generated_1M_samples", generated_exposition(1_000_000)),
    ];
    for (name, input) in inputs {
        let text = String::from_utf8(input.clone()).unwrap_or_default();
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(4));
        group.bench_function("prom::exposition", |b| b.iter(|| ours(black_box(&input))));
        group.bench_function("prometheus-parse", |b| b.iter(|| theirs(black_box(&text))));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
