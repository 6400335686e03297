//! AWS credentials for SigV4-signed remote write: the default chain (environment,
//! Lambda's role, profiles, web identity, containers), static keys or a profile from
//! the `sigv4` block, optionally assuming `role_arn`; cached until shortly before expiry.

use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use tokio::sync::Mutex;

use crate::config::SigV4Config;
use function_cli::error_chain;

/// Credentials are refreshed when they expire within this window.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// Why SigV4 could not be set up or credentials could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("sigv4: no region configured (set sigv4.region or AWS_REGION)")]
    /// Neither `sigv4.region` nor the environment gives a region.
    NoRegion,
    #[error("sigv4: no credentials provider available in the default chain")]
    /// The default chain found no credentials source.
    NoProvider,
    #[error("sigv4: loading credentials failed: {0}")]
    /// The credentials source failed; the text is its error with causes (the AWS SDK keeps the useful part in sources).
    Provide(String),
}

/// Signs for one endpoint: region and a cached credentials source.
#[derive(Debug)]
pub struct SigV4Signer {
    /// The signing region.
    pub region: String,
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
}

impl SigV4Signer {
    /// Resolves region and credentials source from the `sigv4` block and the default chain.
    pub async fn from_config(config: &SigV4Config) -> Result<Self, CredentialsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &config.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let region = config
            .region
            .clone()
            .or_else(|| sdk.region().map(|r| r.to_string()))
            .ok_or(CredentialsError::NoRegion)?;
        let mut provider = match (&config.access_key, &config.secret_key) {
            (Some(access_key), Some(secret_key)) => SharedCredentialsProvider::new(
                Credentials::new(access_key, secret_key, None, None, "sigv4-config"),
            ),
            _ => sdk
                .credentials_provider()
                .ok_or(CredentialsError::NoProvider)?,
        };
        if let Some(role_arn) = &config.role_arn {
            let assume = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                .session_name("serverless-pipeline-scraper")
                .region(aws_config::Region::new(region.clone()))
                .configure(&sdk)
                .build_from_provider(provider)
                .await;
            provider = SharedCredentialsProvider::new(assume);
        }
        Ok(Self {
            region,
            provider,
            cached: Mutex::new(None),
        })
    }

    /// Current credentials, fetched once and reused until close to expiry.
    pub async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut cached = self.cached.lock().await;
        if let Some(creds) = cached.as_ref() {
            let fresh = creds
                .expiry()
                .is_none_or(|exp| exp > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(creds.clone());
            }
        }
        let creds = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| CredentialsError::Provide(error_chain(&e)))?;
        *cached = Some(creds.clone());
        Ok(creds)
    }
}
