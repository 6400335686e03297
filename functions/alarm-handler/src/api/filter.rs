//! The `filter` and `receiver` query parameters as Alertmanager reads them: each
//! `filter` is one matcher (`alertname="Foo"`, `env=~"dev|test"`); a silence is
//! listed when it has every filter matcher, written the same way; an alert when its
//! labels satisfy every filter matcher; `receiver` is a regex anchored at both ends.

use std::collections::BTreeMap;

use alert_routing::{parse_matcher, MatchType, Matcher};
use regex::Regex;

use super::request::{ApiRequest, ApiResponse};
use crate::silences::Silence;

/// The parsed `filter` values; a bad one is a 400 naming it.
pub fn filters(request: &ApiRequest) -> Result<Vec<Matcher>, ApiResponse> {
    request
        .all("filter")
        .into_iter()
        .map(|text| parse_matcher(text).map_err(|e| ApiResponse::error(400, e.to_string())))
        .collect()
}

/// The anchored `receiver` regex, if given.
pub fn receiver(request: &ApiRequest) -> Result<Option<Regex>, ApiResponse> {
    match request.one("receiver").filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(pattern) => Regex::new(&format!("^(?:{pattern})$"))
            .map(Some)
            .map_err(|e| ApiResponse::error(400, format!("failed to parse receiver param: {e}"))),
    }
}

/// A boolean query parameter read as Alertmanager's server reads it (go-openapi's
/// `ConvertBool`): `true`, `1`, `yes`, `y`, `on`, `t`, `ok`, `enabled`, `checked`,
/// `selected` in any case are true, anything else false; absent or empty is
/// `default`. Never an error.
pub fn flag(request: &ApiRequest, name: &str, default: bool) -> Result<bool, ApiResponse> {
    Ok(match request.one(name).map(str::trim) {
        None | Some("") => default,
        Some(value) => matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "y" | "on" | "t" | "ok" | "enabled" | "checked" | "selected"
        ),
    })
}

/// Whether a silence has every filter matcher, as written.
pub fn silence_matches(silence: &Silence, filters: &[Matcher]) -> bool {
    filters.iter().all(|f| {
        silence
            .matchers
            .iter()
            .any(|m| m.name == f.name && m.value == f.value && m.match_type() == f.match_type)
    })
}

/// Whether labels satisfy every filter matcher. A matcher with an empty value is
/// skipped where Alertmanager skips it: `=""` when the label is absent, `!=""` when
/// it is present.
pub fn labels_match(labels: &BTreeMap<String, String>, filters: &[Matcher]) -> bool {
    filters.iter().all(|m| {
        let value = labels.get(&m.name);
        let negative = matches!(m.match_type, MatchType::NotEqual | MatchType::NotRegexp);
        if m.value.is_empty() && (value.is_some() == negative) {
            return true;
        }
        m.matches(value.map_or("", String::as_str))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> ApiRequest {
        ApiRequest {
            query: ApiRequest::parse_query(query),
            ..ApiRequest::default()
        }
    }

    #[test]
    fn filters_parse_and_match_labels() {
        let f = filters(&request(
            "filter=alertname%3D%22Disk%22&filter=env%3D~%22dev%7Ctest%22",
        ))
        .expect("parses");
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(labels_match(
            &labels(&[("alertname", "Disk"), ("env", "dev")]),
            &f
        ));
        assert!(!labels_match(
            &labels(&[("alertname", "Disk"), ("env", "prod")]),
            &f
        ));
        let bad = filters(&request("filter=%7Bnope")).expect_err("refused");
        assert_eq!(bad.status, 400);
    }

    #[test]
    fn receiver_is_anchored_and_flags_read_like_alertmanager() {
        let r = receiver(&request("receiver=team-.*"))
            .expect("ok")
            .expect("some");
        assert!(r.is_match("team-a") && !r.is_match("x-team-a"));
        assert_eq!(
            receiver(&request("receiver=(")).expect_err("bad").status,
            400
        );
        assert!(!flag(&request("active=false"), "active", true).expect("ok"));
        assert!(flag(&request("active=Yes"), "active", false).expect("ok"));
        assert!(flag(&request("active="), "active", true).expect("ok"));
        assert!(!flag(&request("active=nope"), "active", true).expect("ok"));
    }
}
