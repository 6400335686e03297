//! Rendering checks with exact expected output, over Alertmanager-shaped data.

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;

use notify_template::{notification_data, TemplateAlert, TemplateError, Templates};
use serde_json::{json, Value};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn alert(status: &str, pairs: &[(&str, &str)], annotations: &[(&str, &str)]) -> TemplateAlert {
    TemplateAlert {
        status: status.into(),
        labels: labels(pairs),
        annotations: labels(annotations),
        starts_at: "2026-11-23T10:00:00Z".into(),
        ends_at: "0001-01-01T00:00:00Z".into(),
        generator_url: "http://prom/graph".into(),
        fingerprint: "abc".into(),
    }
}

/// Two firing HighCPU alerts on job api plus one resolved, grouped by alertname.
fn notification() -> Value {
    let alerts = vec![
        alert(
            "firing",
            &[("alertname", "HighCPU"), ("job", "api"), ("instance", "a")],
            &[("summary", "CPU high")],
        ),
        alert(
            "firing",
            &[("alertname", "HighCPU"), ("job", "api"), ("instance", "b")],
            &[("summary", "CPU high")],
        ),
        alert(
            "resolved",
            &[("alertname", "HighCPU"), ("job", "api"), ("instance", "c")],
            &[("summary", "CPU high")],
        ),
    ];
    notification_data(
        "team",
        "firing",
        &alerts,
        &labels(&[("alertname", "HighCPU")]),
        "https://am.example",
    )
}

fn render(text: &str, data: &Value) -> Result<String, TemplateError> {
    Templates::with_defaults().render_str(text, data)
}

