//! The scaler's memory, kept as annotations on the object it scales: the original
//! values, the applied step, the policy and the times of its changes. Keeping it on
//! the object means restore needs no database, a human can read (and, carefully,
//! edit) it with kubectl, and two invocations racing on one object serialise through
//! its `resourceVersion`.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::values::{values_from_json, values_to_json, Values};

/// Prefix of every annotation the scaler writes.
pub const ANNOTATION_PREFIX: &str = "scaler.metrics-pipeline/";

/// Annotation keys.
pub mod keys {
    /// The policy that changed the object.
    pub const POLICY: &str = "scaler.metrics-pipeline/policy";
    /// The values before the policy's first change (JSON), restored at the end.
    pub const ORIGINAL: &str = "scaler.metrics-pipeline/original";
    /// The values the policy last wrote (JSON), to notice someone else's edit.
    pub const APPLIED: &str = "scaler.metrics-pipeline/applied";
    /// The escalation step in place.
    pub const STEP: &str = "scaler.metrics-pipeline/step";
    /// When the firing episode began (RFC 3339).
    pub const FIRING_SINCE: &str = "scaler.metrics-pipeline/firing-since";
    /// When every trigger was first OK again (RFC 3339): the cooldown's start.
    pub const OK_SINCE: &str = "scaler.metrics-pipeline/ok-since";
    /// The last value change (RFC 3339), for people reading the object.
    pub const LAST_CHANGE: &str = "scaler.metrics-pipeline/last-change";
    /// The value changes of the last hour (RFC 3339, space separated): the rate
    /// limit.
    pub const CHANGES: &str = "scaler.metrics-pipeline/changes";
    /// Alerts seen through SNS for matcher triggers (JSON by fingerprint).
    pub const ALERTS: &str = "scaler.metrics-pipeline/alerts";
}

/// While a policy is applied: what it changed and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The policy that made the change.
    pub policy: String,
    /// The values before the policy first changed them; restore writes these.
    pub original: Values,
    /// What the policy last wrote (the values of `step`).
    pub applied: Values,
    /// 1 for the first change, +1 per escalation.
    pub step: u32,
    /// When the current firing episode began (escalation counts from here).
    pub firing_since: DateTime<Utc>,
    /// When every trigger was first seen OK again (the cooldown counts from here).
    pub ok_since: Option<DateTime<Utc>>,
}

/// Everything the scaler keeps on one object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScalerState {
    /// What a policy changed, while it is applied.
    pub applied: Option<Applied>,
    /// Times of value changes in the last hour, oldest first (the rate limit).
    pub changes: Vec<DateTime<Utc>>,
    /// Alerts (by fingerprint) seen through SNS for matcher triggers.
    pub alerts: BTreeMap<String, AlertSeen>,
}

/// The last news about one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertSeen {
    /// Whether the news was firing (else resolved).
    pub firing: bool,
    /// The alert's own time for that news (`startsAt` when firing, `endsAt` when
    /// resolved), so an older notification arriving late changes nothing.
    pub at: DateTime<Utc>,
    /// When the scaler last received it (a firing alert not repeated expires).
    pub seen: DateTime<Utc>,
}

/// The annotations are there but unreadable (hand-edited or truncated): the scaler
/// cannot know the originals, so it leaves the object alone and says so.
#[derive(Debug, thiserror::Error)]
#[error("annotation {key}: {reason}")]
pub struct StateError {
    /// The annotation that cannot be read.
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(key: &'static str, text: &str) -> Result<DateTime<Utc>, StateError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StateError {
            key,
            reason: format!("{text:?} is not an RFC 3339 time: {e}"),
        })
}

