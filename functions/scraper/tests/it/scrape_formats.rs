//! What a scrape sends for the exposition a target serves: text format and OpenMetrics
//! chosen by Content-Type, gzip bodies, timestamps, relabeling, honor_labels, limits,
//! and a malformed target failing alone.

use crate::harness;
use test_support::fake_http;

use std::collections::BTreeMap;

use fake_http::FakeServer;

/// Series delivered to the receiver: key -> (value, timestamp).
fn delivered(server: &FakeServer) -> BTreeMap<String, (f64, i64)> {
    let mut out = BTreeMap::new();
    for request in server.accepted_writes() {
        for series in &request.timeseries {
            let sample = &series.samples[0];
            out.insert(
                fake_http::series_key(series),
                (sample.value, sample.timestamp),
            );
        }
    }
    out
}

fn config(exporter: &FakeServer, receiver: &FakeServer, job_extra: &str) -> String {
    format!(
        r#"
global:
  external_labels: {{region: test}}
scrape_configs:
  - job_name: app
    static_configs: [{{targets: ["{target}"], labels: {{env: ci}}}}]
{job_extra}
remote_write:
  - url: {base}/api/v1/write
"#,
        target = exporter.target(),
        base = receiver.base_url(),
    )
}

fn get<'a>(map: &'a BTreeMap<String, (f64, i64)>, prefix: &str) -> &'a (f64, i64) {
    let found: Vec<_> = map.iter().filter(|(k, _)| k.starts_with(prefix)).collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one series starting {prefix} in {map:#?}"
    );
    found[0].1
}

#[tokio::test]
async fn openmetrics_gzip_with_timestamps_and_exemplars() {
    let exporter = FakeServer::start().await;
    let receiver = FakeServer::start().await;
    let body = "# TYPE om_requests counter\n# HELP om_requests Requests.\nom_requests_total{code=\"200\"} 17 1700000000.5 # {trace_id=\"abc\"} 1 1700000000.1\nom_requests_created{code=\"200\"} 1600000000\n# TYPE om_temp_celsius gauge\n# UNIT om_temp_celsius celsius\nom_temp_celsius NaN\n# EOF\n";
    exporter.serve_gzip(
        "/metrics",
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        body.as_bytes(),
    );
    let run = harness::run_scraper(&config(&exporter, &receiver, ""), 30.0).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.target("app")["up"], true, "{}", run.summary);
    let got = delivered(&receiver);
    let (value, ts) = get(&got, "om_requests_total{");
    assert_eq!(*value, 17.0);
    assert_eq!(
        *ts, 1_700_000_000_500,
        "OpenMetrics seconds become milliseconds"
    );
    let (value, _) = get(&got, "om_temp_celsius{");
    assert!(value.is_nan());
    let get_req = exporter
        .captured()
        .into_iter()
        .find(|c| c.method == "GET")
        .expect("scraped");
    assert!(get_req
        .header("accept")
        .is_some_and(|a| a.starts_with("application/openmetrics-text;version=1.0.0")));
    assert!(get_req
        .header("accept-encoding")
        .is_some_and(|a| a.contains("gzip")));
    assert!(get_req
        .header("x-prometheus-scrape-timeout-seconds")
        .is_some());
    let key = get_req_labels(&got, "om_requests_total{");
    assert!(
        key.contains("env=\"ci\"")
            && key.contains("region=\"test\"")
            && key.contains("job=\"app\""),
        "{key}"
    );
}

