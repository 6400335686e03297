//! `FieldError`: a config value that cannot be used, naming the field.

use std::error::Error;
use std::fmt;

/// A config value that cannot be used: `at` is the path of the field as the user wrote
/// it (`policies[2].ceiling`, `cloudwatch.jobs[0].regions`), `reason` says what is
/// wrong in words, and `source` keeps the underlying error (a regex that does not
/// compile, a duration that does not parse) for the caller to render as a chain.
#[derive(Debug)]
pub struct FieldError {
    /// The field's path from the top of the config.
    pub at: String,
    /// What is wrong with it.
    pub reason: String,
    /// The error that made the value unusable, where there is one.
    pub source: Option<Box<dyn Error + Send + Sync + 'static>>,
}

impl FieldError {
    /// A refusal of the value at `at` for `reason`.
    pub fn new(at: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            at: at.into(),
            reason: reason.into(),
            source: None,
        }
    }

    /// The same refusal, caused by `source` (kept, not copied into `reason`).
    pub fn caused_by(mut self, source: impl Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The same error seen from an enclosing block: `prefix` is put in front of the
    /// path (`cloudwatch` + `jobs[0].regions` = `cloudwatch.jobs[0].regions`).
    pub fn under(mut self, prefix: &str) -> Self {
        self.at = match (prefix.is_empty(), self.at.is_empty()) {
            (true, _) => self.at,
            (false, true) => prefix.to_string(),
            (false, false) if self.at.starts_with('[') => format!("{prefix}{}", self.at),
            (false, false) => format!("{prefix}.{}", self.at),
        };
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.at, self.reason)
        }
    }
}

impl Error for FieldError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// Two errors are equal when they name the same field for the same reason (the cause
/// is detail, and errors cannot be compared in general).
impl PartialEq for FieldError {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.reason == other.reason
    }
}

impl Eq for FieldError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_and_the_reason() {
        let e = FieldError::new("jobs[0].regions", "must not be empty");
        assert_eq!(e.to_string(), "jobs[0].regions: must not be empty");
        assert!(e.source().is_none());
    }

    #[test]
    fn prefixes_compose_into_one_path() {
        let e = FieldError::new("regions", "must not be empty")
            .under("jobs[0]")
            .under("cloudwatch");
        assert_eq!(e.at, "cloudwatch.jobs[0].regions");
        let indexed = FieldError::new("[3]", "bad").under("targets");
        assert_eq!(indexed.at, "targets[3]");
        let top = FieldError::new("", "empty config").under("scraper");
        assert_eq!(top.at, "scraper");
        assert_eq!(FieldError::new("", "empty").to_string(), "empty");
    }

    #[test]
    fn keeps_the_cause_as_source() {
        let cause = "x".parse::<u32>().err();
        let Some(cause) = cause else {
            panic!("\"x\" parsed as a number")
        };
        let e = FieldError::new("port", "not a port number").caused_by(cause);
        assert_eq!(e.to_string(), "port: not a port number");
        let source = e.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("invalid digit found in string"));
    }
}
