//! Whether a policy fires: from CloudWatch alarm states (DescribeAlarms is the
//! authority, read at every run) and from alerts the alarm-handler published (no
//! authority to ask, so their latest news is remembered on the object, ordered by the
//! alerts' own times so a late notification cannot undo a newer one).

use std::collections::BTreeMap;

use alert_model::{Alert, Status};
use chrono::{DateTime, Duration, Utc};

use crate::config::Policy;
use crate::decide::Signal;
use crate::state::AlertSeen;

/// A CloudWatch alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    /// `ALARM`: the trigger fires.
    Alarm,
    /// `OK`.
    Ok,
    /// `INSUFFICIENT_DATA`: the signal is unknown, so nothing changes.
    InsufficientData,
}

impl AlarmState {
    /// CloudWatch's spelling (`ALARM`, `OK`, `INSUFFICIENT_DATA`).
    pub fn parse(text: &str) -> Option<AlarmState> {
        match text {
            "ALARM" => Some(AlarmState::Alarm),
            "OK" => Some(AlarmState::Ok),
            "INSUFFICIENT_DATA" => Some(AlarmState::InsufficientData),
            _ => None,
        }
    }

    /// CloudWatch's spelling, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Alarm => "ALARM",
            AlarmState::Ok => "OK",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// Resolved alerts are remembered this long, to refuse a late firing notification.
pub fn resolved_memory() -> Duration {
    Duration::hours(24)
}

/// The policy's signal from the alarm states (a name missing from `alarms` is
/// unknown) and the remembered alerts; a firing alert not heard of for `expiry`
/// counts as resolved.
pub fn policy_signal(
    policy: &Policy,
    alarms: &BTreeMap<String, AlarmState>,
    alerts: &BTreeMap<String, AlertSeen>,
    expiry: std::time::Duration,
    now: DateTime<Utc>,
) -> Signal {
    let expiry = Duration::from_std(expiry).unwrap_or(Duration::MAX);
    let mut unknown = false;
    for name in &policy.alarms {
        match alarms.get(name) {
            Some(AlarmState::Alarm) => return Signal::Firing,
            Some(AlarmState::Ok) => {}
            Some(AlarmState::InsufficientData) | None => unknown = true,
        }
    }
    if alerts.values().any(|a| a.firing && now - a.seen < expiry) {
        return Signal::Firing;
    }
    if unknown {
        Signal::Unknown
    } else {
        Signal::Ok
    }
}

/// Whether every matcher of the policy accepts the alert (a missing label is "").
/// A policy without matchers takes no alerts this way.
pub fn matches(policy: &Policy, alert: &Alert) -> bool {
    !policy.matchers.is_empty()
        && policy
            .matchers
            .iter()
            .all(|m| m.matches(alert.labels.get(&m.name).map_or("", String::as_str)))
}

/// What [`record_alerts`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// News taken.
    pub taken: usize,
    /// Notifications older than what is remembered, ignored.
    pub stale: usize,
}

/// Remembers the news of the alerts that match `policy` in `remembered`, keyed by
/// fingerprint. An alert's time is `startsAt` when firing and `endsAt` when resolved
/// (the receive time when the sender gave none); news older than the remembered one
/// is stale, and at equal times resolved wins. Expired entries are dropped.
pub fn record_alerts(
    policy: &Policy,
    remembered: &mut BTreeMap<String, AlertSeen>,
    alerts: &[Alert],
    expiry: std::time::Duration,
    now: DateTime<Utc>,
) -> Recorded {
    let mut recorded = Recorded::default();
    for alert in alerts.iter().filter(|a| matches(policy, a)) {
        let firing = alert.status == Status::Firing;
        let at = if firing {
            alert.starts_at
        } else {
            alert.ends_at
        }
        .unwrap_or(now);
        if let Some(old) = remembered.get(&alert.fingerprint) {
            let older = at < old.at || (at == old.at && firing && !old.firing);
            if older {
                recorded.stale += 1;
                continue;
            }
        }
        remembered.insert(
            alert.fingerprint.clone(),
            AlertSeen {
                firing,
                at,
                seen: now,
            },
        );
        recorded.taken += 1;
    }
    prune(remembered, expiry, now);
    recorded
}

