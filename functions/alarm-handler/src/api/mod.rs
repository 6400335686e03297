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
        ("GET", "/status") => return status::status(&handler.config, now),
        ("GET", "/alerts") => return alerts::list(handler, request, now).await,
        ("POST", "/alerts") => return alerts::post(handler, request, now).await,
        ("GET", "/alerts/groups") => return alerts::groups(handler, request, now).await,
        _ => {}
    }
    let silence_id = path.strip_prefix("/silence/");
    match (method, path, silence_id, &handler.silences) {
        ("GET", "/silences", _, Some(store)) => silences::list(store, request, now).await,
        ("POST", "/silences", _, Some(store)) => silences::post(store, request, now).await,
        ("GET", _, Some(id), Some(store)) => silences::get(store, id, now).await,
        ("DELETE", _, Some(id), Some(store)) => silences::delete(store, id, now).await,
        (_, "/status" | "/alerts" | "/alerts/groups" | "/silences", _, _) | (_, _, Some(_), _) => {
            ApiResponse::error(
                405,
                format!("method {method} not allowed on {}", request.path),
            )
        }
        _ => ApiResponse::error(404, format!("path {} not found", request.path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(method: &str, path: &str) -> ApiResponse {
        let config = crate::Config::parse("route: {receiver: a}\nreceivers: [{name: a}]\n", None)
            .expect("config");
        let aws = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let mut handler = Handler::new(config, &aws).expect("handler");
        let request = ApiRequest {
            method: method.into(),
            path: path.into(),
            ..ApiRequest::default()
        };
        respond(&mut handler, &request, Utc::now()).await
    }

    #[tokio::test]
    async fn unknown_paths_methods_and_missing_tables_are_named() {
        assert_eq!(answer("GET", "/api/v2/status").await.status, 200);
        assert_eq!(answer("GET", "/api/v2/status/").await.status, 200);
        assert_eq!(answer("POST", "/api/v2/status").await.status, 405);
        assert_eq!(answer("PUT", "/api/v2/alerts").await.status, 405);
        assert_eq!(answer("GET", "/api/v1/alerts").await.status, 404);
        assert_eq!(answer("GET", "/api/v2/receivers").await.status, 404);
        let no_table = answer("GET", "/api/v2/silences").await;
        assert_eq!(no_table.status, 500);
        assert!(no_table.body_text().contains("state_table"), "{no_table:?}");
    }
}
