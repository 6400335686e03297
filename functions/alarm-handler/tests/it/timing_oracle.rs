//! Real Alertmanager 0.25 as the oracle for the timers: the same config (three
//! receivers reached by routes, one without `send_resolved`; short timers) is given
//! to Debian's Alertmanager and to `alarm-handler --serve` (groups in moto's
//! DynamoDB, flushed every 0.1 s), each receiver a webhook to its own fake server
//! per system. The same alerts go to both through `POST /api/v2/alerts` at the same
//! moments: a burst into three groups, a silence before the first flush, stragglers
//! after it, resolves, a group resolved completely and born again, and one alert
//! re-posted every 4 s as Prometheus does. Per receiver, the ordered notifications
//! (status, alerts with their status, group labels, and roughly when) must be the
//! same; Alertmanager's sequence is also checked against what its dispatcher and
//! dedup stage are known to do, so the test cannot pass with both sides silent.
//!
//! Timers: group_wait 2 s, group_interval 4 s, repeat_interval 10 s (not a multiple
//! of group_interval, so a repeat is never decided on a tick boundary). All groups
//! start in the burst at t≈0, so they flush at t≈2, 6, 10, 14, ...; every alert and
//! the silence are posted at least 1 s away from those ticks (most 2 s), so
//! scheduling jitter cannot move an alert into another notification.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use test_support::fake_http::FakeServer;
use test_support::services as support;
use test_support::sns_sqs as common;

use crate::delivery_e2e::create_table;

const RECEIVERS: [&str; 3] = ["team-a", "team-b", "team-c"];
/// When the notifications are compared (t = 0 at the burst): between the ticks at
/// 26 and 30, before the repeats due at 30.
const OBSERVE_UNTIL: f64 = 28.0;
/// How far apart the same notification may arrive from the two systems.
const TIME_TOLERANCE: f64 = 1.0;

fn config_yaml(hooks: &[Arc<FakeServer>]) -> String {
    format!(
        r#"route:
  receiver: team-a
  group_by: [alertname]
  group_wait: 2s
  group_interval: 4s
  repeat_interval: 10s
  routes:
    - matchers: ['team="a"']
      receiver: team-a
    - matchers: ['team="b"']
      receiver: team-b
      group_by: [cluster]
    - matchers: ['team="c"']
      receiver: team-c
receivers:
  - name: team-a
    webhook_configs: [{{url: '{}/a', send_resolved: true}}]
  - name: team-b
    webhook_configs: [{{url: '{}/b', send_resolved: true}}]
  - name: team-c
    webhook_configs: [{{url: '{}/c', send_resolved: false}}]
"#,
        hooks[0].base_url(),
        hooks[1].base_url(),
        hooks[2].base_url()
    )
}

