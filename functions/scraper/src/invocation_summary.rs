//! An invocation's response and summary line: the run's summary, plus how much of the
//! run's set-up a warm container reused (`prepared`), which shows whether warm
//! invocations are paying only for the work itself.

use serde::Serialize;

use crate::summary::RunSummary;
use crate::warm::PreparedReport;

/// The response of one invocation.
#[derive(Debug, Clone, Serialize)]
pub struct InvocationSummary {
    /// What the run did, flattened into the JSON.
    #[serde(flatten)]
    pub run: RunSummary,
    /// What was reused from the container's previous run.
    pub prepared: PreparedReport,
}

impl function_cli::Figures for InvocationSummary {
    fn figures(&self) -> Vec<function_cli::MetricSet> {
        self.run.figures()
    }

    fn logged_summary(&self) -> Option<serde_json::Value> {
        let mut logged = self.run.logged_summary()?;
        if let (Some(fields), Ok(prepared)) =
            (logged.as_object_mut(), serde_json::to_value(self.prepared))
        {
            fields.insert("prepared".into(), prepared);
        }
        Some(logged)
    }
}
