//! The Lambda side of a function binary: serve invocations from the Runtime API until
//! the sandbox is shut down, each failure reported with its typed
//! [`Diagnostic`](lambda_runtime::Diagnostic) so Lambda records an `errorType` that
//! names the failure rather than a Rust type name.

use std::future::Future;
use std::process::ExitCode;

use lambda_runtime::{service_fn, LambdaEvent};
use serde::Serialize;
use serde_json::Value;

use crate::emf::{now_ms, Figures};
use crate::error_type::{diagnostic, ErrorType, FailureSummary};

/// Whether each invocation prints [`crate::summary_line_with_figures`] on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryLine {
    /// One line per invocation, `INFO` with the summary or `ERROR` with the failure's
    /// summary (for Logs Insights queries over invocations), which is also an Embedded
    /// Metric Format document with the function-level [`Figures`] for function
    /// `function`; figure sets with more dimensions follow as EMF lines.
    Print {
        /// The `Function` dimension of the figures.
        function: &'static str,
    },
    /// The handler logs its own summary; a failure is logged as `invocation failed`
    /// with its type.
    Off,
}

/// Serves invocations with `handler` until the runtime stops: exit code 0 when it
/// stops cleanly, 1 when the Runtime API fails (Lambda then restarts the sandbox).
///
/// A failed invocation returns the error's [`diagnostic`] to the Runtime API, so its
/// `errorType` is [`ErrorType::error_type`] and its `errorMessage` the error with its
/// causes.
pub async fn run_lambda<F, Fut, S, E>(summary_line: SummaryLine, handler: F) -> ExitCode
where
    F: Fn(LambdaEvent<Value>) -> Fut,
    Fut: Future<Output = Result<S, E>>,
    S: Serialize + Figures,
    E: ErrorType + FailureSummary,
    E::Summary: Figures,
{
    let handler = &handler;
    let service = service_fn(|event: LambdaEvent<Value>| async move {
        let result = handler(event).await;
        report(summary_line, &result);
        result.map_err(|e| diagnostic(&e))
    });
    match lambda_runtime::run(service).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// Logs one invocation's outcome as `summary_line` asks.
fn report<S, E>(summary_line: SummaryLine, result: &Result<S, E>)
where
    S: Serialize + Figures,
    E: ErrorType + FailureSummary,
    E::Summary: Figures,
{
    match (summary_line, result) {
        (SummaryLine::Print { function }, Ok(summary)) => print_lines(true, function, summary),
        (SummaryLine::Print { function }, Err(e)) => match e.failure_summary() {
            Some(summary) => print_lines(false, function, summary),
            None => println!("{}", crate::summary_line(false, &Value::Null)),
        },
        (SummaryLine::Off, Ok(_)) => {}
        (SummaryLine::Off, Err(e)) => tracing::error!(
            error = %crate::error_chain(e),
            error_type = %e.error_type(),
            "invocation failed"
        ),
    }
}

/// The summary line, carrying the function-level figures as EMF, then the other
/// figure sets as EMF lines, for CloudWatch Logs to extract.
fn print_lines<S: Serialize + Figures>(ok: bool, function: &str, summary: &S) {
    for line in crate::summary_line_with_figures(ok, function, summary, now_ms()) {
        println!("{line}");
    }
}
