//! Staleness markers across runs (`scraper.state` in moto's S3): a series that went
//! away, a target that went down and a target that left discovery each get exactly one
//! marker (Prometheus' stale NaN, bit for bit) at the run's scrape time; Debian's
//! Prometheus then stops returning the series at once; a pod deleted between runs has
//! its series end; and the state's faults (a concurrent run's write, a missing bucket,
//! a corrupt object, another format version, sends that failed) never fail a run nor
//! lose a marker the state allowed.

use std::time::Duration;

use serde_json::{json, Value};
use test_support::fake_http::{series_key, FakeServer, Reply};
use test_support::kubernetes_stack as k8s;
use test_support::services::{self as support, Service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{self, Run};
use crate::kubernetes_sd::{pod, pods_job, port_of, token_file};

/// Prometheus' staleness marker (`value.StaleNaN`).
const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;
const BUCKET: &str = "scraper-state";
const PREFIX: &str = "tests/";
const KEY: &str = "tests/shard-0-of-1.state";

/// moto with the state bucket, and an S3 client on it.
async fn moto_with_bucket() -> (Service, aws_sdk_s3::Client) {
    let moto = support::start_moto().await.expect("moto");
    let sdk = k8s::aws_for(&moto.address).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("create bucket");
    (moto, s3)
}

fn exposition(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l} 1\n")).collect()
}

fn serve(server: &FakeServer, lines: &[&str]) {
    server.serve("/metrics", "text/plain; version=0.0.4", exposition(lines));
}

fn config(targets: &[String], receiver: &str, bucket: &str) -> String {
    format!(
        r#"
scrape_configs:
  - job_name: node
    scrape_timeout: 3s
    static_configs: [{{targets: {targets:?}}}]
remote_write:
  - url: {receiver}
    queue_config: {{min_backoff: 10ms, max_backoff: 50ms}}
scraper:
  deadline_margin: 500ms
  state: {{s3: {{bucket: {bucket}, prefix: {PREFIX}}}}}
"#
    )
}

async fn run(config: &str, moto: &Service) -> Run {
    let run =
        harness::run_scraper_with_env(config, 20.0, &[("AWS_ENDPOINT_URL", moto.address.as_str())])
            .await;
    assert!(run.success, "{}", run.stderr);
    run
}

/// One sample the receiver accepted: series key, value bits, timestamp.
#[derive(Debug, Clone, PartialEq)]
struct Written {
    series: String,
    bits: u64,
    timestamp: i64,
}

/// The samples of the writes the receiver accepted from index `from` on.
fn written_since(receiver: &FakeServer, from: usize) -> Vec<Written> {
    receiver
        .accepted_writes()
        .iter()
        .skip(from)
        .flat_map(|w| w.timeseries.iter())
        .flat_map(|s| {
            s.samples.iter().map(|sample| Written {
                series: series_key(s),
                bits: sample.value.to_bits(),
                timestamp: sample.timestamp,
            })
        })
        .collect()
}

/// The staleness markers among `samples`, by series (a series marked twice shows
/// up twice).
fn markers(samples: &[Written]) -> Vec<Written> {
    let mut found: Vec<Written> = samples
        .iter()
        .filter(|w| w.bits == STALE_NAN_BITS)
        .cloned()
        .collect();
    found.sort_by(|a, b| a.series.cmp(&b.series));
    found
}

fn timestamp_of(samples: &[Written], series: &str) -> i64 {
    samples
        .iter()
        .find(|w| w.series == series && w.bits != STALE_NAN_BITS)
        .unwrap_or_else(|| panic!("no sample of {series} in {samples:#?}"))
        .timestamp
}

fn state(run: &Run) -> &Value {
    &run.summary["state"]
}

fn synthetic(instance: &str) -> Vec<String> {
    [
        "scrape_duration_seconds",
        "scrape_samples_post_metric_relabeling",
        "scrape_samples_scraped",
        "scrape_series_added",
        "up",
    ]
    .iter()
    .map(|name| format!("{name}{{instance={instance:?},job=\"node\"}}"))
    .collect()
}

