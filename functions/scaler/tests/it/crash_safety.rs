//! Crash safety of the scaler's changes against the Kubernetes API stand-in: for
//! every action (apply, escalate, restore) on every kind (HPA, Deployment,
//! StatefulSet), a fault is injected at every write of the change (each API path the
//! change writes: the object, and for Deployments and StatefulSets its `scale`
//! subresource): a 409 once (another writer), a 409 on every attempt, a 500, a
//! connection dropped before the write is processed, and one dropped after it was
//! stored (the answer is lost). The faulted invocation must fail, except a single
//! 409, which it retries on a fresh read and must finish itself; then one normal
//! invocation must leave the object at the value the action wants. Every version the
//! stand-in stored along the way is checked: no value outside `floor..=ceiling`
//! unless it is the original, an HPA's `minReplicas <= maxReplicas`, and a value
//! other than the original never without the original recorded next to it.

use test_support::kubernetes_stack as common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use function_cli::ErrorType;
use scaler::{Config, Scaler};
use serde_json::{json, Value};

const ORIGINAL: &str = "scaler.metrics-pipeline/original";
const STEP: &str = "scaler.metrics-pipeline/step";
const FIRING_SINCE: &str = "scaler.metrics-pipeline/firing-since";
const FLOOR: i64 = 2;
const CEILING: i64 = 25;
/// `conflict_retries` in the test config: a 409 on every attempt fails after 3.
const CONFLICT_RETRIES: u32 = 2;

/// One kind of target, its fixture and what the policy makes of it.
struct Subject {
    kind: &'static str,
    resource: &'static str,
    namespace: &'static str,
    name: &'static str,
    alarm: &'static str,
    /// The policy's `while_firing`.
    while_firing: &'static str,
    /// Field -> original value.
    original: &'static [(&'static str, i64)],
    /// Field -> value at steps 1 and 2.
    step1: &'static [(&'static str, i64)],
    step2: &'static [(&'static str, i64)],
}

const HPA: Subject = Subject {
    kind: "HorizontalPodAutoscaler",
    resource: "horizontalpodautoscalers",
    namespace: "orders",
    name: "consumer",
    alarm: "orders-depth",
    while_firing: "{max_replicas: {add: 5}}",
    original: &[("maxReplicas", 10), ("minReplicas", 2)],
    step1: &[("maxReplicas", 15), ("minReplicas", 2)],
    step2: &[("maxReplicas", 20), ("minReplicas", 2)],
};

const DEPLOYMENT: Subject = Subject {
    kind: "Deployment",
    resource: "deployments",
    namespace: "web",
    name: "web",
    alarm: "web-5xx",
    while_firing: "{replicas: {add: 3}}",
    original: &[("replicas", 3)],
    step1: &[("replicas", 6)],
    step2: &[("replicas", 9)],
};

const STATEFULSET: Subject = Subject {
    kind: "StatefulSet",
    resource: "statefulsets",
    namespace: "data",
    name: "db",
    alarm: "db-lag",
    while_firing: "{replicas: {add: 3}}",
    original: &[("replicas", 3)],
    step1: &[("replicas", 6)],
    step2: &[("replicas", 9)],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Apply,
    Escalate,
    Restore,
}

/// The injected faults: (name, the stand-in's answer, how many writes meet it).
const FAULTS: &[(&str, &str, u32)] = &[
    ("409 once", "conflict", 1),
    ("409 on every attempt", "conflict", 100),
    ("500", "internal_error", 1),
    ("dropped before the write", "drop", 1),
    ("dropped after the write", "drop_after_write", 1),
];

struct Bench<'a> {
    stack: &'a Stack,
    subject: &'a Subject,
    scaler: Scaler,
}

impl Subject {
    fn path(&self) -> String {
        let group = if self.resource == "horizontalpodautoscalers" {
            "autoscaling/v2"
        } else {
            "apps/v1"
        };
        format!(
            "/apis/{group}/namespaces/{}/{}/{}",
            self.namespace, self.resource, self.name
        )
    }

    /// The API paths a change writes, in the order of an apply.
    fn write_paths(&self) -> Vec<String> {
        if self.resource == "horizontalpodautoscalers" {
            vec![self.path()]
        } else {
            vec![self.path(), format!("{}/scale", self.path())]
        }
    }

    fn fixture(&self) -> Value {
        match self.resource {
            "horizontalpodautoscalers" => hpa(self.name, self.namespace, "consumer", 2, 10),
            _ => workload(self.kind, self.name, self.namespace, 3),
        }
    }

    fn target(&self) -> String {
        format!("prod/{}/{}/{}", self.namespace, self.kind, self.name)
    }

