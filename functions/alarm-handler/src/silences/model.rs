//! A silence as Alertmanager models it (matchers, start, end, creator, comment) and
//! the rules it applies when one is created or changed: at least one matcher that
//! does not match the empty string, an end after the start and not in the past, a
//! start in the past moved to now, and an update in place only when it cannot change
//! which alerts were silenced (otherwise the old silence is expired and a new one
//! made), so the silence history stays true.

use std::collections::BTreeMap;

use alert_routing::{MatchType, Matcher};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One matcher in Alertmanager's v2 API form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SilenceMatcher {
    /// The label name.
    pub name: String,
    /// The value or regex.
    pub value: String,
    /// `=~` / `!~` rather than `=` / `!=`.
    pub is_regex: bool,
    /// `=` / `=~` rather than `!=` / `!~`; Alertmanager's default is true.
    #[serde(default = "default_true")]
    pub is_equal: bool,
}

fn default_true() -> bool {
    true
}

impl SilenceMatcher {
    /// The operator this matcher stands for.
    pub fn match_type(&self) -> MatchType {
        match (self.is_regex, self.is_equal) {
            (false, true) => MatchType::Equal,
            (false, false) => MatchType::NotEqual,
            (true, true) => MatchType::Regexp,
            (true, false) => MatchType::NotRegexp,
        }
    }

    /// The compiled matcher; a regex that does not compile is refused.
    pub fn compile(&self) -> Result<Matcher, SilenceError> {
        Matcher::new(self.match_type(), self.name.clone(), self.value.clone())
            .map_err(|e| SilenceError::Invalid(format!("invalid label matcher: {e}")))
    }
}

/// A silence as stored and as `GET /api/v2/silences` returns it (without the derived
/// `status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Silence {
    /// A UUID, made when the silence is created.
    pub id: String,
    /// Every matcher must match an alert's labels for the silence to apply.
    pub matchers: Vec<SilenceMatcher>,
    /// From when it silences.
    pub starts_at: DateTime<Utc>,
    /// Until when it silences.
    pub ends_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Who made it (amtool sends the user name).
    pub created_by: String,
    /// Why.
    pub comment: String,
}

/// A silence's state at some moment, as Alertmanager derives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    /// Silencing now.
    Active,
    /// Starts later.
    Pending,
    /// Ended (kept for the retention period, then forgotten).
    Expired,
}

impl SilenceState {
    /// `active`, `pending` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
            SilenceState::Expired => "expired",
        }
    }
}

/// A silence that cannot be created or changed; the text is what the API returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// The silence itself is wrong (matchers, times).
    #[error("silence invalid: {0}")]
    Invalid(String),
    /// `id` names no stored silence (Alertmanager's wording).
    #[error("silence not found")]
    NotFound(String),
    /// Expiring a silence that already ended.
    #[error("silence {0} already expired")]
    AlreadyExpired(String),
}

impl Silence {
    /// The state at `now`: expired once `endsAt` is reached, pending before
    /// `startsAt`.
    pub fn state(&self, now: DateTime<Utc>) -> SilenceState {
        if self.ends_at <= now {
            SilenceState::Expired
        } else if self.starts_at > now {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }

    /// Whether the silence mutes an alert with `labels` (only an active silence
    /// mutes; a regex that no longer compiles mutes nothing).
    pub fn mutes(&self, labels: &BTreeMap<String, String>, now: DateTime<Utc>) -> bool {
        self.state(now) == SilenceState::Active
            && self.matchers.iter().all(|m| {
                m.compile().is_ok_and(|matcher| {
                    matcher.matches(labels.get(&m.name).map_or("", String::as_str))
                })
            })
    }

    /// Alertmanager's validation of a silence to be stored at `now`.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), SilenceError> {
        if self.matchers.is_empty() {
            return Err(SilenceError::Invalid(
                "at least one matcher required".into(),
            ));
        }
        let mut all_match_empty = true;
        for (i, m) in self.matchers.iter().enumerate() {
            if m.name.is_empty() {
                return Err(SilenceError::Invalid(format!(
                    "invalid label matcher {i}: invalid label name \"\""
                )));
            }
            let matcher = Matcher::new(m.match_type(), m.name.clone(), m.value.clone())
                .map_err(|e| SilenceError::Invalid(format!("invalid label matcher {i}: {e}")))?;
            if !matcher.matches("") {
                all_match_empty = false;
            }
        }
        if all_match_empty {
            return Err(SilenceError::Invalid(
                "at least one matcher must not match the empty string".into(),
            ));
        }
        if self.ends_at < self.starts_at {
            return Err(SilenceError::Invalid(
                "end time must not be before start time".into(),
            ));
        }
        if self.ends_at < now {
            return Err(SilenceError::Invalid(
                "end time can't be in the past".into(),
            ));
        }
        Ok(())
    }

    /// Whether `new` may replace `self` under the same id (Alertmanager's
    /// `canUpdate`): same matchers; an active silence keeps its start and may not end
    /// in the past; a pending one may not start in the past; an expired one is never
    /// changed.
    pub fn can_update_to(&self, new: &Silence, now: DateTime<Utc>) -> bool {
        if self.matchers != new.matchers {
            return false;
        }
        match self.state(now) {
            SilenceState::Active => new.starts_at == self.starts_at && new.ends_at >= now,
            SilenceState::Pending => new.starts_at >= now,
            SilenceState::Expired => false,
        }
    }

