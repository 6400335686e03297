//! How every function binary starts, so the three behave the same for a user who
//! runs them by hand: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) logs are JSON and
//! each invocation prints one summary line Logs Insights can query; on the command
//! line logs are readable and the event comes from `--event FILE` or stdin.
//!
//! A `main.rs` only wires its handler: [`in_lambda`] chooses between [`run_lambda`]
//! (failures reach Lambda as a typed [`lambda_runtime::Diagnostic`], see
//! [`ErrorType`]) and [`run_cli`] (the summary printed as pretty JSON; exit code 1
//! for a failed invocation, 2 for bad arguments), and [`refuse`] ends a start-up whose
//! config is broken with exit code 2.

mod chain;
pub mod cli;
pub mod emf;
mod error;
mod error_type;
mod lambda;
mod summary_line;

use std::process::ExitCode;

pub use chain::error_chain;
pub use cli::{run_cli, CliArgs, CliSpec, NonJson};
pub use emf::{Figures, MetricSet};
pub use error::CliError;
pub use error_type::{diagnostic, variant_name, ErrorType, FailureSummary};
pub use lambda::{run_lambda, SummaryLine};
pub use summary_line::{summary_line, summary_line_with_figures};

/// Whether the binary runs under the Lambda Runtime API.
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`): JSON without timestamps
/// under Lambda (CloudWatch Logs adds them), coloured only on a terminal otherwise.
pub fn init_logging(in_lambda: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if in_lambda {
        subscriber.json().without_time().init();
    } else {
        use std::io::IsTerminal;
        subscriber.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

/// Refuses to start (a config that does not load or validate, a bad environment):
/// logs `cannot start` with the error and its causes, prints `NAME: error` on stderr
/// and returns exit code 2, the same code as a bad command line, because both are the
/// operator's to fix and retrying will not help. `error` is an error or a message
/// (a `String` converts).
pub fn refuse(name: &str, error: impl Into<Box<dyn std::error::Error>>) -> ExitCode {
    let error: Box<dyn std::error::Error> = error.into();
    let message = error_chain(error.as_ref());
    tracing::error!(error = %message, "cannot start");
    eprintln!("{name}: {message}");
    ExitCode::from(2)
}
