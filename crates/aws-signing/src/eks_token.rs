//! The Kubernetes bearer token EKS accepts: `k8s-aws-v1.` + base64url (no padding) of
//! a presigned STS `GetCallerIdentity` URL for the cluster's region, valid 60 s, with
//! the cluster name in the signed (but not sent) `x-k8s-aws-id` header — exactly what
//! `aws eks get-token` and aws-iam-authenticator produce.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignatureLocation, SigningSettings};
use base64::Engine;

use crate::SigningError;

/// Prefix of every EKS token (the token format version EKS checks).
pub const EKS_TOKEN_PREFIX: &str = "k8s-aws-v1.";

/// `X-Amz-Expires` of the presigned URL, the value `aws eks get-token` signs. (How
/// long the apiserver accepts the token is its own rule; aws-cli reports an expiry of
/// 14 minutes after signing, so refresh well before that.)
pub const EKS_TOKEN_EXPIRES_SECONDS: u64 = 60;

/// Builds the bearer token for `cluster` in `region` at `time`: a presigned STS
/// `GetCallerIdentity` URL (query parameters in the order botocore emits them) with
/// `host;x-k8s-aws-id` signed and, for session credentials, `X-Amz-Security-Token` in
/// the signed query, then `k8s-aws-v1.` + unpadded base64url of that URL.
pub fn presign_eks_token(
    cluster: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, SigningError> {
    let url =
        format!("https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(EKS_TOKEN_EXPIRES_SECONDS));
    let headers = [("x-k8s-aws-id", cluster)];
    let instructions = crate::sign_with(
        "GET",
        &url,
        &headers,
        &[],
        credentials,
        region,
        "sts",
        time,
        settings,
    )?;
    let (_headers, mut query) = instructions.into_parts();
    // aws-sigv4 appends the session token after the signature; botocore (and so
    // `aws eks get-token`) puts the signature last. Either verifies, but matching
    // botocore makes the token byte-identical and testable.
    query.sort_by_key(|(name, _)| *name == "X-Amz-Signature");
    let mut presigned = url;
    for (name, value) in query {
        presigned.push('&');
        presigned.push_str(name);
        presigned.push('=');
        presigned.extend(percent_encoding::utf8_percent_encode(
            &value,
            SIGV4_QUERY_VALUE,
        ));
    }
    Ok(format!(
        "{EKS_TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned.as_bytes())
    ))
}

/// RFC 3986 unreserved characters stay, everything else is %XX (upper case), as SigV4
/// query strings require.
const SIGV4_QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
