//! From alerts to notifications, as Alertmanager's dispatcher does it: drop inhibited
//! alerts, send each remaining alert down the routing tree, and group the alerts of
//! each matched route by its `group_by` labels. Routes inside a mute (or outside an
//! active) time interval send nothing. Without `alarm_handler.timers` an invocation
//! sends its groups at once; with them, groups are collected (routing only: silences,
//! inhibition and time intervals apply when a group is flushed, as in Alertmanager).

use std::collections::BTreeMap;

use alert_model::{fingerprint, Alert, Status};
use alert_routing::Route;
use chrono::{DateTime, Utc};

use crate::config::Config;

type Labels = BTreeMap<String, String>;

/// Alerts of one route with equal group labels: one notification per receiver
/// integration.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// The route the alerts matched (its grouping and timing settings).
    pub route: &'a Route,
    /// The route's receiver.
    pub receiver: &'a str,
    /// Alertmanager's group key: `<route key>:{<group labels>}`.
    pub key: String,
    /// The values of the route's `group_by` labels shared by the alerts.
    pub labels: Labels,
    /// In input order, firing and resolved.
    pub alerts: Vec<&'a Alert>,
}

impl Group<'_> {
    /// Firing when any alert fires.
    pub fn status(&self) -> Status {
        if self.alerts.iter().any(|a| a.status == Status::Firing) {
            Status::Firing
        } else {
            Status::Resolved
        }
    }

    /// Short stable id of the group, for delivery records and PagerDuty's
    /// `dedup_key`: the fingerprint of the route's id (unique even for sibling routes
    /// with equal matchers, unlike Alertmanager's route key) and the group labels.
    pub fn key_id(&self) -> String {
        let mut labels = Labels::new();
        labels.insert("route".into(), self.route.id().to_string());
        labels.insert("group".into(), render_labels(&self.labels));
        fingerprint(&labels)
    }
}

/// What the dispatcher decided for one batch of alerts.
#[derive(Debug, Default)]
pub struct Dispatch<'a> {
    /// The notifications to send, one group per route and group labels.
    pub groups: Vec<Group<'a>>,
    /// Fingerprints of alerts muted by an inhibit rule.
    pub inhibited: Vec<String>,
    /// (route id, alert fingerprint) pairs held back by a time interval.
    pub muted: Vec<(String, String)>,
    /// Route matches over all alerts (an alert with `continue` routes counts more).
    pub routes_matched: usize,
}

/// Routes `alerts`. `firing_elsewhere` are label sets of alerts known to be firing
/// from earlier invocations (the state table); together with this batch's firing
/// alerts they are the inhibition sources.
pub fn dispatch<'a>(
    config: &'a Config,
    alerts: &'a [Alert],
    firing_elsewhere: &[Labels],
    now: DateTime<Utc>,
) -> Dispatch<'a> {
    dispatch_with(config, alerts, Some((firing_elsewhere, now)))
}

/// Routes and groups `alerts` without inhibition or time intervals: what the timers
/// path stores, to be muted (or not) when the group is flushed.
pub fn route_only<'a>(config: &'a Config, alerts: &'a [Alert]) -> Dispatch<'a> {
    dispatch_with(config, alerts, None)
}

/// The route with `id` ([`Route::id`]) in the config's tree.
pub fn route_by_id<'a>(config: &'a Config, id: &str) -> Option<&'a Route> {
    let mut found = None;
    config.route.walk(&mut |route| {
        if found.is_none() && route.id() == id {
            found = Some(route);
        }
    });
    found
}

/// `mutes`: the inhibition sources from elsewhere and the time of day, or `None`
/// for routing only.
fn dispatch_with<'a>(
    config: &'a Config,
    alerts: &'a [Alert],
    mutes: Option<(&[Labels], DateTime<Utc>)>,
) -> Dispatch<'a> {
    let firing_elsewhere = mutes.map_or(&[][..], |(f, _)| f);
    let mut sources: Vec<Labels> = alerts
        .iter()
        .filter(|a| a.status == Status::Firing)
        .map(|a| a.labels.clone())
        .collect();
    sources.extend(firing_elsewhere.iter().cloned());
    let mut result = Dispatch::default();
    for alert in alerts {
        if mutes.is_some() && config.inhibitor.is_inhibited(&alert.labels, &sources) {
            result.inhibited.push(alert.fingerprint.clone());
            continue;
        }
        for route in config.route.matching(&alert.labels) {
            result.routes_matched += 1;
            if mutes.is_some_and(|(_, now)| route.is_muted(&config.time_intervals, now)) {
                result
                    .muted
                    .push((route.id().to_string(), alert.fingerprint.clone()));
                continue;
            }
            let labels = group_labels(route, &alert.labels);
            let key = format!("{}:{}", route.key(), render_labels(&labels));
            match result
                .groups
                .iter_mut()
                .find(|g| g.key == key && std::ptr::eq(g.route, route))
            {
                Some(group) => group.alerts.push(alert),
                None => result.groups.push(Group {
                    route,
                    receiver: &route.receiver,
                    key,
                    labels,
                    alerts: vec![alert],
                }),
            }
        }
    }
    result
}