#[test]
fn default_subject_reads_like_alertmanager() {
    let data = notification();
    assert_eq!(
        render(r#"{{ template "__subject" . }}"#, &data).as_deref(),
        Ok("[FIRING:2] HighCPU (api)")
    );
    let resolved = notification_data(
        "team",
        "resolved",
        &[alert("resolved", &[("alertname", "Down")], &[])],
        &labels(&[("alertname", "Down")]),
        "",
    );
    assert_eq!(
        render(r#"{{ template "sns.default.subject" . }}"#, &resolved).as_deref(),
        Ok("[RESOLVED] Down")
    );
}

#[test]
fn default_sns_message_lists_firing_then_resolved() {
    let got = Templates::with_defaults()
        .render_named("sns.default.message", &notification())
        .expect("renders");
    let expected = "CPU high\n\nAlerts Firing:\nLabels:\n - alertname = HighCPU\n - instance = a\n - job = api\nAnnotations:\n - summary = CPU high\nSource: http://prom/graph\nLabels:\n - alertname = HighCPU\n - instance = b\n - job = api\nAnnotations:\n - summary = CPU high\nSource: http://prom/graph\n\nAlerts Resolved:\nLabels:\n - alertname = HighCPU\n - instance = c\n - job = api\nAnnotations:\n - summary = CPU high\nSource: http://prom/graph\n";
    assert_eq!(got, expected);
}

#[test]
fn default_slack_and_pagerduty_templates() {
    let t = Templates::with_defaults();
    let data = notification();
    assert_eq!(
        t.render_named("slack.default.title", &data).as_deref(),
        Ok("[FIRING:2] HighCPU (api)")
    );
    assert_eq!(
        t.render_named("slack.default.fallback", &data).as_deref(),
        Ok("[FIRING:2] HighCPU (api) | https://am.example")
    );
    assert_eq!(
        t.render_named("slack.default.text", &data).as_deref(),
        Ok("*FIRING* HighCPU: CPU high\n*FIRING* HighCPU: CPU high\n*RESOLVED* HighCPU: CPU high\n")
    );
    assert_eq!(
        t.render_named("pagerduty.default.description", &data)
            .as_deref(),
        Ok("[FIRING:2] HighCPU (api)")
    );
    assert_eq!(
        t.render_named("pagerduty.default.clientURL", &data)
            .as_deref(),
        Ok("https://am.example")
    );
}

#[test]
fn language_features() {
    let data = json!({"A": {"b": "x", "c": ""}, "L": ["p", "q"], "N": 3, "M": {"z": 1, "a": 2}});
    let cases: &[(&str, &str)] = &[
        ("{{ .A.b }}", "x"),
        ("{{ .A.missing }}|", "|"),
        ("a  {{- .A.b -}}  b", "axb"),
        ("{{/* comment */}}x", "x"),
        (
            "{{ if .A.c }}yes{{ else if .A.b }}elif{{ else }}no{{ end }}",
            "elif",
        ),
        ("{{ range .L }}[{{ . }}]{{ end }}", "[p][q]"),
        (
            "{{ range $i, $v := .L }}{{ $i }}={{ $v }};{{ end }}",
            "0=p;1=q;",
        ),
        ("{{ range $k, $v := .M }}{{ $k }}{{ $v }}{{ end }}", "a2z1"),
        ("{{ range .Nothing }}x{{ else }}empty{{ end }}", "empty"),
        ("{{ with .A.b }}<{{ . }}>{{ end }}", "<x>"),
        ("{{ with .A.c }}<{{ . }}>{{ else }}none{{ end }}", "none"),
        ("{{ $x := .A.b }}{{ $x }}{{ $x = \"y\" }}{{ $x }}", "xy"),
        ("{{ .A.b | toUpper }}", "X"),
        (
            "{{ \"a b\" | title }} {{ toLower \"AB\" }} {{ trimSpace \"  t \" }}",
            "A B ab t",
        ),
        ("{{ join \", \" .L }}", "p, q"),
        (
            "{{ printf \"%s-%d-%.2f-%q-%%\" .A.b .N 1.5 \"z\" }}",
            "x-3-1.50-\"z\"-%",
        ),
        ("{{ len .L }} {{ len .A }} {{ len .A.b }}", "2 2 1"),
        (
            "{{ if and (gt .N 2) (lt .N 4) (ne .A.b \"y\") }}in{{ end }}",
            "in",
        ),
        ("{{ if or .A.c .A.b }}{{ or .A.c .A.b }}{{ end }}", "x"),
        ("{{ if not .A.c }}empty{{ end }}", "empty"),
        ("{{ eq .A.b \"y\" \"x\" }}", "true"),
        ("{{ index .M \"z\" }}{{ index .L 1 }}", "1q"),
        (
            "{{ reReplaceAll \"(a+)\" \"<$1>\" \"baab\" }} {{ match \"^b\" \"ba\" }}",
            "b<aa>b true",
        ),
        ("{{ (index .L 0) | printf \"%s!\" }}", "p!"),
        (
            "{{ .M.SortedPairs.Names | join \",\" }} {{ .M.Values }}",
            "a,z [2 1]",
        ),
        ("{{ (.M.Remove (stringSlice \"a\")).Names }}", "[z]"),
        (
            "{{ define \"t\" }}<{{ . }}>{{ end }}{{ template \"t\" .A.b }}",
            "<x>",
        ),
        ("{{ block \"blk\" .N }}b{{ . }}{{ end }}", "b3"),
        ("{{ $ := 1 }}", ""),
        ("{{ range .L }}{{ $.N }}{{ end }}", "33"),
        (
            "{{ urlquery \"a b&c\" }} {{ html \"<x>\" }}",
            "a+b%26c &lt;x&gt;",
        ),
        // Go's url.QueryEscape keeps `~`, escapes `*` and `%`, UTF-8 byte by byte.
        ("{{ urlquery \"a~b*c%20d é\" }}", "a~b%2Ac%2520d+%C3%A9"),
    ];
    for (text, want) in cases {
        assert_eq!(render(text, &data).as_deref(), Ok(*want), "{text}");
    }
}

#[test]
fn errors_say_what_and_where() {
    let data = json!({"N": 1, "S": "s"});
    let parse = |text: &str| match Templates::with_defaults().render_str(text, &data) {
        Err(TemplateError::Parse { line, message, .. }) => (line, message),
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(
        parse("a\nb {{ if .N }}"),
        (2, "unexpected EOF in if".to_string())
    );
    assert!(parse("{{ .N ").1.contains("unclosed action"));
    assert!(parse("x\n\n{{ end }}").1.contains("unexpected"));
    assert!(parse("{{ \"abc }}").1.contains("unclosed action"));
    assert!(parse("{{ \"a\\q\" }}").1.contains("unknown escape"));
    let exec = |text: &str| match Templates::with_defaults().render_str(text, &data) {
        Err(TemplateError::Exec(message)) => message,
        other => panic!("{text}: {other:?}"),
    };
    assert!(exec("{{ nope .N }}").contains("function \"nope\" not defined"));
    assert!(exec("{{ gt .N .S }}").contains("incompatible types"));
    assert!(exec("{{ .S.field }}").contains("can't evaluate field field in string"));
    assert!(exec("{{ template \"missing\" }}").contains("no such template"));
    assert!(exec("{{ $undefined }}").contains("undefined variable"));
    assert!(exec(
        "{{ define \"loop\" }}{{ template \"loop\" . }}{{ end }}{{ template \"loop\" . }}"
    )
    .contains("maximum template depth"));
    assert!(exec("{{ range .S }}{{ end }}").contains("range can't iterate"));
}

#[test]
fn user_files_override_defaults() {
    let mut t = Templates::with_defaults();
    t.add(
        "custom.tmpl",
        "{{ define \"sns.default.subject\" }}custom {{ .Receiver }}{{ end }}",
    )
    .expect("parses");
    assert_eq!(
        t.render_named("sns.default.subject", &notification())
            .as_deref(),
        Ok("custom team")
    );
    let err = t
        .add("bad.tmpl", "{{ define \"x\" }}\n{{ if }}{{ end }}")
        .expect_err("bad");
    assert!(
        err.to_string().starts_with("template bad.tmpl: line 2:"),
        "{err}"
    );
}

#[test]
fn never_panics_on_truncated_templates() {
    let data = notification();
    let sources = [
        r#"{{ define "a" }}{{ range $i, $v := .Alerts.Firing }}{{ $v.Labels.alertname | toUpper }}{{ end }}{{ end }}"#,
        r#"[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ (.CommonLabels.Remove .GroupLabels.Names).Values | join " " }}"#,
        "{{- with .CommonAnnotations -}}{{ printf \"%s %d %q\" .summary 3 `raw` }}{{- end -}}",
    ];
    for source in sources {
        for end in 0..=source.len() {
            if source.is_char_boundary(end) {
                let _ = Templates::with_defaults().render_str(&source[..end], &data);
            }
        }
    }
    assert!(Templates::with_defaults().contains("sns.default.message"));
}

#[test]
fn missing_labels_compare_like_go_and_and_or_short_circuit() {
    let data = notification();
    assert_eq!(
        render(
            r#"{{ if eq .CommonLabels.severity "critical" }}page{{ else }}ticket{{ end }}"#,
            &data
        )
        .as_deref(),
        Ok("ticket")
    );
    assert_eq!(
        render(
            r#"{{ eq .Nope "" }} {{ ne nil "x" }} {{ eq nil nil }}"#,
            &data
        )
        .as_deref(),
        Ok("true true true")
    );
    // `index` on an empty value would fail; `and` never evaluates it.
    assert_eq!(
        render(r#"[{{ and .Nope (index .Nope "x") }}]"#, &data).as_deref(),
        Ok("[]")
    );
    assert_eq!(
        render(r#"{{ or .Receiver (index .Nope "x") }}"#, &data).as_deref(),
        Ok("team")
    );
}

#[test]
fn hostile_templates_fail_cleanly_on_a_small_stack() {
    // Run where a tokio worker would: a 2 MiB stack.
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let data = json!({"x": 1});
            let t = Templates::with_defaults();
            let parens = format!("{{{{ {}1{} }}}}", "(".repeat(40), ")".repeat(40));
            let deep_parens = t
                .render_str(&parens, &data)
                .expect_err("too deep")
                .to_string();
            let ifs =
                "{{ if true }}".repeat(5) + r#"{{ template "loop" . }}"# + &"{{ end }}".repeat(5);
            let recursive =
                format!(r#"{{{{ define "loop" }}}}{ifs}{{{{ end }}}}{{{{ template "loop" . }}}}"#);
            let deep_calls = t
                .render_str(&recursive, &data)
                .expect_err("too deep")
                .to_string();
            let blocks = "{{ if true }}".repeat(60) + &"{{ end }}".repeat(60);
            let deep_blocks = t
                .render_str(&blocks, &data)
                .expect_err("too deep")
                .to_string();
            let busy = t
                .render_str(
                    "{{ range 3000 }}{{ range 3000 }}{{ $y := 1 }}{{ end }}{{ end }}",
                    &data,
                )
                .expect_err("too many steps")
                .to_string();
            (deep_parens, deep_calls, deep_blocks, busy)
        })
        .expect("thread");
    let (deep_parens, deep_calls, deep_blocks, busy) = worker.join().expect("no stack overflow");
    assert!(deep_parens.contains("nested parentheses"), "{deep_parens}");
    assert!(
        deep_calls.contains("maximum template depth"),
        "{deep_calls}"
    );
    assert!(deep_blocks.contains("nested blocks"), "{deep_blocks}");
    assert!(busy.contains("steps"), "{busy}");
}

#[test]
fn a_stray_end_names_its_line() {
    match Templates::with_defaults().render_str("x\n\n{{ end }}", &json!({})) {
        Err(TemplateError::Parse { line, .. }) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
}

/// Found by fuzzing (fuzz/fuzz_targets/template.rs): a `printf` precision beyond what
/// Rust's formatter takes panicked instead of failing the render.
#[test]
fn a_huge_printf_precision_is_an_error() {
    let t = Templates::with_defaults();
    let err = t
        .render_str(r#"{{ printf "%.3000000000f" 1.5 }}"#, &json!({}))
        .expect_err("precision too large");
    assert!(err.to_string().contains("precision"), "{err}");
    assert_eq!(
        t.render_str(r#"{{ printf "%.3f" 1.5 }}"#, &json!({}))
            .unwrap(),
        "1.500"
    );
}

/// Found by fuzzing: doubling a variable in a loop grew memory exponentially within
/// the step limit (the output limit never saw it); a function's result is bounded,
/// and copying a list is charged by its size, so whichever comes first stops it.
#[test]
fn a_value_doubling_in_a_loop_is_stopped() {
    let t = Templates::with_defaults();
    for body in ["{{ $x = print $x $x }}", "{{ $x = stringSlice $x $x }}"] {
        let text = format!(
            r#"{{{{ $x := "aaaaaaaaaaaaaaaa" }}}}{{{{ range 40 }}}}{body}{{{{ end }}}}{{{{ len $x }}}}"#
        );
        let err = t
            .render_str(&text, &json!({}))
            .expect_err("value too large");
        let err = err.to_string();
        assert!(
            err.contains("exceeds") || err.contains("steps"),
            "{body}: {err}"
        );
    }
    let ten = t
        .render_str(
            r#"{{ $x := "a" }}{{ range 10 }}{{ $x = print $x $x }}{{ end }}{{ len $x }}"#,
            &json!({}),
        )
        .unwrap();
    assert_eq!(ten, "1024");
}
