//! Remote-write delivery under faults, against a scripted local receiver: retries of
//! 5xx and 429 (honouring Retry-After) deliver every sample exactly once, a 400 is
//! never retried and is counted as dropped, and a hung receiver cannot hold the run
//! past its deadline.

use crate::harness;
use test_support::fake_http;

use std::collections::HashMap;
use std::time::Duration;

use fake_http::{series_key, FakeServer, Reply};

/// An exposition with `n` gauge series.
fn exposition(n: usize) -> String {
    let mut text =
        String::from("# HELP fault_test_value A test gauge.\n# TYPE fault_test_value gauge\n");
    for i in 0..n {
        text.push_str(&format!("fault_test_value{{series=\"{i}\"}} {i}\n"));
    }
    text
}

fn config(server: &FakeServer, max_samples_per_send: usize, extra_queue: &str) -> String {
    format!(
        r#"
scrape_configs:
  - job_name: faults
    static_configs: [{{targets: ["{target}"]}}]
remote_write:
  - url: {base}/api/v1/write
    queue_config:
      max_samples_per_send: {max_samples_per_send}
      min_backoff: 10ms
      max_backoff: 100ms
      max_shards: 2
{extra_queue}
"#,
        target = server.target(),
        base = server.base_url(),
    )
}

/// Every exposed series, counted over the requests the receiver accepted.
fn delivered_counts(server: &FakeServer) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for request in server.accepted_writes() {
        for series in &request.timeseries {
            *counts.entry(series_key(series)).or_default() += 1;
        }
    }
    counts
}

#[tokio::test]
async fn retries_5xx_and_429_then_every_sample_arrives_exactly_once() {
    let server = FakeServer::start().await;
    server.serve("/metrics", "text/plain; version=0.0.4", exposition(50));
    server.script([
        Reply::status(500),
        Reply::status(503),
        Reply::retry_after(429, "1"),
    ]);
    let run = harness::run_scraper(&config(&server, 20, ""), 30.0).await;
    assert!(run.success, "{}", run.stderr);

    let counts = delivered_counts(&server);
    for i in 0..50 {
        let key = format!(
            "fault_test_value{{instance={:?},job=\"faults\",series=\"{i}\"}}",
            server.target()
        );
        assert_eq!(counts.get(&key), Some(&1), "series {key} in {counts:?}");
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "a series arrived twice: {counts:?}"
    );
    assert_eq!(run.count("retries"), 3, "{}", run.summary);
    assert_eq!(run.count("samples_unsent"), 0);
    assert_eq!(run.count("samples_rejected"), 0);
    // 50 exposed + 5 synthetic series were sent.
    assert!(run.count("samples_sent") >= 55, "{}", run.summary);
    assert!(
        run.elapsed >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured ({:?})",
        run.elapsed
    );
    let posts = server
        .captured()
        .into_iter()
        .filter(|c| c.method == "POST")
        .count() as u64;
    assert_eq!(posts, run.count("requests"), "every attempt is counted");
}

#[tokio::test]
async fn http_400_is_not_retried_and_counted_as_dropped() {
    let server = FakeServer::start().await;
    server.serve("/metrics", "text/plain; version=0.0.4", exposition(10));
    server.script([Reply::status(400)]);
    let run = harness::run_scraper(&config(&server, 2000, ""), 30.0).await;
    assert!(run.success, "{}", run.stderr);
    // One request with the target's 10 + 5 series (refused), then the run's own series.
    assert_eq!(run.count("retries"), 0, "{}", run.summary);
    assert_eq!(run.count("samples_rejected"), 15, "{}", run.summary);
    let answers: Vec<_> = server
        .captured()
        .into_iter()
        .filter(|c| c.method == "POST")
        .map(|c| c.answered)
        .collect();
    assert_eq!(
        answers.iter().filter(|a| **a == Some(400)).count(),
        1,
        "{answers:?}"
    );
    let counts = delivered_counts(&server);
    assert!(
        !counts.keys().any(|k| k.starts_with("fault_test_value")),
        "refused samples must not reappear: {counts:?}"
    );
    assert!(run.stderr.contains("not retried"), "{}", run.stderr);
}