    fn policy(&self) -> String {
        format!(
            "  - name: {name}-policy\n    triggers: {{alarms: [{alarm}]}}\n    \
             target: {{cluster: prod, namespace: {ns}, kind: {kind}, name: {name}}}\n    \
             while_firing: {wf}\n    floor: {FLOOR}\n    ceiling: {CEILING}\n    \
             escalation: {{every: 10m, max_steps: 3}}\n    cooldown: 10m\n    \
             max_changes_per_hour: 100\n",
            name = self.name,
            alarm = self.alarm,
            ns = self.namespace,
            kind = self.kind,
            wf = self.while_firing,
        )
    }
}

/// The original annotation as the scaler writes it (`values_to_json`).
fn record_of(values: &[(&str, i64)]) -> String {
    let map: serde_json::Map<String, Value> = values
        .iter()
        .map(|(f, v)| ((*f).to_string(), json!(v)))
        .collect();
    Value::Object(map).to_string()
}

fn values_of(object: &Value, subject: &Subject) -> Vec<(String, i64)> {
    subject
        .original
        .iter()
        .map(|(f, _)| {
            (
                (*f).to_string(),
                object["spec"][*f].as_i64().unwrap_or(i64::MIN),
            )
        })
        .collect()
}

fn owned(values: &[(&str, i64)]) -> Vec<(String, i64)> {
    values.iter().map(|(f, v)| ((*f).to_string(), *v)).collect()
}

fn annotation(object: &Value, key: &str) -> Option<String> {
    object["metadata"]["annotations"][key]
        .as_str()
        .map(str::to_string)
}

