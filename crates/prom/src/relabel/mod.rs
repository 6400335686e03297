//! Prometheus `relabel_configs` with its exact semantics: every action, anchored
//! regexes, Go-style `$1` / `${name}` expansion, defaults only for absent fields, and
//! Prometheus' validation rules.

mod apply;
mod config;

pub use apply::{hashmod, Relabeler};
pub use config::{Action, NameValidation, RelabelConfig, RelabelConfigError};
