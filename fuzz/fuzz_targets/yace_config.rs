//! The YACE (yet-another-cloudwatch-exporter) config block: discovery, static and
//! customNamespace jobs, with YACE's checks and inheritance. Reading and validating
//! never fails other than with an error that names the field (or the line of YAML).
//!
//! Input: the YAML text of the block.
#![no_main]

use fuzz_support::config_errors::{assert_field_error_placed, assert_yaml_error_placed};
use fuzz_support::text;
use libfuzzer_sys::fuzz_target;
use scraper::cloudwatch::config::{YaceConfig, YaceConfigFile};
use scraper::cloudwatch::services::resolve;

/// Refusals of the block as a whole.
const WHOLE_CONFIG: &[&str] = &["at least 1 discovery job"];

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let file: YaceConfigFile = match config_error::from_yaml_str(&text) {
        Ok(file) => file,
        Err(e) => return assert_yaml_error_placed(&e, &text),
    };
    match YaceConfig::from_file(&file, &resolve) {
        Ok(config) => assert!(!config.warnings.iter().any(String::is_empty)),
        Err(e) => assert_field_error_placed(&e, WHOLE_CONFIG),
    }
});