#[tokio::test]
async fn a_gone_series_a_down_target_and_a_vanished_target_are_each_marked_once() {
    let (moto, _s3) = moto_with_bucket().await;
    let receiver = FakeServer::start().await;
    let a = FakeServer::start().await;
    let b = FakeServer::start().await;
    let c = FakeServer::start().await;
    let (ta, tb, tc) = (a.target(), b.target(), c.target());
    serve(&a, &["kept{k=\"1\"}", "dropped{k=\"2\"}"]);
    serve(&b, &["only_b"]);
    serve(&c, &["only_c"]);
    let write_url = format!("{}/api/v1/write", receiver.base_url());

    let first = run(
        &config(&[ta.clone(), tb.clone(), tc.clone()], &write_url, BUCKET),
        &moto,
    )
    .await;
    assert_eq!(state(&first)["read"], "absent", "{}", first.summary);
    assert_eq!(state(&first)["written"], true, "{}", first.summary);
    assert_eq!(state(&first)["targets_saved"], 3, "{}", first.summary);
    assert!(markers(&written_since(&receiver, 0)).is_empty());

    // Run 2: `dropped` is gone from a, c is down, b left the config.
    serve(&a, &["kept{k=\"1\"}"]);
    drop(c);
    let before = receiver.accepted_writes().len();
    let second_config = config(&[ta.clone(), tc.clone()], &write_url, BUCKET);
    let second = run(&second_config, &moto).await;
    let samples = written_since(&receiver, before);
    let found = markers(&samples);
    let a_time = timestamp_of(
        &samples,
        &format!("kept{{instance={ta:?},job=\"node\",k=\"1\"}}"),
    );
    let c_time = timestamp_of(&samples, &format!("up{{instance={tc:?},job=\"node\"}}"));
    let up_c = samples
        .iter()
        .find(|w| w.series == format!("up{{instance={tc:?},job=\"node\"}}"))
        .expect("up of c");
    assert_eq!(f64::from_bits(up_c.bits), 0.0, "c is down");

    let mut expected: Vec<(String, i64)> = vec![
        (
            format!("dropped{{instance={ta:?},job=\"node\",k=\"2\"}}"),
            a_time,
        ),
        (format!("only_c{{instance={tc:?},job=\"node\"}}"), c_time),
    ];
    let b_series: Vec<String> = std::iter::once(format!("only_b{{instance={tb:?},job=\"node\"}}"))
        .chain(synthetic(&tb))
        .collect();
    let b_time = found
        .iter()
        .find(|w| w.series == b_series[0])
        .map(|w| w.timestamp)
        .unwrap_or_else(|| panic!("no marker for b's series: {found:#?}"));
    assert!(
        b_time >= a_time.max(c_time),
        "a vanished target is marked after the scrapes"
    );
    expected.extend(b_series.into_iter().map(|s| (s, b_time)));
    expected.sort();
    let got: Vec<(String, i64)> = found
        .iter()
        .map(|w| (w.series.clone(), w.timestamp))
        .collect();
    assert_eq!(got, expected, "exactly one marker per ended series");
    assert_eq!(state(&second)["read"], "loaded", "{}", second.summary);
    assert_eq!(state(&second)["stale_markers"], 8, "{}", second.summary);
    assert_eq!(state(&second)["targets_vanished"], 1, "{}", second.summary);
    assert_eq!(second.count("stale_markers"), 8);
    assert_eq!(second.count("state_errors"), 0);

    // Run 3, nothing changed: nothing is marked again (c is still down, b still gone).
    let before = receiver.accepted_writes().len();
    let third = run(&second_config, &moto).await;
    let samples = written_since(&receiver, before);
    assert!(markers(&samples).is_empty(), "{:#?}", markers(&samples));
    assert_eq!(state(&third)["stale_markers"], 0, "{}", third.summary);
    assert_eq!(state(&third)["targets_saved"], 2, "{}", third.summary);
    // The run's own figures carry the counts.
    assert!(samples
        .iter()
        .any(|w| w.series.starts_with("scraper_stale_markers{") && f64::from_bits(w.bits) == 0.0));
}

#[tokio::test]
async fn prometheus_stops_returning_a_vanished_series_at_the_next_run() {
    let (moto, _s3) = moto_with_bucket().await;
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let exporter = FakeServer::start().await;
    serve(&exporter, &["web_kept", "web_gone"]);
    let config = config(&[exporter.target()], &prometheus.write_url, BUCKET);

    run(&config, &moto).await;
    let before = prometheus
        .query_until_found("web_gone")
        .await
        .expect("query");
    assert_eq!(before.len(), 1, "present after run 1: {before:?}");

    serve(&exporter, &["web_kept"]);
    let second = run(&config, &moto).await;
    assert_eq!(state(&second)["stale_markers"], 1, "{}", second.summary);
    let gone = prometheus.query("web_gone").await.expect("query");
    assert!(
        gone.is_empty(),
        "the marker ends the series at once: {gone:?}"
    );
    let kept = prometheus.query("web_kept").await.expect("query");
    assert_eq!(kept.len(), 1, "{kept:?}");
    let up = prometheus.query("up{job=\"node\"}").await.expect("query");
    assert_eq!(up.len(), 1, "{up:?}");
}