#[tokio::test]
async fn retry_on_http_429_false_drops_on_429() {
    let server = FakeServer::start().await;
    server.serve("/metrics", "text/plain; version=0.0.4", exposition(3));
    server.script([Reply::retry_after(429, "1")]);
    let run = harness::run_scraper(
        &config(&server, 2000, "      retry_on_http_429: false"),
        30.0,
    )
    .await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.count("retries"), 0, "{}", run.summary);
    assert_eq!(run.count("samples_rejected"), 8, "{}", run.summary);
}

#[tokio::test]
async fn hung_receiver_ends_before_the_deadline_and_reports_unsent() {
    let server = FakeServer::start().await;
    server.serve("/metrics", "text/plain; version=0.0.4", exposition(10));
    server.script(std::iter::repeat_n(Reply::Hang, 50));
    let timeout = 4.0;
    let run = harness::run_scraper(&config(&server, 2000, ""), timeout).await;
    assert!(run.success, "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs_f64(timeout),
        "run took {:?}, deadline {timeout}s",
        run.elapsed
    );
    assert_eq!(run.count("samples_sent"), 0, "{}", run.summary);
    // The target's 15 samples, plus the run's own series that could not be sent either.
    assert!(run.count("samples_unsent") >= 15, "{}", run.summary);
    assert_eq!(run.summary["deadline_hit"], true, "{}", run.summary);
}

#[tokio::test]
async fn series_over_the_label_limit_are_dropped_alone() {
    let server = FakeServer::start().await;
    let mut text = exposition(3);
    let many: Vec<String> = (0..80).map(|i| format!("l{i}=\"v\"")).collect();
    text.push_str(&format!("too_many_labels{{{}}} 1\n", many.join(",")));
    server.serve("/metrics", "text/plain; version=0.0.4", text);
    let run = harness::run_scraper(&config(&server, 2000, ""), 30.0).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.count("series_dropped_limits"), 1, "{}", run.summary);
    let counts = delivered_counts(&server);
    assert!(!counts.keys().any(|k| k.starts_with("too_many_labels")));
    assert_eq!(
        counts
            .keys()
            .filter(|k| k.starts_with("fault_test_value"))
            .count(),
        3
    );
    assert!(
        run.stderr.contains("more than the limit of 70"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn requests_carry_remote_write_headers_sorted_labels_and_metadata() {
    let server = FakeServer::start().await;
    server.serve("/metrics", "text/plain; version=0.0.4", exposition(5));
    let run = harness::run_scraper(&config(&server, 2000, ""), 30.0).await;
    assert!(run.success, "{}", run.stderr);
    let posts: Vec<_> = server
        .captured()
        .into_iter()
        .filter(|c| c.method == "POST")
        .collect();
    assert!(!posts.is_empty());
    for post in &posts {
        assert_eq!(post.header("content-encoding"), Some("snappy"));
        assert_eq!(post.header("content-type"), Some("application/x-protobuf"));
        assert_eq!(
            post.header("x-prometheus-remote-write-version"),
            Some("0.1.0")
        );
        assert!(post
            .header("user-agent")
            .is_some_and(|ua| ua.starts_with("serverless-pipeline-scraper/")));
    }
    let mut saw_metadata = false;
    for request in server.accepted_writes() {
        for series in &request.timeseries {
            let names: Vec<&str> = series.labels.iter().map(|l| l.name.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(names, sorted, "labels sorted and unique");
            assert!(names.contains(&"__name__"));
            assert!(series.labels.iter().all(|l| !l.value.is_empty()));
        }
        for meta in &request.metadata {
            if meta.metric_family_name == "fault_test_value" {
                saw_metadata = true;
                assert_eq!(meta.help, "A test gauge.");
                assert_eq!(meta.r#type, 2, "gauge");
            }
        }
    }
    assert!(saw_metadata, "TYPE/HELP metadata was sent");
}
