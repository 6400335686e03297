//! Why the command line could not produce an event: each is exit code 2 (a usage
//! error), never 1 (the invocation failed).

/// A bad argument, or an event that cannot be read or is not JSON.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// `--event` was last, without its file.
    #[error("--event needs a file")]
    EventNeedsFile,
    /// `--emf` was last, without its file.
    #[error("--emf needs a file")]
    EmfNeedsFile,
    /// `--timeout` was last, without its value.
    #[error("--timeout needs seconds")]
    TimeoutNeedsSeconds,
    /// `--timeout` was given something that does not parse as a number.
    #[error("--timeout needs a number of seconds")]
    TimeoutNotANumber,
    /// `--timeout` was zero, negative, infinite or NaN.
    #[error("--timeout must be positive")]
    TimeoutNotPositive,
    /// An argument this binary does not take (`--timeout` is one for those that have
    /// no deadline to simulate).
    #[error("unknown argument {0:?}")]
    UnknownArgument(String),
    /// The `--event` file could not be read.
    #[error("cannot read event file {path}")]
    ReadFile {
        /// The path as given.
        path: String,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// Stdin could not be read (closed, not UTF-8).
    #[error("cannot read the event from stdin")]
    ReadStdin(#[source] std::io::Error),
    /// The event text is not JSON, for a function whose events must be.
    #[error("the event is not valid JSON")]
    NotJson(#[source] serde_json::Error),
}