    /// This silence ended at `now`: an active one ends now, a pending one never
    /// starts (start and end now).
    pub fn expire(&mut self, now: DateTime<Utc>) -> Result<(), SilenceError> {
        match self.state(now) {
            SilenceState::Expired => return Err(SilenceError::AlreadyExpired(self.id.clone())),
            SilenceState::Pending => self.starts_at = now,
            SilenceState::Active => {}
        }
        self.ends_at = now;
        self.updated_at = now;
        Ok(())
    }
}

/// Alertmanager's list order: active ones first (soonest to end first), then pending
/// (soonest to start first), then expired (most recently ended first).
pub fn sort_for_listing(silences: &mut [Silence], now: DateTime<Utc>) {
    silences.sort_by(|a, b| {
        let (sa, sb) = (a.state(now), b.state(now));
        sa.cmp(&sb).then_with(|| match sa {
            SilenceState::Active => a.ends_at.cmp(&b.ends_at),
            SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
            SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn silence(matchers: &[(&str, &str, bool, bool)], from: i64, to: i64) -> Silence {
        let now = Utc::now();
        Silence {
            id: "s".into(),
            matchers: matchers
                .iter()
                .map(|(n, v, is_regex, is_equal)| SilenceMatcher {
                    name: n.to_string(),
                    value: v.to_string(),
                    is_regex: *is_regex,
                    is_equal: *is_equal,
                })
                .collect(),
            starts_at: now + Duration::minutes(from),
            ends_at: now + Duration::minutes(to),
            updated_at: now,
            created_by: "me".into(),
            comment: "why".into(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matchers_mute_only_while_active() {
        let now = Utc::now();
        let s = silence(
            &[
                ("alertname", "Disk.*", true, true),
                ("env", "dev", false, false),
            ],
            -1,
            60,
        );
        assert!(s.mutes(&labels(&[("alertname", "DiskFull"), ("env", "prod")]), now));
        assert!(!s.mutes(&labels(&[("alertname", "DiskFull"), ("env", "dev")]), now));
        assert!(!s.mutes(&labels(&[("alertname", "XDiskFull")]), now));
        assert!(!s.mutes(
            &labels(&[("alertname", "DiskFull")]),
            now + Duration::minutes(61)
        ));
        assert_eq!(s.state(now - Duration::minutes(2)), SilenceState::Pending);
    }

    #[test]
    fn validation_is_alertmanagers() {
        let now = Utc::now();
        let invalid = |s: Silence| match s.validate(now) {
            Err(SilenceError::Invalid(reason)) => reason,
            other => panic!("accepted: {other:?}"),
        };
        assert!(silence(&[("a", "b", false, true)], 0, 10)
            .validate(now)
            .is_ok());
        assert_eq!(
            invalid(silence(&[], 0, 10)),
            "at least one matcher required"
        );
        assert!(invalid(silence(&[("a", "", false, true)], 0, 10)).contains("empty string"));
        assert!(invalid(silence(&[("a", ".*", true, true)], 0, 10)).contains("empty string"));
        assert!(invalid(silence(&[("a", "(", true, true)], 0, 10)).contains("invalid regex"));
        assert!(invalid(silence(&[("a", "b", false, true)], 10, 5)).contains("before start"));
        assert!(invalid(silence(&[("a", "b", false, true)], -10, -5)).contains("past"));
    }

    #[test]
    fn updates_in_place_only_when_history_stays_true() {
        let now = Utc::now();
        let active = silence(&[("a", "b", false, true)], -5, 10);
        let mut longer = active.clone();
        longer.ends_at = active.ends_at + Duration::minutes(30);
        assert!(active.can_update_to(&longer, now));
        let mut moved = longer.clone();
        moved.starts_at = now;
        assert!(!active.can_update_to(&moved, now));
        let mut other = longer.clone();
        other.matchers[0].value = "c".into();
        assert!(!active.can_update_to(&other, now));
    }

    #[test]
    fn expiring_ends_now_and_sorting_is_alertmanagers() {
        let now = Utc::now();
        let mut pending = silence(&[("a", "b", false, true)], 5, 10);
        pending.expire(now).expect("pending expires");
        assert_eq!((pending.starts_at, pending.ends_at), (now, now));
        assert_eq!(
            pending.expire(now),
            Err(SilenceError::AlreadyExpired("s".into()))
        );
        let mut list = vec![
            silence(&[("x", "expired-early", false, true)], -30, -20),
            silence(&[("x", "pending", false, true)], 5, 10),
            silence(&[("x", "active-late", false, true)], -5, 50),
            silence(&[("x", "expired-late", false, true)], -30, -1),
            silence(&[("x", "active-soon", false, true)], -5, 20),
        ];
        sort_for_listing(&mut list, now);
        let order: Vec<&str> = list.iter().map(|s| s.matchers[0].value.as_str()).collect();
        assert_eq!(
            order,
            vec![
                "active-soon",
                "active-late",
                "pending",
                "expired-late",
                "expired-early"
            ]
        );
    }
}
