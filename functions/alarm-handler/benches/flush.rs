//! What the once-a-minute flush costs: the alarm-handler (in process, as Lambda runs
//! it) against moto's DynamoDB and a local webhook. `BENCH_GROUPS` groups (default
//! 200) of 5 alerts each are added with `group_wait: 30s`; then the flush runs
//! before anything is due (what 43,200 invocations a month do when nothing fires),
//! at the due time (every group sends one notification), and again at the next
//! tick (every group is checked and nothing is sent). Reports wall time and this
//! process's CPU time for each step and per group. moto answers far slower than
//! DynamoDB, so wall times are upper bounds; the handler's own cost is its CPU time.
//!
//! Run: `cargo bench -p alarm-handler --bench flush` (after scripts/setup.sh).

// A benchmark is test code: a failed step panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::time::Instant;

use alarm_handler::event::Message;
use alarm_handler::{Config, Handler};
use alert_model::{Alert, Decoded, Format, Status};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use chrono::{Duration, TimeZone, Utc};
use test_support::fake_http::FakeServer;
use test_support::services as support;
use test_support::sns_sqs as common;

/// This process's CPU seconds (moto is another process).
fn cpu_seconds() -> f64 {
    support::proc_cpu_seconds(std::process::id())
}

fn main() {
    let groups: usize = std::env::var("BENCH_GROUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let moto = support::start_moto().await.unwrap();
        let aws = common::aws_config_for(&moto.address).await;
        let ddb = aws_sdk_dynamodb::Client::new(&aws);
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        };
        let key = |n: &str, t| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .unwrap()
        };
        ddb.create_table()
            .table_name("bench")
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
        let hook = FakeServer::start().await;
        let config = Config::parse(
            &format!(
                "route: {{receiver: team, group_by: [alertname], group_wait: 30s, group_interval: 5m}}\n\
                 receivers: [{{name: team, webhook_configs: [{{url: '{}/hook'}}]}}]\n\
                 alarm_handler: {{state_table: bench, idempotency_table: bench, timers: true}}\n",
                hook.base_url()
            ),
            None,
        )
        .unwrap();
        let mut handler = Handler::new(config, &aws).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).single().unwrap();
        let alerts: Vec<Alert> = (0..groups)
            .flat_map(|g| {
                (0..5).map(move |i| {
                    let labels: BTreeMap<String, String> = [
                        ("alertname".to_string(), format!("Alert{g:04}")),
                        ("instance".to_string(), format!("i{i}")),
                    ]
                    .into_iter()
                    .collect();
                    let mut alert = Alert::new(labels, Status::Firing);
                    alert.starts_at = Some(t);
                    alert
                })
            })
            .collect();
        let message = vec![Message {
            id: None,
            decoded: Decoded {
                format: Format::AlertmanagerApi,
                alerts,
                warnings: Vec::new(),
            },
        }];
        println!("alarm-handler flush, {groups} groups of 5 alerts (moto DynamoDB, in process)");
        println!(
            "{:<28} {:>8} {:>8} {:>12} {:>12} {:>6}",
            "step", "wall s", "CPU s", "wall ms/grp", "CPU ms/grp", "sent"
        );
        let step = |name: &str, wall: f64, cpu: f64, sent: usize| {
            println!(
                "{name:<28} {wall:>8.3} {cpu:>8.3} {:>12.2} {:>12.3} {sent:>6}",
                wall * 1e3 / groups as f64,
                cpu * 1e3 / groups as f64
            );
        };
        let (c, w) = (cpu_seconds(), Instant::now());
        let s = handler.process(message, t).await.unwrap();
        step("add (one invocation)", w.elapsed().as_secs_f64(), cpu_seconds() - c, s.deliveries.sent);
        assert_eq!(s.groups_waiting, groups);
        let (c, w) = (cpu_seconds(), Instant::now());
        let s = handler.flush_due(t + Duration::seconds(10)).await.unwrap();
        step("flush, nothing due", w.elapsed().as_secs_f64(), cpu_seconds() - c, s.deliveries.sent);
        assert_eq!(s.groups_flushed, 0);
        let (c, w) = (cpu_seconds(), Instant::now());
        let s = handler.flush_due(t + Duration::seconds(30)).await.unwrap();
        step("flush, all due (notify)", w.elapsed().as_secs_f64(), cpu_seconds() - c, s.deliveries.sent);
        assert_eq!(s.deliveries.sent, groups);
        let (c, w) = (cpu_seconds(), Instant::now());
        let s = handler.flush_due(t + Duration::seconds(330)).await.unwrap();
        step("flush, all due (unchanged)", w.elapsed().as_secs_f64(), cpu_seconds() - c, s.deliveries.sent);
        assert_eq!((s.groups_flushed, s.deliveries.sent), (groups, 0));
    });
}
