//! DescribeCluster (cached for the life of a warm container: a cluster's endpoint
//! and CA do not change) and the EKS bearer token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_eks::error::SdkError;
use aws_sdk_eks::operation::describe_cluster::DescribeClusterError;
use tokio::sync::Mutex;

use crate::cluster::EksCluster;
use crate::pem::{decode_base64, pem_to_der, PemError};

/// A token is used for at most this long: EKS accepts one for about 15 minutes after
/// signing; 10 leaves a margin for a long invocation and clock skew.
pub const TOKEN_REUSE: Duration = Duration::from_secs(10 * 60);

/// Endpoint and CA of a cluster (what DescribeCluster returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The API server's `https://` URL.
    pub url: String,
    /// DER certificates of the CA bundle.
    pub ca: Vec<Vec<u8>>,
}

/// Why an EKS cluster could not be reached. The text names the step; the caller
/// adds which cluster of its config it was.
#[derive(Debug, thiserror::Error)]
pub enum EksError {
    /// DescribeCluster failed (permissions, wrong name or region, throttling).
    #[error("EKS DescribeCluster {name} in {region}: {}", aws_sdk_eks::error::DisplayErrorContext(.source))]
    Describe {
        /// The EKS cluster name.
        name: String,
        /// Its region.
        region: String,
        /// The SDK's error.
        #[source]
        source: Box<SdkError<DescribeClusterError>>,
    },
    /// DescribeCluster answered without a field the client needs.
    #[error("EKS DescribeCluster {name} in {region}: {missing}")]
    Incomplete {
        /// The EKS cluster name.
        name: String,
        /// Its region.
        region: String,
        /// What the answer lacks.
        missing: &'static str,
    },
    /// The CA bundle DescribeCluster gave is not usable.
    #[error("CA certificate: {0}")]
    Ca(#[source] PemError),
    /// No token could be signed.
    #[error("token: {reason}")]
    Token {
        /// Why.
        reason: String,
    },
}

/// DescribeCluster answers per cluster, and tokens, for one warm container.
pub struct EksAccess {
    aws: aws_config::SdkConfig,
    endpoints: Mutex<HashMap<EksCluster, (String, String)>>,
    describe_calls: AtomicU64,
}

impl EksAccess {
    /// Nothing is called until a cluster is needed.
    pub fn new(aws: aws_config::SdkConfig) -> EksAccess {
        EksAccess {
            aws,
            endpoints: Mutex::new(HashMap::new()),
            describe_calls: AtomicU64::new(0),
        }
    }

    /// DescribeCluster calls made so far (they are cached; tests check that).
    pub fn describe_calls(&self) -> u64 {
        self.describe_calls.load(Ordering::Relaxed)
    }

    /// Endpoint and CA of `eks`, from DescribeCluster the first time.
    pub async fn endpoint(&self, eks: &EksCluster) -> Result<Endpoint, EksError> {
        let cached = self.endpoints.lock().await.get(eks).cloned();
        let (url, data) = match cached {
            Some(found) => found,
            None => {
                let found = self.describe(eks).await?;
                self.endpoints
                    .lock()
                    .await
                    .insert(eks.clone(), found.clone());
                found
            }
        };
        let pem = decode_base64(&data).map_err(EksError::Ca)?;
        Ok(Endpoint {
            url,
            ca: pem_to_der(&pem).map_err(EksError::Ca)?,
        })
    }

    async fn describe(&self, eks: &EksCluster) -> Result<(String, String), EksError> {
        let incomplete = |missing| EksError::Incomplete {
            name: eks.name.clone(),
            region: eks.region.clone(),
            missing,
        };
        let config = aws_sdk_eks::config::Builder::from(&self.aws)
            .region(aws_sdk_eks::config::Region::new(eks.region.clone()))
            .build();
        let client = aws_sdk_eks::Client::from_conf(config);
        self.describe_calls.fetch_add(1, Ordering::Relaxed);
        let out = client
            .describe_cluster()
            .name(&eks.name)
            .send()
            .await
            .map_err(|source| EksError::Describe {
                name: eks.name.clone(),
                region: eks.region.clone(),
                source: Box::new(source),
            })?;
        let described = out
            .cluster
            .ok_or_else(|| incomplete("no cluster in the response"))?;
        let url = described
            .endpoint
            .ok_or_else(|| incomplete("the cluster has no endpoint (still creating?)"))?;
        let data = described
            .certificate_authority
            .and_then(|c| c.data)
            .ok_or_else(|| incomplete("the cluster has no certificateAuthority.data"))?;
        Ok((url, data))
    }

    /// A fresh `k8s-aws-v1.` token for `eks`, signed now with the function's
    /// credentials (callers reuse it for at most [`TOKEN_REUSE`]).
    pub async fn token(&self, eks: &EksCluster) -> Result<String, EksError> {
        let fail = |reason: String| EksError::Token { reason };
        let provider = self
            .aws
            .credentials_provider()
            .ok_or_else(|| fail("no AWS credentials provider".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| fail(format!("AWS credentials: {e}")))?;
        aws_signing::presign_eks_token(&eks.name, &eks.region, &credentials, SystemTime::now())
            .map_err(|e| fail(e.to_string()))
    }
}