#[tokio::test]
async fn a_deleted_pod_s_series_end_at_the_next_run() {
    let (moto, _s3) = moto_with_bucket().await;
    let certs = k8s::make_certs().expect("certs");
    let standin = k8s::start_standin(&certs, "prod").await.expect("stand-in");
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let web_a = support::start_node_exporter_on("127.0.0.61")
        .await
        .expect("exporter a");
    let web_b = support::start_node_exporter_on("127.0.0.62")
        .await
        .expect("exporter b");
    standin
        .load(json!([
            pod("shop", "web-a", "127.0.0.61", port_of(&web_a.address), true),
            pod("shop", "web-b", "127.0.0.62", port_of(&web_b.address), true),
        ]))
        .await
        .expect("seed pods");
    let dir = tempfile::tempdir().expect("dir");
    let token = token_file(dir.path(), "prod");
    let config = format!(
        "scrape_configs:{}remote_write:\n  - url: {}\nscraper:\n  state: {{s3: {{bucket: {BUCKET}, prefix: {PREFIX}}}}}\n",
        pods_job(&standin, &certs.ca(), &token),
        prometheus.write_url
    );

    run(&config, &moto).await;
    let cpu_b = "count(node_cpu_seconds_total{pod=\"web-b\"})";
    let before = prometheus.query_until_found(cpu_b).await.expect("query");
    assert!(before.first().is_some_and(|(_, n)| *n > 0.0), "{before:?}");

    standin
        .delete("pods", "shop", "web-b")
        .await
        .expect("delete");
    let second = run(&config, &moto).await;
    assert_eq!(state(&second)["targets_vanished"], 1, "{}", second.summary);
    assert!(
        state(&second)["stale_markers"].as_u64() > Some(100),
        "every series of the pod's node-exporter: {}",
        second.summary
    );
    for gone in [
        cpu_b,
        "up{pod=\"web-b\"}",
        "scrape_series_added{pod=\"web-b\"}",
    ] {
        let result = prometheus.query(gone).await.expect("query");
        assert!(result.is_empty(), "{gone} still returned: {result:?}");
    }
    let kept = prometheus
        .query("count(node_cpu_seconds_total{pod=\"web-a\"})")
        .await
        .expect("query");
    assert!(kept.first().is_some_and(|(_, n)| *n > 0.0), "{kept:?}");
}

/// An exporter that answers each scrape after `delay`, so runs overlap.
async fn slow_exporter(body: &'static str, delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                tokio::time::sleep(delay).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    address
}

/// The state object as it is now.
async fn stored_state(s3: &aws_sdk_s3::Client) -> scraper::staleness::run_state::RunState {
    let object = s3
        .get_object()
        .bucket(BUCKET)
        .key(KEY)
        .send()
        .await
        .expect("get");
    let bytes = object.body.collect().await.expect("body").into_bytes();
    scraper::staleness::codec::decode(&bytes).expect("state decodes")
}

#[tokio::test]
async fn overlapping_runs_merge_their_state_and_every_allowed_marker_is_written() {
    let (moto, s3) = moto_with_bucket().await;
    let receiver = FakeServer::start().await;
    let write_url = format!("{}/api/v1/write", receiver.base_url());
    let one = slow_exporter("first 1\nfirst_extra 1\n", Duration::from_secs(2)).await;
    let two = slow_exporter("second 1\nsecond_extra 1\n", Duration::from_secs(2)).await;

    // Both runs read "no state", scrape for 2 s, then write: one of them finds the
    // other's object and merges.
    let config_one = config(std::slice::from_ref(&one), &write_url, BUCKET);
    let config_two = config(std::slice::from_ref(&two), &write_url, BUCKET);
    let (x, y) = tokio::join!(run(&config_one, &moto), run(&config_two, &moto));
    let conflicts =
        state(&x)["conflicts"].as_u64().unwrap() + state(&y)["conflicts"].as_u64().unwrap();
    assert_eq!(conflicts, 1, "{}\n{}", x.summary, y.summary);
    assert_eq!(x.count("state_conflicts") + y.count("state_conflicts"), 1);
    assert_eq!(state(&x)["written"], true, "{}", x.summary);
    assert_eq!(state(&y)["written"], true, "{}", y.summary);
    let stored = stored_state(&s3).await;
    assert_eq!(
        stored.targets.len(),
        2,
        "both runs' targets are kept: {stored:?}"
    );
    assert_eq!(stored.series(), 4);

    // The target only the other run knew is still known: when it leaves, its series
    // are marked.
    let before = receiver.accepted_writes().len();
    let third = run(&config_one, &moto).await;
    let found = markers(&written_since(&receiver, before));
    let vanished: Vec<&str> = found.iter().map(|w| w.series.as_str()).collect();
    assert!(
        vanished.contains(&format!("second_extra{{instance={two:?},job=\"node\"}}").as_str()),
        "the target only the other run had is marked when it leaves: {vanished:?}"
    );
    assert_eq!(state(&third)["targets_vanished"], 1, "{}", third.summary);
    assert_eq!(
        found.len(),
        2 + 5,
        "second, second_extra and 5 synthetic: {vanished:?}"
    );
}

