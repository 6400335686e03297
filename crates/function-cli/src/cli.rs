//! The command-line side of a function binary: run the handler once on an event from
//! `--event FILE` (or stdin) and print the summary as pretty JSON, so a function can be
//! tried against real services without deploying it; `--emf FILE` appends to `FILE`
//! the lines a Lambda would log: the summary line carrying the invocation's figures in
//! Embedded Metric Format, then any other figure sets (see [`crate::emf`]). Exit codes: 0 success, 1 the
//! invocation failed, 2 bad arguments or an unreadable event (as for a bad config at
//! start-up, see [`crate::refuse`]).

use std::future::Future;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::emf::{now_ms, Figures};
use crate::error::CliError;
use crate::error_type::{ErrorType, FailureSummary};

/// What a binary accepts on its command line and how it reads the event.
#[derive(Debug, Clone, Copy)]
pub struct CliSpec {
    /// The binary's name, the prefix of its messages (`scraper: ...`).
    pub name: &'static str,
    /// `Some(default)` when the binary takes `--timeout SECONDS`: the invocation
    /// deadline a Lambda would have (the scraper stops its work before it).
    pub timeout: Option<Duration>,
    /// What to do with an event that is not JSON.
    pub non_json: NonJson,
}

/// What happens to event text that does not parse as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonJson {
    /// A usage error (exit code 2).
    Refuse,
    /// Handed to the handler as a JSON string: the alarm-handler turns any text into a
    /// generic alert rather than lose it.
    AsString,
}

/// The parsed arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct CliArgs {
    /// The event file; `None` (or `-` on the command line) for stdin.
    pub event_path: Option<String>,
    /// `--timeout`, or the spec's default; `None` when the binary takes no timeout.
    pub timeout: Option<Duration>,
    /// `--emf FILE`: where to append the invocation's figures as EMF lines.
    pub emf_path: Option<String>,
}

impl CliSpec {
    /// `usage: NAME [--event FILE|-] [--emf FILE]` (with ` [--timeout SECONDS]` when
    /// taken).
    pub fn usage(&self) -> String {
        let timeout = if self.timeout.is_some() {
            " [--timeout SECONDS]"
        } else {
            ""
        };
        format!(
            "usage: {} [--event FILE|-] [--emf FILE]{timeout}",
            self.name
        )
    }

    /// Parses `[--event FILE|-] [--emf FILE] [--timeout SECONDS]` (the latter only
    /// when the spec takes it); a later `--event` replaces an earlier one.
    pub fn parse_args(&self, args: &[String]) -> Result<CliArgs, CliError> {
        let mut parsed = CliArgs {
            event_path: None,
            timeout: self.timeout,
            emf_path: None,
        };
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--event" => {
                    let path = iter.next().ok_or(CliError::EventNeedsFile)?;
                    parsed.event_path = Some(path.clone()).filter(|p| p != "-");
                }
                "--emf" => {
                    let path = iter.next().ok_or(CliError::EmfNeedsFile)?;
                    parsed.emf_path = Some(path.clone());
                }
                "--timeout" if self.timeout.is_some() => {
                    let text = iter.next().ok_or(CliError::TimeoutNeedsSeconds)?;
                    parsed.timeout = Some(parse_timeout(text)?);
                }
                other => return Err(CliError::UnknownArgument(other.to_string())),
            }
        }
        Ok(parsed)
    }

    /// The event as JSON, following [`CliSpec::non_json`].
    pub fn parse_event(&self, text: String) -> Result<Value, CliError> {
        match serde_json::from_str(&text) {
            Ok(event) => Ok(event),
            Err(_) if self.non_json == NonJson::AsString => Ok(Value::String(text)),
            Err(e) => Err(CliError::NotJson(e)),
        }
    }
}

/// Positive, finite seconds (fractions allowed).
fn parse_timeout(text: &str) -> Result<Duration, CliError> {
    let secs: f64 = text.parse().map_err(|_| CliError::TimeoutNotANumber)?;
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(CliError::TimeoutNotPositive);
    }
    Duration::try_from_secs_f64(secs).map_err(|_| CliError::TimeoutNotPositive)
}

/// The event text from `path`, or from stdin when `None`.
pub fn read_event(path: Option<&str>) -> Result<String, CliError> {
    match path {
        Some(path) => std::fs::read_to_string(path).map_err(|source| CliError::ReadFile {
            path: path.to_string(),
            source,
        }),
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(CliError::ReadStdin)?;
            Ok(text)
        }
    }
}

