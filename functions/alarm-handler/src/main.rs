//! Runtime wiring only: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) serve
//! invocations (SNS alerts, the scheduled flush, Alertmanager API requests through
//! the Function URL); with `--serve ADDR` serve the Alertmanager API on a socket and
//! flush due groups every second (or `--flush-every SECONDS`); otherwise run once on
//! `--event FILE` (or stdin) and print the summary. Exit code 1 when a delivery
//! failed, 2 for bad arguments or config. The config comes from
//! `ALARM_HANDLER_CONFIG_FILE`, `ALARM_HANDLER_CONFIG` or
//! `ALARM_HANDLER_CONFIG_SSM_PARAMETER` and is re-read while the function is warm.

use std::sync::Arc;
use std::time::Duration;

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

/// `--serve ADDR [--flush-every SECONDS]`, when those are the arguments.
fn serve_args(args: &[String]) -> Option<Result<(std::net::SocketAddr, Duration), String>> {
    let (first, rest) = args.split_first()?;
    if first != "--serve" {
        return None;
    }
    let parsed = (|| {
        let (address, rest) = rest.split_first().ok_or("--serve needs ADDR:PORT")?;
        let address = address
            .parse()
            .map_err(|e| format!("--serve {address}: {e}"))?;
        let every = match rest {
            [] => Duration::from_secs(1),
            [flag, seconds] if flag == "--flush-every" => seconds
                .parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0 && s.is_finite())
                .map(Duration::from_secs_f64)
                .ok_or(format!(
                    "--flush-every {seconds}: not a positive number of seconds"
                ))?,
            other => return Err(format!("unexpected arguments after --serve: {other:?}")),
        };
        Ok((address, every))
    })();
    Some(parsed)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let in_lambda = function_cli::in_lambda();
    function_cli::init_logging(in_lambda);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let serve = if in_lambda { None } else { serve_args(&args) };
    if let Some(Err(e)) = &serve {
        eprintln!("{}: {e}\n{}", CLI.name, CLI.usage());
        return std::process::ExitCode::from(2);
    }
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
                // Boxed here and below: the handler's futures are deep, and the
                // runtime's future would exceed the compiler's layout depth.
                Box::pin(handler.invoke(&event.payload, chrono::Utc::now())).await
            }
        })
        .await
    } else if let Some(Ok((address, every))) = serve {
        let served = match alarm_handler::serve::bind(address).await {
            Ok(listener) => Box::pin(alarm_handler::serve::serve(handler, listener, every)).await,
            Err(e) => Err(e),
        };
        match served {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => function_cli::refuse(CLI.name, e),
        }
    } else {
        function_cli::run_cli(&CLI, &args, |event, _| async move {
            Box::pin(handler.invoke(&event, chrono::Utc::now())).await
        })
        .await
    }
}
