//! The scraper's whole config: global settings, scrape jobs with their relabel
//! rules, service discovery (static, EC2, ECS, Kubernetes), remote write and the
//! embedded YACE block. Loading never fails other than with an error that names the
//! field (or the line of YAML).
//!
//! Input: the YAML text.
#![no_main]

use fuzz_support::config_errors::{assert_field_error_placed, assert_yaml_error_placed};
use fuzz_support::text;
use libfuzzer_sys::fuzz_target;
use scraper::config::{Config, ConfigError};

/// Refusals of the config as a whole.
const WHOLE_CONFIG: &[&str] = &[];

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    match Config::from_yaml(&text) {
        Ok(_) => {}
        Err(ConfigError::Yaml(e)) => assert_yaml_error_placed(&e, &text),
        Err(ConfigError::Invalid(e)) => assert_field_error_placed(&e, WHOLE_CONFIG),
        Err(e @ ConfigError::Read { .. }) => panic!("read a file from inline text: {e}"),
    }
});
