//! How every function binary starts, so the three behave the same for a user who
//! runs them by hand: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) logs are JSON and
//! each invocation prints one summary line Logs Insights can query; on the command
//! line logs are readable and the event comes from `--event FILE` or stdin.

use std::io::Read;

use serde::Serialize;

/// Whether the binary runs under the Lambda Runtime API.
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`): JSON without timestamps
/// under Lambda (CloudWatch Logs adds them), coloured only on a terminal otherwise.
pub fn init_logging(in_lambda: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if in_lambda {
        subscriber.json().without_time().init();
    } else {
        use std::io::IsTerminal;
        subscriber.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

/// The event file of `[--event FILE|-]`: `None` (read stdin) for no arguments or `-`.
pub fn event_path(args: &[String]) -> Result<Option<&str>, String> {
    match args {
        [] => Ok(None),
        [flag, path] if flag == "--event" => Ok(Some(path.as_str()).filter(|p| *p != "-")),
        _ => Err(format!("unexpected arguments {args:?}")),
    }
}

/// The event text from `path`, or from stdin when `None`.
pub fn read_event(path: Option<&str>) -> Result<String, String> {
    match path {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("cannot read event file {path}: {e}"))
        }
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read the event from stdin: {e}"))?;
            Ok(text)
        }
    }
}

/// The one JSON line logged per Lambda invocation:
/// `{"level":"INFO|ERROR","message":"invocation summary","summary":{...}}`, the
/// summary nested so CloudWatch Logs Insights can query its fields.
pub fn summary_line<S: Serialize>(ok: bool, summary: &S) -> String {
    serde_json::json!({
        "level": if ok { "INFO" } else { "ERROR" },
        "message": "invocation summary",
        "summary": summary,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn event_argument_forms() {
        assert_eq!(event_path(&args(&[])), Ok(None));
        assert_eq!(event_path(&args(&["--event", "-"])), Ok(None));
        assert_eq!(
            event_path(&args(&["--event", "e.json"])),
            Ok(Some("e.json"))
        );
        assert!(event_path(&args(&["--evnt", "e.json"])).is_err());
        assert!(event_path(&args(&["--event"])).is_err());
    }

    #[test]
    fn reads_the_event_file_and_names_a_missing_one() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { panic!("tempdir") };
        let path = dir.path().join("e.json");
        assert!(std::fs::write(&path, "{}").is_ok());
        assert_eq!(read_event(path.to_str()), Ok("{}".to_string()));
        let missing = read_event(Some("/nonexistent/e.json"));
        assert!(missing.is_err_and(|e| e.contains("/nonexistent/e.json")));
    }

    #[test]
    fn summary_line_nests_the_summary() {
        let line = summary_line(false, &serde_json::json!({"errors": 1}));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(value["level"], "ERROR");
        assert_eq!(value["message"], "invocation summary");
        assert_eq!(value["summary"]["errors"], 1);
    }
}
