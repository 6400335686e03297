//! A Lambda Function URL invocation (payload format 2.0) as an [`ApiRequest`], and
//! an [`ApiResponse`] as the response object Lambda turns back into HTTP.

use base64::Engine;
use serde_json::{json, Value};

use super::request::{ApiRequest, ApiResponse};

/// Whether an invocation event is a Function URL request (it has
/// `requestContext.http`).
pub fn is_function_url_event(event: &Value) -> bool {
    event
        .get("requestContext")
        .and_then(|c| c.get("http"))
        .is_some()
}

/// The request in a Function URL event; a body marked base64 that does not decode
/// is refused with a 400.
pub fn function_url_request(event: &Value) -> Result<ApiRequest, ApiResponse> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let http = event.get("requestContext").and_then(|c| c.get("http"));
    let body = text(event.get("body"));
    let body = if event
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| ApiResponse::error(400, format!("body: not base64: {e}")))?
    } else {
        body.into_bytes()
    };
    Ok(ApiRequest {
        method: text(http.and_then(|h| h.get("method"))).to_ascii_uppercase(),
        path: text(event.get("rawPath")),
        query: ApiRequest::parse_query(
            event
                .get("rawQueryString")
                .and_then(Value::as_str)
                .unwrap_or(""),
        ),
        body,
    })
}

/// The Function URL response object for `response`.
pub fn function_url_response(response: &ApiResponse) -> Value {
    let mut out = json!({
        "statusCode": response.status,
        "isBase64Encoded": false,
        "body": response.body_text(),
    });
    if response.body.is_some() {
        out["headers"] = json!({"content-type": "application/json"});
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_url_event_becomes_a_request() {
        let event = json!({
            "version": "2.0",
            "rawPath": "/api/v2/silences",
            "rawQueryString": "filter=alertname%3D%22A%22&filter=b%3D%22c%22",
            "requestContext": {"http": {"method": "post", "path": "/api/v2/silences"}},
            "body": base64::engine::general_purpose::STANDARD.encode("{}"),
            "isBase64Encoded": true
        });
        assert!(is_function_url_event(&event));
        let request = function_url_request(&event).expect("request");
        assert_eq!(request.method, "POST");
        assert_eq!(request.all("filter"), vec!["alertname=\"A\"", "b=\"c\""]);
        assert_eq!(request.body, b"{}");
        let response = function_url_response(&ApiResponse::error(400, "bad"));
        assert_eq!(response["statusCode"], 400);
        assert_eq!(response["body"], "\"bad\"");
        assert!(!is_function_url_event(&json!({"Records": []})));
    }
}
