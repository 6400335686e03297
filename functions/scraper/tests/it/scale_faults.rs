//! The scraper under faults at scale: 1,000 exporters on loopback in one run, 50 of
//! them hanging past the scrape timeout, and a remote-write receiver that answers 503
//! in bursts and, once it has accepted 800 requests, refuses everything until the run
//! is over. The run must end before its deadline, the answering targets
//! must be up and the hanging ones down, every accepted sample must be exactly what
//! was scraped, and every sample the receiver never accepted must be counted unsent.
//!
//! The scraper runs as a child process with at most 1,024 open files, as under Lambda,
//! and may hold a connection per scrape in flight, not one per target.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use prom::remote_write::WriteRequest;
use test_support::fake_http::decode_write;

use crate::harness::FAKE_ENV;

/// Exporter targets in the run.
const TARGETS: usize = 1_000;
/// One target in every `HANG_EVERY` hangs (5%); never the last one.
const HANG_EVERY: usize = 20;
/// Series each answering exporter exposes.
const SERIES_PER_TARGET: usize = 30;
/// Lines a stalling exporter sends before its body stops.
const STALLED_LINES: usize = 10;
/// `up`, `scrape_duration_seconds`, `scrape_samples_scraped`,
/// `scrape_samples_post_metric_relabeling`, `scrape_series_added`.
const SYNTHETIC_SERIES: usize = 5;
/// The job's scrape timeout, which the hanging exporters outlast.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
/// Scrapes in flight at once (`scraper.max_concurrent_scrapes`).
const CONCURRENT_SCRAPES: usize = 64;
/// The invocation's deadline (`--timeout`), generous enough for the debug build on two
/// cores shared with the exporters and the receiver.
const DEADLINE: Duration = Duration::from_secs(30);
/// The receiver answers 503 to every POST for `BURST` in every `BURST_PERIOD`: the
/// requests in flight then are retried, with backoff, until the burst is over.
const BURST: Duration = Duration::from_millis(100);
const BURST_PERIOD: Duration = Duration::from_millis(500);
/// The receiver refuses everything once it has accepted this many requests (one per
/// target), until the run is over: the remaining targets' samples cannot be delivered
/// in time, and the scrapes still under way when it begins must not suffer from it.
const OUTAGE_AFTER_ACCEPTED: usize = 800;
/// Open files the scraper may have, as a Lambda function may.
const LAMBDA_OPEN_FILES: u32 = 1_024;

/// How an exporter behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Serves its exposition at once.
    Answers,
    /// Accepts the connection, reads the request and never answers.
    Silent,
    /// Sends the headers and the first lines of its exposition, then stalls.
    Stalls,
}

fn behaviour(id: usize) -> Behaviour {
    match (id % HANG_EVERY, id / HANG_EVERY % 2) {
        (7, 0) => Behaviour::Silent,
        (7, _) => Behaviour::Stalls,
        _ => Behaviour::Answers,
    }
}

/// A value no other sample of the run has.
fn value(id: usize, series: usize) -> f64 {
    (id * 1_000 + series) as f64 + 0.25
}

/// The exposition of exporter `id`: its id as a label and distinct values.
fn exposition(id: usize) -> String {
    let mut text = String::from(
        "# HELP scale_test_value A value distinct per target and series.\n\
         # TYPE scale_test_value gauge\n",
    );
    for series in 0..SERIES_PER_TARGET {
        text.push_str(&format!(
            "scale_test_value{{exporter=\"{id}\",series=\"{series}\"}} {}\n",
            value(id, series)
        ));
    }
    text
}

/// The first lines of an exposition, which a stalling exporter sends.
fn stalled_prefix(id: usize) -> String {
    exposition(id)
        .lines()
        .take(STALLED_LINES + 2)
        .map(|line| format!("{line}\n"))
        .collect()
}

type Body = BoxBody<Bytes, Infallible>;

/// 1,000 exporters, one listener each on 127.0.0.1; they stop when dropped.
struct Exporters {
    addrs: Vec<SocketAddr>,
    /// The most connections open to them at once.
    most_open: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Exporters {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Exporters {
    async fn start() -> Self {
        let mut addrs = Vec::with_capacity(TARGETS);
        let mut tasks = Vec::with_capacity(TARGETS);
        let open = Arc::new(AtomicUsize::new(0));
        let most_open = Arc::new(AtomicUsize::new(0));
        for id in 0..TARGETS {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            addrs.push(listener.local_addr().expect("local addr"));
            let (open, most_open) = (open.clone(), most_open.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                    most_open.fetch_max(now, Ordering::SeqCst);
                    let open = open.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |_request| exporter_reply(id));
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                        open.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            }));
        }
        Self {
            addrs,
            most_open,
            tasks,
        }
    }
}

