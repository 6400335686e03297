//! What one invocation asks for, told apart by the event's shape: an Alertmanager
//! API request (a Lambda Function URL event), the scheduled flush of due groups
//! (`{"alarm_handler": "flush"}`, the template's schedule), or alerts (SNS,
//! EventBridge, anything else). The [`Outcome`] is what Lambda returns: the
//! invocation summary, or for an API request the HTTP response object.

use chrono::{DateTime, Utc};
use function_cli::{Figures, MetricSet};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::api::ApiResponse;
use crate::api::{self, function_url_request, function_url_response, is_function_url_event};
use crate::summary::Summary;

/// What an invocation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationKind {
    /// An Alertmanager API request through the Function URL.
    Api,
    /// The scheduled flush of due groups.
    Flush,
    /// Alerts to route.
    Alerts,
}

/// The flush schedule's event.
pub const FLUSH_EVENT: &str = r#"{"alarm_handler": "flush"}"#;

/// Tells the kinds apart.
pub fn kind_of(event: &Value) -> InvocationKind {
    if is_function_url_event(event) {
        InvocationKind::Api
    } else if event.get("alarm_handler").and_then(Value::as_str) == Some("flush") {
        InvocationKind::Flush
    } else {
        InvocationKind::Alerts
    }
}

/// An API request's outcome: the response, and what to log about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiOutcome {
    /// `METHOD /path`.
    pub request: String,
    /// The response.
    pub response: ApiResponse,
}

/// What an invocation returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Alerts routed or groups flushed.
    Summary(Box<Summary>),
    /// An API request answered.
    Api(ApiOutcome),
}

impl Outcome {
    /// The summary, when the invocation had alerts or a flush.
    pub fn summary(&self) -> Option<&Summary> {
        match self {
            Outcome::Summary(summary) => Some(summary.as_ref()),
            Outcome::Api(_) => None,
        }
    }
}

/// A summary serialises as itself; an API outcome as the Function URL response
/// object, which Lambda turns into the HTTP response.
impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Outcome::Summary(summary) => summary.serialize(serializer),
            Outcome::Api(api) => function_url_response(&api.response).serialize(serializer),
        }
    }
}

/// An API request counts as `ApiRequests` (and `ApiErrors` for a 5xx, the
/// function's fault rather than the caller's).
impl Figures for Outcome {
    fn figures(&self) -> Vec<MetricSet> {
        match self {
            Outcome::Summary(summary) => summary.figures(),
            Outcome::Api(api) => vec![MetricSet::new()
                .count("ApiRequests", 1)
                .count("ApiErrors", u64::from(api.response.status >= 500))],
        }
    }
}

/// The API request in a Function URL event, answered at `now`.
pub async fn answer(
    handler: &mut crate::handler::Handler,
    event: &Value,
    now: DateTime<Utc>,
) -> ApiOutcome {
    match function_url_request(event) {
        Ok(request) => ApiOutcome {
            request: format!("{} {}", request.method, request.path),
            response: Box::pin(api::respond(handler, &request, now)).await,
        },
        Err(response) => ApiOutcome {
            request: "(unreadable request)".into(),
            response,
        },
    }
}
