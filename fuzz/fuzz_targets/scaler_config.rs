//! The scaler's policy config: clusters, policies, triggers (alarm names and
//! matchers), targets, adjustments, escalation. Loading never fails other than with
//! an error that names the field (or the line of YAML); a config that loads has at
//! least one policy, each with a ceiling not below its floor.
//!
//! Input: the YAML text.
#![no_main]

use fuzz_support::config_errors::{assert_field_error_placed, assert_yaml_error_placed};
use fuzz_support::text;
use libfuzzer_sys::fuzz_target;
use scaler::{Config, ConfigError};

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    match Config::parse(&text) {
        Ok(config) => {
            for policy in &config.policies {
                assert!(policy.floor <= policy.ceiling, "{policy:?}");
            }
            let _ = config.alarm_names();
        }
        Err(ConfigError::Yaml(e)) => assert_yaml_error_placed(&e, &text),
        Err(ConfigError::Invalid(e)) => assert_field_error_placed(&e, &[]),
    }
});