async fn exporter_reply(id: usize) -> Result<Response<Body>, Infallible> {
    let body: Body = match behaviour(id) {
        Behaviour::Answers => Full::new(Bytes::from(exposition(id))).boxed(),
        Behaviour::Silent => {
            std::future::pending::<()>().await;
            Full::new(Bytes::new()).boxed()
        }
        Behaviour::Stalls => {
            let first = Frame::data(Bytes::from(stalled_prefix(id)));
            let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(first) })
                .chain(futures_util::stream::pending());
            BodyExt::boxed(StreamBody::new(stream))
        }
    };
    Ok(Response::builder()
        .status(200)
        .header("Content-Type", "text/plain; version=0.0.4")
        .body(body)
        .unwrap_or_default())
}

/// One POST the receiver answered.
struct Post {
    status: u16,
    /// Refused by the final outage (not by a burst).
    in_outage: bool,
    /// When it arrived, from the receiver's start.
    at: Duration,
    request: WriteRequest,
}

/// What the receiver got, in arrival order.
#[derive(Default)]
struct Log {
    posts: Vec<Post>,
    accepted: usize,
}

/// A remote-write receiver that decodes every request, answers 503 in bursts, and to
/// everything once it has accepted `outage_after` requests; it keeps every request.
struct Receiver {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(outage_after: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let log: Arc<Mutex<Log>> = Arc::default();
        let shared = log.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let log = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        receive(log.clone(), request, outage_after, started)
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, log, task }
    }
}

async fn receive(
    log: Arc<Mutex<Log>>,
    request: Request<Incoming>,
    outage_after: usize,
    started: Instant,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let decoded = decode_write(&body);
    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
    let in_outage = log.accepted >= outage_after;
    let at = started.elapsed();
    let in_burst = at.as_nanos() % BURST_PERIOD.as_nanos() < BURST.as_nanos();
    let status = if in_outage || in_burst { 503 } else { 204 };
    if status == 204 {
        log.accepted += 1;
    }
    log.posts.push(Post {
        status,
        in_outage,
        at,
        request: decoded,
    });
    drop(log);
    Ok(Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(b"scripted 503")))
        .unwrap_or_default())
}

/// Raises this process's soft limit on open files to the hard limit when it is below
/// `wanted`: the test holds 1,000 listeners and the connections to them, more than a
/// common default of 1,024 allows.
#[allow(unsafe_code)]
fn raise_open_files_limit(wanted: libc::rlim_t) {
    // SAFETY: rlimit is plain data that getrlimit fills.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: a valid resource and a pointer to a valid rlimit.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(read, 0, "getrlimit(RLIMIT_NOFILE) failed");
    if limit.rlim_cur >= wanted {
        return;
    }
    limit.rlim_cur = limit.rlim_max.min(wanted);
    // SAFETY: a valid resource and a pointer to a valid rlimit.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(set, 0, "setrlimit(RLIMIT_NOFILE) failed");
    assert!(
        limit.rlim_cur >= wanted,
        "the open files limit is {}; this test needs {wanted}",
        limit.rlim_cur
    );
}

fn config(exporters: &Exporters, receiver: &Receiver) -> String {
    let targets: Vec<String> = exporters.addrs.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        r#"
global:
  scrape_timeout: {timeout}s
scrape_configs:
  - job_name: scale
    static_configs:
      - targets: [{targets}]
remote_write:
  - url: http://{receiver}/api/v1/write
scraper:
  max_concurrent_scrapes: {CONCURRENT_SCRAPES}
  # The run's own series are left out so that the samples a run produces are known
  # exactly: 35 per answering target, 5 per hanging one.
  self_metrics: {{enabled: false}}
"#,
        timeout = SCRAPE_TIMEOUT.as_secs(),
        targets = targets.join(", "),
        receiver = receiver.addr,
    )
}

/// The child scraper's figures.
struct ChildRun {
    summary: serde_json::Value,
    stderr: String,
    usage: test_support::child_usage::Usage,
}

