//! The Kubernetes bearer token EKS accepts: `k8s-aws-v1.` + base64url (no padding) of
//! a presigned STS `GetCallerIdentity` URL for the cluster's region, valid 60 s, with
//! the cluster name in the signed (but not sent) `x-k8s-aws-id` header — exactly what
//! `aws eks get-token` and aws-iam-authenticator produce.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignatureLocation, SigningSettings};
use base64::Engine;

use crate::SigningError;

/// Prefix of every EKS token.
pub const EKS_TOKEN_PREFIX: &str = "k8s-aws-v1.";

/// Builds the token for `cluster` in `region` at `time`.
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
    settings.expires_in = Some(Duration::from_secs(60));
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
    let (_headers, query) = instructions.into_parts();
    let mut presigned = url;
    for (name, value) in query {
        presigned.push('&');
        presigned.push_str(name);
        presigned.push('=');
        presigned.push_str(&percent_encode(&value));
    }
    Ok(format!(
        "{EKS_TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned.as_bytes())
    ))
}

/// RFC 3986 unreserved characters stay, everything else is %XX (upper case), as SigV4
/// query strings require.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
