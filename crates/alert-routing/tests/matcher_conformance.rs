//! Alertmanager's matcher tests (`testdata/am_matchers.json`, transcribed
//! from prometheus/alertmanager, Apache-2.0): both parsers, the fallback, matching and
//! rendering. Error wording is Alertmanager's own and not compared; error vs success
//! and the parsed matchers are.

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;

use alert_routing::{classic_parser, utf8_parser, MatchType, Matcher, MatcherError};
use serde_json::Value;

fn data() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/am_matchers.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("JSON")
}

fn match_type(s: &str) -> MatchType {
    MatchType::from_operator(s).unwrap_or_else(|| panic!("operator {s}"))
}

fn expected(v: &Value) -> Vec<(MatchType, String, String)> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(one).collect(),
        single => vec![one(single)],
    }
}

fn one(v: &Value) -> (MatchType, String, String) {
    (
        match_type(v["type"].as_str().expect("type")),
        v["name"].as_str().expect("name").to_string(),
        v["value"].as_str().expect("value").to_string(),
    )
}

fn got(matchers: &[Matcher]) -> Vec<(MatchType, String, String)> {
    matchers
        .iter()
        .map(|m| (m.match_type, m.name.clone(), m.value.clone()))
        .collect()
}

fn check_many(
    section: &str,
    parse: impl Fn(&str) -> Result<Vec<Matcher>, MatcherError>,
    skip_divergent: bool,
) -> usize {
    let data = data();
    let mut checked = 0;
    for case in data[section]["cases"].as_array().expect("cases") {
        if skip_divergent && case["skip_in_upstream"] == true {
            // Upstream skips these: the recorded expectation is the classic parser's.
            continue;
        }
        let input = case["input"].as_str().expect("input");
        let result = parse(input);
        let want = case
            .get("expected_matchers")
            .or(case.get("expected"))
            .cloned()
            .unwrap_or(Value::Null);
        match case["expect"].as_str() {
            Some("ok") => {
                let matchers = result.unwrap_or_else(|e| panic!("{section} {input:?}: {e}"));
                assert_eq!(got(&matchers), expected(&want), "{section} {input:?}");
            }
            _ => assert!(
                result.is_err(),
                "{section} {input:?} must fail, got {result:?}"
            ),
        }
        checked += 1;
    }
    checked
}

fn check_single(section: &str, parse: impl Fn(&str) -> Result<Matcher, MatcherError>) -> usize {
    let data = data();
    let mut checked = 0;
    for case in data[section]["cases"].as_array().expect("cases") {
        let input = case["input"].as_str().expect("input");
        let result = parse(input);
        let want = case
            .get("expected_matcher")
            .or(case.get("expected"))
            .cloned()
            .unwrap_or(Value::Null);
        match case["expect"].as_str() {
            Some("ok") => {
                let m = result.unwrap_or_else(|e| panic!("{section} {input:?}: {e}"));
                assert_eq!(got(&[m]), expected(&want), "{section} {input:?}");
            }
            _ => assert!(
                result.is_err(),
                "{section} {input:?} must fail, got {result:?}"
            ),
        }
        checked += 1;
    }
    checked
}

#[test]
fn classic_parser_cases() {
    assert_eq!(
        check_many("classic_parser", classic_parser::parse_matchers, false),
        53
    );
}

#[test]
fn utf8_parser_cases() {
    assert_eq!(
        check_many("utf8_parser_matchers", utf8_parser::parse_matchers, false),
        45
    );
    assert_eq!(
        check_single("utf8_parser_single_matcher", utf8_parser::parse_matcher),
        31
    );
}

#[test]
fn utf8_parser_compliance_cases() {
    let checked = check_many("utf8_parser_compliance", utf8_parser::parse_matchers, true);
    assert!(checked >= 30, "{checked}");
}

#[test]
fn fallback_cases() {
    assert_eq!(
        check_single("compat_fallback_single", alert_routing::parse_matcher),
        5
    );
    assert_eq!(
        check_many(
            "compat_fallback_multi",
            alert_routing::parse_matchers,
            false
        ),
        5
    );
}

#[test]
fn matching_cases() {
    let data = data();
    let cases = data["matcher_matches"]["cases"].as_array().expect("cases");
    for case in cases {
        let m = Matcher::new(
            match_type(case["type"].as_str().expect("type")),
            "name",
            case["value"].as_str().expect("value"),
        )
        .expect("valid matcher");
        let input = case["input_value"].as_str().expect("input");
        assert_eq!(
            m.matches(input),
            case["match"] == true,
            "{m} against {input:?}"
        );
    }
    assert!(cases.len() >= 17);
}

#[test]
fn rendering_cases() {
    let data = data();
    for case in data["matcher_string"]["cases"].as_array().expect("cases") {
        let m = Matcher::new(
            match_type(case["type"].as_str().expect("type")),
            case["name"].as_str().expect("name"),
            case["value"].as_str().expect("value"),
        )
        .expect("valid matcher");
        assert_eq!(m.to_string(), case["string"].as_str().expect("string"));
    }
}
