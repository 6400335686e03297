//! AWS Signature Version 4 for the requests our functions make outside the AWS SDK:
//! remote write to AMP (service `aps`) now, and the EKS bearer token (a presigned STS
//! `GetCallerIdentity`) for the scaler. The signing algorithm itself is `aws-sigv4`'s;
//! this crate only fixes the settings these uses need so the result matches what
//! Prometheus' sigv4 round tripper, botocore and `aws eks get-token` produce (checked
//! against botocore vectors and AWS' own SigV4 suite in `tests/`).
//!
//! Typical use (AMP remote write):
//!
//! ```
//! use std::time::SystemTime;
//! use aws_credential_types::Credentials;
//! use aws_signing::{clean_url, sign_request, RequestToSign};
//!
//! let creds = Credentials::new("AKID", "SECRET", None, None, "example");
//! // Send to exactly this URL: it is the one that gets signed.
//! let url = clean_url("https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1//api/v1/remote_write")?;
//! let body = b"snappy-compressed protobuf";
//! let headers = [("Content-Encoding", "snappy"), ("Content-Type", "application/x-protobuf")];
//! let added = sign_request(
//!     &RequestToSign { method: "POST", url: &url, headers: &headers, body },
//!     &creds,
//!     "us-west-2",
//!     "aps",
//!     SystemTime::now(),
//! )?;
//! assert!(added.iter().any(|(name, _)| name == "authorization"));
//! # Ok::<(), aws_signing::SigningError>(())
//! ```

mod eks_token;
mod path_clean;

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SigningInstructions, SigningSettings,
};
use aws_sigv4::sign::v4;

pub use eks_token::{presign_eks_token, EKS_TOKEN_EXPIRES_SECONDS, EKS_TOKEN_PREFIX};
pub use path_clean::{clean_path, clean_url};

/// A request about to be sent, in the form signing needs. Borrowed, so the caller
/// keeps ownership of its (possibly large) body and builds its own HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    /// HTTP method, e.g. `"POST"`.
    pub method: &'a str,
    /// Absolute `http`/`https` URL. [`sign_request`] signs [`clean_url`] of it, so the
    /// caller must send `clean_url(url)` (identical when the path is already clean).
    pub url: &'a str,
    /// Headers that will be sent. `Host` is derived from the URL unless given here;
    /// [`UNSIGNED_HEADERS`] are accepted but left out of the signature.
    pub headers: &'a [(&'a str, &'a str)],
    /// The exact body bytes that will be sent; its SHA-256 is the signed payload hash.
    pub body: &'a [u8],
}

/// Why a request could not be signed. Each variant names the offending input so a
/// misconfiguration (bad remote-write URL, bad extra header) is obvious in logs.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The URL is not an absolute `http`/`https` URL with a host.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A header name or value cannot be sent (and so cannot be signed).
    #[error("invalid header {name:?}: {reason}")]
    Header {
        /// The header name as given.
        name: String,
        /// What is wrong with the name or value (the value itself is not repeated:
        /// it may be a secret).
        reason: String,
    },
    /// Method, region, service or time cannot be used in a signature.
    #[error("invalid signing parameter: {0}")]
    Parameter(String),
    /// `aws-sigv4` refused to sign (should not happen once the inputs are validated).
    #[error("cannot sign request: {0}")]
    Sign(String),
}

/// Headers never signed, whatever the caller passes: proxies, SDKs and tracers change
/// or drop them on the way, so signing them would break verification. This is the
/// union of what aws-sdk-go-v2 (used by Prometheus) and botocore leave out, plus
/// `uber-trace-id`, which Prometheus' round tripper removes before signing.
pub const UNSIGNED_HEADERS: [&str; 6] = [
    "authorization",
    "user-agent",
    "x-amzn-trace-id",
    "expect",
    "transfer-encoding",
    "uber-trace-id",
];

