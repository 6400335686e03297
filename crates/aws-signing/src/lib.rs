//! AWS Signature Version 4 for the requests our functions make outside the AWS SDK:
//! remote write to AMP (service `aps`) now, and the EKS bearer token (a presigned STS
//! `GetCallerIdentity`) for the scaler. The signing itself is `aws-sigv4`'s; this crate
//! fixes the settings those two uses need and matches what Prometheus' sigv4 round
//! tripper and `aws eks get-token` send, checked against botocore vectors.

mod eks_token;
mod path_clean;

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SigningInstructions, SigningSettings,
};
use aws_sigv4::sign::v4;

pub use eks_token::{presign_eks_token, EKS_TOKEN_PREFIX};
pub use path_clean::clean_url;

/// A request about to be sent, in the form signing needs.
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    pub method: &'a str,
    /// The URL exactly as it will be sent (see [`clean_url`] for AMP).
    pub url: &'a str,
    /// Headers to sign; `host` is taken from the URL.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("invalid URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot sign request: {0}")]
    Sign(String),
}

/// Headers never signed: they are changed by proxies and SDKs on the way, as
/// Prometheus' signer and botocore also leave them out.
const UNSIGNED_HEADERS: [&str; 4] = ["user-agent", "x-amzn-trace-id", "expect", "authorization"];

/// Signs with headers (`Authorization`, `X-Amz-Date`, and `X-Amz-Security-Token` for
/// session credentials). The payload hash is SHA-256 of the body and is not sent as a
/// header, as AMP expects. Returns the headers to add.
pub fn sign_request(
    request: &RequestToSign<'_>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, SigningError> {
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .filter(|(name, _)| {
            !UNSIGNED_HEADERS
                .iter()
                .any(|unsigned| name.eq_ignore_ascii_case(unsigned))
        })
        .copied()
        .collect();
    let instructions = sign_with(
        request.method,
        request.url,
        &headers,
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

/// Signs with `settings` and returns what to add to the request (headers or query
/// parameters, depending on the settings' signature location).
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
    settings: SigningSettings,
) -> Result<SigningInstructions, SigningError> {
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
