//! An HTTP request to the Alertmanager API and its response, independent of how
//! they arrived (a Lambda Function URL event, or the local HTTP mode), so both
//! share one implementation.

use serde::Serialize;
use serde_json::Value;

/// A request as the API sees it.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    /// `GET`, `POST`, `DELETE`, ...
    pub method: String,
    /// The path, e.g. `/api/v2/silences` (no query string).
    pub path: String,
    /// Decoded query parameters in order; a repeated name appears once per value.
    pub query: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl ApiRequest {
    /// Splits a raw query string (`a=1&filter=x%3D%22y%22`) into decoded pairs.
    pub fn parse_query(raw: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// Every value of query parameter `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The last value of `name`.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response: status and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body; `None` for an empty body.
    pub body: Option<Value>,
}

impl ApiResponse {
    /// 200 with `body`.
    pub fn ok(body: impl Serialize) -> ApiResponse {
        match serde_json::to_value(body) {
            Ok(body) => ApiResponse {
                status: 200,
                body: Some(body),
            },
            Err(e) => ApiResponse::error(500, format!("cannot encode the response: {e}")),
        }
    }

    /// `status` with no body.
    pub fn empty(status: u16) -> ApiResponse {
        ApiResponse { status, body: None }
    }

    /// Alertmanager's error shape for errors its handlers raise: the message as a
    /// JSON string.
    pub fn error(status: u16, message: impl Into<String>) -> ApiResponse {
        ApiResponse {
            status,
            body: Some(Value::String(message.into())),
        }
    }

    /// Alertmanager's error shape for a request that does not fit the API's schema
    /// (go-openapi's): `{"code": .., "message": ..}`; 400 for a body that is not
    /// JSON, 422 for JSON of the wrong shape.
    pub fn validation(status: u16, code: u16, message: impl Into<String>) -> ApiResponse {
        ApiResponse {
            status,
            body: Some(serde_json::json!({"code": code, "message": message.into()})),
        }
    }

    /// The body as sent on the wire (empty for no body).
    pub fn body_text(&self) -> String {
        self.body.as_ref().map(Value::to_string).unwrap_or_default()
    }
}
