//! Runtime wiring only: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) serve invocations;
//! otherwise run the handler once on `--event FILE` (or stdin) and print the response.

use std::io::Read;
use std::time::{Duration, Instant};

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if in_lambda {
        subscriber.json().without_time().init();
        lambda_main().await
    } else {
        use std::io::IsTerminal;
        subscriber.with_ansi(std::io::stderr().is_terminal()).init();
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
    let text = match event_path {
        Some(path) if path != "-" => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read event file {path}: {e}"))?,
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read the event from stdin: {e}"))?;
            text
        }
    };
    Ok((text, timeout))
}
