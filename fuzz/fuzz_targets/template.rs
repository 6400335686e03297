//! The Go text/template subset: parsing and executing any template against
//! Alertmanager-shaped notification data, within the executor's bounds (nesting,
//! steps, output size). A template either renders or fails with an error that says
//! where (a parse error's line is inside the template); rendering is deterministic;
//! the built-in defaults stay renderable after any user file is added.
//!
//! Input: 1 flag byte (bit 0: also add the text as a template file, as a
//! `templates:` entry is), then the template text.
#![no_main]

use std::collections::BTreeMap;

use fuzz_support::{bit, flags_and_rest, text};
use libfuzzer_sys::fuzz_target;
use notify_template::{notification_data, TemplateAlert, TemplateError, Templates};

fn alert(status: &str, name: &str, severity: &str) -> TemplateAlert {
    TemplateAlert {
        status: status.to_string(),
        labels: BTreeMap::from([
            ("alertname".to_string(), name.to_string()),
            ("severity".to_string(), severity.to_string()),
            ("instance".to_string(), "10.0.0.1:9100".to_string()),
        ]),
        annotations: BTreeMap::from([
            ("summary".to_string(), format!("{name} is {status}")),
            (
                "runbook_url".to_string(),
                "https://runbooks.example/x?a=1&b=\"2\"".to_string(),
            ),
        ]),
        starts_at: "2026-12-01T10:00:00Z".to_string(),
        ends_at: "0001-01-01T00:00:00Z".to_string(),
        generator_url: "https://prometheus.example/graph?g0.expr=up".to_string(),
        fingerprint: "0123456789abcdef".to_string(),
    }
}

fn check_error(error: &TemplateError, text: &str) {
    match error {
        TemplateError::Parse { line, message, .. } => {
            let lines = text.matches('\n').count() + 1;
            assert!(
                *line >= 1 && *line <= lines,
                "parse error on line {line} of {lines}: {message}"
            );
            assert!(!message.is_empty());
        }
        TemplateError::Exec(message) => assert!(!message.is_empty()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((flags, rest)) = flags_and_rest(data) else {
        return;
    };
    let text = text(rest);
    let alerts = [
        alert("firing", "HighLatency", "critical"),
        alert("resolved", "DiskFull", "warning"),
    ];
    let group = BTreeMap::from([("alertname".to_string(), "HighLatency".to_string())]);
    let data = notification_data("ops", "firing", &alerts, &group, "https://am.example");

    let mut templates = Templates::with_defaults();
    if bit(flags, 0) {
        match templates.add("fuzz.tmpl", &text) {
            Ok(()) => {
                // A user file may redefine a default; whatever it defines renders or
                // fails cleanly, and the same way twice.
                let first = templates.render_named("sns.default.message", &data);
                let second = templates.render_named("sns.default.message", &data);
                assert_eq!(first, second);
                if let Err(e) = &first {
                    check_error(e, &text);
                }
            }
            Err(e) => check_error(&e, &text),
        }
    }
    let first = templates.render_str(&text, &data);
    match &first {
        Ok(_) => {}
        Err(e) => check_error(e, &text),
    }
    assert_eq!(
        first,
        templates.render_str(&text, &data),
        "rendering is not deterministic"
    );
});
