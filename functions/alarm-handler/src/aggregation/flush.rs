//! One group's flush, as Alertmanager's aggregation group does it when its timer
//! fires: read the group's alerts (a firing alert whose `endsAt` has passed is
//! resolved), leave out silenced and inhibited ones, decide per integration from its
//! last notification whether to notify, send through the ledger under the flush's
//! sequence number, record what each integration was told, schedule the next flush
//! `group_interval` later, and drop resolved alerts that were notified. A flush that
//! failed somewhere stays due, so the next flush invocation sends what failed (what
//! was sent is recorded and not sent again); a flush that died before recording
//! keeps its sequence number, and the ledger skips what it sent.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alert_model::{Alert, Status};
use chrono::{DateTime, Utc};

use super::decision::{needs_notification, Notified};
use super::store::{GroupHead, GroupIdentity, GroupStore, StoredAlert};
use crate::config::Config;
use crate::delivery::{deliver, Delivered, Delivery};
use crate::grouping::{route_by_id, route_only, Group};
use crate::ledger::Ledger;
use crate::receivers::{integrations, Notifier, Origin};
use crate::silences::Silence;
use crate::summary::Summary;

type Labels = BTreeMap<String, String>;

/// What a flush reads besides the group: the silences and the firing alerts that
/// may inhibit (both read once per invocation).
pub struct FlushInputs<'a> {
    /// Every kept silence (only active ones mute).
    pub silences: &'a [Silence],
    /// Label sets of firing alerts, the inhibition sources.
    pub firing: &'a [Labels],
}

/// Longer than the 15-minute Lambda maximum: a flush lease older than this belongs
/// to an invocation that no longer runs.
pub const FLUSH_LEASE: Duration = Duration::from_secs(16 * 60);

/// The alert as it stands at `now`: firing until its `endsAt`.
fn as_of(alert: &Alert, now: DateTime<Utc>) -> Alert {
    let mut alert = alert.clone();
    if alert.status == Status::Firing && alert.ends_at.is_some_and(|end| end <= now) {
        alert.status = Status::Resolved;
    }
    alert
}

