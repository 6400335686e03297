//! The AWS SDK configuration of one discovery entry: its region (or the function's),
//! its endpoint, static keys or the function's role, and `role_arn` assumed on top, as
//! Prometheus' EC2 and ECS discovery take them. The SDK's standard retry mode retries
//! throttling and transient errors with backoff.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

use crate::config::AwsAccess;

/// Attempts per call (the first and two retries), as for CloudWatch.
const MAX_ATTEMPTS: u32 = 3;

/// Why an entry's AWS access could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AwsClientError {
    /// Neither the entry nor the environment names a region.
    #[error("no region: set region in the entry or AWS_REGION")]
    NoRegion,
}

/// The SDK configuration for `access`, and the region it resolved to.
pub async fn sdk_config(access: &AwsAccess) -> Result<(SdkConfig, String), AwsClientError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(region) = &access.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &access.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if let (Some(key), Some(secret)) = (&access.access_key, &access.secret_key) {
        let static_keys = Credentials::new(key, secret, None, None, "scrape config");
        loader = loader.credentials_provider(static_keys);
    }
    let base = loader.load().await;
    let region = base
        .region()
        .map(|r| r.as_ref().to_string())
        .ok_or(AwsClientError::NoRegion)?;
    let config = match &access.role_arn {
        Some(arn) => {
            crate::assume_role::assume_role(
                base,
                arn,
                access.external_id.as_deref(),
                "serverless-pipeline-discovery",
                &region,
            )
            .await
        }
        None => base,
    };
    Ok((config, region))
}
