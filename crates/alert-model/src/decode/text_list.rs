//! The default *text* messages of Grafana (`**Firing**` / `**Resolved**` sections,
//! `Value:`, `Labels:`, `Annotations:`, `Source:`, `Silence:` ...) and Alertmanager
//! (`Alerts Firing:` / `Alerts Resolved:` sections with `Labels:`, `Annotations:`,
//! `Source:`): both list alerts as ` - name = value` lines, so one reader serves both.

use std::collections::BTreeMap;

use super::{generic, Decoded, Format};
use crate::alert::{Alert, Status};

#[derive(Default)]
struct Block {
    status: Option<Status>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    values: BTreeMap<String, f64>,
    urls: BTreeMap<&'static str, String>,
    seen_labels: bool,
    /// `Annotations:` (or a URL line) followed the labels: the label list is whole.
    labels_done: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    None,
    Labels,
    Annotations,
}

/// `A=1234, B=5` (Grafana's values line); `[no value]` gives none.
fn parse_values(text: &str) -> BTreeMap<String, f64> {
    text.split(", ")
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let value: f64 = value.trim().parse().ok()?;
            value.is_finite().then(|| (name.trim().to_string(), value))
        })
        .collect()
}

/// Status from a subject like `[FIRING:3, RESOLVED:1] ...` or `[RESOLVED] ...`.
fn subject_status(subject: Option<&str>) -> Option<Status> {
    let s = subject?.trim_start();
    if s.starts_with("[FIRING") {
        Some(Status::Firing)
    } else if s.starts_with("[RESOLVED") {
        Some(Status::Resolved)
    } else {
        None
    }
}

/// Decodes a Grafana or Alertmanager default text message; `None` when the body is
/// neither. When the sender says it `truncated` the body, a last alert cut inside
/// its label list is left out (its labels, hence its identity, are unknown).
pub fn decode(subject: Option<&str>, body: &str, truncated: bool) -> Option<Decoded> {
    let grafana = body.contains("**Firing**") || body.contains("**Resolved**");
    let alertmanager = body.contains("Alerts Firing:") || body.contains("Alerts Resolved:");
    if !(grafana || alertmanager) || !body.contains("Labels:") {
        return None;
    }
    let format = if grafana {
        Format::GrafanaText
    } else {
        Format::AlertmanagerText
    };
    let mut status = subject_status(subject);
    let mut blocks: Vec<Block> = Vec::new();
    let mut mode = Mode::None;
    let mut last_annotation: Option<String> = None;
    for raw in body.lines() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        match trimmed {
            "**Firing**" | "Alerts Firing:" => {
                status = Some(Status::Firing);
                mode = Mode::None;
                continue;
            }
            "**Resolved**" | "Alerts Resolved:" => {
                status = Some(Status::Resolved);
                mode = Mode::None;
                continue;
            }
            _ => {}
        }
        if let Some(values) = trimmed.strip_prefix("Value:") {
            blocks.push(Block {
                status,
                values: parse_values(values.trim()),
                ..Block::default()
            });
            mode = Mode::None;
            continue;
        }
        if trimmed == "Labels:" {
            let start_new = !matches!(blocks.last(), Some(b) if !b.seen_labels);
            if start_new {
                blocks.push(Block {
                    status,
                    ..Block::default()
                });
            }
            if let Some(block) = blocks.last_mut() {
                block.seen_labels = true;
            }
            mode = Mode::Labels;
            continue;
        }
        if trimmed == "Annotations:" {
            if let Some(block) = blocks.last_mut() {
                block.labels_done = true;
            }
            mode = Mode::Annotations;
            continue;
        }
        let url_kinds: [(&str, &'static str); 4] = [
            ("Source:", "source"),
            ("Silence:", "silence_url"),
            ("Dashboard:", "dashboard_url"),
            ("Panel:", "panel_url"),
        ];
        if let Some((prefix, key)) = url_kinds.iter().find(|(p, _)| trimmed.starts_with(p)) {
            if let Some(block) = blocks.last_mut() {
                block.labels_done = true;
                block
                    .urls
                    .insert(key, trimmed[prefix.len()..].trim().to_string());
            }
            mode = Mode::None;
            continue;
        }
        if let Some(pair) = line.strip_prefix(" - ") {
            if let (Some(block), Some((name, value))) = (blocks.last_mut(), pair.split_once(" = "))
            {
                match mode {
                    Mode::Labels => {
                        block.labels.insert(name.to_string(), value.to_string());
                    }
                    Mode::Annotations => {
                        block
                            .annotations
                            .insert(name.to_string(), value.to_string());
                        last_annotation = Some(name.to_string());
                    }
                    Mode::None => {}
                }
                continue;
            }
        }
        // A line that continues a multi-line annotation value.
        if mode == Mode::Annotations {
            if let (Some(block), Some(name)) = (blocks.last_mut(), &last_annotation) {
                if let Some(value) = block.annotations.get_mut(name) {
                    value.push('\n');
                    value.push_str(line);
                }
            }
        }
    }
    let source = if grafana { "grafana" } else { "alertmanager" };
    let mut warnings = Vec::new();
    if truncated && blocks.last().is_some_and(|b| !b.labels_done) {
        blocks.pop();
        warnings.push("the last alert was cut off inside its labels and is skipped".to_string());
    }
    let alerts: Vec<Alert> = blocks
        .into_iter()
        .filter(|b| !b.labels.is_empty())
        .map(|b| {
            let mut labels = b.labels;
            labels.insert("source".into(), source.into());
            let mut alert = Alert::new(labels, b.status.unwrap_or(Status::Firing));
            alert.annotations = b.annotations;
            alert.values = b.values;
            for (key, url) in b.urls {
                if url.is_empty() {
                    continue;
                }
                if key == "source" {
                    alert.generator_url = Some(url);
                } else {
                    alert.annotations.insert(key.to_string(), url);
                }
            }
            alert
        })
        .collect();
    if alerts.is_empty() {
        warnings.push(format!(
            "{} text without any labelled alert",
            format.as_str()
        ));
        let mut decoded = generic::decode(subject, body, None);
        decoded.warnings.extend(warnings);
        return Some(decoded);
    }
    let alerts = alerts
        .into_iter()
        .map(|mut a| {
            if !a.labels.contains_key("alertname") {
                a.labels.insert("alertname".into(), "UnnamedAlert".into());
                warnings.push("an alert without alertname".to_string());
            }
            a
        })
        .collect();
    Some(Decoded {
        format,
        alerts,
        warnings,
    })
}
