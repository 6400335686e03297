//! The alarm-handler's Alertmanager config: YAML, the routing tree, matchers in
//! `matchers:` / `match_re:`, inhibit rules, time intervals, receivers and their
//! templates. Loading never fails other than with an error that says where; a
//! config that loads walks its routing tree and routes a label set to at least one
//! route.
//!
//! Configs that name files (`templates:`, `*_file` secrets) are skipped: loading
//! them reads those paths, and a fuzzer must not read files outside the repository.
//! The text is read into the same `ConfigFile` the loader reads first, so the skip is
//! exact.
//!
//! Input: the YAML text.
#![no_main]

use std::collections::BTreeMap;

use alarm_handler::config::{Config, ConfigError, ConfigFile};
use fuzz_support::config_errors::{assert_field_error_placed, assert_yaml_error_placed};
use fuzz_support::text;
use libfuzzer_sys::fuzz_target;

fn names_files(file: &ConfigFile) -> bool {
    !file.templates.is_empty()
        || file.global.slack_api_url_file.is_some()
        || file.receivers.iter().any(|r| {
            r.webhook_configs.iter().any(|c| c.url_file.is_some())
                || r.slack_configs.iter().any(|c| c.api_url_file.is_some())
                || r.pagerduty_configs
                    .iter()
                    .any(|c| c.routing_key_file.is_some())
        })
}

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    match config_error::from_yaml_str::<ConfigFile>(&text) {
        Ok(file) if names_files(&file) => return,
        Ok(_) => {}
        Err(e) => return assert_yaml_error_placed(&e, &text),
    }
    match Config::parse(&text, None) {
        Ok(config) => {
            let mut routes = 0;
            config.route.walk(&mut |_| routes += 1);
            assert!(routes >= 1);
            let labels = BTreeMap::from([
                ("alertname".to_string(), "HighLatency".to_string()),
                ("severity".to_string(), "critical".to_string()),
            ]);
            assert!(
                !config.route.matching(&labels).is_empty(),
                "no route for an alert"
            );
        }
        Err(ConfigError::Yaml(e)) => assert_yaml_error_placed(&e, &text),
        Err(ConfigError::Invalid(e)) => assert_field_error_placed(&e, &[]),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
