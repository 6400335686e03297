//! Prometheus' relabel tests (`testdata/relabel_cases.json`, transcribed
//! from prometheus/prometheus model/relabel/relabel_test.go, Apache-2.0).

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use prom::relabel::{NameValidation, RelabelConfig, Relabeler};
use prom::Labels;
use serde_json::Value;

fn cases() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/relabel_cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

fn labels_of(v: &Value) -> Labels {
    let map: BTreeMap<String, String> = serde_json::from_value(v.clone()).expect("label map");
    Labels::from_pairs(map)
}

fn map_of(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

#[test]
fn relabel_cases_give_prometheus_output() {
    let cases = cases();
    let list = cases["relabel_cases"].as_array().expect("relabel_cases");
    for case in list {
        let name = case["name"].as_str().unwrap_or("?");
        // configs_as_written: exactly the fields the upstream test sets; our
        // defaults fill the rest, as YAML loading does.
        let configs: Vec<RelabelConfig> =
            serde_json::from_value(case["configs_as_written"].clone()).expect("configs");
        let relabeler = Relabeler::with_scheme(&configs, NameValidation::Utf8)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut labels = labels_of(&case["input"]);
        let kept = relabeler.apply(&mut labels);
        if case["expected"]["drop"] == true {
            assert!(!kept, "{name}: must be dropped, got {labels}");
        } else {
            assert!(kept, "{name}: dropped");
            let want: BTreeMap<String, String> =
                serde_json::from_value(case["expected"]["output"].clone()).expect("output");
            assert_eq!(map_of(&labels), want, "{name}");
        }
    }
    assert_eq!(list.len(), 34);
}

#[test]
fn validate_cases() {
    let cases = cases();
    for case in cases["validate_cases"].as_array().expect("validate_cases") {
        let name = case["name"].as_str().unwrap_or("?");
        let mut config = case["config"].clone();
        let scheme = match config["name_validation_scheme"].as_str() {
            Some("legacy") => NameValidation::Legacy,
            _ => NameValidation::Utf8,
        };
        if let Some(obj) = config.as_object_mut() {
            obj.remove("name_validation_scheme");
        }
        let config: RelabelConfig = serde_json::from_value(config).expect("config");
        let result = config.validate_with(scheme);
        match case["expect"].as_str() {
            Some("ok") => assert!(result.is_ok(), "{name}: {result:?}"),
            _ => assert!(
                result.is_err(),
                "{name}: must fail ({})",
                case["error_contains"]
            ),
        }
    }
}

#[test]
fn legacy_target_label_validity() {
    let cases = cases();
    for case in cases["target_label_legacy_validity"]["cases"]
        .as_array()
        .expect("cases")
    {
        let target = case["target_label"].as_str().expect("target_label");
        let config = RelabelConfig {
            source_labels: Some(vec!["a".into()]),
            target_label: Some(target.into()),
            ..Default::default()
        };
        let valid = config.validate_with(NameValidation::Legacy).is_ok();
        assert_eq!(valid, case["valid"] == true, "target_label {target:?}");
    }
}

#[test]
fn yaml_round_trips_exactly() {
    let cases = cases();
    for case in cases["yaml_roundtrip"]["cases"].as_array().expect("cases") {
        let yaml = case["yaml"].as_str().expect("yaml");
        let config: RelabelConfig = yaml_serde::from_str(yaml).expect("parses");
        assert_eq!(config.to_yaml(), yaml, "{}", case["name"]);
    }
}

#[test]
fn json_round_trips_exactly() {
    let cases = cases();
    for case in cases["json_roundtrip"]["cases"].as_array().expect("cases") {
        let json = case["json"].as_str().expect("json");
        let config: RelabelConfig = serde_json::from_str(json).expect("parses");
        assert_eq!(
            serde_json::to_string(&config).expect("serialises"),
            json,
            "{}",
            case["name"]
        );
    }
}

#[test]
fn explicit_empty_fields_stay_empty() {
    let config: RelabelConfig =
        yaml_serde::from_str("source_labels: [a, b]\nseparator: \"\"\ntarget_label: t\n")
            .expect("parses");
    let relabeler = Relabeler::new(&[config]).expect("valid");
    let mut labels = Labels::from_pairs([("a", "x"), ("b", "y")]);
    assert!(relabeler.apply(&mut labels));
    assert_eq!(labels.get("t"), Some("xy"));
}

#[test]
fn unknown_fields_and_bad_regexes_are_errors_naming_them() {
    let err =
        yaml_serde::from_str::<RelabelConfig>("sourcelabels: [a]\n").expect_err("unknown field");
    assert!(err.to_string().contains("sourcelabels"), "{err}");
    let config: RelabelConfig =
        yaml_serde::from_str("regex: '(unclosed'\naction: keep\nsource_labels: [a]\n")
            .expect("parses");
    let err = Relabeler::new(&[config]).expect_err("bad regex");
    assert!(err.to_string().contains("(unclosed"), "{err}");
}

#[test]
fn prometheus_loading_details() {
    // The action is case-insensitive, as Prometheus lower-cases it.
    let c: RelabelConfig = yaml_serde::from_str("action: Labeldrop\nregex: x\n").expect("parses");
    assert!(c.validate().is_ok());
    // An explicit null regex is the empty regex (matches only ""), not the default.
    let c: RelabelConfig =
        yaml_serde::from_str("source_labels: [a]\nregex:\ntarget_label: t\nreplacement: set\n")
            .expect("parses");
    let r = Relabeler::new(&[c]).expect("valid");
    let mut labels = Labels::from_pairs([("a", "x")]);
    assert!(r.apply(&mut labels));
    assert_eq!(labels.get("t"), None, "empty regex does not match \"x\"");
    // lowercase/uppercase refuse a replacement; keepequal refuses any written regex.
    for yaml in [
        "action: uppercase\nsource_labels: [a]\ntarget_label: b\nreplacement: x\n",
        "action: keepequal\nsource_labels: [a]\ntarget_label: b\nregex: (.*)\n",
    ] {
        let c: RelabelConfig = yaml_serde::from_str(yaml).expect("parses");
        assert!(c.validate().is_err(), "{yaml}");
    }
    // JSON keeps absent fields absent, so a reloaded rule means the same.
    let c: RelabelConfig =
        serde_json::from_str(r#"{"source_labels":["a","b"],"target_label":"t"}"#).expect("parses");
    let json = serde_json::to_string(&c).expect("serialises");
    assert_eq!(json, r#"{"source_labels":["a","b"],"target_label":"t"}"#);
    let again: RelabelConfig = serde_json::from_str(&json).expect("parses");
    let mut labels = Labels::from_pairs([("a", "x"), ("b", "y")]);
    assert!(Relabeler::new(&[again]).expect("valid").apply(&mut labels));
    assert_eq!(labels.get("t"), Some("x;y"));
}

/// Found by fuzzing (fuzz/fuzz_targets/relabel.rs): a source label holding a flow
/// indicator was written unquoted into the `[...]` list and did not read back.
#[test]
fn written_yaml_reads_back_with_flow_indicators_in_names() {
    for name in ["__tmp_po[t", "a,b", "x]", "{y}", "z:", "a:?< b", "c:d"] {
        let config: RelabelConfig = yaml_serde::from_str(&format!(
            "source_labels: [{name:?}]\ntarget_label: t\naction: dropequal\n"
        ))
        .expect("parses");
        let yaml = config.to_yaml();
        let again: RelabelConfig = yaml_serde::from_str(&yaml)
            .unwrap_or_else(|e| panic!("{yaml:?} does not read back: {e}"));
        assert_eq!(again.source_labels(), [name.to_string()], "{yaml}");
    }
    // YAML's own line breaks and the byte-order mark, given as YAML escapes.
    for (escaped, name) in [
        ("\\u2028zz", "\u{2028}zz"),
        ("a\\u2029b", "a\u{2029}b"),
        ("\\ufeffc", "\u{feff}c"),
    ] {
        let config: RelabelConfig = yaml_serde::from_str(&format!(
            "source_labels: [\"{escaped}\"]\ntarget_label: t\naction: dropequal\n"
        ))
        .expect("parses");
        assert_eq!(config.source_labels(), [name.to_string()]);
        let yaml = config.to_yaml();
        let again: RelabelConfig = yaml_serde::from_str(&yaml)
            .unwrap_or_else(|e| panic!("{yaml:?} does not read back: {e}"));
        assert_eq!(again.source_labels(), [name.to_string()], "{yaml:?}");
    }
}
