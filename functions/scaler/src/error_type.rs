//! The `errorType` Lambda records for a failed scaler invocation: whether the config
//! could not be loaded (nothing ran), the event was not one the scaler understands,
//! the alarm states could not be read (nothing was decided), or some policies failed
//! (the others ran). [`HandleError`] carries a message and the summary, not a kind, so
//! the kind is read from how far the summary got; each case is pinned by a test below.

use crate::{HandleError, Summary};

impl function_cli::ErrorType for HandleError {
    /// `HandleError.PolicyFailed`, `HandleError.ConfigFailed`,
    /// `HandleError.EventInvalid`, `HandleError.AlarmsUnreadable`, or `HandleError`
    /// when the summary fits none of them.
    fn error_type(&self) -> String {
        let summary = &self.summary;
        let kind = if summary.policies.iter().any(|p| p.error.is_some()) {
            "PolicyFailed"
        } else if summary.trigger.is_empty() {
            // Nothing was decoded: either the config did not load (the live scaler
            // records that message as the summary's warning) or the event did not parse.
            if summary.warnings.contains(&self.message) {
                "ConfigFailed"
            } else {
                "EventInvalid"
            }
        } else if summary.policies_run == 0 {
            "AlarmsUnreadable"
        } else {
            return "HandleError".into();
        };
        format!("HandleError.{kind}")
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
    use crate::summary::PolicyReport;
    use function_cli::ErrorType;

    fn error(message: &str, summary: Summary) -> HandleError {
        HandleError {
            message: message.into(),
            summary: Box::new(summary),
        }
    }

    #[test]
    fn a_failed_policy() {
        let summary = Summary {
            trigger: "alerts".into(),
            policies_run: 2,
            errors: 1,
            policies: vec![
                PolicyReport::default(),
                PolicyReport {
                    error: Some("403 Forbidden".into()),
                    ..PolicyReport::default()
                },
            ],
            ..Summary::default()
        };
        let e = error("1 of 2 policies failed: 403 Forbidden", summary);
        assert_eq!(e.error_type(), "HandleError.PolicyFailed");
        assert_eq!(
            function_cli::diagnostic(&e).error_message,
            "1 of 2 policies failed: 403 Forbidden"
        );
    }

    #[test]
    fn a_config_that_does_not_load() {
        let message = "policies[0].target: missing field `name` (env SCALER_CONFIG)";
        let summary = Summary {
            errors: 1,
            warnings: vec![message.into()],
            ..Summary::default()
        };
        assert_eq!(
            error(message, summary).error_type(),
            "HandleError.ConfigFailed"
        );
    }

    #[test]
    fn an_event_that_does_not_parse() {
        let summary = Summary {
            errors: 1,
            ..Summary::default()
        };
        let e = error("unrecognised event", summary);
        assert_eq!(e.error_type(), "HandleError.EventInvalid");
    }

    #[test]
    fn alarms_that_cannot_be_read() {
        let summary = Summary {
            trigger: "reconcile".into(),
            errors: 1,
            ..Summary::default()
        };
        let e = error("DescribeAlarms: throttled", summary);
        assert_eq!(e.error_type(), "HandleError.AlarmsUnreadable");
    }
}
