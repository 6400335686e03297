//! `GET/POST /api/v2/silences` and `GET/DELETE /api/v2/silence/{id}`, with
//! Alertmanager's statuses: a body that is not JSON is 400, JSON of the wrong shape
//! 422, a silence Alertmanager would refuse 400 with its message, an unknown id 404
//! (500 on `DELETE`, as Alertmanager 0.25 answers).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::filter::{filters, silence_matches};
use super::models::{GettableSilence, PostableSilence};
use super::request::{ApiRequest, ApiResponse};
use crate::silences::{sort_for_listing, Silence, SilenceError, SilenceStore, SilenceStoreError};

fn store_error(e: SilenceStoreError) -> ApiResponse {
    match e {
        SilenceStoreError::Refused(SilenceError::NotFound(_)) => {
            ApiResponse::error(404, "silence not found")
        }
        SilenceStoreError::Refused(e) => ApiResponse::error(400, e.to_string()),
        e @ SilenceStoreError::Table { .. } => ApiResponse::error(500, e.to_string()),
    }
}

/// `GET /api/v2/silences`.
pub async fn list(store: &SilenceStore, request: &ApiRequest, now: DateTime<Utc>) -> ApiResponse {
    let filters = match filters(request) {
        Ok(f) => f,
        Err(response) => return response,
    };
    let mut silences = match store.list(now).await {
        Ok((silences, _)) => silences,
        Err(e) => return store_error(e),
    };
    silences.retain(|s| silence_matches(s, &filters));
    sort_for_listing(&mut silences, now);
    let listed: Vec<GettableSilence> = silences
        .iter()
        .map(|s| GettableSilence::new(s, now))
        .collect();
    ApiResponse::ok(listed)
}

/// `POST /api/v2/silences`: create, or change the silence `id` names.
pub async fn post(store: &SilenceStore, request: &ApiRequest, now: DateTime<Utc>) -> ApiResponse {
    let value: Value = match serde_json::from_slice(&request.body) {
        Ok(v) => v,
        Err(e) => {
            return ApiResponse::validation(
                400,
                400,
                format!("parsing silence body from \"\" failed, because {e}"),
            )
        }
    };
    let posted: PostableSilence = match serde_json::from_value(value) {
        Ok(p) => p,
        Err(e) => return ApiResponse::validation(422, 602, format!("silence: {e}")),
    };
    if posted.matchers.is_empty() {
        return ApiResponse::validation(422, 612, "matchers in body should have at least 1 items");
    }
    if posted.starts_at >= posted.ends_at {
        return ApiResponse::error(
            400,
            "Failed to create silence: start time must be before end time",
        );
    }
    if posted.ends_at < now {
        return ApiResponse::error(
            400,
            "Failed to create silence: end time can't be in the past",
        );
    }
    let silence = Silence {
        id: posted.id.unwrap_or_default(),
        matchers: posted.matchers,
        starts_at: posted.starts_at,
        ends_at: posted.ends_at,
        updated_at: now,
        created_by: posted.created_by,
        comment: posted.comment,
    };
    match store.set(silence, now).await {
        Ok(id) => ApiResponse::ok(serde_json::json!({ "silenceID": id })),
        Err(e) => store_error(e),
    }
}

/// A path id must be a UUID, as the spec says (422 otherwise).
fn checked_id(id: &str) -> Result<&str, ApiResponse> {
    uuid::Uuid::parse_str(id).map(|_| id).map_err(|_| {
        ApiResponse::validation(
            422,
            601,
            format!("silenceID in path must be of type uuid: \"{id}\""),
        )
    })
}

/// `GET /api/v2/silence/{id}`.
pub async fn get(store: &SilenceStore, id: &str, now: DateTime<Utc>) -> ApiResponse {
    let id = match checked_id(id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match store.get(id).await {
        Ok(Some(silence)) => ApiResponse::ok(GettableSilence::new(&silence, now)),
        Ok(None) => ApiResponse::empty(404),
        Err(e) => store_error(e),
    }
}

/// `DELETE /api/v2/silence/{id}`: expire it.
pub async fn delete(store: &SilenceStore, id: &str, now: DateTime<Utc>) -> ApiResponse {
    let id = match checked_id(id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match store.expire(id, now).await {
        Ok(()) => ApiResponse::empty(200),
        Err(SilenceStoreError::Refused(SilenceError::NotFound(_))) => {
            ApiResponse::error(500, "silence not found")
        }
        Err(e) => store_error(e),
    }
}
