//! The subset of Alertmanager's v2 API that amtool, Grafana and Prometheus use,
//! served by the alarm-handler itself (behind a Lambda Function URL, or on loopback
//! with `--serve`): silences, the alerts and their groups, the status, and `POST
//! /api/v2/alerts` so senders can skip SNS. Shapes follow Alertmanager's
//! `api/v2/openapi.yaml` (`models.rs`); each endpoint family is in its own file.

mod alerts;
mod filter;
mod function_url;
mod models;
mod request;
mod silences;
mod status;

use chrono::{DateTime, Utc};

pub use function_url::{function_url_request, function_url_response, is_function_url_event};
pub use models::api_time;
pub use request::{ApiRequest, ApiResponse};
pub use status::{mark_start, masked_config};

use crate::handler::Handler;

const PREFIX: &str = "/api/v2";

/// Answers one API request at `now`.
pub async fn respond(
    handler: &mut Handler,
    request: &ApiRequest,
    now: DateTime<Utc>,
) -> ApiResponse {
    let path = request.path.trim_end_matches('/');
    let Some(path) = path.strip_prefix(PREFIX) else {
        return ApiResponse::error(404, format!("path {} not found", request.path));
    };
    let method = request.method.as_str();
    let needs_silences = path == "/silences" || path.starts_with("/silence/");
    if needs_silences && handler.silences.is_none() {
        return ApiResponse::error(
            500,
            "alarm_handler.state_table is not set: silences need it",
        );
    }
    match (method, path) {
        ("GET", "/status") => status::status(&handler.config, now),
        ("GET", "/alerts") => alerts::list(handler, request, now).await,
        ("POST", "/alerts") => alerts::post(handler, request, now).await,
        ("GET", "/alerts/groups") => alerts::groups(handler, request, now).await,
        (_, "/silences") | (_, "/alerts") | (_, "/alerts/groups") | (_, "/status")
            if !matches!(method, "GET" | "POST") =>
        {
            ApiResponse::error(405, format!("method {method} not allowed"))
        }
        _ => match (&handler.silences, method, path.strip_prefix("/silence/")) {
            (Some(store), "GET", None) if path == "/silences" => {
                silences::list(store, request, now).await
            }
            (Some(store), "POST", None) if path == "/silences" => {
                silences::post(store, request, now).await
            }
            (Some(store), "GET", Some(id)) => silences::get(store, id, now).await,
            (Some(store), "DELETE", Some(id)) => silences::delete(store, id, now).await,
            _ => ApiResponse::error(404, format!("path {} not found", request.path)),
        },
    }
}
