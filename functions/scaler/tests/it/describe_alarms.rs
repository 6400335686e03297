//! DescribeAlarms against moto: 151 alarm names take two calls (100 names per call,
//! the API's limit) and every state is read. (Composite alarms are requested too,
//! but moto does not implement PutCompositeAlarm, so none exists here.)

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