/// Runs the scraper binary on `config` with `--timeout` [`DEADLINE`], limited to
/// [`LAMBDA_OPEN_FILES`] open files, and measures its own CPU time.
async fn run_limited(config: &str) -> ChildRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = dir.path().join("scraper.yaml");
    std::fs::write(&config_path, config).expect("write config");
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({ "config_file": config_path }).to_string(),
    )
    .expect("write event");
    let out = dir.path().join("out.json");
    let err = dir.path().join("stderr.txt");
    let started = Instant::now();
    // The shell lowers the limit and execs the scraper in its place, so the pid waited
    // for (and its CPU time) is the scraper's.
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {LAMBDA_OPEN_FILES} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_scraper"))
        .arg("--event")
        .arg(&event)
        .arg("--timeout")
        .arg(DEADLINE.as_secs_f64().to_string())
        .envs(FAKE_ENV)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "info")
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("scraper starts");
    let usage = tokio::task::spawn_blocking(move || {
        test_support::child_usage::wait_with_usage(child, started)
    })
    .await
    .expect("waiting for the scraper");
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    let stdout = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(usage.success, "the scraper failed: {stderr}");
    let summary = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\nstderr: {stderr}"));
    ChildRun {
        summary,
        stderr,
        usage,
    }
}

fn label<'a>(series: &'a prom::remote_write::TimeSeries, name: &str) -> Option<&'a str> {
    series
        .labels
        .iter()
        .find(|l| l.name == name)
        .map(|l| l.value.as_str())
}