/// Drops firing entries not heard of for `expiry` and resolved ones older than
/// [`resolved_memory`].
pub fn prune(
    remembered: &mut BTreeMap<String, AlertSeen>,
    expiry: std::time::Duration,
    now: DateTime<Utc>,
) {
    let expiry = Duration::from_std(expiry).unwrap_or(Duration::MAX);
    remembered.retain(|_, a| {
        if a.firing {
            now - a.seen < expiry
        } else {
            now - a.seen < resolved_memory()
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn policy(triggers: &str) -> Policy {
        let text = format!(
            "clusters: {{c: {{eks: {{name: c, region: us-east-1}}}}}}\n\
             policies:\n- name: p\n  triggers: {triggers}\n  \
             target: {{cluster: c, namespace: n, kind: Deployment, name: d}}\n  \
             while_firing: {{replicas: {{add: 1}}}}\n  ceiling: 10\n"
        );
        match Config::parse(&text) {
            Ok(mut c) => c.policies.remove(0),
            Err(e) => panic!("{e}"),
        }
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default() + Duration::minutes(minutes)
    }

    fn alert(name: &str, firing: bool, starts: i64, ends: Option<i64>) -> Alert {
        let mut a = Alert::new(
            BTreeMap::from([
                ("alertname".to_string(), name.to_string()),
                ("source".to_string(), "grafana".to_string()),
            ]),
            if firing {
                Status::Firing
            } else {
                Status::Resolved
            },
        );
        a.starts_at = Some(at(starts));
        a.ends_at = ends.map(at);
        a
    }

    const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

    #[test]
    fn alarm_states_combine_any_firing_else_unknown_else_ok() {
        let p = policy("{alarms: [a, b]}");
        let none = BTreeMap::new();
        let states = |a, b| BTreeMap::from([("a".to_string(), a), ("b".to_string(), b)]);
        use AlarmState::*;
        assert_eq!(
            policy_signal(&p, &states(Ok, Alarm), &none, HOUR, at(0)),
            Signal::Firing
        );
        assert_eq!(
            policy_signal(&p, &states(Ok, Ok), &none, HOUR, at(0)),
            Signal::Ok
        );
        assert_eq!(
            policy_signal(&p, &states(Ok, InsufficientData), &none, HOUR, at(0)),
            Signal::Unknown
        );
        let only_a = BTreeMap::from([("a".to_string(), Ok)]);
        assert_eq!(
            policy_signal(&p, &only_a, &none, HOUR, at(0)),
            Signal::Unknown
        );
    }

    #[test]
    fn alerts_are_ordered_by_their_own_times() {
        let p = policy("{matchers: ['alertname=\"Backlog\"']}");
        let mut seen = BTreeMap::new();
        let firing = alert("Backlog", true, 0, None);
        let resolved = alert("Backlog", false, 0, Some(10));
        let other = alert("Other", true, 0, None);
        let r = record_alerts(&p, &mut seen, &[firing.clone(), other], HOUR, at(1));
        assert_eq!(r, Recorded { taken: 1, stale: 0 });
        assert_eq!(
            policy_signal(&p, &BTreeMap::new(), &seen, HOUR, at(2)),
            Signal::Firing
        );
        record_alerts(&p, &mut seen, std::slice::from_ref(&resolved), HOUR, at(11));
        assert_eq!(
            policy_signal(&p, &BTreeMap::new(), &seen, HOUR, at(12)),
            Signal::Ok
        );
        // The firing notification arriving again late changes nothing.
        let late = record_alerts(&p, &mut seen, &[firing], HOUR, at(13));
        assert_eq!(late, Recorded { taken: 0, stale: 1 });
        assert_eq!(
            policy_signal(&p, &BTreeMap::new(), &seen, HOUR, at(14)),
            Signal::Ok
        );
        // A new episode (later startsAt) fires again.
        record_alerts(
            &p,
            &mut seen,
            &[alert("Backlog", true, 20, None)],
            HOUR,
            at(21),
        );
        assert_eq!(
            policy_signal(&p, &BTreeMap::new(), &seen, HOUR, at(22)),
            Signal::Firing
        );
        // Not repeated for the expiry: counts as resolved, and is forgotten.
        assert_eq!(
            policy_signal(&p, &BTreeMap::new(), &seen, HOUR, at(21 + 60)),
            Signal::Ok
        );
        prune(&mut seen, HOUR, at(21 + 60));
        assert!(seen.is_empty());
    }
}
