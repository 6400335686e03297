//! Alertmanager's routing-tree tests (`testdata/am_routes_cases.json` and
//! `am_routes.md`, transcribed from prometheus/alertmanager dispatch/route_test.go,
//! Apache-2.0).

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use alert_routing::{Route, RouteConfig};
use prom::duration::PromDuration;
use serde_json::Value;

fn data() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/am_routes_cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("JSON")
}

fn tree(section: &Value) -> Route {
    let config = RouteConfig::from_yaml(section["route_yaml"].as_str().expect("route_yaml"))
        .unwrap_or_else(|e| panic!("route parses: {e}"));
    Route::from_config(&config).unwrap_or_else(|e| panic!("route builds: {e}"))
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(v.clone()).expect("labels")
}

fn check_match_section(name: &str) {
    let data = data();
    let section = &data[name];
    let root = tree(section);
    let cases = section["cases"].as_array().expect("cases");
    assert!(!cases.is_empty());
    for case in cases {
        let alert = labels(&case["alert_labels"]);
        let matched = root.matching(&alert);
        let want = case["expected"].as_array().expect("expected");
        assert_eq!(
            matched.len(),
            want.len(),
            "{name} {alert:?}: {:?}",
            matched.iter().map(|r| r.key()).collect::<Vec<_>>()
        );
        for (route, w) in matched.iter().zip(want) {
            let at = format!("{name} {alert:?} -> {}", route.key());
            assert_eq!(route.receiver, w["receiver"].as_str().unwrap_or(""), "{at}");
            let group_by: BTreeSet<String> =
                serde_json::from_value(w["group_by"].clone()).expect("group_by");
            assert_eq!(route.group_by, group_by, "{at}");
            assert_eq!(route.group_by_all, w["group_by_all"] == true, "{at}");
            assert_eq!(
                PromDuration(route.group_wait).to_string(),
                w["group_wait"].as_str().unwrap_or(""),
                "{at}"
            );
            assert_eq!(
                PromDuration(route.group_interval).to_string(),
                w["group_interval"].as_str().unwrap_or(""),
                "{at}"
            );
            assert_eq!(
                PromDuration(route.repeat_interval).to_string(),
                w["repeat_interval"].as_str().unwrap_or(""),
                "{at}"
            );
            assert_eq!(route.labels, labels(&w["labels"]), "{at}");
            assert_eq!(route.key(), w["key"].as_str().unwrap_or(""), "{at}");
        }
    }
}

#[test]
fn route_match_legacy_match_and_match_re() {
    check_match_section("TestRouteMatch");
}

#[test]
fn route_match_string_matchers() {
    check_match_section("TestRouteMatchers");
}

#[test]
fn route_match_mixed() {
    check_match_section("TestRouteMatchersAndMatch");
}

#[test]
fn route_labels_merge_down_the_tree() {
    let data = data();
    let section = &data["TestRouteLabelsLoading"];
    let root = tree(section);
    for case in section["cases"].as_array().expect("cases") {
        let alert = labels(&case["alert_labels"]);
        let matched = root.matching(&alert);
        assert_eq!(matched.len(), 1, "{alert:?}");
        assert_eq!(
            matched[0].labels,
            labels(&case["expected_route_labels"]),
            "{alert:?}"
        );
    }
}

#[test]
fn walk_is_pre_order_with_inherited_receivers() {
    let data = data();
    let section = &data["TestRouteWalk"];
    let root = tree(section);
    let mut receivers = Vec::new();
    root.walk(&mut |r| receivers.push(r.receiver.clone()));
    let want: Vec<String> =
        serde_json::from_value(section["expected_receivers_preorder"].clone()).expect("receivers");
    assert_eq!(receivers, want);
}

#[test]
fn ids_distinguish_identical_siblings() {
    let data = data();
    let section = &data["TestRouteID"];
    let root = tree(section);
    let mut ids = BTreeSet::new();
    root.walk(&mut |r| {
        ids.insert(r.id().to_string());
    });
    let want: BTreeSet<String> =
        serde_json::from_value(section["expected_ids_any_order"].clone()).expect("ids");
    assert_eq!(ids, want);
}