/// `at + interval`, or the end of time when that is beyond it (a config may say
/// `repeat_interval: 1000y`).
pub fn after(at: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(interval)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Names what one notification tells (its firing and resolved fingerprints), so a
/// flush retried under the same sequence number skips only a notification with the
/// same content.
fn content_id(firing: &BTreeSet<String>, resolved: &BTreeSet<String>) -> String {
    let mut parts = BTreeMap::new();
    parts.insert(
        "firing".to_string(),
        firing.iter().cloned().collect::<Vec<_>>().join(","),
    );
    parts.insert(
        "resolved".to_string(),
        resolved.iter().cloned().collect::<Vec<_>>().join(","),
    );
    alert_model::fingerprint(&parts)
}

/// Flushes group `id` if it is due and free at `now`; counts what happened in
/// `summary`.
#[allow(clippy::too_many_arguments)]
pub async fn flush_group(
    config: &Config,
    notifier: &mut Notifier,
    ledger: &Ledger,
    store: &GroupStore,
    inputs: &FlushInputs<'_>,
    id: &str,
    now: DateTime<Utc>,
    summary: &mut Summary,
) {
    let head = match store.head(id).await {
        Ok(Some(head)) => head,
        Ok(None) => return,
        Err(e) => return summary.failures.push(e.to_string()),
    };
    if head.next_flush > now || head.lease_until.is_some_and(|until| until >= now) {
        return;
    }
    let seq = match store.claim(&head, now, FLUSH_LEASE).await {
        Ok(Some(seq)) => seq,
        Ok(None) => return,
        Err(e) => return summary.failures.push(e.to_string()),
    };
    let (stored, unreadable) = match store.alerts(id).await {
        Ok(alerts) => alerts,
        Err(e) => return summary.failures.push(e.to_string()),
    };
    if unreadable > 0 {
        summary.warnings.push(format!(
            "group {id}: {unreadable} alerts in the state table do not decode"
        ));
    }
    summary.groups_flushed += 1;
    let Some(route) = route_by_id(config, &head.identity.route) else {
        regroup(config, store, id, seq, &head, &stored, now, summary).await;
        return;
    };
    let current: Vec<Alert> = stored.iter().map(|s| as_of(&s.alert, now)).collect();
    let mut notify: Vec<&Alert> = Vec::new();
    for alert in &current {
        if inputs.silences.iter().any(|s| s.mutes(&alert.labels, now)) {
            summary.silenced += 1;
        } else if config.inhibitor.is_inhibited(&alert.labels, inputs.firing) {
            // As Alertmanager: an inhibited alert's resolve is not sent either.
            summary.inhibited += 1;
        } else {
            notify.push(alert);
        }
    }
    let muted = route.is_muted(&config.time_intervals, now);
    let mut notified = head.notified.clone();
    let mut all_done = true;
    if muted {
        summary.muted += notify.len();
    } else if let Some(receiver) = config.receiver(&route.receiver) {
        let firing: BTreeSet<String> = notify
            .iter()
            .filter(|a| a.status == Status::Firing)
            .map(|a| a.fingerprint.clone())
            .collect();
        let resolved: BTreeSet<String> = notify
            .iter()
            .filter(|a| a.status == Status::Resolved)
            .map(|a| a.fingerprint.clone())
            .collect();
        let format = stored
            .iter()
            .max_by_key(|s| s.received)
            .map_or("unknown", |s| s.format.as_str());
        let message_id = format!("flush#{id}#{}#{seq}", head.first_seen);
        let content = content_id(&firing, &resolved);
        let origin = Origin {
            format,
            message_id: Some(&message_id),
        };
        for (integration, index) in integrations(receiver) {
            let name = format!("{}/{}[{index}]", receiver.name, integration.kind());
            if !needs_notification(
                notified.get(&name),
                &firing,
                &resolved,
                integration.send_resolved(),
                route.repeat_interval,
                now,
            ) {
                continue;
            }
            let alerts: Vec<&Alert> = notify
                .iter()
                .copied()
                .filter(|a| integration.send_resolved() || a.status == Status::Firing)
                .collect();
            let entry = Notified {
                firing: firing.clone(),
                resolved: resolved.clone(),
                at: now,
            };
            if alerts.is_empty() {
                summary.deliveries.nothing_to_send += 1;
                notified.insert(name, entry);
                continue;
            }
            let group = Group {
                route,
                receiver: &route.receiver,
                key: head.identity.key.clone(),
                labels: head.identity.labels.clone(),
                alerts,
            };
            let delivery_id = format!("{name}/{content}");
            let delivery = Delivery {
                name: &name,
                receiver: &receiver.name,
                integration,
                ledger: Some((ledger, &message_id)),
                delivery_id: &delivery_id,
            };
            match deliver(notifier, config, delivery, &group, origin, now, summary).await {
                Delivered::Sent | Delivered::Duplicate => {
                    notified.insert(name, entry);
                }
                Delivered::Failed => all_done = false,
            }
        }
    } else {
        summary.failures.push(format!(
            "{}: receiver is not configured",
            head.identity.receiver
        ));
        all_done = false;
    }
    // A failure keeps the group due: the next flush (a minute later) sends what
    // failed, and only that.
    let next_flush = if all_done {
        after(now, route.group_interval)
    } else {
        now
    };
    if let Err(e) = store.finish(id, seq, &notified, next_flush, now).await {
        summary.failures.push(e.to_string());
        return;
    }
    if all_done {
        let resolved: Vec<StoredAlert> = stored
            .iter()
            .zip(&current)
            .filter(|(_, now_alert)| now_alert.status == Status::Resolved)
            .map(|(s, _)| s.clone())
            .collect();
        if resolved.len() == stored.len() {
            remove_group(store, id, &stored, head.version, summary).await;
        } else {
            for alert in &resolved {
                if let Err(e) = store.remove_alert(id, alert).await {
                    summary.failures.push(e.to_string());
                }
            }
        }
    }
}

/// The group's route is no longer in the config (it was removed, or a route
/// inserted before it renumbered it): its alerts are routed again under the current
/// config, as Alertmanager re-dispatches its alerts on reload, and the old group
/// goes.
#[allow(clippy::too_many_arguments)]
async fn regroup(
    config: &Config,
    store: &GroupStore,
    id: &str,
    seq: i64,
    head: &GroupHead,
    stored: &[StoredAlert],
    now: DateTime<Utc>,
    summary: &mut Summary,
) {
    summary.warnings.push(format!(
        "group {}: its route {} is no longer in the config; its alerts are routed again",
        head.identity.key, head.identity.route
    ));
    for format in stored
        .iter()
        .map(|s| s.format.as_str())
        .collect::<BTreeSet<_>>()
    {
        let alerts: Vec<Alert> = stored
            .iter()
            .filter(|s| s.format == format)
            .map(|s| s.alert.clone())
            .collect();
        let routed = route_only(config, &alerts);
        for group in &routed.groups {
            let identity = GroupIdentity::of(group);
            let with_format: Vec<(&Alert, &str)> =
                group.alerts.iter().map(|a| (*a, format)).collect();
            let due = after(now, group.route.group_wait);
            if let Err(e) = store.add(&identity, &with_format, due, now).await {
                summary.failures.push(e.to_string());
                return;
            }
        }
    }
    match store.finish(id, seq, &head.notified, now, now).await {
        Ok(()) => remove_group(store, id, stored, head.version, summary).await,
        Err(e) => summary.failures.push(e.to_string()),
    }
}

/// Drops a group whose alerts are all resolved and notified: each alert unless it was
/// received again, then the head unless an alert was added since `version`.
async fn remove_group(
    store: &GroupStore,
    id: &str,
    alerts: &[StoredAlert],
    version: i64,
    summary: &mut Summary,
) {
    let mut all_removed = true;
    for alert in alerts {
        match store.remove_alert(id, alert).await {
            Ok(removed) => all_removed &= removed,
            Err(e) => {
                summary.failures.push(e.to_string());
                all_removed = false;
            }
        }
    }
    if all_removed {
        if let Err(e) = store.remove_head(id, version).await {
            summary.failures.push(e.to_string());
        }
    }
}
