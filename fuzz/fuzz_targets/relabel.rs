//! Relabel configs and their application. A rule list that reads and validates
//! applies to any label set without failing, leaving a set that is still sorted by
//! name, without duplicates or empty values; each rule written back (Prometheus' YAML
//! form, and the JSON form) reads as a rule meaning the same, and the rules read back relabel
//! every label set the same way. A refusal names the field.
//!
//! Input: 1 flag byte (bit 0: UTF-8 label names instead of legacy ones), then the
//! rules as YAML, a NUL, and the label set as `name=value` lines.
#![no_main]

use config_error::from_yaml_str;
use fuzz_support::config_errors::assert_yaml_error_placed;
use fuzz_support::{bit, flags_and_rest, text};
use libfuzzer_sys::fuzz_target;
use prom::relabel::{NameValidation, RelabelConfig, Relabeler};
use prom::Labels;

/// What a rule means: its fields with defaults applied (an explicit `modulus: 0` or
/// `target_label: ""` means the same as none).
fn effective(config: &RelabelConfig) -> (String, String, String, String, String, Vec<String>, u64) {
    (
        config.action().as_str().to_string(),
        config.separator().to_string(),
        config.regex().to_string(),
        config.replacement().to_string(),
        config.target_label().to_string(),
        config.source_labels().to_vec(),
        config.modulus(),
    )
}

fn relabel(relabeler: &Relabeler, labels: &Labels) -> Option<Vec<(String, String)>> {
    let mut labels = labels.clone();
    if !relabeler.apply(&mut labels) {
        return None;
    }
    let slice = labels.as_slice();
    for pair in slice.windows(2) {
        assert!(
            pair[0].name < pair[1].name,
            "labels out of order: {labels:?}"
        );
    }
    assert!(
        slice.iter().all(|l| !l.value.is_empty()),
        "empty value kept: {labels:?}"
    );
    Some(
        slice
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect(),
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((flags, rest)) = flags_and_rest(data) else {
        return;
    };
    let text = text(rest);
    let (rules, label_lines) = text.split_once('\0').unwrap_or((&text, ""));
    let scheme = if bit(flags, 0) {
        NameValidation::Utf8
    } else {
        NameValidation::Legacy
    };
    let configs: Vec<RelabelConfig> = match from_yaml_str(rules) {
        Ok(configs) => configs,
        Err(e) => return assert_yaml_error_placed(&e, rules),
    };
    let relabeler = match Relabeler::with_scheme(&configs, scheme) {
        Ok(r) => r,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };

    let mut written_back = Vec::new();
    for config in &configs {
        let yaml = config.to_yaml();
        let again: RelabelConfig = from_yaml_str(&yaml)
            .unwrap_or_else(|e| panic!("{yaml:?} from {config:?} does not read back: {e}"));
        assert_eq!(effective(&again), effective(config), "{yaml}");
        written_back.push(again);

        let json = serde_json::to_string(config)
            .unwrap_or_else(|e| panic!("{config:?} does not serialise: {e}"));
        let from_json: RelabelConfig = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{json} does not read back: {e}"));
        assert_eq!(effective(&from_json), effective(config), "{json}");
    }
    let relabeler_again = Relabeler::with_scheme(&written_back, scheme)
        .unwrap_or_else(|e| panic!("rules written back are refused: {e}"));

    let labels = Labels::from_pairs(
        label_lines
            .lines()
            .map(|line| line.split_once('=').unwrap_or((line, "x"))),
    );
    let result = relabel(&relabeler, &labels);
    assert_eq!(
        result,
        relabel(&relabeler_again, &labels),
        "written-back rules differ"
    );
});
