//! Log lines checked as CloudWatch Logs' Embedded Metric Format extraction reads
//! them, by `scripts/check_emf.py` (the specification's document structure as JSON
//! Schema, plus its target-member rules), so a test asserts on what CloudWatch would
//! extract rather than on how the function wrote it.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::services::{venv_python, workspace_root};

/// One EMF document found in the lines: its line number, extracted metrics (name to
/// value), dimensions (name to value) and `message` member.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub line: u64,
    pub metrics: serde_json::Map<String, Value>,
    pub dimensions: serde_json::Map<String, Value>,
    pub message: Option<String>,
}

/// Checks every line of `log` (one log event per line); panics naming the line and
/// the rule when an `_aws` line is not a valid EMF document. Plain JSON lines pass
/// and are not returned.
pub fn extract(log: &str) -> Vec<Extracted> {
    let mut child = Command::new(venv_python())
        .arg(workspace_root().join("scripts/check_emf.py"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the virtualenv's Python runs scripts/check_emf.py (run scripts/setup.sh)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(log.as_bytes())
        .expect("log written to the checker");
    let output = child.wait_with_output().expect("checker ends");
    assert!(
        output.status.success(),
        "not valid EMF: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("the checker prints JSON lines");
            Extracted {
                line: v["line"].as_u64().unwrap_or(0),
                metrics: v["metrics"].as_object().cloned().unwrap_or_default(),
                dimensions: v["dimensions"].as_object().cloned().unwrap_or_default(),
                message: v["message"].as_str().map(str::to_string),
            }
        })
        .collect()
}
