//! The one JSON line each Lambda invocation logs, and the figures it carries.
//!
//! Why the figures ride on the summary line: the pipeline's health must not depend on
//! the AMP workspace it reports to. When AMP is down the scraper's own series never
//! arrive, but CloudWatch Logs still extracts Embedded Metric Format members from the
//! summary line into CloudWatch metrics, with no API call and nothing else to fail,
//! and the template's alarms watch those metrics. One line also keeps each figure next
//! to the summary that explains it in Logs Insights.

use serde::Serialize;
use serde_json::Value;

use crate::emf::{emf_document, emf_lines, Figures};

/// The one JSON line logged per invocation without figures:
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

/// The invocation's log lines for function `function`: first the summary line, which
/// is also an EMF document carrying the summary's function-level figures (the first
/// set of [`Figures::figures`] when it has no other dimension), then one EMF line per
/// remaining set (per receiver, say).
pub fn summary_line_with_figures<S: Serialize + Figures>(
    ok: bool,
    function: &str,
    summary: &S,
    timestamp_ms: u64,
) -> Vec<String> {
    let logged = match summary.logged_summary() {
        Some(compact) => compact,
        None => serde_json::to_value(summary)
            .unwrap_or_else(|e| Value::String(format!("the summary does not serialize: {e}"))),
    };
    let mut sets = summary.figures();
    let carried = match sets.first() {
        Some(first) if first.dimensions.is_empty() && !first.values.is_empty() => {
            Some(sets.remove(0))
        }
        _ => None,
    };
    let mut root = match &carried {
        Some(set) => emf_document(function, set, timestamp_ms),
        None => serde_json::Map::new(),
    };
    root.insert(
        "level".into(),
        Value::from(if ok { "INFO" } else { "ERROR" }),
    );
    root.insert("message".into(), Value::from("invocation summary"));
    root.insert("summary".into(), logged);
    let mut lines = vec![Value::Object(root).to_string()];
    lines.extend(emf_lines(function, &sets, timestamp_ms));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emf::{MetricSet, NAMESPACE};

    #[test]
    fn summary_line_nests_the_summary() {
        let line = summary_line(false, &serde_json::json!({"errors": 1}));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["level"], "ERROR");
        assert_eq!(value["message"], "invocation summary");
        assert_eq!(value["summary"]["errors"], 1);
    }

    #[derive(Serialize)]
    struct Run {
        sent: u64,
        per_target: Vec<u64>,
    }

    impl Figures for Run {
        fn figures(&self) -> Vec<MetricSet> {
            vec![
                MetricSet::new().count("SamplesSent", self.sent),
                MetricSet::with_dimension("Receiver", "ops").count("DeliveriesSent", 2),
            ]
        }
        fn logged_summary(&self) -> Option<Value> {
            Some(serde_json::json!({ "sent": self.sent }))
        }
    }

    #[test]
    fn the_summary_line_carries_the_function_level_figures_and_the_rest_follow() {
        let run = Run {
            sent: 7,
            per_target: vec![1, 2],
        };
        let lines = summary_line_with_figures(true, "scraper", &run, 1_700_000_000_000);
        assert_eq!(lines.len(), 2);
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first["message"], "invocation summary");
        assert_eq!(first["level"], "INFO");
        assert_eq!(
            first["summary"],
            serde_json::json!({"sent": 7}),
            "the logged form"
        );
        assert_eq!(first["SamplesSent"], 7.0);
        assert_eq!(first["Function"], "scraper");
        assert_eq!(
            first["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            NAMESPACE
        );
        let second: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(second["Receiver"], "ops");
        assert!(second.get("summary").is_none());
        assert_eq!(run.per_target.len(), 2);
    }

    #[test]
    fn a_summary_without_figures_is_a_plain_line() {
        let lines = summary_line_with_figures(false, "scaler", &Value::Null, 0);
        assert_eq!(lines.len(), 1);
        let only: Value = serde_json::from_str(&lines[0]).unwrap();
        assert!(only.get("_aws").is_none());
        assert_eq!(only["summary"], Value::Null);
        assert_eq!(only["level"], "ERROR");
    }
}
