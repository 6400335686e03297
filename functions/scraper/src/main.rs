//! Runtime wiring only: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) serve invocations;
//! otherwise run the handler once on `--event FILE` (or stdin) and print the response,
//! with `--timeout SECONDS` (default 60) as the deadline a Lambda would have.
//! Exit code 1 when the invocation failed, 2 for bad arguments or an event that is not
//! JSON.

use std::time::{Duration, Instant};

use function_cli::{CliSpec, NonJson, SummaryLine};

const CLI: CliSpec = CliSpec {
    name: "scraper",
    timeout: Some(Duration::from_secs(60)),
    non_json: NonJson::Refuse,
};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let in_lambda = function_cli::in_lambda();
    function_cli::init_logging(in_lambda);
    // One per process: a warm container reuses what earlier invocations built.
    let scraper = scraper::Scraper::new();
    let scraper = &scraper;
    if in_lambda {
        // Self-metrics carry the function name as `instance`.
        let instance =
            std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "lambda".into());
        // One summary line per run, carrying the run's health as EMF.
        function_cli::run_lambda(
            SummaryLine::Print {
                function: "scraper",
            },
            |event| {
                let instance = instance.clone();
                async move {
                    let deadline = scraper::deadline::invocation_deadline(event.context.deadline);
                    // Boxed: the handler's future nests deep enough (the AWS SDK, EKS
                    // access) that the compiler's layout query overflows when it is
                    // inlined into `main`'s.
                    Box::pin(scraper.handle(event.payload, deadline, &instance)).await
                }
            },
        )
        .await
    } else {
        let args: Vec<String> = std::env::args().skip(1).collect();
        function_cli::run_cli(&CLI, &args, |event, args| async move {
            let instance = std::env::var("HOSTNAME").unwrap_or_else(|_| "cli".into());
            let timeout = args.timeout.unwrap_or(Duration::from_secs(60));
            Box::pin(scraper.handle(event, Instant::now() + timeout, &instance)).await
        })
        .await
    }
}
