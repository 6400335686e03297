//! Alertmanager's timers on a virtual clock, against moto's DynamoDB and local
//! webhook receivers: a group waits `group_wait`, changes go out no sooner than
//! `group_interval`, an unchanged group repeats after `repeat_interval`, resolved
//! alerts go out with `send_resolved`, silences hold alerts back, `group_wait: 0`
//! sends in the same invocation; 20 invocations adding to one group at once give one
//! notification with every alert; a flush that failed half-way is retried without
//! sending twice.

use test_support::fake_http::{FakeServer, Reply};
use test_support::services as support;
use test_support::sns_sqs as common;

use std::collections::BTreeMap;

use alarm_handler::api::{ApiRequest, ApiResponse};
use alarm_handler::event::Message;
use alarm_handler::{Config, Handler};
use alert_model::{Alert, Decoded, Format, Status};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use crate::delivery_e2e::create_table;

fn config(hook: &str, instant: &str, table: &str) -> Config {
    Config::parse(
        &format!(
            r#"
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="page"']
      receiver: pager
      group_wait: 0s
receivers:
  - name: team
    webhook_configs: [{{url: '{hook}/team'}}]
  - name: pager
    webhook_configs: [{{url: '{instant}/pager'}}]
alarm_handler:
  state_table: {table}
  idempotency_table: {table}
  timers: true
"#
        ),
        None,
    )
    .expect("config")
}

fn alert(name: &str, instance: &str, status: Status, at: DateTime<Utc>) -> Alert {
    let labels: BTreeMap<String, String> = [("alertname", name), ("instance", instance)]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut alert = Alert::new(labels, status);
    alert.starts_at = Some(at);
    if status == Status::Resolved {
        alert.ends_at = Some(at);
    }
    alert
}

fn message(alerts: Vec<Alert>) -> Vec<Message> {
    vec![Message {
        id: None,
        decoded: Decoded {
            format: Format::AlertmanagerApi,
            alerts,
            warnings: Vec::new(),
        },
    }]
}

