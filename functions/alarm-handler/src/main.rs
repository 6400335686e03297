//! Runtime wiring only: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) serve SNS
//! invocations; otherwise run the handler once on `--event FILE` (or stdin) and print
//! the summary. Exit code 1 when a delivery failed, 2 for bad arguments or config.
//! The config comes from `ALARM_HANDLER_CONFIG_FILE`, `ALARM_HANDLER_CONFIG` or
//! `ALARM_HANDLER_CONFIG_SSM_PARAMETER` and is re-read while the function is warm.

use std::sync::Arc;

use alarm_handler::config::CONFIG_ENV_PREFIX;
use alarm_handler::ReloadingHandler;
use config_source::ConfigSource;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tokio::sync::Mutex;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let in_lambda = function_cli::in_lambda();
    function_cli::init_logging(in_lambda);
    let handler = match build_handler().await {
        Ok(handler) => handler,
        Err(message) => {
            tracing::error!(error = %message, "cannot start");
            eprintln!("alarm-handler: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    if in_lambda {
        lambda_main(handler).await
    } else {
        cli_main(handler).await
    }
}

async fn build_handler() -> Result<ReloadingHandler, String> {
    let source = ConfigSource::from_env(CONFIG_ENV_PREFIX).map_err(|e| e.to_string())?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    ReloadingHandler::start(source, aws)
        .await
        .map_err(|e| e.to_string())
}

async fn lambda_main(handler: ReloadingHandler) -> std::process::ExitCode {
    let handler = Arc::new(Mutex::new(handler));
    let service = service_fn(|event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move {
            let mut handler = handler.lock().await;
            let result = handler.handle(&event.payload, chrono::Utc::now()).await;
            let line = match &result {
                Ok(summary) => function_cli::summary_line(true, summary),
                Err(e) => function_cli::summary_line(false, e.summary.as_ref()),
            };
            println!("{line}");
            result.map_err(|e| lambda_runtime::Error::from(e.to_string()))
        }
    });
    match lambda_runtime::run(service).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "lambda runtime stopped");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn cli_main(mut handler: ReloadingHandler) -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let text = match function_cli::event_path(&args).and_then(function_cli::read_event) {
        Ok(text) => text,
        Err(message) => {
            eprintln!("alarm-handler: {message}\nusage: alarm-handler [--event FILE|-]");
            return std::process::ExitCode::from(2);
        }
    };
    // Not JSON is still an alert: the handler turns it into a generic one.
    let event: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    let (summary, code) = match handler.handle(&event, chrono::Utc::now()).await {
        Ok(summary) => (summary, std::process::ExitCode::SUCCESS),
        Err(e) => (*e.summary, std::process::ExitCode::FAILURE),
    };
    match serde_json::to_string_pretty(&summary) {
        Ok(json) => println!("{json}"),
        Err(e) => eprintln!("alarm-handler: cannot print the summary: {e}"),
    }
    code
}