/// The samples accepted per instance: (name, `series` label, value bits, timestamp).
type Accepted = HashMap<String, Vec<(String, Option<String>, u64, i64)>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_targets_with_hangs_and_503_bursts_lose_nothing_uncounted() {
    raise_open_files_limit(4 * TARGETS as libc::rlim_t);
    let exporters = Exporters::start().await;
    let answering = (0..TARGETS)
        .filter(|&id| behaviour(id) == Behaviour::Answers)
        .count();
    let hanging = TARGETS - answering;
    assert_eq!(hanging, TARGETS / HANG_EVERY, "5% hang");
    let receiver = Receiver::start(OUTAGE_AFTER_ACCEPTED).await;
    let run = run_limited(&config(&exporters, &receiver)).await;
    let summary = &run.summary;
    // The summary without its 1,000 target reports, for failure messages.
    let figures = {
        let mut figures = summary.clone();
        figures["target_reports"] = serde_json::Value::Null;
        figures
    };
    let count = |field: &str| {
        summary
            .get(field)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| panic!("summary has no numeric {field}"))
    };
    let posts = std::mem::take(&mut receiver.log.lock().unwrap().posts);

    // The run ends before its deadline, having been cut short by it.
    assert!(
        run.usage.wall_seconds < DEADLINE.as_secs_f64(),
        "the run took {:.3}s, deadline {:?}",
        run.usage.wall_seconds,
        DEADLINE
    );
    assert_eq!(
        summary["deadline_hit"], true,
        "the final outage lasts past the deadline"
    );
    let duration = summary["duration_seconds"].as_f64().unwrap();
    let deadline_seconds = summary["deadline_seconds"].as_f64().unwrap();
    assert!(
        duration < deadline_seconds,
        "{duration} vs {deadline_seconds}"
    );

    // The scraper holds a connection per scrape in flight, not one per target: under
    // Lambda's 1,024 open files a shard of 1,000 targets or more would otherwise fail.
    // (Hung connections stay open on the exporters' side, and a closed one is seen
    // closed a little after the next is accepted: hence the slack.)
    let most_open = exporters.most_open.load(Ordering::SeqCst);
    assert!(
        most_open <= TARGETS / 4,
        "{most_open} connections open to the exporters at once"
    );

    // Answering targets up, hanging ones down with a timeout.
    let addr_to_id: HashMap<String, usize> = exporters
        .addrs
        .iter()
        .enumerate()
        .map(|(id, a)| (a.to_string(), id))
        .collect();
    let reports = summary["target_reports"].as_array().unwrap();
    assert_eq!(reports.len(), TARGETS);
    assert_eq!(count("targets"), TARGETS as u64);
    assert_eq!(count("targets_up"), answering as u64, "{}", run.stderr);
    assert_eq!(count("targets_down"), hanging as u64);
    for report in reports {
        let instance = report["instance"].as_str().unwrap();
        let id = addr_to_id[instance];
        let up = report["up"].as_bool().unwrap();
        match behaviour(id) {
            Behaviour::Answers => {
                assert!(up, "{report}");
                assert_eq!(report["samples_scraped"], SERIES_PER_TARGET, "{report}");
            }
            hangs => {
                assert!(!up, "{report}");
                let error = report["error"].as_str().unwrap();
                assert!(
                    error.starts_with("scrape timed out after 2.000s"),
                    "{report}"
                );
                let scraped = if hangs == Behaviour::Stalls {
                    STALLED_LINES
                } else {
                    0
                };
                assert_eq!(report["samples_scraped"], scraped, "{report}");
            }
        }
    }

    // The receiver's account of every POST: every attempt counted, each answered.
    let accepted_posts: Vec<&Post> = posts.iter().filter(|p| p.status == 204).collect();
    let refused = posts.len() - accepted_posts.len();
    let refused_in_bursts = posts
        .iter()
        .filter(|p| p.status == 503 && !p.in_outage)
        .count();
    assert_eq!(
        posts.len() as u64,
        count("requests"),
        "every attempt counted"
    );
    assert!(refused_in_bursts > 0, "the bursts refused requests");
    assert!(count("retries") > 0, "503s are retried");
    assert!(
        count("retries") <= refused as u64
            && refused as u64 <= count("retries") + count("requests_failed"),
        "each 503 is retried or ends a failed request: {refused} 503s, {figures}"
    );

    // Every request carries one target's samples; a target whose attempts all met the
    // bursts only (none the final outage) was delivered, once: nothing the time allowed
    // to send is lost.
    let mut attempts: HashMap<String, Vec<&Post>> = HashMap::new();
    for post in &posts {
        let instances: HashSet<&str> = post
            .request
            .timeseries
            .iter()
            .map(|series| label(series, "instance").unwrap())
            .collect();
        assert!(
            instances.len() <= 1,
            "one target per request: {instances:?}"
        );
        if let Some(instance) = instances.into_iter().next() {
            attempts.entry(instance.to_string()).or_default().push(post);
        }
    }
    for (instance, tried) in &attempts {
        let accepted = tried.iter().filter(|p| p.status == 204).count();
        assert!(accepted <= 1, "{instance} was accepted {accepted} times");
        if tried.iter().all(|p| !p.in_outage) {
            let tried: Vec<(u16, f64)> = tried
                .iter()
                .map(|p| (p.status, p.at.as_secs_f64()))
                .collect();
            assert_eq!(
                accepted,
                1,
                "{instance} met only bursts and was not delivered: {tried:?}; {} POSTs, \
                 the outage from {:?}",
                posts.len(),
                posts.iter().find(|p| p.in_outage).map(|p| p.at)
            );
        }
    }
    assert_eq!(accepted_posts.len(), OUTAGE_AFTER_ACCEPTED);

    // Every accepted sample, by target.
    let mut accepted: Accepted = HashMap::new();
    let mut total_accepted = 0u64;
    for post in &accepted_posts {
        for series in &post.request.timeseries {
            let instance = label(series, "instance").unwrap().to_string();
            let name = label(series, "__name__").unwrap().to_string();
            assert_eq!(label(series, "job"), Some("scale"));
            assert_eq!(series.samples.len(), 1);
            let sample = &series.samples[0];
            total_accepted += 1;
            accepted.entry(instance).or_default().push((
                name,
                label(series, "series").map(str::to_string),
                sample.value.to_bits(),
                sample.timestamp,
            ));
            if let Some(exporter) = label(series, "exporter") {
                assert_eq!(
                    exporter,
                    addr_to_id[label(series, "instance").unwrap()].to_string(),
                    "a sample under another target's instance"
                );
            }
        }
    }

    // Each target's samples are one request: all of them arrived, exactly as exposed,
    // once, or none did.
    let mut delivered_targets = 0usize;
    let mut missing_answering = 0usize;
    let mut produced = 0u64;
    let mut never_accepted = 0u64;
    for (id, addr) in exporters.addrs.iter().enumerate() {
        let expected = expected_samples(id);
        produced += expected.len() as u64;
        let Some(got) = accepted.get(&addr.to_string()) else {
            never_accepted += expected.len() as u64;
            if behaviour(id) == Behaviour::Answers {
                missing_answering += 1;
            }
            continue;
        };
        delivered_targets += 1;
        let timestamps: HashSet<i64> = got.iter().map(|s| s.3).collect();
        assert_eq!(timestamps.len(), 1, "one scrape time per target: {got:?}");
        let mut got_values: BTreeMap<(String, Option<String>), u64> = BTreeMap::new();
        for (name, series, bits, _) in got {
            let key = (name.clone(), series.clone());
            assert!(
                got_values.insert(key.clone(), *bits).is_none(),
                "{key:?} of target {id} arrived twice"
            );
        }
        for (key, want) in &expected {
            match want {
                Some(bits) => assert_eq!(got_values.get(key), Some(bits), "target {id} {key:?}"),
                None => assert!(got_values.contains_key(key), "target {id} {key:?}"),
            }
        }
        assert_eq!(
            got_values.len(),
            expected.len(),
            "target {id}: {got_values:?}"
        );
    }
    assert_eq!(delivered_targets, OUTAGE_AFTER_ACCEPTED);

    // The accounting balances: sent is what the receiver accepted, unsent is the rest.
    assert_eq!(total_accepted, count("samples_sent"), "{figures}");
    assert_eq!(count("samples_unsent"), never_accepted, "{figures}");
    assert_eq!(count("samples_rejected"), 0);
    assert_eq!(count("series_dropped_limits"), 0);
    assert_eq!(
        count("samples_sent") + count("samples_unsent"),
        produced,
        "{figures}"
    );

    let outage_began = posts
        .iter()
        .find(|p| p.in_outage)
        .map_or(f64::NAN, |p| p.at.as_secs_f64());
    let last_accepted = accepted_posts
        .last()
        .map_or(f64::NAN, |p| p.at.as_secs_f64());
    eprintln!(
        "scale run: {TARGETS} targets ({answering} answering, {hanging} hanging), \
         deadline {:.0}s: wall {:.2}s (summary {duration:.2}s), CPU {:.2}s, peak RSS {:.0} MiB; \
         up {}, down {}; samples scraped {}, produced {produced}, sent {}, unsent {}; \
         requests {} (accepted {}, 503 {} of which {refused_in_bursts} in bursts), \
         retries {}, requests failed {}; targets delivered {delivered_targets}, \
         answering targets lost to the final outage {missing_answering}; \
         receiver: last accepted at {last_accepted:.2}s, outage from {outage_began:.2}s; \
         at most {most_open} connections open to the exporters",
        DEADLINE.as_secs_f64(),
        run.usage.wall_seconds,
        run.usage.cpu_seconds,
        run.usage.peak_rss_bytes as f64 / (1 << 20) as f64,
        count("targets_up"),
        count("targets_down"),
        count("samples_scraped"),
        count("samples_sent"),
        count("samples_unsent"),
        count("requests"),
        accepted_posts.len(),
        refused,
        count("retries"),
        count("requests_failed"),
    );
}