impl ScalerState {
    /// Reads the state from an object's annotations (absent annotations: no state).
    pub fn from_annotations(a: &BTreeMap<String, String>) -> Result<ScalerState, StateError> {
        let get = |key: &'static str| a.get(key).map(String::as_str);
        let missing = |key: &'static str| StateError {
            key,
            reason: "missing while scaler.metrics-pipeline/original is set".to_string(),
        };
        let applied = match get(keys::ORIGINAL) {
            None => None,
            Some(original) => {
                let original = values_from_json(original).ok_or_else(|| StateError {
                    key: keys::ORIGINAL,
                    reason: format!("{original:?} is not a JSON object of replica counts"),
                })?;
                let applied_text = get(keys::APPLIED).ok_or_else(|| missing(keys::APPLIED))?;
                let applied = values_from_json(applied_text).ok_or_else(|| StateError {
                    key: keys::APPLIED,
                    reason: format!("{applied_text:?} is not a JSON object of replica counts"),
                })?;
                let step_text = get(keys::STEP).ok_or_else(|| missing(keys::STEP))?;
                let step = step_text
                    .parse::<u32>()
                    .ok()
                    .filter(|s| *s >= 1)
                    .ok_or_else(|| StateError {
                        key: keys::STEP,
                        reason: format!("{step_text:?} is not a step number (1, 2, ...)"),
                    })?;
                let firing_since = parse_time(
                    keys::FIRING_SINCE,
                    get(keys::FIRING_SINCE).ok_or_else(|| missing(keys::FIRING_SINCE))?,
                )?;
                let ok_since = get(keys::OK_SINCE)
                    .map(|t| parse_time(keys::OK_SINCE, t))
                    .transpose()?;
                Some(Applied {
                    policy: get(keys::POLICY).unwrap_or_default().to_string(),
                    original,
                    applied,
                    step,
                    firing_since,
                    ok_since,
                })
            }
        };
        let changes = get(keys::CHANGES)
            .unwrap_or_default()
            .split_whitespace()
            .map(|t| parse_time(keys::CHANGES, t))
            .collect::<Result<Vec<_>, _>>()?;
        let alerts = match get(keys::ALERTS) {
            None => BTreeMap::new(),
            Some(text) => parse_alerts(text)?,
        };
        Ok(ScalerState {
            applied,
            changes,
            alerts,
        })
    }

    /// The annotation values that represent this state; `None` removes a key (as a
    /// merge patch's `null` does).
    pub fn to_annotations(&self) -> BTreeMap<&'static str, Option<String>> {
        let mut out = BTreeMap::new();
        let a = self.applied.as_ref();
        out.insert(keys::POLICY, a.map(|a| a.policy.clone()));
        out.insert(keys::ORIGINAL, a.map(|a| values_to_json(&a.original)));
        out.insert(keys::APPLIED, a.map(|a| values_to_json(&a.applied)));
        out.insert(keys::STEP, a.map(|a| a.step.to_string()));
        out.insert(keys::FIRING_SINCE, a.map(|a| rfc3339(a.firing_since)));
        out.insert(keys::OK_SINCE, a.and_then(|a| a.ok_since).map(rfc3339));
        let changes: Vec<String> = self.changes.iter().map(|t| rfc3339(*t)).collect();
        out.insert(
            keys::CHANGES,
            (!changes.is_empty()).then(|| changes.join(" ")),
        );
        out.insert(keys::LAST_CHANGE, self.changes.last().map(|t| rfc3339(*t)));
        out.insert(
            keys::ALERTS,
            (!self.alerts.is_empty()).then(|| alerts_to_json(&self.alerts)),
        );
        out
    }
}

fn alerts_to_json(alerts: &BTreeMap<String, AlertSeen>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = alerts
        .iter()
        .map(|(fp, s)| {
            (
                fp.clone(),
                serde_json::json!({
                    "firing": s.firing,
                    "at": rfc3339(s.at),
                    "seen": rfc3339(s.seen),
                }),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn parse_alerts(text: &str) -> Result<BTreeMap<String, AlertSeen>, StateError> {
    let bad = |reason: String| StateError {
        key: keys::ALERTS,
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad("not a JSON object".to_string()))?;
    let mut out = BTreeMap::new();
    for (fp, entry) in object {
        let firing = entry
            .get("firing")
            .and_then(serde_json::Value::as_bool)
            .ok_or_else(|| bad(format!("{fp}: no boolean firing")))?;
        let time = |name: &str| {
            entry
                .get(name)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| bad(format!("{fp}: no {name} time")))
                .and_then(|t| parse_time(keys::ALERTS, t))
        };
        out.insert(
            fp.clone(),
            AlertSeen {
                firing,
                at: time("at")?,
                seen: time("seen")?,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Field;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    fn annotations(state: &ScalerState) -> BTreeMap<String, String> {
        state
            .to_annotations()
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v?)))
            .collect()
    }

    #[test]
    fn state_round_trips_through_annotations() {
        let state = ScalerState {
            applied: Some(Applied {
                policy: "p".into(),
                original: Values::from([(Field::MinReplicas, 2), (Field::MaxReplicas, 10)]),
                applied: Values::from([(Field::MinReplicas, 2), (Field::MaxReplicas, 15)]),
                step: 1,
                firing_since: t(0),
                ok_since: Some(t(60)),
            }),
            changes: vec![t(0), t(30)],
            alerts: BTreeMap::from([(
                "0123456789abcdef".to_string(),
                AlertSeen {
                    firing: true,
                    at: t(-5),
                    seen: t(1),
                },
            )]),
        };
        let a = annotations(&state);
        assert_eq!(
            a.get(keys::LAST_CHANGE).map(String::as_str),
            Some("2027-01-15T08:00:30Z")
        );
        assert_eq!(ScalerState::from_annotations(&a).ok(), Some(state));
        assert_eq!(
            ScalerState::from_annotations(&BTreeMap::new()).ok(),
            Some(ScalerState::default())
        );
    }

    #[test]
    fn hand_edited_annotations_are_errors_naming_the_key() {
        let state = ScalerState {
            applied: Some(Applied {
                policy: "p".into(),
                original: Values::from([(Field::Replicas, 3)]),
                applied: Values::from([(Field::Replicas, 6)]),
                step: 1,
                firing_since: t(0),
                ok_since: None,
            }),
            ..ScalerState::default()
        };
        let good = annotations(&state);
        for (key, value) in [
            (keys::ORIGINAL, "3"),
            (keys::STEP, "0"),
            (keys::FIRING_SINCE, "yesterday"),
            (keys::CHANGES, "2026-01-01T00:00:00Z soon"),
            (keys::ALERTS, "{\"fp\": {\"firing\": 1}}"),
        ] {
            let mut bad = good.clone();
            bad.insert(key.to_string(), value.to_string());
            match ScalerState::from_annotations(&bad) {
                Err(e) => assert_eq!(e.key, key, "{e}"),
                Ok(s) => panic!("{key}={value} accepted as {s:?}"),
            }
        }
        let mut partial = good.clone();
        partial.remove(keys::APPLIED);
        assert!(ScalerState::from_annotations(&partial).is_err());
    }
}
