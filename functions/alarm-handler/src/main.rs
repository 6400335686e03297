//! Runtime wiring only: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) serve SNS
//! invocations; otherwise run the handler once on `--event FILE` (or stdin) and print
//! the summary. Exit code 1 when a delivery failed, 2 for bad arguments or config.
//! The config comes from `ALARM_HANDLER_CONFIG_FILE`, `ALARM_HANDLER_CONFIG` or
//! `ALARM_HANDLER_CONFIG_SSM_PARAMETER` and is re-read while the function is warm.

use std::sync::Arc;

use alarm_handler::config::CONFIG_ENV_PREFIX;
use alarm_handler::ReloadingHandler;
use config_source::ConfigSource;
use function_cli::{CliSpec, NonJson, SummaryLine};
use tokio::sync::Mutex;

/// Not JSON is still an alert: the handler turns it into a generic one.
const CLI: CliSpec = CliSpec {
    name: "alarm-handler",
    timeout: None,
    non_json: NonJson::AsString,
};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let in_lambda = function_cli::in_lambda();
    function_cli::init_logging(in_lambda);
    let source = match ConfigSource::from_env(CONFIG_ENV_PREFIX) {
        Ok(source) => source,
        Err(e) => return function_cli::refuse(CLI.name, e),
    };
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut handler = match ReloadingHandler::start(source, aws).await {
        Ok(handler) => handler,
        Err(e) => return function_cli::refuse(CLI.name, e),
    };
    if in_lambda {
        // Invocations are sequential; the lock only satisfies the borrow checker.
        let handler = Arc::new(Mutex::new(handler));
        function_cli::run_lambda(SummaryLine::Print { function: CLI.name }, |event| {
            let handler = Arc::clone(&handler);
            async move {
                let mut handler = handler.lock().await;
                handler.handle(&event.payload, chrono::Utc::now()).await
            }
        })
        .await
    } else {
        let args: Vec<String> = std::env::args().skip(1).collect();
        function_cli::run_cli(&CLI, &args, |event, _| async move {
            handler.handle(&event, chrono::Utc::now()).await
        })
        .await
    }
}
