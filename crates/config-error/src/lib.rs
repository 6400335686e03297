//! One error for a config that is refused, shared by every function and library that
//! reads user YAML, so every refusal reads the same way: where (`scrape_configs[2].
//! relabel_configs[0].regex`) and why, with the underlying cause kept as the error's
//! `source` rather than flattened into the text.

mod field_error;
mod yaml;

pub use field_error::FieldError;
pub use yaml::{from_yaml_str, from_yaml_value, YamlError};