#[tokio::test]
async fn a_missing_bucket_a_corrupt_object_and_another_version_never_fail_the_run() {
    let (moto, s3) = moto_with_bucket().await;
    let receiver = FakeServer::start().await;
    let exporter = FakeServer::start().await;
    serve(&exporter, &["a", "b"]);
    let write_url = format!("{}/api/v1/write", receiver.base_url());
    let targets = [exporter.target()];

    // No bucket: the run scrapes and sends; reading and writing are each counted.
    let missing = run(&config(&targets, &write_url, "no-such-bucket"), &moto).await;
    assert_eq!(state(&missing)["read"], "unusable", "{}", missing.summary);
    let why = state(&missing)["read_error"].as_str().unwrap_or_default();
    assert!(why.contains("NoSuchBucket"), "{why}");
    assert_eq!(state(&missing)["written"], false);
    assert!(state(&missing)["write_error"]
        .as_str()
        .is_some_and(|e| e.contains("NoSuchBucket")));
    assert_eq!(missing.count("state_errors"), 2, "{}", missing.summary);
    assert!(missing.count("samples_sent") > 0);

    // A corrupt object and one of another version: no markers this run, a fresh
    // state written over it, counted once each.
    let config = config(&targets, &write_url, BUCKET);
    let mut other_version = b"SCRSTALE".to_vec();
    other_version.push(9);
    other_version.extend_from_slice(b"future payload");
    for (object, expected) in [
        (b"not a state object".to_vec(), "bad magic"),
        (other_version, "version 9"),
    ] {
        s3.put_object()
            .bucket(BUCKET)
            .key(KEY)
            .body(object.into())
            .send()
            .await
            .expect("put");
        let before = receiver.accepted_writes().len();
        let unusable = run(&config, &moto).await;
        assert_eq!(state(&unusable)["read"], "unusable", "{}", unusable.summary);
        let why = state(&unusable)["read_error"].as_str().unwrap_or_default();
        assert!(why.contains(expected) && why.contains(KEY), "{why}");
        assert_eq!(unusable.count("state_errors"), 1, "{}", unusable.summary);
        assert_eq!(state(&unusable)["written"], true, "{}", unusable.summary);
        assert!(markers(&written_since(&receiver, before)).is_empty());
        assert_eq!(stored_state(&s3).await.series(), 2);
    }

    // The fresh state works: a series that goes away now is marked.
    serve(&exporter, &["a"]);
    let before = receiver.accepted_writes().len();
    let after = run(&config, &moto).await;
    let found = markers(&written_since(&receiver, before));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(state(&after)["read"], "loaded");
}

#[tokio::test]
async fn markers_whose_sends_failed_are_written_by_the_next_run() {
    let (moto, _s3) = moto_with_bucket().await;
    let receiver = FakeServer::start().await;
    let failing = FakeServer::start().await;
    failing.script(std::iter::repeat_n(Reply::status(503), 10_000));
    let exporter = FakeServer::start().await;
    serve(&exporter, &["a", "b"]);
    let targets = [exporter.target()];
    let good = format!("{}/api/v1/write", receiver.base_url());
    let bad = format!("{}/api/v1/write", failing.base_url());

    run(&config(&targets, &good, BUCKET), &moto).await;

    // Run 2 cannot send: the marker for b is built but not delivered.
    serve(&exporter, &["a"]);
    let cut = harness::run_scraper_with_env(
        &config(&targets, &bad, BUCKET),
        4.0,
        &[("AWS_ENDPOINT_URL", moto.address.as_str())],
    )
    .await;
    assert!(cut.success, "{}", cut.stderr);
    assert!(cut.count("samples_unsent") > 0, "{}", cut.summary);
    assert_eq!(state(&cut)["stale_markers"], 1, "{}", cut.summary);
    assert_eq!(state(&cut)["written"], true, "{}", cut.summary);

    // Run 3 can: b's marker arrives now, and only now.
    let before = receiver.accepted_writes().len();
    let healed = run(&config(&targets, &good, BUCKET), &moto).await;
    let found = markers(&written_since(&receiver, before));
    let series: Vec<&str> = found.iter().map(|w| w.series.as_str()).collect();
    let target = exporter.target();
    assert_eq!(
        series,
        [format!("b{{instance={target:?},job=\"node\"}}")],
        "{}",
        healed.summary
    );

    let before = receiver.accepted_writes().len();
    run(&config(&targets, &good, BUCKET), &moto).await;
    assert!(markers(&written_since(&receiver, before)).is_empty());
}