/// One alert of the scenario, by its instance: `a-NN` (group alertname=HighLatency,
/// team-a), `b-NN` (cluster=east, three alertnames, team-b), `c-NN` and `c-long`
/// (group alertname=DiskFull, team-c, no send_resolved).
fn labels(instance: &str) -> BTreeMap<String, String> {
    let number: usize = instance
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let (alertname, team, cluster) = match &instance[..1] {
        "a" => ("HighLatency", "a", "west"),
        "b" => (
            ["CpuHigh", "MemoryHigh", "ErrorRate"][number % 3],
            "b",
            "east",
        ),
        _ => ("DiskFull", "c", "west"),
    };
    [
        ("alertname", alertname),
        ("instance", instance),
        ("team", team),
        ("cluster", cluster),
        ("severity", "warning"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn key(instance: &str) -> String {
    let labels = labels(instance);
    format!("{}/{}", labels["alertname"], instance)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn instances(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:02}")).collect()
}

/// The alerts posted so far, by instance: when each started (kept on every re-post,
/// as Prometheus sends its `activeAt`).
#[derive(Default)]
struct Posted {
    started: BTreeMap<String, DateTime<Utc>>,
}

impl Posted {
    /// A firing alert, ending `ttl` from now unless posted again.
    fn firing(&mut self, instance: &str, ttl: chrono::Duration) -> Value {
        let now = Utc::now();
        let start = *self.started.entry(instance.to_string()).or_insert(now);
        json!({"labels": labels(instance), "startsAt": time(start), "endsAt": time(now + ttl),
               "annotations": {"summary": format!("{instance} is unwell")}})
    }

    /// The alert resolved now.
    fn resolved(&mut self, instance: &str) -> Value {
        let now = Utc::now();
        let start = *self.started.entry(instance.to_string()).or_insert(now);
        json!({"labels": labels(instance), "startsAt": time(start), "endsAt": time(now),
               "annotations": {"summary": format!("{instance} is unwell")}})
    }
}

/// A system under test: where its API is and its three webhooks.
struct System {
    name: &'static str,
    api: String,
    hooks: Vec<Arc<FakeServer>>,
}

async fn post(client: &reqwest::Client, system: &System, path: &str, body: &Value) -> String {
    let url = format!("{}{path}", system.api);
    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: POST {path}: {e}", system.name));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{}: POST {path} answered {text}", system.name);
    text
}

/// `alarm-handler --serve` with `config` against moto; killed when dropped.
struct Ours {
    _child: tokio::process::Child,
    logs: tempfile::TempDir,
    address: String,
}

impl Ours {
    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default()
    }
}

async fn start_ours(config: &str, moto: &str) -> Ours {
    let logs = tempfile::tempdir().expect("tempdir");
    let stdout = std::fs::File::create(logs.path().join("stdout.log")).expect("log");
    let stderr = std::fs::File::create(logs.path().join("stderr.log")).expect("log");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_alarm-handler"))
        .args(["--serve", "127.0.0.1:0", "--flush-every", "0.1"])
        .env("ALARM_HANDLER_CONFIG", config)
        .env("AWS_ENDPOINT_URL", moto)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", common::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", common::SECRET_KEY)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("alarm-handler starts");
    let mut ours = Ours {
        _child: child,
        logs,
        address: String::new(),
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Some(line) = ours
            .log("stdout.log")
            .lines()
            .find_map(|l| l.strip_prefix("listening on ").map(str::to_string))
        {
            ours.address = format!("http://{}", line.trim());
            return ours;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "alarm-handler --serve did not start:\n{}\n{}",
        ours.log("stdout.log"),
        ours.log("stderr.log")
    );
}

/// One webhook notification as compared: status, `alertname/instance status` of its
/// alerts (sorted), group labels; `at` (seconds after the burst) only for reports
/// and the loose timing check.
#[derive(Debug, Clone)]
struct Note {
    at: f64,
    status: String,
    alerts: Vec<String>,
    group_labels: BTreeMap<String, String>,
}

impl Note {
    fn content(&self) -> (&str, &[String], &BTreeMap<String, String>) {
        (&self.status, &self.alerts, &self.group_labels)
    }

    fn show(&self) -> String {
        format!(
            "  t={:>5.2}s {:<8} groupLabels={:?} [{}] ({} alerts)",
            self.at,
            self.status,
            self.group_labels,
            self.alerts.join(", "),
            self.alerts.len()
        )
    }
}

fn show(notes: &[Note]) -> String {
    if notes.is_empty() {
        return "  (none)".to_string();
    }
    notes.iter().map(Note::show).collect::<Vec<_>>().join("\n")
}

fn notes(server: &FakeServer, arrivals: &[f64]) -> Vec<Note> {
    server
        .captured()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.method == "POST")
        .map(|(i, c)| {
            let body: Value = serde_json::from_slice(&c.body).expect("webhook JSON");
            let mut alerts: Vec<String> = body["alerts"]
                .as_array()
                .expect("alerts")
                .iter()
                .map(|a| {
                    format!(
                        "{}/{} {}",
                        a["labels"]["alertname"].as_str().unwrap_or("?"),
                        a["labels"]["instance"].as_str().unwrap_or("?"),
                        a["status"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            alerts.sort();
            Note {
                at: arrivals.get(i).copied().unwrap_or(f64::NAN),
                status: body["status"].as_str().unwrap_or("?").to_string(),
                alerts,
                group_labels: serde_json::from_value(body["groupLabels"].clone())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Records when each server received each request (polled every 20 ms).
fn watch(servers: Vec<Arc<FakeServer>>, t0: Instant) -> Arc<Mutex<Vec<Vec<f64>>>> {
    let arrivals = Arc::new(Mutex::new(vec![Vec::new(); servers.len()]));
    let shared = Arc::clone(&arrivals);
    tokio::spawn(async move {
        loop {
            for (i, server) in servers.iter().enumerate() {
                let seen = server.captured().len();
                let at = t0.elapsed().as_secs_f64();
                let mut arrivals = shared.lock().expect("arrivals");
                while arrivals[i].len() < seen {
                    arrivals[i].push(at);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    arrivals
}

/// Sleeps until `t` seconds after `t0`.
async fn at(t0: Instant, t: f64) {
    let due = t0 + Duration::from_secs_f64(t);
    tokio::time::sleep_until(due.into()).await;
}

/// A notification as expected: status, alerts, group labels.
type Expected = (String, Vec<String>, BTreeMap<String, String>);

/// What Alertmanager 0.25 sends for this scenario (dispatch.go's aggregation group
/// timers, notify.go's dedup stage and `send_resolved` filtering): the expected
/// `(status, alerts, group labels)` per receiver.
fn expected() -> Vec<Vec<Expected>> {
    let group = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
    let list = |firing: &[String], resolved: &[String]| {
        let mut all: Vec<String> = firing
            .iter()
            .map(|i| format!("{} firing", key(i)))
            .chain(resolved.iter().map(|i| format!("{} resolved", key(i))))
            .collect();
        all.sort();
        all
    };
    let cat = |parts: &[Vec<String>]| parts.concat();
    let a_burst = instances("a", 0..10); // a-10, a-11 silenced
    let a_all = cat(&[a_burst.clone(), instances("a", 12..14)]);
    let a_left = cat(&[instances("a", 1..10), instances("a", 12..14)]);
    let b_burst = instances("b", 0..10);
    let b_all = instances("b", 0..14);
    let c_long = vec!["c-long".to_string()];
    let c_burst = cat(&[instances("c", 0..10), c_long.clone()]);
    let c_all = cat(&[instances("c", 0..12), c_long.clone()]);
    let c_left = cat(&[instances("c", 4..12), c_long]);
    let (firing, resolved) = ("firing".to_string(), "resolved".to_string());
    let ga = group("alertname", "HighLatency");
    let gb = group("cluster", "east");
    let gc = group("alertname", "DiskFull");
    vec![
        vec![
            // t≈2: the whole burst in one notification, silenced a-10/a-11 left out.
            (firing.clone(), list(&a_burst, &[]), ga.clone()),
            // t≈6: the stragglers of t=4 (new firing alerts).
            (firing.clone(), list(&a_all, &[]), ga.clone()),
            // t≈10: a-00 resolved at t=8 (send_resolved), the rest still firing.
            (
                firing.clone(),
                list(&a_left, &["a-00".to_string()]),
                ga.clone(),
            ),
            // t≈22: unchanged since t≈10, so repeated after repeat_interval (10 s).
            (firing.clone(), list(&a_left, &[]), ga),
        ],
        vec![
            (firing.clone(), list(&b_burst, &[]), gb.clone()),
            (firing.clone(), list(&b_all, &[]), gb.clone()),
            // t≈10: all of cluster east resolved at t=8.
            (resolved, list(&[], &b_all), gb.clone()),
            // t≈18: b-20 posted at t=16 into the emptied group.
            (firing.clone(), list(&["b-20".to_string()], &[]), gb),
        ],
        vec![
            (firing.clone(), list(&c_burst, &[]), gc.clone()),
            (firing.clone(), list(&c_all, &[]), gc.clone()),
            // c-00..c-03 resolved at t=8: nothing at t≈10 (no send_resolved);
            // t≈18: the repeat, 12 s after t≈6, with only the firing alerts.
            (firing, list(&c_left, &[]), gc),
        ],
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_alerts_give_the_same_notifications_as_alertmanager() {
    let _alone = crate::CPU_OR_CLOCK_BOUND.lock().await;
    let began = Instant::now();
    let mut hooks = Vec::new();
    for _ in 0..6 {
        hooks.push(Arc::new(FakeServer::start().await));
    }
    let am_hooks = hooks[..3].to_vec();
    let our_hooks = hooks[3..].to_vec();

    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    create_table(&aws, "ah").await;
    let alertmanager = support::start_alertmanager(&config_yaml(&am_hooks), &[])
        .await
        .expect("alertmanager");
    let ours = start_ours(
        &format!(
            "{}alarm_handler: {{state_table: ah, idempotency_table: ah, timers: true}}\n",
            config_yaml(&our_hooks)
        ),
        &moto.address,
    )
    .await;
    let systems = [
        System {
            name: "alertmanager",
            api: alertmanager.address.clone(),
            hooks: am_hooks,
        },
        System {
            name: "alarm-handler",
            api: ours.address.clone(),
            hooks: our_hooks,
        },
    ];
    let client = reqwest::Client::new();
    let started_in = began.elapsed().as_secs_f64();

    // The scenario, t in seconds after the burst starts; every step goes to both
    // systems at once. `sent` records when each step really went out (for reports).
    let t0 = Instant::now();
    let arrivals = watch(hooks.clone(), t0);
    let mut posted = Posted::default();
    let mut sent: Vec<String> = Vec::new();
    let five_minutes = chrono::Duration::minutes(5);
    let one_minute = chrono::Duration::minutes(1);
    let to_both = |path: &'static str, body: Value| {
        let client = client.clone();
        let systems = &systems;
        async move {
            let (am, ours) = tokio::join!(
                post(&client, &systems[0], path, &body),
                post(&client, &systems[1], path, &body)
            );
            (am, ours)
        }
    };

    // t=0.0..0.5: the burst, 33 alerts in 6 posts mixing the three groups.
    let mut burst: Vec<String> = instances("a", 0..12);
    burst.extend(instances("b", 0..10));
    burst.extend(instances("c", 0..10));
    burst.push("c-long".to_string());
    burst.sort_by_key(|i| (i.get(2..).map(str::to_string), i.clone()));
    for (n, chunk) in burst.chunks(6).enumerate() {
        at(t0, 0.1 * n as f64).await;
        let body: Vec<Value> = chunk
            .iter()
            .map(|i| {
                if i == "c-long" {
                    posted.firing(i, one_minute)
                } else {
                    posted.firing(i, five_minutes)
                }
            })
            .collect();
        to_both("/api/v2/alerts", Value::Array(body)).await;
        sent.push(format!(
            "t={:.2}: burst {}",
            t0.elapsed().as_secs_f64(),
            chunk.join(" ")
        ));
    }

    // t=1.0: a silence for a-10 and a-11, before their group's first flush.
    at(t0, 1.0).await;
    let now = Utc::now();
    let silence = json!({
        "matchers": [
            {"name": "alertname", "value": "HighLatency", "isRegex": false, "isEqual": true},
            {"name": "instance", "value": "a-1[01]", "isRegex": true, "isEqual": true},
        ],
        "startsAt": time(now),
        "endsAt": time(now + chrono::Duration::hours(1)),
        "createdBy": "timing-oracle",
        "comment": "maintenance of a-10 and a-11",
    });
    let (am_silence, our_silence) = to_both("/api/v2/silences", silence).await;
    sent.push(format!(
        "t={:.2}: silence alertname=HighLatency instance=~a-1[01] (alertmanager {}, ours {})",
        t0.elapsed().as_secs_f64(),
        am_silence.trim(),
        our_silence.trim()
    ));

    // t=4: stragglers after the first flush; c-long re-posted.
    at(t0, 4.0).await;
    let mut stragglers = instances("a", 12..14);
    stragglers.extend(instances("b", 10..14));
    stragglers.extend(instances("c", 10..12));
    let mut body: Vec<Value> = stragglers
        .iter()
        .map(|i| posted.firing(i, five_minutes))
        .collect();
    body.push(posted.firing("c-long", one_minute));
    to_both("/api/v2/alerts", Value::Array(body)).await;
    sent.push(format!(
        "t={:.2}: stragglers {} (+ c-long again)",
        t0.elapsed().as_secs_f64(),
        stragglers.join(" ")
    ));

    // t=8: resolves (endsAt = now): a-00, all of cluster east, c-00..c-03.
    at(t0, 8.0).await;
    let mut resolves = vec!["a-00".to_string()];
    resolves.extend(instances("b", 0..14));
    resolves.extend(instances("c", 0..4));
    let mut body: Vec<Value> = resolves.iter().map(|i| posted.resolved(i)).collect();
    body.push(posted.firing("c-long", one_minute));
    to_both("/api/v2/alerts", Value::Array(body)).await;
    sent.push(format!(
        "t={:.2}: resolved {} (+ c-long again)",
        t0.elapsed().as_secs_f64(),
        resolves.join(" ")
    ));

    // t=12..24: c-long every 4 s as Prometheus re-sends it; b-20 at t=16.
    for t in [12.0, 16.0, 20.0, 24.0] {
        at(t0, t).await;
        let mut body = vec![posted.firing("c-long", one_minute)];
        if t == 16.0 {
            body.push(posted.firing("b-20", five_minutes));
        }
        let what = if t == 16.0 { "b-20, c-long" } else { "c-long" };
        to_both("/api/v2/alerts", Value::Array(body)).await;
        sent.push(format!("t={:.2}: {what}", t0.elapsed().as_secs_f64()));
    }

    at(t0, OBSERVE_UNTIL).await;
    let arrivals = arrivals.lock().expect("arrivals").clone();
    let got: Vec<Vec<Vec<Note>>> = systems
        .iter()
        .enumerate()
        .map(|(s, system)| {
            system
                .hooks
                .iter()
                .enumerate()
                .map(|(r, hook)| notes(hook, &arrivals[s * 3 + r]))
                .collect()
        })
        .collect();

    let mut report = format!(
        "services started in {started_in:.1} s; sent:\n  {}\n",
        sent.join("\n  ")
    );
    for (r, receiver) in RECEIVERS.iter().enumerate() {
        report.push_str(&format!(
            "\n{receiver}\n alertmanager:\n{}\n alarm-handler:\n{}\n",
            show(&got[0][r]),
            show(&got[1][r])
        ));
    }
    println!("{report}");

    let mut problems: Vec<String> = Vec::new();
    // The oracle does what Alertmanager is known to do (one notification per group
    // for the burst, silenced alerts never sent, the stragglers, the resolves, the
    // repeats after repeat_interval, no resolved alerts to team-c), so an empty or
    // broken oracle cannot make the comparison pass.
    for (r, expected) in expected().iter().enumerate() {
        let oracle: Vec<_> = got[0][r]
            .iter()
            .map(|n| {
                let (s, a, g) = n.content();
                (s.to_string(), a.to_vec(), g.clone())
            })
            .collect();
        if &oracle != expected {
            problems.push(format!(
                "{}: Alertmanager did not send what it is expected to:\n{}",
                RECEIVERS[r],
                expected
                    .iter()
                    .map(|(s, a, g)| format!("  {s:<8} groupLabels={g:?} [{}]", a.join(", ")))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    for system in 0..2 {
        let all: Vec<&Note> = got[system].iter().flatten().collect();
        for silenced in ["a-10", "a-11"] {
            if all
                .iter()
                .any(|n| n.alerts.iter().any(|a| a.contains(silenced)))
            {
                problems.push(format!(
                    "{}: silenced {silenced} was notified",
                    systems[system].name
                ));
            }
        }
        if got[system][2]
            .iter()
            .any(|n| n.status == "resolved" || n.alerts.iter().any(|a| a.ends_with("resolved")))
        {
            problems.push(format!(
                "{}: team-c (send_resolved: false) got resolved alerts",
                systems[system].name
            ));
        }
    }
    // Ours against the oracle: the same notifications in the same order, each within
    // TIME_TOLERANCE of Alertmanager's.
    for (r, receiver) in RECEIVERS.iter().enumerate() {
        let (theirs, ours_notes) = (&got[0][r], &got[1][r]);
        let same = theirs.len() == ours_notes.len()
            && theirs
                .iter()
                .zip(ours_notes)
                .all(|(a, b)| a.content() == b.content());
        if !same {
            let first = theirs
                .iter()
                .zip(ours_notes)
                .position(|(a, b)| a.content() != b.content())
                .unwrap_or(theirs.len().min(ours_notes.len()));
            let at = |notes: &[Note]| notes.get(first).map_or("  (none)".into(), Note::show);
            problems.push(format!(
                "{receiver}: alarm-handler's notifications differ from Alertmanager's \
                 ({} vs {} notifications); first difference, #{}:\n alertmanager:\n{}\n \
                 alarm-handler:\n{}",
                theirs.len(),
                ours_notes.len(),
                first + 1,
                at(theirs),
                at(ours_notes)
            ));
        } else {
            for (a, b) in theirs.iter().zip(ours_notes) {
                if (a.at - b.at).abs() > TIME_TOLERANCE {
                    problems.push(format!(
                        "{receiver}: the {} notification came at t={:.2}s from alarm-handler, \
                         t={:.2}s from Alertmanager",
                        a.status, b.at, a.at
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\n{report}\nalarm-handler stdout:\n{}\nalarm-handler stderr (tail):\n{}",
        problems.join("\n"),
        ours.log("stdout.log"),
        {
            let log = ours.log("stderr.log");
            let lines: Vec<&str> = log.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        }
    );
    println!("run time {:.1} s", began.elapsed().as_secs_f64());
}
