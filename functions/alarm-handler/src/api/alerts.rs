//! `GET /api/v2/alerts`, `GET /api/v2/alerts/groups` and `POST /api/v2/alerts`.
//! Listed alerts are the firing alerts of the state table, each with the receivers
//! of the routes it matches and whether a silence or an inhibit rule suppresses it
//! now; groups are those alerts grouped by the routing tree. Posted alerts get
//! Alertmanager's defaults (`startsAt` now, `endsAt` now + `resolve_timeout`) and go
//! the same way as alerts from SNS.

use std::collections::BTreeMap;
use std::time::Duration;

use alert_model::{fingerprint, Alert, Decoded, Format, Status};
use chrono::{DateTime, Datelike, Utc};
use regex::Regex;
use serde_json::Value;

use super::filter::{filters, flag, labels_match, receiver};
use super::models::{
    api_time, AlertGroup, AlertStatus, GettableAlert, PostableAlert, ReceiverName,
};
use super::request::{ApiRequest, ApiResponse};
use crate::event::Message;
use crate::firing_state::FiringAlert;
use crate::grouping::route_only;
use crate::handler::Handler;
use crate::silences::{Silence, SilenceState};

/// Alertmanager's `global.resolve_timeout` default.
const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Which alerts a listing keeps (`active`, `silenced`, `inhibited`, `filter`,
/// `receiver`).
struct Selection {
    active: bool,
    silenced: bool,
    inhibited: bool,
    filters: Vec<alert_routing::Matcher>,
    receiver: Option<Regex>,
}

impl Selection {
    fn from(request: &ApiRequest) -> Result<Selection, ApiResponse> {
        Ok(Selection {
            active: flag(request, "active", true)?,
            silenced: flag(request, "silenced", true)?,
            inhibited: flag(request, "inhibited", true)?,
            filters: filters(request)?,
            receiver: receiver(request)?,
        })
    }

    fn keeps(&self, alert: &GettableAlert) -> bool {
        let status = &alert.status;
        if !self.active && status.state == "active" {
            return false;
        }
        if !self.silenced && !status.silenced_by.is_empty() {
            return false;
        }
        if !self.inhibited && !status.inhibited_by.is_empty() {
            return false;
        }
        labels_match(&alert.labels, &self.filters)
    }
}

/// The firing alerts and active silences at `now`, or the error response.
async fn firing_now(
    handler: &Handler,
    now: DateTime<Utc>,
) -> Result<(Vec<FiringAlert>, Vec<Silence>), ApiResponse> {
    let (Some(state), Some(silences)) = (&handler.state, &handler.silences) else {
        return Err(ApiResponse::error(
            500,
            "alarm_handler.state_table is not set: there are no alerts to list",
        ));
    };
    let (mut firing, _) = state
        .alerts(now)
        .await
        .map_err(|e| ApiResponse::error(500, e.to_string()))?;
    firing.retain(|f| f.alert.status == Status::Firing && f.alert.ends_at.is_none_or(|e| e > now));
    let (mut active, _) = silences
        .list(now)
        .await
        .map_err(|e| ApiResponse::error(500, e.to_string()))?;
    active.retain(|s| s.state(now) == SilenceState::Active);
    Ok((firing, active))
}

/// One alert as listed.
fn gettable(
    handler: &Handler,
    alert: &FiringAlert,
    sources: &[BTreeMap<String, String>],
    silences: &[Silence],
    now: DateTime<Utc>,
) -> GettableAlert {
    let labels = &alert.alert.labels;
    let mut receivers: Vec<ReceiverName> = Vec::new();
    for route in handler.config.route.matching(labels) {
        let name = ReceiverName {
            name: route.receiver.clone(),
        };
        if !receivers.contains(&name) {
            receivers.push(name);
        }
    }
    let silenced_by: Vec<String> = silences
        .iter()
        .filter(|s| s.mutes(labels, now))
        .map(|s| s.id.clone())
        .collect();
    let inhibited_by: Vec<String> = sources
        .iter()
        .find(|source| {
            *source != labels
                && handler
                    .config
                    .inhibitor
                    .is_inhibited(labels, std::slice::from_ref(*source))
        })
        .map(fingerprint)
        .into_iter()
        .collect();
    let suppressed = !silenced_by.is_empty() || !inhibited_by.is_empty();
    GettableAlert {
        labels: labels.clone(),
        annotations: alert.alert.annotations.clone(),
        receivers,
        fingerprint: alert.alert.fingerprint.clone(),
        starts_at: api_time(alert.alert.starts_at.unwrap_or(alert.updated)),
        updated_at: api_time(alert.updated),
        ends_at: api_time(alert.alert.ends_at.unwrap_or(alert.expires)),
        status: AlertStatus {
            state: if suppressed { "suppressed" } else { "active" },
            silenced_by,
            inhibited_by,
        },
        generator_url: alert.alert.generator_url.clone(),
    }
}

/// What both listings start from: the selection asked for, the firing alerts, the
/// active silences and the inhibition sources (the firing alerts' labels).
struct Listing {
    selection: Selection,
    firing: Vec<FiringAlert>,
    silences: Vec<Silence>,
    sources: Vec<BTreeMap<String, String>>,
}

impl Listing {
    async fn read(
        handler: &Handler,
        request: &ApiRequest,
        now: DateTime<Utc>,
    ) -> Result<Listing, ApiResponse> {
        let selection = Selection::from(request)?;
        let (firing, silences) = firing_now(handler, now).await?;
        let sources = firing.iter().map(|f| f.alert.labels.clone()).collect();
        Ok(Listing {
            selection,
            firing,
            silences,
            sources,
        })
    }
}

/// `GET /api/v2/alerts`.
pub async fn list(handler: &Handler, request: &ApiRequest, now: DateTime<Utc>) -> ApiResponse {
    let Listing {
        selection,
        firing,
        silences,
        sources,
    } = match Listing::read(handler, request, now).await {
        Ok(listing) => listing,
        Err(response) => return response,
    };
    let mut listed: Vec<GettableAlert> = firing
        .iter()
        .map(|f| gettable(handler, f, &sources, &silences, now))
        .filter(|a| selection.keeps(a))
        .filter(|a| {
            selection
                .receiver
                .as_ref()
                .is_none_or(|r| a.receivers.iter().any(|name| r.is_match(&name.name)))
        })
        .collect();
    listed.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    ApiResponse::ok(listed)
}

/// `GET /api/v2/alerts/groups`.
pub async fn groups(handler: &Handler, request: &ApiRequest, now: DateTime<Utc>) -> ApiResponse {
    let Listing {
        selection,
        firing,
        silences,
        sources,
    } = match Listing::read(handler, request, now).await {
        Ok(listing) => listing,
        Err(response) => return response,
    };
    let alerts: Vec<Alert> = firing.iter().map(|f| f.alert.clone()).collect();
    let by_fingerprint: BTreeMap<&str, &FiringAlert> = firing
        .iter()
        .map(|f| (f.alert.fingerprint.as_str(), f))
        .collect();
    let routed = route_only(&handler.config, &alerts);
    let mut groups = Vec::new();
    for group in &routed.groups {
        if selection
            .receiver
            .as_ref()
            .is_some_and(|r| !r.is_match(group.receiver))
        {
            continue;
        }
        let listed: Vec<GettableAlert> = group
            .alerts
            .iter()
            .filter_map(|a| by_fingerprint.get(a.fingerprint.as_str()))
            .map(|f| gettable(handler, f, &sources, &silences, now))
            .filter(|a| selection.keeps(a))
            .collect();
        if listed.is_empty() {
            continue;
        }
        groups.push(AlertGroup {
            labels: group.labels.clone(),
            receiver: ReceiverName {
                name: group.receiver.to_string(),
            },
            alerts: listed,
        });
    }
    ApiResponse::ok(groups)
}

/// Go's zero time (`0001-01-01T00:00:00Z`) means "not set" to Alertmanager.
fn set(time: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    time.filter(|t| t.year() > 1)
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A posted alert with Alertmanager's defaults, or why it is refused.
fn accept(
    posted: PostableAlert,
    resolve_timeout: Duration,
    now: DateTime<Utc>,
) -> Result<Alert, String> {
    let ends_at = set(posted.ends_at);
    let starts_at = set(posted.starts_at).or(ends_at).unwrap_or(now);
    let ends_at = ends_at.unwrap_or_else(|| crate::aggregation::after(now, resolve_timeout));
    let labels: BTreeMap<String, String> = posted
        .labels
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    if let Some(bad) = labels.keys().find(|name| !valid_label_name(name)) {
        return Err(format!("invalid label set: invalid name \"{bad}\""));
    }
    if let Some(bad) = posted
        .annotations
        .keys()
        .find(|name| !valid_label_name(name))
    {
        return Err(format!("invalid annotations: invalid name \"{bad}\""));
    }
    if ends_at < starts_at {
        return Err("start time must be before end time".into());
    }
    let status = if ends_at > now {
        Status::Firing
    } else {
        Status::Resolved
    };
    let mut alert = Alert::new(labels, status);
    alert.annotations = posted.annotations;
    alert.starts_at = Some(starts_at);
    alert.ends_at = Some(ends_at);
    alert.generator_url = posted.generator_url.filter(|u| !u.is_empty());
    Ok(alert)
}

/// `POST /api/v2/alerts`: valid alerts are taken even when others are refused (400
/// listing why), as Alertmanager does.
pub async fn post(handler: &mut Handler, request: &ApiRequest, now: DateTime<Utc>) -> ApiResponse {
    if !handler.config.file.alarm_handler.timers {
        return ApiResponse::error(
            400,
            "alarm_handler.timers is off: alerts posted here would be notified again at every resend; turn the timers on",
        );
    }
    let value: Value = match serde_json::from_slice(&request.body) {
        Ok(v) => v,
        Err(e) => {
            return ApiResponse::validation(
                400,
                400,
                format!("parsing alerts body from \"\" failed, because {e}"),
            )
        }
    };
    let posted: Vec<PostableAlert> = match serde_json::from_value(value) {
        Ok(p) => p,
        Err(e) => return ApiResponse::validation(422, 602, format!("alerts: {e}")),
    };
    let resolve_timeout = handler
        .config
        .file
        .global
        .resolve_timeout
        .map_or(DEFAULT_RESOLVE_TIMEOUT, |d| d.0);
    let mut alerts = Vec::new();
    let mut refused = Vec::new();
    for alert in posted {
        match accept(alert, resolve_timeout, now) {
            Ok(alert) => alerts.push(alert),
            Err(reason) => refused.push(reason),
        }
    }
    if !alerts.is_empty() {
        let message = Message {
            id: None,
            decoded: Decoded {
                format: Format::AlertmanagerApi,
                alerts,
                warnings: Vec::new(),
            },
        };
        if let Err(e) = handler.process(vec![message], now).await {
            return ApiResponse::error(500, e.to_string());
        }
    }
    if refused.is_empty() {
        ApiResponse::empty(200)
    } else {
        ApiResponse::error(400, refused.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(json: &str) -> PostableAlert {
        serde_json::from_str(json).expect("shape")
    }

    #[test]
    fn defaults_are_alertmanagers() {
        let now = Utc::now();
        let five = Duration::from_secs(300);
        let a = accept(
            posted(r#"{"labels": {"alertname": "A", "empty": ""}}"#),
            five,
            now,
        )
        .expect("valid");
        assert_eq!(a.starts_at, Some(now));
        assert_eq!(a.ends_at, Some(now + chrono::Duration::minutes(5)));
        assert_eq!(a.status, Status::Firing);
        assert!(!a.labels.contains_key("empty"));
        let resolved = accept(
            posted(r#"{"labels": {"alertname": "A"}, "endsAt": "2020-01-01T00:00:00Z"}"#),
            five,
            now,
        )
        .expect("valid");
        assert_eq!(resolved.status, Status::Resolved);
        assert_eq!(resolved.starts_at, resolved.ends_at);
        let zero = accept(
            posted(r#"{"labels": {"a": "b"}, "startsAt": "0001-01-01T00:00:00Z"}"#),
            five,
            now,
        )
        .expect("valid");
        assert_eq!(zero.starts_at, Some(now));
    }

    #[test]
    fn refusals_name_the_problem() {
        let now = Utc::now();
        let five = Duration::from_secs(300);
        let refused = |json: &str| accept(posted(json), five, now).expect_err("refused");
        assert_eq!(
            refused(r#"{"labels": {}}"#),
            "at least one label pair required"
        );
        assert!(refused(r#"{"labels": {"1x": "y"}}"#).contains("invalid name"));
        assert!(refused(
            r#"{"labels": {"a": "b"}, "startsAt": "2030-01-02T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z"}"#
        )
        .contains("before end"));
    }
}