impl<'a> Bench<'a> {
    async fn new(stack: &'a Stack, subject: &'a Subject) -> Result<Bench<'a>, String> {
        stack.alarm(subject.alarm, "OK").await?;
        let text = format!(
            "conflict_retries: {CONFLICT_RETRIES}\n{}",
            stack.config_with(&subject.policy())
        );
        let scaler = Scaler::new(Config::parse(&text).map_err(|e| e.to_string())?, &stack.aws);
        Ok(Bench {
            stack,
            subject,
            scaler,
        })
    }

    async fn object(&self) -> Result<Value, String> {
        let s = self.subject;
        self.stack
            .standin
            .get(s.resource, s.namespace, s.name)
            .await
    }

    async fn run(&self, at: DateTime<Utc>) -> Result<scaler::Summary, scaler::HandleError> {
        self.scaler.handle(&json!({"reconcile": true}), at).await
    }

    async fn run_ok(&self, at: DateTime<Utc>, what: &str) -> Result<scaler::Summary, String> {
        self.run(at)
            .await
            .map_err(|e| format!("{what}: {e}: {:?}", e.summary))
    }

    /// The object back at its fixture (no annotations), the alarm as asked, and the
    /// object brought to the state just before `action`. Returns the time the action
    /// is due and the resourceVersion from which the history is checked.
    async fn prepare(&self, action: Action) -> Result<(DateTime<Utc>, u64), String> {
        let s = self.subject;
        let fresh = self
            .stack
            .standin
            .put(s.resource, s.namespace, s.name, s.fixture())
            .await?;
        let since = fresh["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .ok_or("fixture without resourceVersion")?;
        let t0 = Utc::now();
        self.stack.alarm(s.alarm, "ALARM").await?;
        let due = match action {
            Action::Apply => t0,
            Action::Escalate => {
                self.run_ok(t0, "apply before escalate").await?;
                t0 + Duration::minutes(10)
            }
            Action::Restore => {
                self.run_ok(t0, "apply before restore").await?;
                self.stack.alarm(s.alarm, "OK").await?;
                self.run_ok(t0 + Duration::minutes(1), "cooldown start")
                    .await?;
                t0 + Duration::minutes(12)
            }
        };
        Ok((due, since))
    }

    /// What the object holds once `action` is done: values, recorded original, step.
    fn expected(&self, action: Action) -> (Vec<(String, i64)>, Option<String>, Option<String>) {
        let s = self.subject;
        let record = Some(record_of(s.original));
        match action {
            Action::Apply => (owned(s.step1), record, Some("1".into())),
            Action::Escalate => (owned(s.step2), record, Some("2".into())),
            Action::Restore => (owned(s.original), None, None),
        }
    }

    async fn assert_done(&self, action: Action, case: &str) -> Result<(), String> {
        let object = self.object().await?;
        let (values, record, step) = self.expected(action);
        assert_eq!(values_of(&object, self.subject), values, "{case}: values");
        assert_eq!(annotation(&object, ORIGINAL), record, "{case}: original");
        assert_eq!(annotation(&object, STEP), step, "{case}: step");
        Ok(())
    }

    /// Every version stored since `since`: bounds hold and the original is never lost.
    async fn assert_history(&self, since: u64, case: &str) -> Result<usize, String> {
        let s = self.subject;
        let original = owned(s.original);
        let record = record_of(s.original);
        let history = self
            .stack
            .standin
            .history(s.resource, s.namespace, s.name)
            .await?;
        let mut checked = 0;
        for version in history {
            let rv: u64 = version["resourceVersion"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .ok_or("history entry without resourceVersion")?;
            if rv < since {
                continue;
            }
            let object = &version["object"];
            let values = values_of(object, s);
            for ((field, value), (_, orig)) in values.iter().zip(&original) {
                assert!(
                    (FLOOR..=CEILING).contains(value) || value == orig,
                    "{case}: rv {rv}: {field} {value} outside {FLOOR}..={CEILING}"
                );
            }
            if let (Some(min), Some(max)) = (
                object["spec"]["minReplicas"].as_i64(),
                object["spec"]["maxReplicas"].as_i64(),
            ) {
                assert!(min <= max, "{case}: rv {rv}: min {min} > max {max}");
            }
            let recorded = annotation(object, ORIGINAL);
            if let Some(recorded) = &recorded {
                assert_eq!(recorded, &record, "{case}: rv {rv}: original overwritten");
            }
            assert!(
                values == original || recorded.is_some(),
                "{case}: rv {rv}: {values:?} is not the original and no original is recorded"
            );
            checked += 1;
        }
        Ok(checked)
    }

    /// One case: `action` with `answer` injected into the writes to `path`, then a
    /// normal run. Returns how many stored versions were checked.
    async fn case(
        &self,
        action: Action,
        path: &str,
        fault: (&str, &str, u32),
    ) -> Result<usize, String> {
        let (fault_name, answer, count) = fault;
        let standin = &self.stack.standin;
        let case = format!("{} {action:?}, {fault_name} on {path}", self.subject.kind);
        let (due, since) = self.prepare(action).await?;
        standin.fault(path, answer, 0, count).await?;
        let faulted = self.run(due).await;
        let faults = standin.faults().await?;
        standin.clear_faults().await?;
        let fired = faults
            .iter()
            .map(|f| f["fired"].as_u64().unwrap_or(0))
            .sum::<u64>();
        assert!(fired >= 1, "{case}: the fault never fired: {faults:?}");
        // Which write of the change met the fault: the second one (if any) runs
        // after the first landed.
        let second = self.second_write(action);
        match (answer, count, faulted) {
            ("conflict", 1, Ok(summary)) => {
                // Re-read, decided again from what landed, and finished.
                assert_eq!(summary.conflicts, 1, "{case}: {summary:?}");
                self.assert_done(action, &case).await?;
            }
            ("conflict", 1, Err(e)) => {
                return Err(format!("{case}: one 409 failed the invocation: {e}"));
            }
            (_, _, Ok(summary)) => {
                return Err(format!(
                    "{case}: the invocation succeeded through a failed write: {summary:?}"
                ));
            }
            (_, _, Err(e)) => {
                let text = e.to_string();
                assert_eq!(e.error_type(), "Failure.PolicyFailed", "{case}: {text}");
                assert!(text.contains(&self.subject.target()), "{case}: {text}");
                if answer == "conflict" {
                    assert!(
                        text.contains("still conflicting after 3 attempts"),
                        "{case}: {text}"
                    );
                }
                if answer == "internal_error" {
                    assert!(
                        text.contains("500") && text.contains("etcdserver: request timed out"),
                        "{case}: {text}"
                    );
                }
                // A fault on the second write stops the change part way; on every
                // attempt, except a restore's retries: its value landed on the first
                // attempt, so they only remove the record (one write).
                let incomplete = second.as_deref() == Some(path)
                    && !(answer == "conflict" && action == Action::Restore);
                assert_eq!(
                    text.contains("change incomplete"),
                    incomplete,
                    "{case}: {text}"
                );
                assert_eq!(
                    e.summary.incomplete_changes,
                    usize::from(incomplete),
                    "{case}: {text}"
                );
            }
        }
        // Whatever the fault left, the next run finishes the action.
        self.run_ok(
            due + Duration::minutes(1),
            &format!("{case}: the run after"),
        )
        .await?;
        self.assert_done(action, &case).await?;
        // And one more run changes nothing.
        let settled = self
            .run_ok(due + Duration::minutes(2), &format!("{case}: settled"))
            .await?;
        assert_eq!(settled.changes, 0, "{case}: {settled:?}");
        self.assert_history(since, &case).await
    }

    /// The path of the second write of `action`'s change, if it takes two: record
    /// first while applied, value first on restore.
    fn second_write(&self, action: Action) -> Option<String> {
        let paths = self.subject.write_paths();
        match (paths.as_slice(), action) {
            ([object, _], Action::Restore) => Some(object.clone()),
            ([_, scale], _) => Some(scale.clone()),
            _ => None,
        }
    }

    /// Every action, every write path, every fault.
    async fn all_cases(&self) -> Result<(usize, usize), String> {
        let (mut cases, mut versions) = (0, 0);
        for action in [Action::Apply, Action::Escalate, Action::Restore] {
            for path in self.subject.write_paths() {
                for fault in FAULTS {
                    versions += self.case(action, &path, *fault).await?;
                    cases += 1;
                }
            }
        }
        Ok((cases, versions))
    }
}

async fn every_fault_at_every_write(subject: &Subject) -> Result<(), String> {
    let stack = start_stack().await?;
    for other in [&HPA, &DEPLOYMENT, &STATEFULSET] {
        stack
            .standin
            .put(other.resource, other.namespace, other.name, other.fixture())
            .await?;
    }
    let bench = Bench::new(&stack, subject).await?;
    let (cases, versions) = bench.all_cases().await?;
    let paths = subject.write_paths().len();
    assert_eq!(cases, 3 * paths * FAULTS.len());
    assert!(
        versions >= cases * 2,
        "only {versions} stored versions checked in {cases} cases"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_changes_survive_a_fault_at_every_write() -> Result<(), String> {
    every_fault_at_every_write(&HPA).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_changes_survive_a_fault_at_every_write() -> Result<(), String> {
    every_fault_at_every_write(&DEPLOYMENT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_changes_survive_a_fault_at_every_write() -> Result<(), String> {
    every_fault_at_every_write(&STATEFULSET).await
}

/// The two-write changes of a Deployment go in the crash-safe order: the record
/// before the value while applied, the value before the record's removal on restore.
/// A restore whose record removal was lost is finished by the next run; when the
/// alarm fires again by then, a new episode starts at step 1 (not the old episode's
/// escalation). A failed Event (after the change landed) is a warning, not a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_write_order_and_a_half_done_restore() -> Result<(), String> {
    let stack = start_stack().await?;
    let bench = Bench::new(&stack, &DEPLOYMENT).await?;
    let standin = &stack.standin;
    let object_path = DEPLOYMENT.path();
    let scale_path = format!("{object_path}/scale");
    let write_paths = |log: Vec<Value>| -> Vec<String> {
        log.into_iter()
            .filter(|r| r["method"] == "PATCH")
            .filter_map(|r| r["path"].as_str().map(str::to_string))
            .collect()
    };

    // Apply: annotations, then scale; the Event fails and is only a warning.
    let (due, _) = bench.prepare(Action::Apply).await?;
    standin.clear_requests().await?;
    standin
        .fault("/api/v1/namespaces/web/events", "internal_error", 0, 1)
        .await?;
    let applied = bench.run_ok(due, "apply").await?;
    standin.clear_faults().await?;
    assert_eq!(
        write_paths(standin.requests().await?),
        [object_path.clone(), scale_path.clone()]
    );
    assert_eq!(applied.changes, 1);
    assert!(
        applied.policies[0]
            .warnings
            .iter()
            .any(|w| w.contains("event not recorded") && w.contains("500")),
        "{applied:?}"
    );
    bench
        .assert_done(Action::Apply, "apply with a failed Event")
        .await?;

    // Restore: scale, then annotations.
    let (due, since) = bench.prepare(Action::Restore).await?;
    standin.clear_requests().await?;
    bench.run_ok(due, "restore").await?;
    assert_eq!(
        write_paths(standin.requests().await?),
        [scale_path.clone(), object_path.clone()]
    );
    bench.assert_history(since, "restore").await?;

    // A restore whose record removal is lost, then the alarm fires again.
    let (due, since) = bench.prepare(Action::Restore).await?;
    standin.fault(&object_path, "drop", 0, 1).await?;
    let lost = bench.run(due).await;
    standin.clear_faults().await?;
    let error = lost.err().ok_or("a dropped write did not fail the run")?;
    assert!(
        error
            .to_string()
            .contains("change incomplete: replicas 3 (scale) written"),
        "{error}"
    );
    let half = bench.object().await?;
    assert_eq!(half["spec"]["replicas"], 3);
    assert_eq!(
        annotation(&half, ORIGINAL),
        Some(record_of(DEPLOYMENT.original))
    );
    stack.alarm(DEPLOYMENT.alarm, "ALARM").await?;
    let again_at = due + Duration::minutes(30);
    let again = bench.run_ok(again_at, "firing again").await?;
    assert_eq!(again.policies[0].action, "apply", "{again:?}");
    let object = bench.object().await?;
    assert_eq!(object["spec"]["replicas"], 6, "step 1 of a new episode");
    assert_eq!(annotation(&object, STEP).as_deref(), Some("1"));
    assert_eq!(
        annotation(&object, FIRING_SINCE),
        Some(again_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    bench.assert_history(since, "half-done restore").await?;
    Ok(())
}