/// The notifications a webhook got: per notification, its status and the
/// `instance (status)` of its alerts.
fn notifications(server: &FakeServer) -> Vec<(String, Vec<String>)> {
    server
        .captured()
        .iter()
        .filter(|c| c.method == "POST" && c.answered.is_some_and(|s| (200..300).contains(&s)))
        .map(|c| {
            let body: Value = serde_json::from_slice(&c.body).expect("webhook JSON");
            let mut alerts: Vec<String> = body["alerts"]
                .as_array()
                .expect("alerts")
                .iter()
                .map(|a| {
                    format!(
                        "{} ({})",
                        a["labels"]["instance"].as_str().unwrap_or("?"),
                        a["status"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            alerts.sort();
            (body["status"].as_str().unwrap_or("?").to_string(), alerts)
        })
        .collect()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0)
        .single()
        .expect("time")
}

async fn stack(
    table: &str,
) -> (
    support::Service,
    aws_config::SdkConfig,
    FakeServer,
    FakeServer,
) {
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    create_table(&aws, table).await;
    (
        moto,
        aws,
        FakeServer::start().await,
        FakeServer::start().await,
    )
}

async fn api(
    handler: &mut Handler,
    method: &str,
    path: &str,
    body: Value,
    now: DateTime<Utc>,
) -> ApiResponse {
    let request = ApiRequest {
        method: method.into(),
        path: path.into(),
        query: Vec::new(),
        body: body.to_string().into_bytes(),
    };
    alarm_handler::api::respond(handler, &request, now).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_apply_as_in_alertmanager() {
    let (_moto, aws, hook, instant) = stack("timers").await;
    let mut handler = Handler::new(
        config(&hook.base_url(), &instant.base_url(), "timers"),
        &aws,
    )
    .expect("handler");
    let t = t0();
    let at = |seconds: i64| t + Duration::seconds(seconds);
    let firing = |i: &str, s: i64| alert("Disk", i, Status::Firing, at(s));

    // A new group waits group_wait (30s) for more alerts.
    let summary = handler
        .process(message(vec![firing("a", 0)]), at(0))
        .await
        .expect("ok");
    assert_eq!((summary.groups_waiting, summary.deliveries.sent), (1, 0));
    handler.flush_due(at(10)).await.expect("ok");
    handler
        .process(message(vec![firing("b", 20)]), at(20))
        .await
        .expect("ok");
    assert!(notifications(&hook).is_empty(), "sent before group_wait");
    let summary = handler.flush_due(at(30)).await.expect("ok");
    assert_eq!(summary.groups_flushed, 1);
    assert_eq!(
        notifications(&hook),
        vec![(
            "firing".into(),
            vec!["a (firing)".into(), "b (firing)".into()]
        )]
    );

    // A change waits for the next group_interval tick (30s + 5m).
    handler
        .process(message(vec![firing("c", 40)]), at(40))
        .await
        .expect("ok");
    handler.flush_due(at(60)).await.expect("ok");
    handler.flush_due(at(329)).await.expect("ok");
    assert_eq!(notifications(&hook).len(), 1, "sent before group_interval");
    handler.flush_due(at(330)).await.expect("ok");
    assert_eq!(notifications(&hook).len(), 2);
    // Unchanged: nothing at the next ticks.
    handler.flush_due(at(630)).await.expect("ok");
    handler.flush_due(at(930)).await.expect("ok");
    assert_eq!(
        notifications(&hook).len(),
        2,
        "an unchanged group was sent again"
    );

    // A resolve goes out at the next tick (send_resolved is the webhook default).
    handler
        .process(
            message(vec![alert("Disk", "a", Status::Resolved, at(940))]),
            at(940),
        )
        .await
        .expect("ok");
    handler.flush_due(at(1230)).await.expect("ok");
    assert_eq!(
        notifications(&hook)[2],
        (
            "firing".into(),
            vec![
                "a (resolved)".into(),
                "b (firing)".into(),
                "c (firing)".into()
            ]
        )
    );

    // Still firing after repeat_interval (4h): sent again, without the resolved one.
    let mut tick = 1230;
    while tick < 1230 + 4 * 3600 {
        tick += 300;
        handler.flush_due(at(tick)).await.expect("ok");
    }
    let sent = notifications(&hook);
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert_eq!(
        sent[3].1,
        vec!["b (firing)".to_string(), "c (firing)".to_string()]
    );

    // A silence on c: c's resolve is not notified; b's resolve is, alone.
    let response = api(
        &mut handler,
        "POST",
        "/api/v2/silences",
        json!({
            "matchers": [{"name": "instance", "value": "c", "isRegex": false, "isEqual": true}],
            "startsAt": at(tick).to_rfc3339(),
            "endsAt": at(tick + 86400).to_rfc3339(),
            "createdBy": "test",
            "comment": "maintenance"
        }),
        at(tick + 1),
    )
    .await;
    assert_eq!(response.status, 200, "{response:?}");
    handler
        .process(
            message(vec![alert("Disk", "b", Status::Resolved, at(tick + 10))]),
            at(tick + 10),
        )
        .await
        .expect("ok");
    let summary = handler.flush_due(at(tick + 300)).await.expect("ok");
    assert_eq!(summary.silenced, 1);
    let sent = notifications(&hook);
    assert_eq!(sent.len(), 5, "{sent:?}");
    assert_eq!(sent[4], ("resolved".into(), vec!["b (resolved)".into()]));

    // group_wait 0: sent by the invocation that brought the alert.
    let mut page = alert("Down", "x", Status::Firing, at(tick + 400));
    page.labels.insert("severity".into(), "page".into());
    page.refresh_fingerprint();
    let summary = handler
        .process(message(vec![page]), at(tick + 400))
        .await
        .expect("ok");
    assert_eq!(summary.deliveries.sent, 1);
    assert_eq!(notifications(&instant).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_invocations_into_one_group_give_one_notification() {
    let (_moto, aws, hook, instant) = stack("concurrent").await;
    let t = t0();
    let mut handlers = Vec::new();
    for _ in 0..20 {
        handlers.push(
            Handler::new(
                config(&hook.base_url(), &instant.base_url(), "concurrent"),
                &aws,
            )
            .expect("handler"),
        );
    }
    let adds = handlers.iter_mut().enumerate().map(|(i, handler)| {
        let instance = format!("i{i:02}");
        async move {
            handler
                .process(
                    message(vec![alert("Disk", &instance, Status::Firing, t)]),
                    t,
                )
                .await
        }
    });
    for result in futures_util::future::join_all(adds).await {
        assert!(result.is_ok(), "{result:?}");
    }
    // Two flush invocations overlap at the due time: one sends.
    let due = t + Duration::seconds(30);
    let (first, second) = handlers.split_at_mut(1);
    let (a, b) = tokio::join!(first[0].flush_due(due), second[0].flush_due(due));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    let sent = notifications(&hook);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1.len(), 20, "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_flush_is_retried_without_sending_twice() {
    let (_moto, aws, hook, other) = stack("retry").await;
    let config = Config::parse(
        &format!(
            "route: {{receiver: team, group_by: [alertname], group_wait: 30s}}\n\
             receivers:\n  - name: team\n    webhook_configs: [{{url: '{}/a'}}, {{url: '{}/b'}}]\n\
             alarm_handler: {{state_table: retry, idempotency_table: retry, timers: true}}\n",
            hook.base_url(),
            other.base_url()
        ),
        None,
    )
    .expect("config");
    let mut handler = Handler::new(config, &aws).expect("handler");
    let t = t0();
    handler
        .process(message(vec![alert("Disk", "a", Status::Firing, t)]), t)
        .await
        .expect("ok");
    other.script([Reply::status(500)]);
    // The scheduled flush does not fail its invocation (a Lambda retry would only
    // add a flush): the failure is in its summary and the group stays due.
    let failed = handler
        .flush_due(t + Duration::seconds(30))
        .await
        .expect("the flush reports, not fails");
    assert_eq!((failed.deliveries.sent, failed.deliveries.failed), (1, 1));
    assert_eq!(failed.failures.len(), 1, "{failed:?}");
    // The retry (next minute's flush) sends only where it failed: the first
    // webhook's notification is recorded, so it is not even attempted again.
    let retried = handler
        .flush_due(t + Duration::seconds(90))
        .await
        .expect("retry");
    assert_eq!(
        (retried.deliveries.sent, retried.deliveries.failed),
        (1, 0),
        "{retried:?}"
    );
    assert_eq!(notifications(&hook).len(), 1);
    assert_eq!(notifications(&other).len(), 1);
    // And the group then follows group_interval (5m default) again.
    let later = handler
        .flush_due(t + Duration::seconds(120))
        .await
        .expect("ok");
    assert_eq!(later.groups_flushed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_that_died_after_sending_does_not_send_again() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let (_moto, aws, hook, instant) = stack("crash").await;
    let mut handler = Handler::new(config(&hook.base_url(), &instant.base_url(), "crash"), &aws)
        .expect("handler");
    let t = t0();
    handler
        .process(message(vec![alert("Disk", "a", Status::Firing, t)]), t)
        .await
        .expect("ok");
    let due = t + Duration::seconds(30);
    handler.flush_due(due).await.expect("flush");
    assert_eq!(notifications(&hook).len(), 1);
    // Put the group back as a flush leaves it when it dies after sending and before
    // recording: its sequence number pending, the lease run out, nothing notified.
    let ddb = aws_sdk_dynamodb::Client::new(&aws);
    let heads = ddb
        .query()
        .table_name("crash")
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("group".into()))
        .send()
        .await
        .expect("query");
    let head = &heads.items()[0];
    let seq = head["seq"].as_n().expect("seq").clone();
    let n = |v: i64| AttributeValue::N(v.to_string());
    ddb.update_item()
        .table_name("crash")
        .key("pk", AttributeValue::S("group".into()))
        .key("sk", head["sk"].clone())
        .update_expression(
            "SET seq = :before, pending_seq = :seq, lease_until = :past, next_flush = :past REMOVE notified",
        )
        .expression_attribute_values(":before", n(seq.parse::<i64>().expect("number") - 1))
        .expression_attribute_values(":seq", AttributeValue::N(seq))
        .expression_attribute_values(":past", n(due.timestamp_millis()))
        .send()
        .await
        .expect("update");
    // The next flush reuses the sequence number: the ledger knows it was sent.
    let retried = handler
        .flush_due(due + Duration::seconds(60))
        .await
        .expect("retry");
    assert_eq!(
        (retried.deliveries.sent, retried.deliveries.duplicates),
        (0, 1),
        "{retried:?}"
    );
    assert_eq!(notifications(&hook).len(), 1, "sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_integration_does_not_hold_back_the_others() {
    let (_moto, aws, hook, broken) = stack("broken").await;
    let config = Config::parse(
        &format!(
            "route: {{receiver: team, group_by: [alertname], group_wait: 30s, group_interval: 5m}}\n\
             receivers:\n  - name: team\n    webhook_configs: [{{url: '{}/a'}}, {{url: '{}/b'}}]\n\
             alarm_handler: {{state_table: broken, idempotency_table: broken, timers: true}}\n",
            hook.base_url(),
            broken.base_url()
        ),
        None,
    )
    .expect("config");
    let mut handler = Handler::new(config, &aws).expect("handler");
    broken.script((0..20).map(|_| Reply::status(500)));
    let t = t0();
    handler
        .process(message(vec![alert("Disk", "a", Status::Firing, t)]), t)
        .await
        .expect("ok");
    handler
        .flush_due(t + Duration::seconds(30))
        .await
        .expect("flush");
    // While b keeps failing, a new alert still reaches a, once.
    let later = t + Duration::seconds(60);
    handler
        .process(
            message(vec![alert("Disk", "b", Status::Firing, later)]),
            later,
        )
        .await
        .expect("ok");
    for minute in 2..5 {
        let s = handler
            .flush_due(t + Duration::seconds(60 * minute))
            .await
            .expect("flush");
        assert_eq!(s.deliveries.failed, 1, "{s:?}");
    }
    let sent = notifications(&hook);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[1].1,
        vec!["a (firing)".to_string(), "b (firing)".to_string()]
    );
    assert!(notifications(&broken).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_message_does_not_undo_a_newer_state() {
    let (_moto, aws, hook, instant) = stack("late").await;
    let mut handler =
        Handler::new(config(&hook.base_url(), &instant.base_url(), "late"), &aws).expect("handler");
    let t = t0();
    let firing = message(vec![alert("Disk", "a", Status::Firing, t)]);
    handler.process(firing, t).await.expect("ok");
    let resolved_at = t + Duration::seconds(10);
    handler
        .process(
            message(vec![alert("Disk", "a", Status::Resolved, resolved_at)]),
            resolved_at,
        )
        .await
        .expect("ok");
    // The ALARM message again (an SNS or Lambda retry), after its OK.
    let retried = handler
        .process(
            message(vec![alert("Disk", "a", Status::Firing, t)]),
            t + Duration::seconds(20),
        )
        .await
        .expect("ok");
    assert!(
        retried
            .warnings
            .iter()
            .any(|w| w.contains("older than the state")),
        "{retried:?}"
    );
    // Neither the group nor the firing state took it: the API lists no firing alert.
    let listed = api(
        &mut handler,
        "GET",
        "/api/v2/alerts",
        Value::Null,
        t + Duration::seconds(21),
    )
    .await;
    assert_eq!(listed.body, Some(json!([])), "{listed:?}");
    assert_eq!(
        retried
            .warnings
            .iter()
            .filter(|w| w.contains("older than the state"))
            .count(),
        2,
        "{retried:?}"
    );
    // Fired and resolved before group_wait: nothing to tell anyone.
    handler
        .flush_due(t + Duration::seconds(30))
        .await
        .expect("flush");
    assert!(
        notifications(&hook).is_empty(),
        "{:?}",
        notifications(&hook)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_change_that_moves_a_route_keeps_its_alerts() {
    let (_moto, aws, hook, instant) = stack("moved").await;
    let before = config(&hook.base_url(), &instant.base_url(), "moved");
    let mut handler = Handler::new(before, &aws).expect("handler");
    let t = t0();
    let mut page = alert("Down", "x", Status::Firing, t);
    page.labels.insert("severity".into(), "page".into());
    page.refresh_fingerprint();
    // group_wait 0 on the page route: sent at once, then held by group_interval.
    handler.process(message(vec![page]), t).await.expect("ok");
    assert_eq!(notifications(&instant).len(), 1);
    // A route inserted before the page route renumbers it.
    let after = Config::parse(
        &format!(
            r#"
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  routes:
    - matchers: ['team="new"']
      receiver: team
    - matchers: ['severity="page"']
      receiver: pager
      group_wait: 0s
receivers:
  - name: team
    webhook_configs: [{{url: '{}/team'}}]
  - name: pager
    webhook_configs: [{{url: '{}/pager'}}]
alarm_handler: {{state_table: moved, idempotency_table: moved, timers: true}}
"#,
            hook.base_url(),
            instant.base_url()
        ),
        None,
    )
    .expect("config");
    let mut handler = Handler::new(after, &aws).expect("handler");
    let s = handler
        .flush_due(t + Duration::minutes(6))
        .await
        .expect("flush");
    assert!(
        s.warnings.iter().any(|w| w.contains("routed again")),
        "{s:?}"
    );
    // Regrouped under the moved route, the alert is still there and still fires.
    handler
        .flush_due(t + Duration::minutes(7))
        .await
        .expect("flush");
    let sent = notifications(&instant);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1].1, vec!["x (firing)".to_string()]);
}