fn group_labels(route: &Route, labels: &Labels) -> Labels {
    if route.group_by_all {
        return labels.clone();
    }
    labels
        .iter()
        .filter(|(name, _)| route.group_by.contains(*name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `{a="1", b="2"}` as Alertmanager prints a label set in group keys.
fn render_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn alert(pairs: &[(&str, &str)], status: Status) -> Alert {
        Alert::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            status,
        )
    }

    const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: ['team="db"']
      receiver: db
      group_by: [alertname, cluster]
      continue: true
    - matchers: ['severity=~"critical|page"']
      receiver: pager
      group_by: ['...']
    - matchers: ['team="db"']
      receiver: db-office-hours
      active_time_intervals: [office]
receivers:
  - name: default
  - name: db
  - name: pager
  - name: db-office-hours
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster]
time_intervals:
  - name: office
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
"#;

    #[test]
    fn routes_groups_inhibits_and_mutes_like_alertmanager() {
        let config = Config::parse(CONFIG, None).expect("valid");
        let alerts = vec![
            alert(
                &[("alertname", "DiskFull"), ("team", "db"), ("cluster", "a")],
                Status::Firing,
            ),
            alert(
                &[
                    ("alertname", "DiskFull"),
                    ("team", "db"),
                    ("cluster", "a"),
                    ("host", "h2"),
                ],
                Status::Firing,
            ),
            alert(
                &[("alertname", "DiskFull"), ("team", "db"), ("cluster", "b")],
                Status::Resolved,
            ),
            alert(
                &[
                    ("alertname", "Down"),
                    ("severity", "critical"),
                    ("cluster", "a"),
                ],
                Status::Firing,
            ),
            alert(
                &[
                    ("alertname", "Slow"),
                    ("severity", "warning"),
                    ("cluster", "a"),
                ],
                Status::Firing,
            ),
            alert(
                &[
                    ("alertname", "Slow"),
                    ("severity", "warning"),
                    ("cluster", "c"),
                ],
                Status::Firing,
            ),
        ];
        // Saturday: the office-hours route is outside its active interval.
        let saturday = Utc
            .with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
            .single()
            .expect("date");
        let d = dispatch(&config, &alerts, &[], saturday);
        assert_eq!(d.inhibited, vec![alerts[4].fingerprint.clone()]);
        let summary: Vec<(String, String, usize)> = d
            .groups
            .iter()
            .map(|g| {
                (
                    g.receiver.to_string(),
                    render_labels(&g.labels),
                    g.alerts.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "db".into(),
                    r#"{alertname="DiskFull", cluster="a"}"#.into(),
                    2
                ),
                (
                    "db".into(),
                    r#"{alertname="DiskFull", cluster="b"}"#.into(),
                    1
                ),
                (
                    "pager".into(),
                    r#"{alertname="Down", cluster="a", severity="critical"}"#.into(),
                    1
                ),
                ("default".into(), r#"{alertname="Slow"}"#.into(), 1),
            ]
        );
        assert_eq!(d.groups[1].status(), Status::Resolved);
        assert_eq!(d.groups[0].status(), Status::Firing);
        // The three DiskFull alerts also matched the muted office-hours route.
        assert_eq!(d.muted.len(), 3);
        assert_eq!(
            d.groups[0].key,
            r#"{}/{team="db"}:{alertname="DiskFull", cluster="a"}"#
        );
        // On a Monday morning the office-hours route is active.
        let monday = Utc
            .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
            .single()
            .expect("date");
        let d = dispatch(&config, &alerts, &[], monday);
        assert!(d.muted.is_empty());
        assert!(d.groups.iter().any(|g| g.receiver == "db-office-hours"));
    }

    #[test]
    fn inhibition_sources_include_alerts_firing_elsewhere() {
        let config = Config::parse(CONFIG, None).expect("valid");
        let alerts = vec![alert(
            &[
                ("alertname", "Slow"),
                ("severity", "warning"),
                ("cluster", "a"),
            ],
            Status::Firing,
        )];
        let now = Utc::now();
        assert!(dispatch(&config, &alerts, &[], now).inhibited.is_empty());
        let critical: Labels = [
            ("alertname", "Down"),
            ("severity", "critical"),
            ("cluster", "a"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let d = dispatch(&config, &alerts, &[critical], now);
        assert_eq!(d.inhibited.len(), 1);
        assert!(d.groups.is_empty());
    }
}
