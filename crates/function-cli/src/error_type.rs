//! What Lambda records about a failed invocation. The Runtime API takes an
//! `errorType` and an `errorMessage`; `lambda_runtime` fills `errorType` with the Rust
//! type name unless the error converts into a [`Diagnostic`] itself. A type name such
//! as `alloc::string::String` says nothing, so each function names the kind of failure
//! (`ConfigError.Invalid`, `SenderError`, `InvocationError.DeliveryFailed`): that is
//! what a CloudWatch metric filter, a Step Functions `Catch` or a Lambda destination can
//! branch on, while the message stays for humans.

use lambda_runtime::Diagnostic;

/// An invocation error that can name its kind for Lambda's `errorType`.
///
/// Implemented by each function for its invocation error, by matching on the error's
/// variants (and on the variants of the library error inside, when that says more).
pub trait ErrorType: std::error::Error {
    /// `Type.Variant` (or `Type` for a struct): stable names, not messages, because
    /// alarms and retry policies match on them.
    fn error_type(&self) -> String;
}

/// An invocation error that carries what was done before the invocation failed, so
/// the summary line and the command-line output show it (delivered, failed, skipped).
pub trait FailureSummary {
    /// The function's invocation summary.
    type Summary: serde::Serialize;

    /// The summary at the time of the failure; `None` when the failure happened
    /// before there was anything to summarise.
    fn failure_summary(&self) -> Option<&Self::Summary>;
}

/// The [`Diagnostic`] Lambda receives: the error's [`ErrorType::error_type`] and its
/// text with its causes ([`crate::error_chain`]).
pub fn diagnostic<E: ErrorType>(error: &E) -> Diagnostic {
    Diagnostic {
        error_type: error.error_type(),
        error_message: crate::error_chain(error),
    }
}

/// The name of an enum value's variant, read from its derived `Debug` text
/// (`Invalid("...")` → `Invalid`, `File { .. }` → `File`, `NotSet` → `NotSet`).
///
/// For a library error whose variants another crate owns: naming the variant this way
/// keeps working when variants are added, where an exhaustive `match` would stop
/// compiling and a `_` arm would silently report the new variant under a wrong name.
/// Only meaningful for a derived `Debug`; a hand-written one may give any word.
pub fn variant_name(value: &dyn std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    debug
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum LoadError {
        #[error("no config")]
        NotSet,
        #[error("invalid config: {0}")]
        Invalid(String),
        #[error("cannot read {path}")]
        File {
            path: String,
            #[source]
            source: std::io::Error,
        },
    }

    impl ErrorType for LoadError {
        fn error_type(&self) -> String {
            format!("LoadError.{}", variant_name(self))
        }
    }

    #[test]
    fn the_diagnostic_names_the_variant_and_renders_the_chain() {
        let error = LoadError::File {
            path: "/etc/x.yaml".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        assert_eq!(
            diagnostic(&error),
            Diagnostic {
                error_type: "LoadError.File".into(),
                error_message: "cannot read /etc/x.yaml: no such file".into(),
            }
        );
    }

    #[test]
    fn variant_names_of_every_shape() {
        assert_eq!(variant_name(&LoadError::NotSet), "NotSet");
        assert_eq!(variant_name(&LoadError::Invalid("x (y)".into())), "Invalid");
        let file = LoadError::File {
            path: "p".into(),
            source: std::io::Error::other("e"),
        };
        assert_eq!(variant_name(&file), "File");
    }

    #[test]
    fn the_diagnostic_serialises_as_the_runtime_api_expects() {
        let json = serde_json::to_value(diagnostic(&LoadError::NotSet)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"errorType": "LoadError.NotSet", "errorMessage": "no config"})
        );
    }
}
