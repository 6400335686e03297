//! The `errorType` Lambda records for a failed scaler invocation: whether the config
//! could not be loaded (nothing ran), the event was not one the scaler understands,
//! the alarm states could not be read (nothing was decided), or some policies failed
//! (the others ran). An alarm or a retry policy can then tell "fix the config" from
//! "the cluster refused a write" without parsing messages.
//!
//! [`Failure`] is matched exhaustively, so a new kind of failure must be named here.

use crate::handler::Failure;
use crate::live::LoadError;
use crate::{HandleError, Summary};

impl function_cli::ErrorType for HandleError {
    /// `Failure.ConfigSource` (the file or SSM parameter could not be read),
    /// `Failure.ConfigRefused`, `Failure.EventInvalid`, `Failure.AlarmsUnreadable`
    /// or `Failure.PolicyFailed`.
    fn error_type(&self) -> String {
        let kind = match &self.failure {
            Failure::Config(LoadError::Source(_)) => "ConfigSource",
            Failure::Config(LoadError::Config { .. }) => "ConfigRefused",
            Failure::Event(_) => "EventInvalid",
            Failure::Alarms(_) => "AlarmsUnreadable",
            Failure::Policies { .. } => "PolicyFailed",
        };
        format!("Failure.{kind}")
    }
}

impl function_cli::FailureSummary for HandleError {
    type Summary = Summary;

    /// What was done before the failure.
    fn failure_summary(&self) -> Option<&Summary> {
        Some(&self.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::event::parse_invocation;
    use function_cli::ErrorType;

    fn error(failure: Failure) -> HandleError {
        HandleError {
            failure,
            summary: Box::default(),
        }
    }

    #[test]
    fn failed_policies_are_named_and_their_errors_kept() {
        let e = error(Failure::Policies {
            failed: 1,
            run: 2,
            errors: vec!["403 Forbidden".into()],
        });
        assert_eq!(e.error_type(), "Failure.PolicyFailed");
        assert_eq!(
            function_cli::diagnostic(&e).error_message,
            "1 of 2 policies failed: 403 Forbidden"
        );
    }

    #[test]
    fn a_refused_config_is_not_a_source_failure() {
        let Err(config_error) = Config::parse("policies: [") else {
            panic!("an unclosed sequence must be refused");
        };
        let e = error(Failure::Config(LoadError::Config {
            source_name: "env SCALER_CONFIG".into(),
            error: config_error,
        }));
        assert_eq!(e.error_type(), "Failure.ConfigRefused");
        let message = function_cli::diagnostic(&e).error_message;
        assert!(message.contains("(env SCALER_CONFIG)"), "{message}");
    }

    #[test]
    fn an_event_that_does_not_parse() {
        let Err(event_error) = parse_invocation(&serde_json::json!({"hello": 1})) else {
            panic!("an unknown event must be refused");
        };
        let e = error(Failure::Event(event_error));
        assert_eq!(e.error_type(), "Failure.EventInvalid");
        assert!(function_cli::diagnostic(&e)
            .error_message
            .starts_with("unrecognised event"));
    }
}