fn get_req_labels(map: &BTreeMap<String, (f64, i64)>, prefix: &str) -> String {
    map.keys()
        .find(|k| k.starts_with(prefix))
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn text_format_labels_honor_and_relabel() {
    let exporter = FakeServer::start().await;
    let receiver = FakeServer::start().await;
    let body = "# TYPE t gauge\nt{job=\"exposed\",path=\"/a\\\"b\\\\c\\nd\"} 1 1600000000000\nt{job=\"exposed\",path=\"x\"} +Inf\ndrop_me 3\n";
    exporter.serve("/metrics", "text/plain; version=0.0.4; charset=utf-8", body);
    let extra = r#"    honor_timestamps: false
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: drop_me
        action: drop
      - source_labels: [path]
        regex: x
        target_label: kind
        replacement: plain
"#;
    let run = harness::run_scraper(&config(&exporter, &receiver, extra), 30.0).await;
    assert!(run.success, "{}", run.stderr);
    let got = delivered(&receiver);
    let escaped = got
        .keys()
        .find(|k| k.contains("path=\"/a\\\"b\\\\c\\nd\""))
        .unwrap_or_else(|| panic!("escaped value round-trips: {got:#?}"));
    assert!(escaped.contains("exported_job=\"exposed\""), "{escaped}");
    assert!(escaped.contains("job=\"app\""), "{escaped}");
    let (_, ts) = got[escaped];
    assert_ne!(
        ts, 1_600_000_000_000,
        "honor_timestamps: false uses the scrape time"
    );
    let plain = got
        .iter()
        .find(|(k, _)| k.contains("kind=\"plain\""))
        .unwrap_or_else(|| panic!("metric relabeling added kind: {got:#?}"));
    assert_eq!(plain.1 .0, f64::INFINITY);
    assert!(!got.keys().any(|k| k.starts_with("drop_me")));
    assert_eq!(run.target("app")["samples_scraped"], 3);
    assert_eq!(run.target("app")["samples_post_metric_relabeling"], 2);
    let (post, _) = get(&got, "scrape_samples_post_metric_relabeling{");
    assert_eq!(*post, 2.0);
    let (up, _) = get(&got, "up{");
    assert_eq!(*up, 1.0);
}

#[tokio::test]
async fn honor_labels_keeps_exposed_job() {
    let exporter = FakeServer::start().await;
    let receiver = FakeServer::start().await;
    exporter.serve("/metrics", "text/plain", "fed{job=\"original\"} 5\n");
    let run = harness::run_scraper(
        &config(&exporter, &receiver, "    honor_labels: true\n"),
        30.0,
    )
    .await;
    assert!(run.success, "{}", run.stderr);
    let got = delivered(&receiver);
    let key = get_req_labels(&got, "fed{");
    assert!(
        key.contains("job=\"original\"") && !key.contains("exported_job"),
        "{key}"
    );
}

#[tokio::test]
async fn malformed_exposition_fails_only_its_target() {
    let good = FakeServer::start().await;
    let bad = FakeServer::start().await;
    let receiver = FakeServer::start().await;
    good.serve("/metrics", "text/plain", "good_metric 1\n");
    bad.serve(
        "/metrics",
        "text/plain",
        "bad_metric_ok 1\nbad_metric{unclosed=\"x 2\nmore 3\n",
    );
    let config = format!(
        r#"
scrape_configs:
  - job_name: good
    static_configs: [{{targets: ["{good}"]}}]
  - job_name: bad
    static_configs: [{{targets: ["{bad}"]}}]
remote_write:
  - url: {base}/api/v1/write
"#,
        good = good.target(),
        bad = bad.target(),
        base = receiver.base_url()
    );
    let run = harness::run_scraper(&config, 30.0).await;
    assert!(run.success, "{}", run.stderr);
    let bad_report = run.target("bad");
    assert_eq!(bad_report["up"], false);
    let error = bad_report["error"].as_str().unwrap_or_default();
    assert!(error.contains("line 2"), "error names the line: {error}");
    assert_eq!(run.target("good")["up"], true);
    assert!(run.stderr.contains("scrape failed"), "{}", run.stderr);
    let got = delivered(&receiver);
    assert!(got.keys().any(|k| k.starts_with("good_metric{")));
    assert!(
        !got.keys().any(|k| k.starts_with("bad_metric")),
        "nothing of a failed scrape is sent: {got:#?}"
    );
    let up_bad = got
        .iter()
        .find(|(k, _)| k.starts_with("up{") && k.contains("job=\"bad\""))
        .map(|(_, v)| v.0);
    assert_eq!(up_bad, Some(0.0));
    assert_eq!(run.count("targets_up"), 1);
    assert_eq!(run.count("targets_down"), 1);
}

#[tokio::test]
async fn sample_limit_fails_the_scrape_like_prometheus() {
    let exporter = FakeServer::start().await;
    let receiver = FakeServer::start().await;
    exporter.serve("/metrics", "text/plain", "a 1\nb 2\nc 3\n");
    let run =
        harness::run_scraper(&config(&exporter, &receiver, "    sample_limit: 2\n"), 30.0).await;
    assert!(run.success, "{}", run.stderr);
    let report = run.target("app");
    assert_eq!(report["up"], false);
    assert!(report["error"]
        .as_str()
        .unwrap_or_default()
        .contains("sample_limit"));
}

#[tokio::test]
async fn unreachable_target_is_down_with_the_cause() {
    let receiver = FakeServer::start().await;
    let config = format!(
        "scrape_configs:\n  - job_name: gone\n    static_configs: [{{targets: ['127.0.0.1:1']}}]\nremote_write:\n  - url: {}/api/v1/write\n",
        receiver.base_url()
    );
    let run = harness::run_scraper(&config, 30.0).await;
    assert!(run.success, "{}", run.stderr);
    let report = run.target("gone");
    assert_eq!(report["up"], false);
    assert!(
        report["error"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains("connect"),
        "{report}"
    );
}

#[tokio::test]
async fn broken_config_is_a_clear_error_not_a_crash() {
    let run = harness::run_scraper(
        "scrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n",
        10.0,
    )
    .await;
    assert!(!run.success);
    assert!(run.stderr.contains("scrape_intervall"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[tokio::test]
async fn scrape_auth_headers_are_sent() {
    let exporter = FakeServer::start().await;
    let receiver = FakeServer::start().await;
    exporter.serve("/metrics", "text/plain", "authed 1\n");
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token\n").expect("token file");
    let config = format!(
        r#"
scrape_configs:
  - job_name: bearer
    bearer_token_file: {token}
    static_configs: [{{targets: ["{target}"]}}]
  - job_name: basic
    basic_auth: {{username: scraper, password: pw}}
    metrics_path: /metrics
    params: {{module: [x]}}
    static_configs: [{{targets: ["{target}"]}}]
remote_write:
  - url: {base}/api/v1/write
"#,
        token = token_file.display(),
        target = exporter.target(),
        base = receiver.base_url(),
    );
    let run = harness::run_scraper(&config, 30.0).await;
    assert!(run.success, "{}", run.stderr);
    let gets: Vec<_> = exporter
        .captured()
        .into_iter()
        .filter(|c| c.method == "GET")
        .collect();
    assert_eq!(gets.len(), 2);
    assert!(
        gets.iter()
            .any(|g| g.header("authorization") == Some("Bearer s3cret-token")),
        "bearer token from file (trimmed)"
    );
    assert!(gets.iter().any(|g| {
        g.header("authorization") == Some("Basic c2NyYXBlcjpwdw==")
            && g.path_and_query == "/metrics?module=x"
    }));
    assert!(
        !run.stderr.contains("s3cret-token"),
        "secrets are never logged"
    );
}

#[tokio::test]
async fn every_remote_write_endpoint_gets_its_own_relabeled_copy() {
    let exporter = FakeServer::start().await;
    let all = FakeServer::start().await;
    let filtered = FakeServer::start().await;
    exporter.serve(
        "/metrics",
        "text/plain",
        "go_goroutines 10\napp_requests_total 5\n",
    );
    let config = format!(
        r#"
global:
  external_labels: {{replica: r1}}
scrape_configs:
  - job_name: app
    static_configs: [{{targets: ["{target}"]}}]
remote_write:
  - url: {all}/api/v1/write
    name: everything
  - url: {filtered}/api/v1/write
    headers: {{X-Scope-OrgID: tenant-1}}
    write_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
      - source_labels: [replica]
        target_label: source_replica
"#,
        target = exporter.target(),
        all = all.base_url(),
        filtered = filtered.base_url(),
    );
    let run = harness::run_scraper(&config, 30.0).await;
    assert!(run.success, "{}", run.stderr);
    let everything = delivered(&all);
    let some = delivered(&filtered);
    assert!(everything.keys().any(|k| k.starts_with("go_goroutines{")));
    assert!(
        !some.keys().any(|k| k.starts_with("go_goroutines{")),
        "{some:#?}"
    );
    let app = get_req_labels(&some, "app_requests_total{");
    assert!(
        app.contains("source_replica=\"r1\""),
        "external labels are applied before write relabeling: {app}"
    );
    let posts: Vec<_> = filtered
        .captured()
        .into_iter()
        .filter(|c| c.method == "POST")
        .collect();
    assert!(posts
        .iter()
        .all(|p| p.header("x-scope-orgid") == Some("tenant-1")));
}

#[tokio::test]
async fn an_endless_line_fails_the_target_instead_of_growing_memory() {
    let exporter = FakeServer::start().await;
    let receiver = FakeServer::start().await;
    let mut body = b"ok_metric 1\nendless{label=\"".to_vec();
    body.resize(body.len() + (17 << 20), b'x');
    exporter.serve("/metrics", "text/plain", body);
    let run = harness::run_scraper(&config(&exporter, &receiver, ""), 30.0).await;
    assert!(run.success, "{}", run.stderr);
    let report = run.target("app");
    assert_eq!(report["up"], false);
    assert!(
        report["error"]
            .as_str()
            .unwrap_or_default()
            .contains("longer than"),
        "{report}"
    );
}

#[tokio::test]
async fn openmetrics_rules_are_reported_by_default_and_refused_when_strict() {
    // A histogram whose _count disagrees with its +Inf bucket, and a counter total
    // below zero: Prometheus scrapes both, OpenMetrics 1.0 forbids both.
    let body = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_count 2\nh_sum 4\n# TYPE c counter\nc_total -1\n# EOF\n";
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    let exporter = FakeServer::start().await;
    exporter.serve("/metrics", content_type, body.as_bytes().to_vec());
    let receiver = FakeServer::start().await;
    let lenient = harness::run_scraper(&config(&exporter, &receiver, ""), 30.0).await;
    assert!(lenient.success, "{}", lenient.stderr);
    let report = lenient.target("app");
    assert_eq!(report["up"], true, "{}", lenient.summary);
    let violations: Vec<&str> = report["openmetrics_violations"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("histogram-count: h{}")),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("counter-value: c{}")),
        "{violations:?}"
    );
    assert_eq!(
        lenient.count("openmetrics_violations"),
        2,
        "{}",
        lenient.summary
    );
    assert!(delivered(&receiver)
        .keys()
        .any(|k| k.starts_with("h_count{")));

    let strict_receiver = FakeServer::start().await;
    let strict = harness::run_scraper(
        &config(
            &exporter,
            &strict_receiver,
            "    openmetrics_validation: strict\n",
        ),
        30.0,
    )
    .await;
    assert!(strict.success, "{}", strict.stderr);
    let report = strict.target("app");
    assert_eq!(report["up"], false, "{}", strict.summary);
    let error = report["error"].as_str().unwrap_or_default();
    assert!(error.contains("openmetrics_validation: strict"), "{error}");
    assert!(error.contains("histogram-count"), "{error}");
    assert!(
        !delivered(&strict_receiver)
            .keys()
            .any(|k| k.starts_with("h_count{")),
        "a refused exposition sends none of its samples"
    );

    // The same exposition as the text format: the rules are OpenMetrics', not checked.
    let text = FakeServer::start().await;
    text.serve(
        "/metrics",
        "text/plain; version=0.0.4",
        "c_total -1\n".as_bytes().to_vec(),
    );
    let plain = harness::run_scraper(
        &config(
            &text,
            &strict_receiver,
            "    openmetrics_validation: strict\n",
        ),
        30.0,
    )
    .await;
    assert_eq!(plain.target("app")["up"], true, "{}", plain.summary);
}

#[tokio::test]
async fn a_series_repeated_in_one_scrape_is_sent_once_and_counted() {
    // Prometheus keeps a series' first sample of a scrape and counts the others. The
    // same series may come back with its labels in another order, in another family's
    // label order, or through the owned path (an empty value, a label the target also
    // sets); other series share its values under other names.
    let exporter = FakeServer::start().await;
    let receiver = FakeServer::start().await;
    let body = "\
m{a=\"1\",b=\"2\"} 1
m{b=\"2\",a=\"1\"} 2
m{a=\"1\",b=\"3\"} 3
m{a=\"1\",b=\"3\"} 4
m{a=\"2\"} 5
m{b=\"2\"} 6
m{a=\"1\",b=\"2\",c=\"\"} 7
m{a=\"1\",b=\"2\",env=\"x\"} 8
m{a=\"1\",b=\"2\",env=\"x\"} 9
n{a=\"1\",b=\"2\"} 10
m{b=\"2\",a=\"1\"} 11
";
    exporter.serve(
        "/metrics",
        "text/plain; version=0.0.4",
        body.as_bytes().to_vec(),
    );
    let run = harness::run_scraper(&config(&exporter, &receiver, ""), 30.0).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.count("samples_duplicate"), 5, "{}", run.summary);
    let target = run.target("app");
    assert_eq!(target["samples_scraped"], 11, "{}", run.summary);
    let got = delivered(&receiver);
    let families: Vec<&String> = got
        .keys()
        .filter(|k| k.starts_with("m{") || k.starts_with("n{"))
        .collect();
    assert_eq!(families.len(), 6, "{families:#?}");
    for (prefix, first) in [
        ("m{a=\"1\",b=\"2\",env=\"ci\",instance=", 1.0),
        ("m{a=\"1\",b=\"3\",", 3.0),
        ("m{a=\"2\",", 5.0),
        ("m{b=\"2\",", 6.0),
        ("m{a=\"1\",b=\"2\",env=\"ci\",exported_env=\"x\",", 8.0),
        ("n{a=\"1\",b=\"2\",", 10.0),
    ] {
        assert_eq!(get(&got, prefix).0, first, "{prefix}");
    }
}
