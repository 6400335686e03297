//! Why a relabel rule is rejected: each error names the offending field and the reason,
//! in Prometheus' own wording where Prometheus has one, so users can search for it.

/// A relabel rule that Prometheus would refuse to load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelabelConfigError {
    /// `hashmod` divides by `modulus`, so zero cannot work.
    #[error("'modulus': relabel configuration for hashmod action requires non-zero modulus")]
    ZeroModulus,
    /// The action writes or compares a label, so it must know which one.
    #[error("relabel configuration for {action} action requires 'target_label' value")]
    MissingTargetLabel { action: &'static str },
    /// `target_label` is not a label name under the active name validation scheme
    /// (for `replace`, after allowing `$1` / `${name}` references).
    #[error("{target:?} is invalid 'target_label' for {action} action")]
    InvalidTargetLabel {
        target: String,
        action: &'static str,
    },
    /// `lowercase`, `uppercase`, `keepequal` and `dropequal` ignore `replacement`, so
    /// setting it is a mistake Prometheus reports.
    #[error("'replacement' can not be set for {action} action")]
    ReplacementNotAllowed { action: &'static str },
    /// `labelmap`'s replacement becomes a label name, so it must be one (with group
    /// references allowed).
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    InvalidReplacement {
        replacement: String,
        action: &'static str,
    },
    /// `keepequal` / `dropequal` use only `source_labels` and `target_label`.
    #[error(
        "{action} action requires only 'source_labels' and 'target_label', and no other fields, but '{field}' is set"
    )]
    OnlySourceAndTarget {
        action: &'static str,
        field: &'static str,
    },
    /// `labeldrop` / `labelkeep` use only `regex`.
    #[error("{action} action requires only 'regex', and no other fields, but '{field}' is set")]
    OnlyRegex {
        action: &'static str,
        field: &'static str,
    },
    /// A `source_labels` entry that is not a label name under the active scheme.
    #[error("{name:?} in 'source_labels' is not a valid label name")]
    InvalidSourceLabel { name: String },
    /// `regex` is not valid RE2 syntax (as far as the Rust engine can tell).
    #[error("'regex' {regex:?} does not compile: {reason}")]
    Regex { regex: String, reason: String },
}