/// Runs `handler` once on the event named by `args` (the arguments after the program
/// name) and prints the outcome: the summary as pretty JSON on stdout (also the
/// failure's summary, when the error carries one) and the error with its causes on
/// stderr.
pub async fn run_cli<F, Fut, S, E>(spec: &CliSpec, args: &[String], handler: F) -> ExitCode
where
    F: FnOnce(Value, CliArgs) -> Fut,
    Fut: Future<Output = Result<S, E>>,
    S: Serialize + Figures,
    E: ErrorType + FailureSummary,
    E::Summary: Figures,
{
    let prepared = spec.parse_args(args).and_then(|parsed| {
        let text = read_event(parsed.event_path.as_deref())?;
        Ok((spec.parse_event(text)?, parsed))
    });
    let (event, parsed) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!(
                "{}: {}\n{}",
                spec.name,
                crate::error_chain(&e),
                spec.usage()
            );
            return ExitCode::from(2);
        }
    };
    let emf_path = parsed.emf_path.clone();
    match handler(event, parsed).await {
        Ok(summary) => {
            let printed = print_summary(spec.name, &summary);
            let written = write_figures(true, spec.name, emf_path.as_deref(), &summary);
            if printed == ExitCode::SUCCESS {
                written
            } else {
                printed
            }
        }
        Err(e) => {
            eprintln!("{}: {}", spec.name, crate::error_chain(&e));
            if let Some(summary) = e.failure_summary() {
                // The invocation failed whether or not the summary prints.
                let _ = print_summary(spec.name, summary);
                let _ = write_figures(false, spec.name, emf_path.as_deref(), summary);
            }
            ExitCode::FAILURE
        }
    }
}

