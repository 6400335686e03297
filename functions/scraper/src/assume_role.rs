//! Calls made as another role: a CloudWatch job's `roles[].roleArn` and a discovery
//! entry's `role_arn` both assume the role through STS on top of the function's own
//! credentials (cross-account collection), with an external id when the role's trust
//! policy asks for one. The SDK's provider caches and refreshes the session.

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

/// `base` with its credentials replaced by role `arn`'s, assumed through STS in
/// `sts_region` as session `session_name`.
pub async fn assume_role(
    base: SdkConfig,
    arn: &str,
    external_id: Option<&str>,
    session_name: &str,
    sts_region: &str,
) -> SdkConfig {
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(arn)
        .session_name(session_name)
        .region(Region::new(sts_region.to_string()))
        .configure(&base);
    if let Some(external_id) = external_id {
        builder = builder.external_id(external_id);
    }
    let provider = builder.build().await;
    base.into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}
