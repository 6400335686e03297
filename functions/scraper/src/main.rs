//! Runtime wiring only: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) serve invocations;
//! otherwise run the handler once on `--event FILE` (or stdin) and print the response.

use std::time::{Duration, Instant};

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let in_lambda = function_cli::in_lambda();
    function_cli::init_logging(in_lambda);
    if in_lambda {
        lambda_main().await
    } else {
        cli_main().await
    }
}

async fn lambda_main() -> std::process::ExitCode {
    let instance = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "lambda".into());
    let handler = service_fn(|event: LambdaEvent<Value>| {
        let instance = instance.clone();
        async move {
            let deadline = scraper::deadline::invocation_deadline(event.context.deadline);
            scraper::handle(event.payload, deadline, &instance)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "invocation failed");
                    lambda_runtime::Error::from(e.to_string())
                })
        }
    });
    match lambda_runtime::run(handler).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "lambda runtime stopped");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn cli_main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (event_text, timeout) = match read_cli_args(&args) {
        Ok(v) => v,
        Err(message) => {
            eprintln!("scraper: {message}\nusage: scraper [--event FILE|-] [--timeout SECONDS]");
            return std::process::ExitCode::from(2);
        }
    };
    let event: Value = match serde_json::from_str(&event_text) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("scraper: the event is not valid JSON: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let instance = std::env::var("HOSTNAME").unwrap_or_else(|_| "cli".into());
    let deadline = Instant::now() + timeout;
    match scraper::handle(event, deadline, &instance).await {
        Ok(summary) => match serde_json::to_string_pretty(&summary) {
            Ok(json) => {
                println!("{json}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("scraper: cannot print the summary: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("scraper: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--event FILE` (or `-`/absent for stdin) and `--timeout SECONDS` (default 60).
fn read_cli_args(args: &[String]) -> Result<(String, Duration), String> {
    let mut event_path: Option<&str> = None;
    let mut timeout = Duration::from_secs(60);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--event" => event_path = Some(iter.next().ok_or("--event needs a file")?),
            "--timeout" => {
                let secs: f64 = iter
                    .next()
                    .ok_or("--timeout needs seconds")?
                    .parse()
                    .map_err(|_| "--timeout needs a number of seconds")?;
                if !(secs > 0.0 && secs.is_finite()) {
                    return Err("--timeout must be positive".into());
                }
                timeout = Duration::from_secs_f64(secs);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let text = function_cli::read_event(event_path.filter(|p| *p != "-"))?;
    Ok((text, timeout))
}
