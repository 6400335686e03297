//! Runtime wiring only: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) serve
//! invocations; otherwise run the handler once on `--event FILE` (or stdin) and print
//! the summary. Exit code 1 when the invocation failed, 2 for bad arguments or config.

use config_source::{ConfigReader, ConfigSource};
use function_cli::{CliSpec, NonJson, SummaryLine};
use scaler::LiveScaler;

const CLI: CliSpec = CliSpec {
    name: "scaler",
    timeout: None,
    non_json: NonJson::Refuse,
};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let in_lambda = function_cli::in_lambda();
    function_cli::init_logging(in_lambda);
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let source = match ConfigSource::from_env(scaler::live::ENV_PREFIX) {
        Ok(source) => source,
        Err(e) => return function_cli::refuse(CLI.name, e),
    };
    let scaler = LiveScaler::new(source, ConfigReader::new(), aws);
    // Refuse to start on a config that does not load or validate.
    if let Err(e) = scaler.load().await {
        return function_cli::refuse(CLI.name, e);
    }
    if in_lambda {
        let scaler = &scaler;
        // Boxed: the handler's future nests deep enough (kube, the AWS SDK) that the
        // compiler's layout query overflows when it is inlined into `main`'s.
        function_cli::run_lambda(SummaryLine::Print { function: CLI.name }, |event| async move {
            Box::pin(scaler.handle(&event.payload, chrono::Utc::now())).await
        })
        .await
    } else {
        let args: Vec<String> = std::env::args().skip(1).collect();
        function_cli::run_cli(&CLI, &args, |event, _| async move {
            Box::pin(scaler.handle(&event, chrono::Utc::now())).await
        })
        .await
    }
}