/// Signs `request` in the `Authorization` header and returns the headers to add, with
/// lower-case names: `authorization`, `x-amz-date`, and `x-amz-security-token` when the
/// credentials carry a session token (that header is also signed, as AMP and STS
/// expect). The payload hash is SHA-256 of the body; no `x-amz-content-sha256` header
/// is added, as for botocore and Prometheus with service `aps` (only S3-style services
/// need it).
///
/// The URL path is cleaned like Go's `path.Clean` before signing, as Prometheus does;
/// send the request to [`clean_url`]`(request.url)`, or the signature will not match.
pub fn sign_request(
    request: &RequestToSign<'_>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, SigningError> {
    let url = clean_url(request.url)?;
    let instructions = sign_with(
        request.method,
        &url,
        request.headers,
        request.body,
        credentials,
        region,
        service,
        time,
        SigningSettings::default(),
    )?;
    let (signed_headers, _query) = instructions.into_parts();
    Ok(signed_headers
        .into_iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect())
}

/// Validates every input, then signs with `settings` (plus our [`UNSIGNED_HEADERS`])
/// and returns what to add to the request: headers or query parameters, depending on
/// the settings' signature location. Shared by header signing and EKS presigning so
/// both get the same checks.
#[allow(clippy::too_many_arguments)]
fn sign_with(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
    mut settings: SigningSettings,
) -> Result<SigningInstructions, SigningError> {
    check_method(method)?;
    check_scope_part("region", region)?;
    check_scope_part("service", service)?;
    check_time(time)?;
    check_url(url)?;
    for (name, value) in headers {
        check_header(name, value)?;
    }
    settings.excluded_headers = Some(UNSIGNED_HEADERS.iter().map(|h| Cow::Borrowed(*h)).collect());

    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| SigningError::Sign(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| SigningError::Url {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| SigningError::Sign(e.to_string()))?
        .into_parts();
    Ok(instructions)
}

fn check_method(method: &str) -> Result<(), SigningError> {
    http::Method::from_bytes(method.as_bytes())
        .map(|_| ())
        .map_err(|_| SigningError::Parameter(format!("invalid HTTP method {method:?}")))
}

/// Region and service become parts of the `/`-separated credential scope (and the
/// region part of the STS host name), so they must be non-empty and free of `/`,
/// whitespace and other punctuation.
fn check_scope_part(what: &str, value: &str) -> Result<(), SigningError> {
    if value.is_empty() {
        return Err(SigningError::Parameter(format!("{what} is empty")));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(SigningError::Parameter(format!(
            "{what} {value:?} has characters other than letters, digits, '-', '_' and '.'"
        )));
    }
    Ok(())
}

/// Latest instant `aws-sigv4` can format (9999-12-31T23:59:59Z); it panics beyond it.
const MAX_SIGNING_SECS: u64 = 253_402_300_799;

fn check_time(time: SystemTime) -> Result<(), SigningError> {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) if since <= Duration::from_secs(MAX_SIGNING_SECS) => Ok(()),
        _ => Err(SigningError::Parameter(format!(
            "signing time {time:?} is outside 1970..=9999"
        ))),
    }
}

