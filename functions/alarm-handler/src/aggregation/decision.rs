//! When a group's flush notifies an integration, as Alertmanager's dedup stage
//! decides it from the integration's last notification: new firing alerts always
//! notify; newly resolved alerts notify with `send_resolved`; a group whose alerts
//! all resolved notifies once (so the record of what fired is cleared, even without
//! `send_resolved`); otherwise only `repeat_interval` after the last notification.
//! Pure functions, so the rules are tested without a table or a clock.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an integration was last told about a group (Alertmanager's notification log
/// entry): the fingerprints of the firing and the resolved alerts, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notified {
    /// Fingerprints of the alerts that were firing.
    pub firing: BTreeSet<String>,
    /// Fingerprints of the alerts that were resolved.
    pub resolved: BTreeSet<String>,
    /// When the notification went out.
    pub at: DateTime<Utc>,
}

/// Whether the flush at `now` notifies an integration whose last notification was
/// `last`, given the group's `firing` and `resolved` alerts (after silences and
/// inhibition).
pub fn needs_notification(
    last: Option<&Notified>,
    firing: &BTreeSet<String>,
    resolved: &BTreeSet<String>,
    send_resolved: bool,
    repeat_interval: Duration,
    now: DateTime<Utc>,
) -> bool {
    let Some(last) = last else {
        // Never notified: only when something fires.
        return !firing.is_empty();
    };
    if !firing.is_subset(&last.firing) {
        return true;
    }
    if firing.is_empty() {
        // Everything resolved: notify if the receiver was told something fired.
        return !last.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&last.resolved) {
        return true;
    }
    // A repeat beyond the end of time (`repeat_interval: 1000y`) never comes.
    chrono::Duration::from_std(repeat_interval)
        .ok()
        .and_then(|repeat| last.at.checked_add_signed(repeat))
        .is_some_and(|due| due <= now)
}

/// When a new group is first flushed: `group_wait` after now, or at once when the
/// alert that made it is already older than `group_wait` (Alertmanager does not make
/// a stale alert wait again).
pub fn first_flush(
    starts_at: Option<DateTime<Utc>>,
    group_wait: Duration,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let Some(wait) = chrono::Duration::from_std(group_wait).ok() else {
        return DateTime::<Utc>::MAX_UTC;
    };
    match starts_at {
        Some(start) if start.checked_add_signed(wait).is_some_and(|t| t < now) => now,
        _ => now
            .checked_add_signed(wait)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(fps: &[&str]) -> BTreeSet<String> {
        fps.iter().map(|s| s.to_string()).collect()
    }

    const REPEAT: Duration = Duration::from_secs(4 * 3600);

    #[test]
    fn first_notification_only_when_something_fires() {
        let now = Utc::now();
        assert!(needs_notification(
            None,
            &set(&["a"]),
            &set(&[]),
            true,
            REPEAT,
            now
        ));
        assert!(!needs_notification(
            None,
            &set(&[]),
            &set(&["a"]),
            true,
            REPEAT,
            now
        ));
    }

    #[test]
    fn changes_and_repeats() {
        let now = Utc::now();
        let last = Notified {
            firing: set(&["a", "b"]),
            resolved: set(&[]),
            at: now - chrono::Duration::minutes(5),
        };
        // Unchanged: only after repeat_interval.
        assert!(!needs_notification(
            Some(&last),
            &set(&["a", "b"]),
            &set(&[]),
            true,
            REPEAT,
            now
        ));
        assert!(needs_notification(
            Some(&last),
            &set(&["a", "b"]),
            &set(&[]),
            true,
            REPEAT,
            now + chrono::Duration::hours(4)
        ));
        // A new firing alert.
        assert!(needs_notification(
            Some(&last),
            &set(&["a", "c"]),
            &set(&[]),
            false,
            REPEAT,
            now
        ));
        // One resolved: only with send_resolved.
        assert!(needs_notification(
            Some(&last),
            &set(&["a"]),
            &set(&["b"]),
            true,
            REPEAT,
            now
        ));
        assert!(!needs_notification(
            Some(&last),
            &set(&["a"]),
            &set(&["b"]),
            false,
            REPEAT,
            now
        ));
        // All resolved: always, to clear the record.
        assert!(needs_notification(
            Some(&last),
            &set(&[]),
            &set(&["a", "b"]),
            false,
            REPEAT,
            now
        ));
        // Fired and resolved between two flushes, receiver never told: nothing.
        let quiet = Notified {
            firing: set(&[]),
            resolved: set(&["x"]),
            at: last.at,
        };
        assert!(!needs_notification(
            Some(&quiet),
            &set(&[]),
            &set(&["y"]),
            true,
            REPEAT,
            now
        ));
    }

    #[test]
    fn huge_intervals_do_not_overflow() {
        let now = Utc::now();
        let last = Notified {
            firing: set(&["a"]),
            resolved: set(&[]),
            at: now,
        };
        let forever = Duration::from_secs(u64::MAX / 1000);
        assert!(!needs_notification(
            Some(&last),
            &set(&["a"]),
            &set(&[]),
            true,
            forever,
            now
        ));
        assert_eq!(first_flush(None, forever, now), DateTime::<Utc>::MAX_UTC);
        assert!(first_flush(Some(now), Duration::from_secs(10_000 * 365 * 86_400), now) > now);
    }

    #[test]
    fn an_old_alert_does_not_wait_again() {
        let now = Utc::now();
        let wait = Duration::from_secs(30);
        assert_eq!(
            first_flush(Some(now - chrono::Duration::minutes(2)), wait, now),
            now
        );
        assert_eq!(
            first_flush(Some(now), wait, now),
            now + chrono::Duration::seconds(30)
        );
        assert_eq!(
            first_flush(None, wait, now),
            now + chrono::Duration::seconds(30)
        );
    }
}
