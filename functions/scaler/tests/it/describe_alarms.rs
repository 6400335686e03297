//! DescribeAlarms against moto: 151 alarm names take two calls (100 names per call,
//! the API's limit) and every state is read. (Composite alarms are requested too,
//! but moto does not implement PutCompositeAlarm, so none exists here.) moto never
//! pages DescribeAlarms; a CBOR proxy that does checks that NextToken is followed.

use test_support::kubernetes_stack as common;

use std::collections::BTreeSet;

use common::*;
use scaler::alarms::describe;
use scaler::signal::AlarmState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_batched_by_100_and_states_read() -> Result<(), String> {
    let moto = support::start_moto().await?;
    let cw = aws_sdk_cloudwatch::Client::new(&aws_for(&moto.address).await);
    let mut names = BTreeSet::new();
    for i in 0..150 {
        let name = format!("queue-{i:03}-depth");
        put_alarm(&cw, &name).await?;
        if i % 3 == 0 {
            set_alarm(&cw, &name, "ALARM").await?;
        } else {
            set_alarm(&cw, &name, "OK").await?;
        }
        names.insert(name);
    }
    names.insert("no-such-alarm".to_string());

    let lookup = describe(&cw, &names).await.map_err(|e| e.to_string())?;
    assert_eq!(lookup.calls, 2, "151 names, 100 per call");
    assert_eq!(
        lookup.states.len(),
        150,
        "every existing alarm, the missing one absent"
    );
    assert_eq!(
        lookup.states.get("queue-000-depth"),
        Some(&AlarmState::Alarm)
    );
    assert_eq!(lookup.states.get("queue-001-depth"), Some(&AlarmState::Ok));
    assert!(!lookup.states.contains_key("no-such-alarm"));
    let firing = lookup
        .states
        .values()
        .filter(|s| **s == AlarmState::Alarm)
        .count();
    assert!(firing >= 50, "{firing}");
    Ok(())
}

/// moto never pages DescribeAlarms; the CBOR proxy cuts its answers into pages of 40
/// alarms, so the scaler must follow NextToken within each 100-name call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_token_is_followed_within_each_call() -> Result<(), String> {
    use test_support::cloudwatch_proxy::{start_cloudwatch_proxy, ProxyFaults};

    let moto = support::start_moto().await?;
    let seed = aws_sdk_cloudwatch::Client::new(&aws_for(&moto.address).await);
    let mut names = BTreeSet::new();
    for i in 0..150 {
        let name = format!("paged-{i:03}");
        put_alarm(&seed, &name).await?;
        set_alarm(&seed, &name, if i % 2 == 0 { "ALARM" } else { "OK" }).await?;
        names.insert(name);
    }
    let faults = ProxyFaults {
        page_size: Some(40),
        ..ProxyFaults::default()
    };
    let proxy = start_cloudwatch_proxy(&moto.address, faults).await?;
    let cw = aws_sdk_cloudwatch::Client::new(&aws_for(&proxy.address).await);

    let lookup = describe(&cw, &names).await.map_err(|e| e.to_string())?;
    assert_eq!(lookup.states.len(), 150, "every alarm, across pages");
    assert_eq!(lookup.states.get("paged-148"), Some(&AlarmState::Alarm));
    assert_eq!(lookup.states.get("paged-149"), Some(&AlarmState::Ok));
    // 100 alarms = 40 + 40 + 20, then 50 = 40 + 10: five pages, three continued.
    assert_eq!(lookup.calls, 5);
    assert_eq!(proxy.counts.calls("DescribeAlarms"), 5);
    assert_eq!(
        proxy
            .counts
            .continued
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    Ok(())
}