/// `aws-sigv4` panics on a URL without an authority, so reject those (and anything
/// that is not plain `http`/`https`) up front.
fn check_url(url: &str) -> Result<(), SigningError> {
    let fail = |reason: String| SigningError::Url {
        url: url.to_string(),
        reason,
    };
    let uri: http::Uri = url.parse().map_err(|e| fail(format!("{e}")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => return Err(fail(format!("scheme {other:?} is not http or https"))),
        None => return Err(fail("not an absolute URL".to_string())),
    }
    let authority = uri.authority().ok_or_else(|| fail("no host".to_string()))?;
    if authority.host().is_empty() {
        return Err(fail("no host".to_string()));
    }
    if authority.as_str().contains('@') {
        return Err(fail("user info in the URL is not supported".to_string()));
    }
    Ok(())
}

fn check_header(name: &str, value: &str) -> Result<(), SigningError> {
    let fail = |reason: &str| SigningError::Header {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| fail("not a valid header name"))?;
    http::HeaderValue::from_str(value)
        .map_err(|_| fail("value has control or non-ASCII characters"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(token: Option<&str>) -> Credentials {
        Credentials::new("AKID", "SECRET", token.map(str::to_owned), None, "unit")
    }

    fn sign_at(url: &str, headers: &[(&str, &str)]) -> Result<Vec<(String, String)>, SigningError> {
        sign_request(
            &RequestToSign {
                method: "POST",
                url,
                headers,
                body: b"body",
            },
            &creds(None),
            "us-west-2",
            "aps",
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
    }

    #[test]
    fn signs_the_cleaned_path() {
        let dirty = sign_at("https://h.example/w//api/./v1/write", &[]);
        let clean = sign_at("https://h.example/w/api/v1/write", &[]);
        assert!(dirty.is_ok());
        assert_eq!(dirty.ok(), clean.ok());
    }

    #[test]
    fn unsigned_headers_do_not_change_the_signature() {
        let plain = sign_at("https://h.example/write", &[("content-type", "a/b")]);
        let noisy = sign_at(
            "https://h.example/write",
            &[
                ("content-type", "a/b"),
                ("User-Agent", "x/1"),
                ("X-Amzn-Trace-Id", "Root=1"),
                ("Expect", "100-continue"),
                ("Authorization", "stale"),
                ("uber-trace-id", "abc"),
            ],
        );
        assert!(plain.is_ok());
        assert_eq!(plain.ok(), noisy.ok());
    }

    #[test]
    fn session_token_is_added_and_signed() {
        let signed = sign_request(
            &RequestToSign {
                method: "POST",
                url: "https://h.example/write",
                headers: &[],
                body: b"",
            },
            &creds(Some("TOKEN")),
            "us-west-2",
            "aps",
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
        .unwrap_or_default();
        let mut names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["authorization", "x-amz-date", "x-amz-security-token"]
        );
        let authorization = signed.iter().find(|(n, _)| n == "authorization");
        assert!(authorization.is_some_and(
            |(_, v)| v.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,")
        ));
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        assert!(matches!(
            sign_at("/relative/path", &[]),
            Err(SigningError::Url { .. })
        ));
        assert!(matches!(
            sign_at("ftp://h.example/x", &[]),
            Err(SigningError::Url { .. })
        ));
        assert!(matches!(
            sign_at("https://h.example/x", &[("bad name", "v")]),
            Err(SigningError::Header { .. })
        ));
        assert!(matches!(
            sign_at("https://h.example/x", &[("x-ok", "line\nbreak")]),
            Err(SigningError::Header { .. })
        ));
        let request = RequestToSign {
            method: "POST",
            url: "https://h.example/x",
            headers: &[],
            body: b"",
        };
        let at = |region: &str, service: &str, time: SystemTime| {
            sign_request(&request, &creds(None), region, service, time)
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(matches!(
            at("", "aps", now),
            Err(SigningError::Parameter(_))
        ));
        assert!(matches!(
            at("us/west", "aps", now),
            Err(SigningError::Parameter(_))
        ));
        assert!(matches!(
            at("us-west-2", "", now),
            Err(SigningError::Parameter(_))
        ));
        let far = UNIX_EPOCH + Duration::from_secs(MAX_SIGNING_SECS + 1);
        assert!(matches!(
            at("us-west-2", "aps", far),
            Err(SigningError::Parameter(_))
        ));
        let bad_method = RequestToSign {
            method: "PO ST",
            ..request
        };
        assert!(matches!(
            sign_request(&bad_method, &creds(None), "us-west-2", "aps", now),
            Err(SigningError::Parameter(_))
        ));
    }
}
