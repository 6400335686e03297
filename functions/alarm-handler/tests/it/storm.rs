//! An alert storm against the delivery ledger in moto's DynamoDB: 200 SNS messages of
//! 50 alerts each (the AMP alert manager's JSON message) handled by 20 concurrent
//! invocations, a receiver answering 503 for part of the storm, Lambda's retries of
//! the invocations that failed, then SNS delivering every message again.
//!
//! The 20 invocations are 20 `Handler`s in this process, each with its own AWS config
//! (own connection pool) and HTTP client, taking messages one at a time from a shared
//! queue: what 20 warm Lambda sandboxes are (SNS invokes Lambda with one record per
//! event, and a sandbox runs one invocation at a time). In-process rather than 20
//! processes of the binary because the sandboxes share nothing but DynamoDB and the
//! receivers either way, and only in-process can the test time each invocation and
//! read its summary without a Runtime API emulator per sandbox.
//!
//! Alerts are sent at once (`alarm_handler.timers` off): that is the path on which a
//! failed delivery fails the invocation and Lambda's retry must send exactly what
//! was missed, the promise under test.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alarm_handler::{Config, Handler, InvocationError, Summary};
use fake_http::{FakeServer, Reply};
use serde_json::Value;
use test_support::{fake_http, services, sns_sqs};

const MESSAGES: usize = 200;
const ALERTS_PER_MESSAGE: usize = 50;
const INVOCATIONS: usize = 20;
/// `alertname` cycles over this many values within a message.
const ALERTNAMES: usize = 5;
/// A message's alerts share one `cluster`, one of this many.
const CLUSTERS: usize = 4;
/// Messages from this index on resolve the alerts of the messages `RESOLVING_FROM`
/// before them, so the storm has resolved notifications too.
const RESOLVING_FROM: usize = 150;
/// The `oncall` receiver answers 503 to its first this many requests.
const ONCALL_FAILURES: usize = 300;
/// Lambda's asynchronous invocation: the first attempt and two retries.
const LAMBDA_ATTEMPTS: usize = 3;
/// Deliveries per message: `ops` and `oncall` one per alertname, `db` one.
const DELIVERIES_PER_MESSAGE: usize = 2 * ALERTNAMES + 1;

type Labels = BTreeMap<String, String>;

/// One message of the storm: its SNS `MessageId` and its alerts (labels, firing).
struct StormMessage {
    id: String,
    alerts: Vec<(Labels, bool)>,
}

