//! The current state of the CloudWatch alarms the policies name, from DescribeAlarms:
//! the authority every run converges to, so a lost or out-of-order event is
//! corrected by the next run. Names go 100 per call (the API's limit), metric and
//! composite alarms alike.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError;
use aws_sdk_cloudwatch::types::AlarmType;

use crate::signal::AlarmState;

/// DescribeAlarms accepts at most this many `AlarmNames`.
pub const NAMES_PER_CALL: usize = 100;

/// DescribeAlarms failed (throttled, denied, unreachable): the run cannot know the
/// alarms' state, so it fails and is retried rather than acting on a guess. The SDK
/// error is the source.
#[derive(Debug, thiserror::Error)]
#[error("CloudWatch DescribeAlarms failed")]
pub struct AlarmsError(#[source] pub Box<SdkError<DescribeAlarmsError>>);

/// What one lookup found and cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmLookup {
    /// Found alarms by name; a missing name does not exist (in this region).
    pub states: BTreeMap<String, AlarmState>,
    /// DescribeAlarms calls made (pages), for the summary.
    pub calls: u64,
}

/// Reads the state of `names` (at most [`NAMES_PER_CALL`] per call, following
/// `NextToken`).
pub async fn describe(
    client: &aws_sdk_cloudwatch::Client,
    names: &BTreeSet<String>,
) -> Result<AlarmLookup, AlarmsError> {
    let mut lookup = AlarmLookup::default();
    let names: Vec<&String> = names.iter().collect();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let mut next_token: Option<String> = None;
        loop {
            let out = client
                .describe_alarms()
                .set_alarm_names(Some(chunk.iter().map(|n| (*n).clone()).collect()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(100)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| AlarmsError(Box::new(e)))?;
            lookup.calls += 1;
            let metric = out
                .metric_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value().map(|s| s.as_str())));
            let composite = out
                .composite_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value().map(|s| s.as_str())));
            for (name, state) in metric.chain(composite) {
                if let (Some(name), Some(state)) = (name, state.and_then(AlarmState::parse)) {
                    lookup.states.insert(name.to_string(), state);
                }
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => break,
            }
        }
    }
    Ok(lookup)
}
