//! The work budget counts what templates really cost: loops over expensive steps
//! end with the step limit (or their output's), and the steps counted stay within
//! it. Found by fuzzing (fuzz/fuzz_targets/template.rs, input
//! fuzz/corpus/template/timeout-1cdf766aa7780f3cfe0ad3eb4b565835944ff2ee): a `range`
//! over a number compiling the same regular expression in every iteration took
//! seconds while the old count saw a few steps per iteration.

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};

use crate::budget::MAX_STEPS;
use crate::{TemplateError, Templates};

fn alert(i: usize) -> Value {
    json!({
        "Status": "firing",
        "Labels": {"alertname": "HighLatency", "instance": format!("10.0.0.{i}:9100"),
                   "job": "api", "severity": "critical"},
        "Annotations": {"summary": "latency is high", "runbook_url": "https://runbooks/x"},
        "StartsAt": "2026-12-01T10:00:00Z",
        "EndsAt": "0001-01-01T00:00:00Z",
        "GeneratorURL": "https://prometheus.example/graph?g0.expr=up",
        "Fingerprint": "0123456789abcdef",
    })
}

fn data(alerts: usize) -> Value {
    json!({
        "Receiver": "ops",
        "Status": "firing",
        "Alerts": (0..alerts).map(alert).collect::<Vec<_>>(),
        "GroupLabels": {"alertname": "HighLatency"},
        "CommonLabels": {"alertname": "HighLatency", "job": "api", "severity": "critical"},
        "CommonAnnotations": {"summary": "latency is high"},
        "ExternalURL": "https://am.example",
    })
}

/// Renders `text` over two alerts: the result and the steps it was charged.
fn render(text: &str) -> (Result<String, TemplateError>, usize) {
    Templates::with_defaults().render_str_counted(text, &data(2))
}

fn assert_step_limit(name: &str, text: &str) {
    let (result, steps) = render(text);
    let error = result.expect_err(name).to_string();
    assert!(error.contains("steps"), "{name}: {error}");
    assert!(steps <= MAX_STEPS, "{name}: {steps} steps counted");
}

/// The fuzzer's input, reduced: `match` on a pattern with a `.` (a Unicode class,
/// tens of microseconds to compile) in every iteration of a `range`. Compiling it in
/// each of 20 000 iterations would be charged 50 million steps.
#[test]
fn a_regex_in_a_loop_is_compiled_once() {
    let (result, steps) = render("{{ range 20000 }}{{ match .21336 +555 }}{{ end }}");
    let out = result.expect("the same pattern is compiled once, so the loop finishes");
    assert_eq!(out, "false".repeat(20_000));
    assert!(steps <= MAX_STEPS, "{steps} steps counted");

    // With output per iteration, as in the fuzzer's input, the output limit ends it.
    let text = "x".repeat(300);
    let (result, steps) = render(&format!(
        "{{{{ range 555555 }}}}{text}{{{{ match .21336 +555 }}}}{{{{ end }}}}"
    ));
    let error = result.expect_err("output limit").to_string();
    assert!(error.contains("output exceeds"), "{error}");
    assert!(steps < MAX_STEPS / 2, "{steps} steps counted");
}

#[test]
fn expensive_steps_in_loops_reach_the_step_limit() {
    // A megabyte-sized variable (within the value limit).
    let big = r#"{{ $x := "aaaaaaaaaaaaaaaa" }}{{ range 16 }}{{ $x = print $x $x }}{{ end }}"#;
    let cases = [
        (
            "a new pattern in every iteration",
            r#"{{ range 100000 }}{{ match (printf "%d." .) "x" }}{{ end }}"#.to_string(),
        ),
        (
            "a pattern that compiles big",
            r#"{{ range 100000 }}{{ match (printf "\\w{%d}" .) "x" }}{{ end }}"#.to_string(),
        ),
        (
            "empty nested ranges",
            "{{ range 100000 }}{{ range 100000 }}{{ end }}{{ end }}".to_string(),
        ),
        (
            "copying a big variable",
            format!("{big}{{{{ range 100000 }}}}{{{{ len $x }}}}{{{{ end }}}}"),
        ),
        (
            "a string function on a big variable",
            format!("{big}{{{{ range 100000 }}}}{{{{ $y := html $x }}}}{{{{ end }}}}"),
        ),
        (
            "a regex search of a big variable",
            format!(r#"{big}{{{{ range 100000 }}}}{{{{ match "b" $x }}}}{{{{ end }}}}"#),
        ),
        (
            "a replacement that multiplies its text",
            format!(r#"{big}{{{{ $y := reReplaceAll "" "$0$0$0$0$0$0$0$0" $x }}}}"#),
        ),
        (
            "a huge printf precision",
            r#"{{ range 100000 }}{{ $y := printf "%.65535f" 1.5 }}{{ end }}"#.to_string(),
        ),
        (
            "a big list in a loop",
            "{{ $l := stringSlice 1 2 3 4 5 6 7 8 }}{{ range 16 }}{{ $l = stringSlice $l $l }}\
             {{ end }}{{ range 100000 }}{{ range $l }}{{ end }}{{ end }}"
                .to_string(),
        ),
        (
            "copying the data",
            "{{ range 1000 }}{{ range 1000 }}{{ $y := $ }}{{ end }}{{ end }}".to_string(),
        ),
    ];
    for (name, text) in cases {
        assert_step_limit(name, &text);
    }
}

#[test]
fn real_notifications_use_a_small_part_of_the_budget() {
    let templates = Templates::with_defaults();
    let (result, steps) =
        templates.render_str_counted(r#"{{ template "sns.default.message" . }}"#, &data(100));
    assert!(result.expect("renders").contains("10.0.0.99:9100"));
    assert!(steps < MAX_STEPS / 20, "{steps} steps for 100 alerts");
    let (result, steps) = templates.render_str_counted(
        r#"{{ range .Alerts }}{{ reReplaceAll "(.*):.*" "$1" .Labels.instance }} {{ end }}"#,
        &data(100),
    );
    assert!(result.expect("renders").contains("10.0.0.99 "));
    assert!(
        steps < MAX_STEPS / 20,
        "{steps} steps for 100 regex replacements"
    );
}