/// What target `id` produces: (name, `series` label) -> value bits, `None` where the
/// value is not known in advance (the scrape's duration).
fn expected_samples(id: usize) -> BTreeMap<(String, Option<String>), Option<u64>> {
    let mut expected = BTreeMap::new();
    let answers = behaviour(id) == Behaviour::Answers;
    if answers {
        for series in 0..SERIES_PER_TARGET {
            expected.insert(
                ("scale_test_value".to_string(), Some(series.to_string())),
                Some(value(id, series).to_bits()),
            );
        }
    }
    let scraped = match behaviour(id) {
        Behaviour::Answers => SERIES_PER_TARGET,
        Behaviour::Stalls => STALLED_LINES,
        Behaviour::Silent => 0,
    };
    let kept = if answers { SERIES_PER_TARGET } else { 0 };
    let synthetic = [
        ("up", Some(if answers { 1.0 } else { 0.0 })),
        ("scrape_duration_seconds", None),
        ("scrape_samples_scraped", Some(scraped as f64)),
        ("scrape_samples_post_metric_relabeling", Some(kept as f64)),
        ("scrape_series_added", Some(kept as f64)),
    ];
    assert_eq!(synthetic.len(), SYNTHETIC_SERIES);
    for (name, want) in synthetic {
        expected.insert((name.to_string(), None), want.map(f64::to_bits));
    }
    expected
}
