//! Prometheus `relabel_configs` / `metric_relabel_configs` with Prometheus' exact
//! semantics (prometheus/prometheus `model/relabel`): every action, regexes anchored as
//! `^(?s:` + regex + `)$` with Go RE2 syntax, Go `regexp.Expand` templates, defaults
//! only for absent fields, and Prometheus' validation.
//!
//! Load rules with serde ([`RelabelConfig`]), compile them once with
//! [`Relabeler::new`], then [`Relabeler::apply`] them to each target or sample.

mod apply;
mod case;
mod config;
mod error;
mod go_regex;
mod template;
mod yaml;

pub use apply::Relabeler;
pub use config::{
    Action, NameValidation, RelabelConfig, DEFAULT_REGEX, DEFAULT_REPLACEMENT, DEFAULT_SEPARATOR,
};
pub use error::RelabelConfigError;