/// Alert `i` of message `m`: unique by `instance`, so every notification of the storm
/// has an alert set no other notification has.
fn alert_labels(m: usize, i: usize) -> Labels {
    [
        ("alertname", format!("Storm{}", i % ALERTNAMES)),
        ("cluster", format!("c{}", m % CLUSTERS)),
        ("instance", format!("host-{m:03}-{i:02}")),
        (
            "team",
            if i.is_multiple_of(2) { "db" } else { "web" }.to_string(),
        ),
        ("severity", "warning".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn storm() -> Vec<StormMessage> {
    (0..MESSAGES)
        .map(|m| {
            let (source, firing) = if m >= RESOLVING_FROM {
                (m - RESOLVING_FROM, false)
            } else {
                (m, true)
            };
            StormMessage {
                id: format!("storm-{m:03}-4f0c8a2e"),
                alerts: (0..ALERTS_PER_MESSAGE)
                    .map(|i| (alert_labels(source, i), firing))
                    .collect(),
            }
        })
        .collect()
}

/// `{"k": "v", ...}` as the AMP template's `range .Labels.SortedPairs` writes it.
fn sorted_pairs(labels: &Labels) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("\"{k}\": \"{v}\""))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// The message the AMP alert manager publishes with the JSON template AWS documents
/// for it (docs/deploy.md): Go's time format, no escaping by the template.
fn amp_message(message: &StormMessage) -> String {
    let status = |firing: bool| if firing { "firing" } else { "resolved" };
    let alerts: Vec<String> = message
        .alerts
        .iter()
        .map(|(labels, firing)| {
            let ends = if *firing {
                "0001-01-01 00:00:00 +0000 UTC"
            } else {
                "2026-11-23 10:12:42.204 +0000 UTC"
            };
            format!(
                "{{\"status\": \"{}\",\"labels\": {},\"annotations\": {},\"startsAt\": \"2026-11-23 09:57:12.204 +0000 UTC\",\"endsAt\": \"{ends}\",\"generatorURL\": \"https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-EXAMPLE/graph?g0.expr=up+%3D%3D+0\",\"fingerprint\": \"{}\"}}",
                status(*firing),
                sorted_pairs(labels),
                sorted_pairs(&[("summary".to_string(), format!("{} is down", labels["instance"]))].into()),
                alert_model::fingerprint(labels),
            )
        })
        .collect();
    let overall = status(message.alerts.iter().any(|(_, firing)| *firing));
    format!(
        "{{\"receiver\": \"pipeline\",\"status\": \"{overall}\",\"alerts\": [{}]}}",
        alerts.join(", ")
    )
}

/// The Lambda event SNS delivers for `message` (one record, as always from SNS).
fn sns_event(message: &StormMessage) -> Value {
    crate::delivery_e2e::sns_event(
        &message.id,
        "arn:aws:sns:us-east-1:123456789012:alerts",
        None,
        &amp_message(message),
    )
}

/// What identifies a notification: its group, its status and its alerts (instance,
/// status). The receiver name is kept apart so two receivers' sets can be compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Notification {
    group_labels: Labels,
    status: String,
    alerts: BTreeSet<(String, String)>,
}

/// The notifications `receiver` must get: per message, its alerts that `takes`,
/// grouped by `group_by`.
fn expected(
    messages: &[StormMessage],
    group_by: &[&str],
    takes: fn(&Labels) -> bool,
) -> BTreeSet<Notification> {
    let mut all = BTreeSet::new();
    for message in messages {
        let mut groups: BTreeMap<Labels, BTreeSet<(String, String)>> = BTreeMap::new();
        for (labels, firing) in message.alerts.iter().filter(|(l, _)| takes(l)) {
            let key = group_by
                .iter()
                .map(|name| (name.to_string(), labels[*name].clone()))
                .collect();
            let status = if *firing { "firing" } else { "resolved" };
            groups
                .entry(key)
                .or_default()
                .insert((labels["instance"].clone(), status.to_string()));
        }
        for (group_labels, alerts) in groups {
            let firing = alerts.iter().any(|(_, s)| s == "firing");
            all.insert(Notification {
                group_labels,
                status: if firing { "firing" } else { "resolved" }.to_string(),
                alerts,
            });
        }
    }
    all
}

/// Every notification `server` accepted (answered 2xx), in arrival order; each
/// body must name `receiver`.
fn accepted(server: &FakeServer, receiver: &str) -> Vec<Notification> {
    server
        .captured()
        .iter()
        .filter(|c| c.answered.is_some_and(|s| (200..300).contains(&s)))
        .map(|c| {
            let body: Value = serde_json::from_slice(&c.body).expect("webhook JSON");
            assert_eq!(body["receiver"], receiver, "{body}");
            let alerts = body["alerts"]
                .as_array()
                .expect("alerts")
                .iter()
                .map(|a| {
                    (
                        a["labels"]["instance"].as_str().expect("instance").into(),
                        a["status"].as_str().expect("status").into(),
                    )
                })
                .collect();
            Notification {
                group_labels: serde_json::from_value(body["groupLabels"].clone())
                    .expect("groupLabels"),
                status: body["status"].as_str().expect("status").into(),
                alerts,
            }
        })
        .collect()
}

/// `received` has no notification twice; as a set.
fn exactly_once(received: Vec<Notification>, receiver: &str) -> BTreeSet<Notification> {
    let total = received.len();
    let set: BTreeSet<Notification> = received.into_iter().collect();
    assert_eq!(
        set.len(),
        total,
        "{receiver} got {} notifications twice",
        total - set.len()
    );
    set
}

/// One invocation: which message, what it returned, how long the handler took.
struct Attempt {
    message: usize,
    result: Result<Summary, InvocationError>,
    wall: Duration,
}

impl Attempt {
    fn summary(&self) -> &Summary {
        match &self.result {
            Ok(summary) => summary,
            Err(e) => &e.summary,
        }
    }
}

/// Hands `queue` (message indices) to the `sandboxes`, each running one invocation
/// at a time, all of them at once; returns the sandboxes and every attempt.
async fn invoke_all(
    sandboxes: Vec<Handler>,
    events: &Arc<Vec<Value>>,
    queue: Vec<usize>,
) -> (Vec<Handler>, Vec<Attempt>) {
    let queue = Arc::new(Mutex::new(VecDeque::from(queue)));
    let tasks: Vec<_> = sandboxes
        .into_iter()
        .map(|mut handler| {
            let queue = Arc::clone(&queue);
            let events = Arc::clone(events);
            tokio::spawn(async move {
                let mut attempts = Vec::new();
                loop {
                    let next = queue.lock().unwrap().pop_front();
                    let Some(message) = next else { break };
                    let started = Instant::now();
                    let result = handler.handle(&events[message], chrono::Utc::now()).await;
                    attempts.push(Attempt {
                        message,
                        result,
                        wall: started.elapsed(),
                    });
                }
                (handler, attempts)
            })
        })
        .collect();
    let mut sandboxes = Vec::new();
    let mut attempts = Vec::new();
    for task in tasks {
        let (handler, done) = task.await.expect("sandbox task");
        sandboxes.push(handler);
        attempts.extend(done);
    }
    (sandboxes, attempts)
}

/// CPU seconds of a process so far.
fn cpu(pid: u32) -> f64 {
    services::proc_cpu_seconds(pid)
}

/// Prints the handler's time per message over `attempts` (wall per invocation as its
/// sandbox saw it, and the CPU this process and moto spent per invocation over
/// `elapsed`): reported, not asserted.
fn report(phase: &str, attempts: &[Attempt], elapsed: Duration, own_cpu: f64, moto_cpu: f64) {
    let mut walls: Vec<f64> = attempts
        .iter()
        .map(|a| a.wall.as_secs_f64() * 1e3)
        .collect();
    walls.sort_by(f64::total_cmp);
    let at = |q: f64| walls[((walls.len() - 1) as f64 * q).round() as usize];
    let n = attempts.len() as f64;
    eprintln!(
        "storm {phase}: {} invocations by {INVOCATIONS} sandboxes in {:.2} s ({:.0}/s); \
         handler wall per message: mean {:.1} ms, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; \
         CPU per message: {:.2} ms in the handlers' process (incl. the 3 receivers), \
         {:.2} ms in moto",
        attempts.len(),
        elapsed.as_secs_f64(),
        n / elapsed.as_secs_f64(),
        walls.iter().sum::<f64>() / n,
        at(0.5),
        at(0.95),
        at(1.0),
        own_cpu * 1e3 / n,
        moto_cpu * 1e3 / n,
    );
}

/// Runs `queue` on the sandboxes and reports it as `phase`.
async fn timed_phase(
    phase: &str,
    sandboxes: Vec<Handler>,
    events: &Arc<Vec<Value>>,
    queue: Vec<usize>,
    moto_pid: u32,
) -> (Vec<Handler>, Vec<Attempt>) {
    let (own, moto) = (cpu(std::process::id()), cpu(moto_pid));
    let started = Instant::now();
    let (sandboxes, attempts) = invoke_all(sandboxes, events, queue).await;
    let elapsed = started.elapsed();
    report(
        phase,
        &attempts,
        elapsed,
        cpu(std::process::id()) - own,
        cpu(moto_pid) - moto,
    );
    (sandboxes, attempts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_storm_reaches_every_receiver_exactly_once() {
    let _alone = crate::CPU_OR_CLOCK_BOUND.lock().await;
    let moto = services::start_moto().await.expect("moto");
    let aws = sns_sqs::aws_config_for(&moto.address).await;
    crate::delivery_e2e::create_table(&aws, "storm-ledger").await;
    let ops = FakeServer::start().await;
    let oncall = FakeServer::start().await;
    let db = FakeServer::start().await;
    oncall.script((0..ONCALL_FAILURES).map(|_| Reply::status(503)));
    let yaml = format!(
        r#"
route:
  receiver: ops
  group_by: [alertname, cluster]
  routes:
    - matchers: ['alertname=~"Storm.*"']
      receiver: ops
      continue: true
    - matchers: ['alertname=~"Storm.*"']
      receiver: oncall
      continue: true
    - matchers: [team="db"]
      receiver: db
      group_by: [cluster]
receivers:
  - name: ops
    webhook_configs: [{{url: '{}/ops'}}]
  - name: oncall
    webhook_configs: [{{url: '{}/oncall'}}]
  - name: db
    webhook_configs: [{{url: '{}/db'}}]
alarm_handler:
  idempotency_table: storm-ledger
"#,
        ops.base_url(),
        oncall.base_url(),
        db.base_url()
    );
    let mut sandboxes = Vec::new();
    for _ in 0..INVOCATIONS {
        // Each sandbox its own SDK config: its own connections, as in Lambda.
        let aws = sns_sqs::aws_config_for(&moto.address).await;
        let config = Config::parse(&yaml, None).expect("config");
        sandboxes.push(Handler::new(config, &aws).expect("handler"));
    }
    let messages = storm();
    let events = Arc::new(messages.iter().map(sns_event).collect::<Vec<_>>());

    // The storm, then Lambda's retries of what failed, until every message is in.
    let mut queue: Vec<usize> = (0..MESSAGES).collect();
    let mut tries = vec![0usize; MESSAGES];
    let mut failed_first = BTreeMap::new();
    let mut retried = 0;
    for attempt in 1..=LAMBDA_ATTEMPTS {
        if queue.is_empty() {
            break;
        }
        let phase = if attempt == 1 {
            "first delivery".to_string()
        } else {
            format!("Lambda retry {}", attempt - 1)
        };
        let (back, attempts) = timed_phase(&phase, sandboxes, &events, queue, moto.pid()).await;
        sandboxes = back;
        queue = Vec::new();
        for done in &attempts {
            tries[done.message] += 1;
            let summary = done.summary();
            assert_eq!(summary.formats.get("alertmanager_json"), Some(&1));
            assert_eq!(summary.alerts, ALERTS_PER_MESSAGE, "{summary:?}");
            assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
            let d = &summary.deliveries;
            assert_eq!(
                d.sent + d.duplicates + d.failed,
                DELIVERIES_PER_MESSAGE,
                "{summary:?}"
            );
            match &done.result {
                Ok(_) => {
                    if attempt > 1 {
                        retried += 1;
                        // Only what failed before is sent again: oncall's groups.
                        let missed = failed_first[&done.message];
                        assert_eq!(
                            (d.sent, d.per_receiver.get("oncall").copied()),
                            (missed, Some(missed)),
                            "retry of message {}: {summary:?}",
                            done.message
                        );
                        assert_eq!(d.duplicates, DELIVERIES_PER_MESSAGE - missed);
                    }
                }
                Err(e) => {
                    // Only the failing receiver fails, and it fails the invocation.
                    assert_eq!(
                        d.failed_per_receiver.keys().collect::<Vec<_>>(),
                        vec!["oncall"],
                        "{e}"
                    );
                    assert!(e.to_string().contains("oncall/webhook[0]: HTTP 503"), "{e}");
                    failed_first.entry(done.message).or_insert(d.failed);
                    queue.push(done.message);
                }
            }
        }
    }
    assert!(
        queue.is_empty(),
        "messages still failing after {LAMBDA_ATTEMPTS} attempts: {queue:?}"
    );
    assert!(tries.iter().all(|t| *t >= 1), "a message was never handled");
    let failed_deliveries: usize = failed_first.values().sum();
    assert_eq!(
        failed_deliveries, ONCALL_FAILURES,
        "every 503 is one failed delivery"
    );
    assert_eq!(retried, failed_first.len());
    eprintln!(
        "storm: {} of {MESSAGES} messages failed on oncall's 503s and were retried",
        failed_first.len()
    );

    // Each receiver got each of its notifications once; oncall, after its retries,
    // exactly what ops got.
    let by_alertname = ["alertname", "cluster"];
    let every_storm_alert: fn(&Labels) -> bool = |l| l["alertname"].starts_with("Storm");
    let want_ops = expected(&messages, &by_alertname, every_storm_alert);
    let want_db = expected(&messages, &["cluster"], |l| l["team"] == "db");
    assert_eq!(want_ops.len(), MESSAGES * ALERTNAMES);
    assert_eq!(want_db.len(), MESSAGES);
    let got_ops = exactly_once(accepted(&ops, "ops"), "ops");
    let got_oncall = exactly_once(accepted(&oncall, "oncall"), "oncall");
    let got_db = exactly_once(accepted(&db, "db"), "db");
    assert_eq!(got_ops, want_ops);
    assert_eq!(got_db, want_db);
    assert_eq!(got_oncall, got_ops, "oncall did not get what ops got");
    let refused = oncall
        .captured()
        .iter()
        .filter(|c| c.answered == Some(503))
        .count();
    assert_eq!(refused, ONCALL_FAILURES);
    let requests = |s: &FakeServer| s.captured().len();
    let before = (requests(&ops), requests(&oncall), requests(&db));
    assert_eq!(
        before,
        (
            MESSAGES * ALERTNAMES,
            MESSAGES * ALERTNAMES + ONCALL_FAILURES,
            MESSAGES
        )
    );

    // SNS delivers every message again: nothing is sent, everything is a duplicate.
    let (_, again) = timed_phase(
        "redelivery",
        sandboxes,
        &events,
        (0..MESSAGES).collect(),
        moto.pid(),
    )
    .await;
    assert_eq!(again.len(), MESSAGES);
    for done in &again {
        let summary = match &done.result {
            Ok(summary) => summary,
            Err(e) => panic!("redelivery of message {} failed: {e}", done.message),
        };
        let d = &summary.deliveries;
        assert_eq!(
            (d.sent, d.duplicates, d.failed),
            (0, DELIVERIES_PER_MESSAGE, 0),
            "{summary:?}"
        );
        assert_eq!(
            d.duplicates_per_receiver,
            [("db", 1), ("ops", ALERTNAMES), ("oncall", ALERTNAMES)]
                .into_iter()
                .map(|(r, n)| (r.to_string(), n))
                .collect::<BTreeMap<_, _>>()
        );
    }
    assert_eq!(
        (requests(&ops), requests(&oncall), requests(&db)),
        before,
        "the redelivery sent something"
    );
}
