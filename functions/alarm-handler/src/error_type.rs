//! The `errorType` Lambda records for a failed alarm-handler invocation. An invocation
//! fails only when something it must not lose went wrong, and Lambda then retries the
//! SNS message; the type says whether a notification did not go out (the receiver is
//! down or refuses it) or everything was sent but the bookkeeping that stops a retry
//! from sending twice, or keeps the firing state, could not be written.

use crate::{InvocationError, Summary};

impl function_cli::ErrorType for InvocationError {
    /// `InvocationError.DeliveryFailed` when at least one delivery failed, otherwise
    /// `InvocationError.StateNotRecorded` (the idempotency ledger or the firing state
    /// could not be written).
    fn error_type(&self) -> String {
        if self.summary.deliveries.failed > 0 {
            "InvocationError.DeliveryFailed".into()
        } else {
            "InvocationError.StateNotRecorded".into()
        }
    }
}

impl function_cli::FailureSummary for InvocationError {
    type Summary = Summary;

    /// The whole invocation's summary: what was sent, what failed and why.
    fn failure_summary(&self) -> Option<&Summary> {
        Some(&self.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use function_cli::ErrorType;

    fn failed(deliveries_failed: usize, failures: &[&str]) -> InvocationError {
        let mut summary = Summary::default();
        summary.deliveries.failed = deliveries_failed;
        summary.deliveries.sent = 1;
        summary.failures = failures.iter().map(|f| f.to_string()).collect();
        InvocationError {
            summary: Box::new(summary),
        }
    }

    #[test]
    fn a_failed_delivery_is_named() {
        let error = failed(1, &["hook/webhook[0]: HTTP 500"]);
        let diagnostic = function_cli::diagnostic(&error);
        assert_eq!(diagnostic.error_type, "InvocationError.DeliveryFailed");
        assert_eq!(
            diagnostic.error_message,
            "1 of 2 deliveries failed: hook/webhook[0]: HTTP 500"
        );
    }

    #[test]
    fn sent_but_not_recorded_is_not_a_delivery_failure() {
        let error = failed(0, &["hook/webhook[0]: sent, but not recorded: throttled"]);
        assert_eq!(error.error_type(), "InvocationError.StateNotRecorded");
    }
}
