//! Runtime wiring only: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) serve
//! invocations; otherwise run the handler once on `--event FILE` (or stdin) and print
//! the summary. Exit code 1 when the invocation failed, 2 for bad arguments or config.

use std::sync::Arc;

use config_source::{ConfigReader, ConfigSource};
use lambda_runtime::{service_fn, LambdaEvent};
use scaler::LiveScaler;
use serde_json::Value;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let in_lambda = function_cli::in_lambda();
    function_cli::init_logging(in_lambda);
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let source = match ConfigSource::from_env(scaler::live::ENV_PREFIX) {
        Ok(source) => source,
        Err(e) => return refuse(&e.to_string()),
    };
    let scaler = LiveScaler::new(source, ConfigReader::new(), aws);
    // Refuse to start on a config that does not load or validate.
    if let Err(e) = scaler.scaler().await {
        return refuse(&e);
    }
    if in_lambda {
        lambda_main(scaler).await
    } else {
        cli_main(scaler).await
    }
}

fn refuse(message: &str) -> std::process::ExitCode {
    tracing::error!(error = %message, "cannot start");
    eprintln!("scaler: {message}");
    std::process::ExitCode::from(2)
}

async fn lambda_main(scaler: LiveScaler) -> std::process::ExitCode {
    let scaler = Arc::new(scaler);
    let service = service_fn(|event: LambdaEvent<Value>| {
        let scaler = Arc::clone(&scaler);
        async move {
            let result = scaler.handle(&event.payload, chrono::Utc::now()).await;
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

async fn cli_main(scaler: LiveScaler) -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let text = match function_cli::event_path(&args).and_then(function_cli::read_event) {
        Ok(text) => text,
        Err(message) => {
            eprintln!("scaler: {message}\nusage: scaler [--event FILE|-]");
            return std::process::ExitCode::from(2);
        }
    };
    let event: Value = match serde_json::from_str(&text) {
        Ok(event) => event,
        Err(e) => {
            eprintln!("scaler: the event is not JSON: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let (summary, code) = match scaler.handle(&event, chrono::Utc::now()).await {
        Ok(summary) => (summary, std::process::ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("scaler: {e}");
            (*e.summary, std::process::ExitCode::FAILURE)
        }
    };
    match serde_json::to_string_pretty(&summary) {
        Ok(json) => println!("{json}"),
        Err(e) => eprintln!("scaler: cannot print the summary: {e}"),
    }
    code
}
