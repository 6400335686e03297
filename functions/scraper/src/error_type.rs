//! The `errorType` Lambda records for a failed scraper invocation: the kind of
//! failure, so an alarm or a retry policy can tell a broken config (fix the config)
//! from a remote_write endpoint that could not be set up (fix the endpoint or its
//! credentials) without parsing messages.
//!
//! The scraper's own error enums are matched exhaustively (a new variant must be
//! named here); the library errors inside them are named by their variant
//! ([`function_cli::variant_name`]), so variants added there keep a correct name.

use crate::event::EventError;
use crate::sender::SenderError;
use crate::summary::RunSummary;
use crate::{HandlerError, RunError};

impl function_cli::ErrorType for HandlerError {
    /// `EventError.Field`, `EventError.NoConfig`, `ConfigSourceError.<variant>` (the
    /// config file, variable or SSM parameter could not be read), `ConfigError.<variant>`
    /// (the config is refused), `SenderError.Client|Header|SigV4` (a remote_write
    /// endpoint could not be set up) or `RunError.Relabel` (an endpoint's relabelling
    /// rules do not compile).
    fn error_type(&self) -> String {
        match self {
            HandlerError::Event(event) => match event {
                EventError::Field { .. } => "EventError.Field".into(),
                EventError::NoConfig => "EventError.NoConfig".into(),
                EventError::Source(source) => {
                    format!("ConfigSourceError.{}", function_cli::variant_name(source))
                }
                EventError::Config { source, .. } => {
                    format!("ConfigError.{}", function_cli::variant_name(source))
                }
            },
            HandlerError::Run(run) => match run {
                RunError::Sender(sender) => match sender {
                    SenderError::Client { .. } => "SenderError.Client".into(),
                    SenderError::Header { .. } => "SenderError.Header".into(),
                    SenderError::SigV4 { .. } => "SenderError.SigV4".into(),
                },
                RunError::Relabel { .. } => "RunError.Relabel".into(),
            },
        }
    }
}

impl function_cli::FailureSummary for HandlerError {
    type Summary = RunSummary;

    /// A scraper invocation fails only before it scrapes anything; what a run did is
    /// always a successful response.
    fn failure_summary(&self) -> Option<&RunSummary> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use function_cli::ErrorType;

    #[test]
    fn names_the_failure() {
        let no_config = HandlerError::Event(EventError::NoConfig);
        assert_eq!(no_config.error_type(), "EventError.NoConfig");
        let sender = HandlerError::Run(RunError::Sender(SenderError::Header {
            endpoint: "amp".into(),
            name: "bad header".into(),
            part: "name",
        }));
        assert_eq!(sender.error_type(), "SenderError.Header");
        let source = HandlerError::Event(EventError::Source(
            config_source::ConfigSourceError::SsmNotFound { name: "/x".into() },
        ));
        assert_eq!(source.error_type(), "ConfigSourceError.SsmNotFound");
    }

    #[test]
    fn a_refused_config_is_named_by_its_variant() {
        let refused = crate::config::Config::from_yaml("scrape_configs: 3\n");
        let Err(source) = refused else {
            panic!("a number is not a list of scrape configs")
        };
        let error = HandlerError::Event(EventError::Config {
            origin: "event config".into(),
            source,
        });
        let kind = error.error_type();
        assert!(kind.starts_with("ConfigError."), "{kind}");
        assert!(kind.len() > "ConfigError.".len(), "{kind}");
        let diagnostic = function_cli::diagnostic(&error);
        assert!(
            diagnostic.error_message.starts_with("event config: "),
            "{}",
            diagnostic.error_message
        );
    }
}
