//! An error as one line with its causes, because the useful part of an HTTP, AWS or
//! config error (connection refused, the field that is wrong) is often in a `source`,
//! and Lambda records only the one `errorMessage` string.

use std::error::Error;

/// `error: cause: cause ...`: the error's text followed by each `source()` in turn,
/// joined with `": "`.
///
/// A cause whose text the line already ends with is skipped: errors that print their
/// source in their own message (`"{origin}: {source}"`, `#[error(transparent)]`
/// wrappers) would otherwise repeat it.
pub fn error_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read config file /etc/x.yaml")]
    struct Outer {
        #[source]
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("remote_write amp: {source}")]
    struct PrintsItsSource {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn joins_the_causes() {
        let error = Outer {
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        assert_eq!(
            error_chain(&error),
            "cannot read config file /etc/x.yaml: no such file"
        );
    }

    #[test]
    fn a_cause_already_in_the_text_is_not_repeated() {
        let error = PrintsItsSource {
            source: std::io::Error::other("connection refused"),
        };
        assert_eq!(error_chain(&error), "remote_write amp: connection refused");
    }

    #[test]
    fn an_error_without_source_is_its_text() {
        let error = std::io::Error::other("boom");
        assert_eq!(error_chain(&error), "boom");
    }
}