/// Appends to `path` the lines the invocation would log under Lambda (nothing without
/// a path): the summary line carrying the function-level figures as EMF, then the
/// other figure sets as EMF lines. Exit code 1 when the file cannot be written.
fn write_figures<S: Serialize + Figures>(
    ok: bool,
    name: &str,
    path: Option<&str>,
    summary: &S,
) -> ExitCode {
    let Some(path) = path else {
        return ExitCode::SUCCESS;
    };
    let mut text = String::new();
    for line in crate::summary_line_with_figures(ok, name, summary, now_ms()) {
        text.push_str(&line);
        text.push('\n');
    }
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    match appended {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: cannot append the figures to {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints `summary` as pretty JSON; exit code 1 when it cannot be serialised.
fn print_summary<S: Serialize>(name: &str, summary: &S) -> ExitCode {
    match serde_json::to_string_pretty(summary) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: cannot print the summary: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: CliSpec = CliSpec {
        name: "scaler",
        timeout: None,
        non_json: NonJson::Refuse,
    };
    const WITH_TIMEOUT: CliSpec = CliSpec {
        name: "scraper",
        timeout: Some(Duration::from_secs(60)),
        non_json: NonJson::Refuse,
    };

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn event_of(spec: &CliSpec, a: &[&str]) -> Option<String> {
        spec.parse_args(&args(a)).unwrap().event_path
    }

    #[test]
    fn event_argument_forms() {
        assert_eq!(event_of(&PLAIN, &[]), None);
        assert_eq!(event_of(&PLAIN, &["--event", "-"]), None);
        assert_eq!(
            event_of(&PLAIN, &["--event", "e.json"]),
            Some("e.json".into())
        );
        let unknown = PLAIN.parse_args(&args(&["--evnt", "e.json"]));
        assert!(matches!(unknown, Err(CliError::UnknownArgument(a)) if a == "--evnt"));
        let missing = PLAIN.parse_args(&args(&["--event"]));
        assert!(matches!(missing, Err(CliError::EventNeedsFile)));
    }

    #[test]
    fn timeout_is_taken_only_where_the_spec_has_one() {
        let default = WITH_TIMEOUT.parse_args(&[]).unwrap();
        assert_eq!(default.timeout, Some(Duration::from_secs(60)));
        let given = WITH_TIMEOUT
            .parse_args(&args(&["--timeout", "2.5", "--event", "e.json"]))
            .unwrap();
        assert_eq!(given.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(given.event_path.as_deref(), Some("e.json"));
        assert_eq!(PLAIN.parse_args(&[]).unwrap().timeout, None);
        assert!(matches!(
            PLAIN.parse_args(&args(&["--timeout", "5"])),
            Err(CliError::UnknownArgument(a)) if a == "--timeout"
        ));
    }

    #[test]
    fn bad_timeouts_say_why() {
        let message = |a: &[&str]| WITH_TIMEOUT.parse_args(&args(a)).unwrap_err().to_string();
        assert_eq!(message(&["--timeout"]), "--timeout needs seconds");
        assert_eq!(
            message(&["--timeout", "soon"]),
            "--timeout needs a number of seconds"
        );
        assert_eq!(message(&["--timeout", "0"]), "--timeout must be positive");
        assert_eq!(message(&["--timeout", "-1"]), "--timeout must be positive");
        assert_eq!(message(&["--timeout", "inf"]), "--timeout must be positive");
        assert_eq!(message(&["--timeout", "NaN"]), "--timeout must be positive");
        assert_eq!(
            message(&["--timeout", "1e300"]),
            "--timeout must be positive"
        );
    }

    #[test]
    fn usage_lists_what_the_binary_takes() {
        assert_eq!(PLAIN.usage(), "usage: scaler [--event FILE|-] [--emf FILE]");
        assert_eq!(
            WITH_TIMEOUT.usage(),
            "usage: scraper [--event FILE|-] [--emf FILE] [--timeout SECONDS]"
        );
    }

    /// A summary with one figure, to see `--emf` write it.
    #[derive(serde::Serialize)]
    struct Counted(u64);

    impl Figures for Counted {
        fn figures(&self) -> Vec<crate::MetricSet> {
            vec![crate::MetricSet::new().count("Things", self.0)]
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("never")]
    struct Never;

    impl ErrorType for Never {
        fn error_type(&self) -> String {
            "Never".into()
        }
    }

    impl FailureSummary for Never {
        type Summary = Counted;
        fn failure_summary(&self) -> Option<&Counted> {
            None
        }
    }

    #[tokio::test]
    async fn emf_appends_the_figures_of_each_run() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("e.json");
        std::fs::write(&event, "{}").unwrap();
        let emf = dir.path().join("figures.emf");
        let argv = args(&[
            "--event",
            event.to_str().unwrap(),
            "--emf",
            emf.to_str().unwrap(),
        ]);
        for n in [2, 5] {
            let code = run_cli(
                &PLAIN,
                &argv,
                |_, _| async move { Ok::<_, Never>(Counted(n)) },
            )
            .await;
            assert_eq!(code, ExitCode::SUCCESS);
        }
        let text = std::fs::read_to_string(&emf).unwrap();
        let values: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["Things"].clone())
            .collect();
        assert_eq!(values, [2.0, 5.0]);
        assert_eq!(
            PLAIN.parse_args(&args(&["--emf"])).unwrap_err().to_string(),
            "--emf needs a file"
        );
        let unwritable = args(&[
            "--event",
            event.to_str().unwrap(),
            "--emf",
            dir.path().join("missing/dir/x").to_str().unwrap(),
        ]);
        let code = run_cli(&PLAIN, &unwritable, |_, _| async move {
            Ok::<_, Never>(Counted(1))
        })
        .await;
        assert_eq!(
            code,
            ExitCode::FAILURE,
            "a figure file that cannot be written fails"
        );
    }

    #[test]
    fn non_json_is_refused_or_becomes_a_string() {
        assert!(matches!(
            PLAIN.parse_event("ALARM: disk full".into()),
            Err(CliError::NotJson(_))
        ));
        let lenient = CliSpec {
            non_json: NonJson::AsString,
            ..PLAIN
        };
        assert_eq!(
            lenient.parse_event("ALARM: disk full".into()).unwrap(),
            Value::String("ALARM: disk full".into())
        );
        assert_eq!(
            lenient.parse_event("{\"a\":1}".into()).unwrap(),
            serde_json::json!({"a": 1})
        );
    }

    #[test]
    fn reads_the_event_file_and_names_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.json");
        std::fs::write(&path, "{}").unwrap();
        assert_eq!(read_event(path.to_str()).unwrap(), "{}");
        let missing = read_event(Some("/nonexistent/e.json")).unwrap_err();
        assert!(crate::error_chain(&missing)
            .starts_with("cannot read event file /nonexistent/e.json: "));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("1 of 2 deliveries failed")]
    struct Failed(serde_json::Value);

    impl ErrorType for Failed {
        fn error_type(&self) -> String {
            "Failed".into()
        }
    }

    impl FailureSummary for Failed {
        type Summary = serde_json::Value;
        fn failure_summary(&self) -> Option<&serde_json::Value> {
            Some(&self.0)
        }
    }

    #[tokio::test]
    async fn exit_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.json");
        std::fs::write(&path, "{\"x\": 1}").unwrap();
        let event = args(&["--event", path.to_str().unwrap()]);
        let ok = run_cli(
            &PLAIN,
            &event,
            |event, _| async move { Ok::<_, Failed>(event) },
        )
        .await;
        assert_eq!(ok, ExitCode::SUCCESS);
        let failed = run_cli(&PLAIN, &event, |event, _| async move {
            Err::<serde_json::Value, _>(Failed(event))
        })
        .await;
        assert_eq!(failed, ExitCode::FAILURE);
        let bad_args = run_cli(&PLAIN, &args(&["--nope"]), |event, _| async move {
            Ok::<_, Failed>(event)
        })
        .await;
        assert_eq!(bad_args, ExitCode::from(2));
        std::fs::write(&path, "not json").unwrap();
        let not_json = run_cli(
            &PLAIN,
            &event,
            |event, _| async move { Ok::<_, Failed>(event) },
        )
        .await;
        assert_eq!(not_json, ExitCode::from(2));
    }
}