#[test]
fn group_by_all_is_inherited_until_overridden() {
    let data = data();
    let section = &data["TestInheritParentGroupByAll"];
    let root = tree(section);
    let expected = &section["expected"];
    assert_eq!(
        root.routes[0].group_by_all,
        expected["routes[0].group_by_all"] == true
    );
    assert_eq!(
        root.routes[0].routes[0].group_by_all,
        expected["routes[0].routes[0].group_by_all"] == true
    );
    assert_eq!(
        root.routes[0].routes[1].group_by_all,
        expected["routes[0].routes[1].group_by_all"] == true
    );
}

#[test]
fn indices_are_post_order_and_unique() {
    let data = data();
    let root = tree(&data["TestRouteIndices"]);
    let mut seen = Vec::new();
    root.walk(&mut |r| seen.push(r.idx()));
    let n = seen.len();
    let unique: BTreeSet<usize> = seen.iter().copied().collect();
    assert_eq!(unique.len(), n);
    assert!(seen.iter().all(|&i| i < n));
    assert_eq!(root.idx(), n - 1);
    fn children_before_parent(r: &Route) {
        for c in &r.routes {
            assert!(c.idx() < r.idx());
            children_before_parent(c);
        }
    }
    children_before_parent(&root);
}

#[test]
fn root_and_group_by_validation() {
    for (yaml, needle) in [
        ("routes: []", "default receiver"),
        (
            "receiver: a\nmatchers: ['x=y']",
            "must not have any matchers",
        ),
        ("receiver: a\ncontinue: true", "continue"),
        (
            "receiver: a\nroutes: [{group_by: ['...', 'x']}]",
            "wildcard",
        ),
        (
            "receiver: a\nroutes: [{group_by: ['x', 'x']}]",
            "duplicated",
        ),
        (
            "receiver: a\nroutes: [{group_interval: 0s}]",
            "group_interval",
        ),
        (
            "receiver: a\nroutes: [{matchers: ['x=~\"(\"']}]",
            "routes[0]",
        ),
        ("receiver: a\nroutes: [{recevier: b}]", "recevier"),
    ] {
        let err = Route::from_root_yaml(yaml).expect_err(yaml);
        assert!(err.to_string().contains(needle), "{yaml}: {err}");
    }
}

#[test]
fn mute_and_active_time_intervals_apply_per_route() {
    use alert_routing::{NamedTimeIntervalConfig, TimeIntervals};
    let root = Route::from_root_yaml(
        "receiver: default\nroutes:\n- matchers: [team=a]\n  receiver: a\n  mute_time_intervals: [weekend]\n  routes:\n  - matchers: [sev=low]\n- matchers: [team=b]\n  receiver: b\n  active_time_intervals: [weekend]\n",
    )
    .expect("valid");
    let configs: Vec<NamedTimeIntervalConfig> = yaml_serde::from_str(
        "- name: weekend\n  time_intervals: [{weekdays: ['saturday', 'sunday']}]\n",
    )
    .expect("yaml");
    let intervals = TimeIntervals::new(&configs).expect("valid");
    let saturday = chrono::DateTime::parse_from_rfc3339("2024-01-06T10:00:00Z")
        .expect("time")
        .to_utc();
    let monday = chrono::DateTime::parse_from_rfc3339("2024-01-08T10:00:00Z")
        .expect("time")
        .to_utc();
    let alert = |team: &str, sev: &str| {
        BTreeMap::from([
            ("team".to_string(), team.to_string()),
            ("sev".to_string(), sev.to_string()),
        ])
    };
    let a = root.matching(&alert("a", "high"));
    assert!(a[0].is_muted(&intervals, saturday));
    assert!(!a[0].is_muted(&intervals, monday));
    let a_low = root.matching(&alert("a", "low"));
    assert!(
        !a_low[0].is_muted(&intervals, saturday),
        "mute intervals are not inherited"
    );
    let b = root.matching(&alert("b", "high"));
    assert!(!b[0].is_muted(&intervals, saturday));
    assert!(
        b[0].is_muted(&intervals, monday),
        "outside its active interval"
    );
}
